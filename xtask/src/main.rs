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

/// mimalloc instead of glibc's malloc. Burn's CPU backend allocates and frees tensors of
/// tens of megabytes every training step; glibc returns those to the kernel at once
/// (they are above its mmap threshold), so every step paid for fresh zeroed pages
/// again: 29 % of a CRNN training step was page-fault handling in the kernel.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in the bundled mimalloc 2.x's `mimalloc.h` (the 16th option).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Freed memory stays with the process for reuse instead of going back to the kernel
/// after mimalloc's 10 ms: the next training step or request needs the same buffers,
/// and fresh pages must be zeroed by the kernel (about 5 % of a CRNN training step even
/// with a 1 s delay). The peak is unchanged (a CRNN-BiGRU training step peaked at
/// 0.74 GB either way); the process just keeps it. `MIMALLOC_PURGE_DELAY` in the
/// environment (milliseconds) overrides this.
fn keep_freed_memory() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: setting an option is thread-safe in mimalloc and takes plain integers.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    }
}

fn main() -> std::process::ExitCode {
    restore_default_sigpipe();
    keep_freed_memory();
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
