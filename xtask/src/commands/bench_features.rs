//! `cargo xtask bench features [--threads T] [--repeat R] FILE|DIR...`
//!
//! Times decode + features per file, like `shared/bench/librosa_features.py` times
//! librosa: one warm-up, then `R` repeats per file, median per file. With `T > 1` the
//! files are spread over `T` threads and the folder throughput is reported too.
//! `--decode-only` times decoding and the mix to mono alone (no resampling, no
//! features), against `librosa.load(path, sr=None)` (`bench/librosa_decode.py`).
//! The last line is JSON.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use genre_dsp::{FeatureConfig, FeatureExtractor};

#[derive(Debug, clap::Args)]
pub struct BenchFeaturesArgs {
    /// Worker threads (files are spread over them).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Timed repeats per file after one warm-up.
    #[arg(long, default_value_t = 5)]
    pub repeat: usize,
    /// Also time librosa on the same files in the same run, with this Python
    /// (one that has `shared/bench/requirements.txt` installed), and print the ratio.
    #[arg(long, value_name = "PYTHON")]
    pub librosa: Option<PathBuf>,
    /// The reference script run with `--librosa` (default: `../shared/bench/librosa_features.py`,
    /// or `bench/librosa_decode.py` with `--decode-only`).
    #[arg(long)]
    pub librosa_script: Option<PathBuf>,
    /// Time only decoding and the mix to mono, at the file's own rate.
    #[arg(long)]
    pub decode_only: bool,
    /// Audio files or folders.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
}

pub fn run(args: BenchFeaturesArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.threads >= 1 && args.repeat >= 1, "--threads and --repeat must be at least 1");
    let files = genre_cli::audio_files::expand(&args.inputs).all_or_error()?;
    anyhow::ensure!(!files.is_empty(), "no audio files found");
    let extractor = FeatureExtractor::new(FeatureConfig::default())?;
    let work = |file: &PathBuf| -> anyhow::Result<()> {
        if args.decode_only {
            std::hint::black_box(genre_dsp::AudioDecoder::open(file)?.read_to_end()?);
        } else {
            std::hint::black_box(extractor.extract(file)?);
        }
        Ok(())
    };
    work(&files[0])?; // warm-up: page cache, FFT plans

    // Per-file medians, files spread over the worker threads.
    let next = AtomicUsize::new(0);
    let wall = Instant::now();
    let mut medians: Vec<(usize, f64)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..args.threads)
            .map(|_| {
                scope.spawn(|| -> anyhow::Result<Vec<(usize, f64)>> {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(file) = files.get(i) else { return Ok(mine) };
                        let mut times = Vec::with_capacity(args.repeat);
                        for _ in 0..args.repeat {
                            let t0 = Instant::now();
                            work(file)?;
                            times.push(t0.elapsed().as_secs_f64());
                        }
                        times.sort_by(f64::total_cmp);
                        mine.push((i, times[times.len() / 2]));
                    }
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("bench worker panicked")).collect::<anyhow::Result<Vec<_>>>()
    })?
    .into_iter()
    .flatten()
    .collect();
    let wall = wall.elapsed().as_secs_f64();
    medians.sort_by_key(|&(i, _)| i);
    for &(i, s) in &medians {
        println!(
            "{}",
            serde_json::json!({"file": files[i].display().to_string(), "seconds_median": s, "repeat": args.repeat})
        );
    }
    let mut per_track: Vec<f64> = medians.iter().map(|&(_, s)| s).collect();
    per_track.sort_by(f64::total_cmp);
    let total: f64 = per_track.iter().sum();
    let ours_median = per_track[per_track.len() / 2];
    let mut summary = serde_json::json!({
        "files": files.len(),
        "threads": args.threads,
        "seconds_per_track_median": ours_median,
        "total_seconds_median": total,
        "tracks_per_second_wall": (files.len() * args.repeat) as f64 / wall,
    });
    if let Some(python) = &args.librosa {
        let librosa = librosa_per_track(python, &args, &files)?;
        let librosa_median = median(librosa.clone());
        println!("{:<56} {:>10} {:>10} {:>7}", "file", "ours ms", "librosa ms", "ratio");
        for (&(i, ours), theirs) in medians.iter().zip(&librosa) {
            println!(
                "{:<56} {:>10.2} {:>10.2} {:>6.1}x",
                files[i].display().to_string(),
                ours * 1e3,
                theirs * 1e3,
                theirs / ours
            );
        }
        summary["librosa_seconds_per_track_median"] = librosa_median.into();
        summary["speedup_vs_librosa"] = (librosa_median / ours_median).into();
    }
    println!("{summary}");
    Ok(ExitCode::SUCCESS)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs `librosa_features.py` on the same files with the same threads and repeats;
/// returns its per-file median seconds, in file order.
fn librosa_per_track(
    python: &std::path::Path,
    args: &BenchFeaturesArgs,
    files: &[std::path::PathBuf],
) -> anyhow::Result<Vec<f64>> {
    let mut args_out: Vec<std::ffi::OsString> =
        vec!["--threads".into(), args.threads.to_string().into(), "--repeat".into(), args.repeat.to_string().into()];
    args_out.extend(files.iter().map(|f| f.as_os_str().to_owned()));
    let default_script =
        if args.decode_only { "bench/librosa_decode.py" } else { "../shared/bench/librosa_features.py" };
    let script = args.librosa_script.clone().unwrap_or_else(|| default_script.into());
    let lines = crate::reference::run_json_lines(python, &script, args_out)?;
    let per_file: Vec<f64> = lines.iter().filter_map(|v| v.get("seconds_median").and_then(|s| s.as_f64())).collect();
    anyhow::ensure!(
        per_file.len() == files.len(),
        "{} timed {} of {} files",
        script.display(),
        per_file.len(),
        files.len()
    );
    Ok(per_file)
}
