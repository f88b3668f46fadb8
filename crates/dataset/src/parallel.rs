//! Running one job per track on a few threads: a rayon pool of the size asked for (the
//! commands' `--threads`), not the global one, so a collection's decoding uses exactly
//! the threads it was given.

use rayon::prelude::*;

/// `job(i)` for every `i` in `0..n`, spread over `threads` threads, with `progress`
/// called after each; results in index order.
pub(crate) fn map_indexed<T: Send>(
    n: usize,
    threads: usize,
    job: &(dyn Fn(usize) -> T + Sync),
    progress: &(dyn Fn() + Sync),
) -> Vec<T> {
    let run = || {
        (0..n)
            .into_par_iter()
            .map(|i| {
                let result = job(i);
                progress();
                result
            })
            .collect()
    };
    // A pool that cannot be built (no threads left to spawn) runs the jobs here, in order.
    match rayon::ThreadPoolBuilder::new().num_threads(threads.clamp(1, n.max(1))).build() {
        Ok(pool) => pool.install(run),
        Err(_) => (0..n)
            .map(|i| {
                let result = job(i);
                progress();
                result
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn results_come_back_in_index_order_with_one_progress_call_each() {
        let calls = AtomicUsize::new(0);
        let squares = super::map_indexed(100, 3, &|i| i * i, &|| {
            calls.fetch_add(1, Ordering::Relaxed);
        });
        assert_eq!(squares, (0..100).map(|i| i * i).collect::<Vec<_>>());
        assert_eq!(calls.load(Ordering::Relaxed), 100);
        assert!(super::map_indexed(0, 2, &|i| i, &|| {}).is_empty());
    }
}
