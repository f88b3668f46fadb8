//! `cargo xtask bench musicnn [--model msd|mtt] [--threads T] [--python PY] FILE|DIR...`
//!
//! Times what the `musicnn` package's `extractor()` does, per file: decode the first
//! 30 s, resample to 16 kHz, musicnn's features, and all ten 3 s patches through the
//! tagger (every intermediate output, as `extract_features=True` returns). One warm-up,
//! then `R` repeats per file, median. With `--python`, `weights/bench_musicnn.py` times
//! the package on the same files in the same run. The last line is JSON.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use burn::prelude::*;
use genre_dsp::{FeatureConfig, FeatureExtractor};
use genre_models::musicnn::MusicnnSource;

#[derive(Debug, clap::Args)]
pub struct BenchMusicnnArgs {
    /// The pretrained tagger.
    #[arg(long, value_enum, default_value_t = MusicnnSource::Msd)]
    pub model: MusicnnSource,
    /// CPU threads (ours and the package's).
    #[arg(long, default_value_t = genre_cli::args::default_threads())]
    pub threads: usize,
    /// Timed repeats per file after one warm-up.
    #[arg(long, default_value_t = 3)]
    pub repeat: usize,
    /// Also time the `musicnn` package on the same files, with this Python (one with
    /// tensorflow-cpu, tf-keras and musicnn installed), and print the ratio.
    #[arg(long, value_name = "PYTHON")]
    pub python: Option<PathBuf>,
    /// The reference script run with `--python`.
    #[arg(long, default_value = "weights/bench_musicnn.py")]
    pub script: PathBuf,
    /// Audio files or folders.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
}

pub fn run(args: BenchMusicnnArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.threads >= 1 && args.repeat >= 1, "--threads and --repeat must be at least 1");
    rayon::ThreadPoolBuilder::new().num_threads(args.threads).build_global()?;
    let source = args.model;
    let files = genre_cli::audio_files::expand(&args.inputs).all_or_error()?;
    anyhow::ensure!(!files.is_empty(), "no audio files found");
    let device = genre_models::DeviceKind::Cpu.device()?;
    let tagger = genre_cli::pretrained::tagger(source, &device)?;
    let extractor = FeatureExtractor::new(FeatureConfig::musicnn())?;
    let embed = |file: &std::path::Path| -> anyhow::Result<usize> {
        let features = extractor.extract(file)?;
        let [n, mels, frames] = features.shape();
        let x = Tensor::<3>::from_data(TensorData::new(features.into_vec(), [n, mels, frames]), &device);
        let out = tagger.forward_all(x);
        std::hint::black_box(out.penultimate.into_data());
        Ok(n)
    };
    embed(&files[0])?; // warm-up
    let mut ours = Vec::new();
    for file in &files {
        let mut times = Vec::with_capacity(args.repeat);
        let mut patches = 0;
        for _ in 0..args.repeat {
            let started = Instant::now();
            patches = embed(file)?;
            times.push(started.elapsed().as_secs_f64());
        }
        let m = median(times);
        println!(
            "{}",
            serde_json::json!({"file": file.display().to_string(), "seconds_median": m, "patches": patches})
        );
        ours.push(m);
    }
    let ours_median = median(ours.clone());
    let mut summary = serde_json::json!({
        "model": format!("musicnn-{}", source.name()),
        "files": files.len(),
        "threads": args.threads,
        "seconds_per_track_median": ours_median,
    });
    if let Some(python) = &args.python {
        let mut script_args: Vec<std::ffi::OsString> = vec![
            "--model".into(),
            format!("{}_musicnn", source.name().to_uppercase()).into(),
            "--threads".into(),
            args.threads.to_string().into(),
            "--repeats".into(),
            args.repeat.to_string().into(),
        ];
        script_args.extend(files.iter().map(|f| f.as_os_str().to_owned()));
        let lines = crate::reference::run_json_lines(python, &args.script, script_args)?;
        let reference = lines.last().cloned().unwrap_or_default();
        let package = reference["package_call_seconds_median"].as_f64().unwrap_or(f64::NAN);
        let warm = reference["warm_session_seconds_median"].as_f64().unwrap_or(f64::NAN);
        println!(
            "per 30 s track: ours {:.3} s; musicnn package {package:.3} s per extractor() call ({:.1}x), \
             {warm:.3} s with its graph built once ({:.1}x)",
            ours_median,
            package / ours_median,
            warm / ours_median
        );
        summary["package_call_seconds_median"] = package.into();
        summary["package_warm_session_seconds_median"] = warm.into();
        summary["speedup_vs_package_call"] = (package / ours_median).into();
        summary["speedup_vs_package_warm_session"] = (warm / ours_median).into();
        summary["reference"] = reference;
    }
    println!("{summary}");
    Ok(ExitCode::SUCCESS)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
