//! `genre`: see the library's documentation (`genre_cli`) and `genre --help`.

use clap::Parser;

/// mimalloc: see [`genre_cli::prepare_process`].
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    genre_cli::prepare_process();
    genre_cli::finish(genre_cli::run_genre(genre_cli::Cli::parse()))
}
