//! `genre cache --data DIR [--cache-dir DIR] [--whole-track] [--threads T]`

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use genre_dataset::TrackIndex;
use genre_dataset::cache::FeatureCache;
use genre_dsp::{Coverage, FeatureConfig};
use indicatif::{ProgressBar, ProgressStyle};

use crate::args::default_threads;

/// `genre cache`'s arguments.
#[derive(Debug, clap::Args)]
pub struct CacheArgs {
    /// The collection.
    #[arg(long)]
    pub data: PathBuf,
    /// The cache folder (one sub-folder per feature configuration).
    #[arg(long, default_value = "cache")]
    pub cache_dir: PathBuf,
    /// Every 3 s segment of each track instead of the first 30 s.
    #[arg(long)]
    pub whole_track: bool,
    /// Worker threads.
    #[arg(long, default_value_t = default_threads())]
    pub threads: usize,
}

/// Runs `genre cache`.
pub fn run(args: CacheArgs) -> anyhow::Result<ExitCode> {
    let index = TrackIndex::open(&args.data)?;
    let cache = FeatureCache::open(&args.cache_dir, FeatureConfig::default())?;
    let coverage = if args.whole_track { Coverage::WholeTrack } else { Coverage::Clip };
    let bar = ProgressBar::new(index.tracks().len() as u64)
        .with_style(ProgressStyle::with_template("{bar:40} {pos}/{len} tracks, {elapsed} elapsed, {eta} left")?);
    let start = Instant::now();
    let summary = cache.build(&index, coverage, args.threads, &|| bar.inc(1));
    bar.finish_and_clear();
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "{}: {} tracks in {seconds:.2} s ({} read from cache, {} computed, {} repaired, {} failed) -> {}",
        args.data.display(),
        index.tracks().len(),
        summary.hits,
        summary.computed,
        summary.repaired,
        summary.failed.len(),
        cache.dir().display()
    );
    for (_, error) in &summary.failed {
        println!("  {error}");
    }
    Ok(if summary.failed.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
