//! Running one job per track on a few threads.

use std::sync::atomic::{AtomicUsize, Ordering};

/// `job(i)` for every `i` in `0..n`, spread over `threads` threads, with `progress`
/// called after each; results in index order.
pub(crate) fn map_indexed<T: Send>(
    n: usize,
    threads: usize,
    job: &(dyn Fn(usize) -> T + Sync),
    progress: &(dyn Fn() + Sync),
) -> Vec<T> {
    let next = AtomicUsize::new(0);
    let mut results: Vec<(usize, T)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads.clamp(1, n.max(1)))
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n {
                            return mine;
                        }
                        mine.push((i, job(i)));
                        progress();
                    }
                })
            })
            .collect();
        // A job that panics is a bug; re-raise it on this thread.
        workers.into_iter().flat_map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p))).collect()
    });
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}
