//! `cargo xtask <command>`: the project's runner. The user commands are `genre`'s
//! (`genre_cli`); the developer tasks (tests, benchmarks, parity, bundling) live in
//! `commands/`, one file each. This file only parses the command line and dispatches.

mod commands;
mod reference;

use clap::Parser;

/// mimalloc: see [`genre_cli::prepare_process`].
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The genre classifier's runner: `genre`'s commands, then the developer tasks (tests,
/// benchmarks, parity with the reference, bundling a model).
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", version, about)]
struct Cli {
    #[command(subcommand)]
    command: commands::Command,
}

fn main() -> std::process::ExitCode {
    genre_cli::prepare_process();
    genre_cli::finish(commands::run(Cli::parse().command))
}
