//! `cargo xtask <command>`: the project's runner. Each command lives in its own file
//! under `commands/`; this file only parses the command line and dispatches.

mod atomic;
mod audio_files;
mod bundled;
mod cli;
mod commands;
mod npy;
mod reference;

use clap::Parser;

fn main() -> std::process::ExitCode {
    restore_default_sigpipe();
    let cli = cli::Cli::parse();
    match commands::run(cli.command) {
        Ok(code) => code,
        Err(err) => {
            // One line: the error and its causes, joined.
            let chain: Vec<String> = err.chain().map(|e| e.to_string()).collect();
            eprintln!("error: {}", dedup_chain(&chain).join(": "));
            std::process::ExitCode::FAILURE
        }
    }
}

/// Drops causes whose text is already contained in the message before them.
fn dedup_chain(chain: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for msg in chain {
        if !out.last().is_some_and(|prev| prev.contains(msg.as_str())) {
            out.push(msg.clone());
        }
    }
    out
}

/// Rust ignores SIGPIPE, so `println!` panics when the reader of a pipe has gone
/// (`cargo xtask split ... | head`). A command-line tool should just stop, as others do.
fn restore_default_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any other thread exists; resetting a
    // signal disposition to its default has no other effect.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
