//! What both binaries (`genre` and `cargo xtask`) do around a command: the allocator's
//! settings, SIGPIPE, and one-line errors.

use std::process::ExitCode;

/// `mi_option_purge_delay` in the bundled mimalloc 2.x's `mimalloc.h` (the 16th option).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Call first in `main`, in a binary whose global allocator is mimalloc.
///
/// mimalloc instead of glibc's malloc: Burn's CPU backend allocates and frees tensors of
/// tens of megabytes every training step; glibc returns those to the kernel at once
/// (they are above its mmap threshold), so every step paid for fresh zeroed pages
/// again: 29 % of a CRNN training step was page-fault handling in the kernel. Freed
/// memory also stays with the process for reuse instead of going back to the kernel
/// after mimalloc's 10 ms (the next step needs the same buffers); the peak is unchanged.
/// `MIMALLOC_PURGE_DELAY` in the environment (milliseconds) overrides this.
///
/// Rust ignores SIGPIPE, so `println!` panics when the reader of a pipe has gone
/// (`genre split ... | head`); a command-line tool should just stop, as others do.
pub fn prepare_process() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: setting an option is thread-safe in mimalloc and takes plain integers.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    }
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any other thread exists; resetting a
    // signal disposition to its default has no other effect.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// The exit code of a command's result; an error is printed as one line, its causes
/// joined.
pub fn finish(result: anyhow::Result<ExitCode>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(err) => {
            let chain: Vec<String> = err.chain().map(|e| e.to_string()).collect();
            eprintln!("error: {}", dedup_chain(&chain).join(": "));
            ExitCode::FAILURE
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
