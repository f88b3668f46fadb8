//! `genre compare RUN_DIR... [--out table.md]`
//!
//! One row per model variant (data set, architecture, musicnn embedding, whole-track
//! training): test accuracy at segment and track level as mean ± standard deviation
//! over its runs (folds), parameters, mean training time (read from each run's
//! `result.json` and `model.gmdl`), and inference latency: the median time the model
//! takes to classify one 30 s track's features (all its segments in one batch,
//! feature extraction excluded), measured here on the CPU.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use genre_models::checkpoint::Checkpoint;

/// `genre compare`'s arguments.
#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// Run folders written by `train` (each with result.json and model.gmdl).
    #[arg(required = true)]
    pub runs: Vec<PathBuf>,
    /// Also write the table as Markdown here.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Default)]
struct Group {
    segment: Vec<f64>,
    track: Vec<f64>,
    seconds: Vec<f64>,
    parameters: usize,
    latency_ms: f64,
}

/// Runs `genre compare`.
pub fn run(args: CompareArgs) -> anyhow::Result<ExitCode> {
    let mut groups: BTreeMap<(String, String), Group> = BTreeMap::new();
    for run in &args.runs {
        let path = run.join("result.json");
        let text = std::fs::read_to_string(&path).with_context(|| format!("{}: cannot read", path.display()))?;
        let result: serde_json::Value =
            serde_json::from_str(&text).with_context(|| format!("{}: not JSON", path.display()))?;
        let field = |k: &str| result[k].as_f64().with_context(|| format!("{}: no {k}", path.display()));
        let mut variant = result["architecture"].as_str().unwrap_or("?").to_string();
        if let Some(embedding) = result["embedding"].as_str() {
            variant += &format!(" ({embedding})");
        }
        if result["whole_track"].as_bool() == Some(true) {
            variant += ", whole-track training";
        }
        let key = (result["data"].as_str().unwrap_or("?").to_string(), variant);
        let group = groups.entry(key).or_default();
        group.segment.push(field("test_segment_accuracy")?);
        group.track.push(field("test_track_accuracy")?);
        group.seconds.push(field("train_seconds")?);
        let checkpoint = Checkpoint::load(&run.join("model.gmdl"))?;
        if group.latency_ms == 0.0 {
            group.latency_ms = latency_ms(&checkpoint)?;
        }
        // Trainable parameters, as PyTorch counts them (BatchNorm running statistics are buffers).
        group.parameters = checkpoint
            .weights
            .iter()
            .filter(|(name, _)| !name.contains(".running_"))
            .map(|(_, t)| t.values.len())
            .sum();
    }
    let mut md = String::from(
        "| data | model | runs | segment accuracy | track accuracy | parameters | training time | latency per track |\n|---|---|---|---|---|---|---|---|\n",
    );
    for ((data, arch), g) in &groups {
        let (sm, ss) = mean_std(&g.segment);
        let (tm, ts) = mean_std(&g.track);
        let (secs, _) = mean_std(&g.seconds);
        let _ = writeln!(
            md,
            "| {data} | {arch} | {} | {sm:.3} ± {ss:.3} | {tm:.3} ± {ts:.3} | {} | {secs:.0} s | {:.0} ms |",
            g.track.len(),
            g.parameters,
            g.latency_ms
        );
    }
    print!("{md}");
    if let Some(out) = &args.out {
        crate::atomic::write(out, |w| Ok(w.write_all(md.as_bytes())?))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Mean and (population) standard deviation.
fn mean_std(values: &[f64]) -> (f64, f64) {
    let n = values.len().max(1) as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// Median milliseconds to classify one clip's segments (zeros of the model's input
/// shape), over five runs after one warm-up.
fn latency_ms(checkpoint: &Checkpoint) -> anyhow::Result<f64> {
    let device = genre_models::DeviceKind::Cpu.device()?;
    let features = &checkpoint.header.features;
    let shape = [features.segments_per_clip, features.n_mels, features.n_frames()];
    let input = genre_dsp::Features::from_vec(vec![0.0; shape.iter().product()], shape).context("input shape")?;
    let classifier = genre_models::infer::Classifier::new(checkpoint.clone(), &device)?;
    classifier.probabilities(&input, 32)?;
    let mut times: Vec<f64> = (0..5)
        .map(|_| {
            let started = std::time::Instant::now();
            let _ = classifier.probabilities(&input, 32);
            started.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    Ok(times[2])
}
