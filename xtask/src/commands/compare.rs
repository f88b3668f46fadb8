//! `cargo xtask compare RUN_DIR... [--out table.md]`
//!
//! One row per architecture (and data set): test accuracy at segment and track level
//! as mean ± standard deviation over its runs (folds), parameters, and mean training
//! time, read from each run's `result.json` and `model.gmdl`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::Context;
use models::checkpoint::Checkpoint;

use crate::cli::CompareArgs;

#[derive(Default)]
struct Group {
    segment: Vec<f64>,
    track: Vec<f64>,
    seconds: Vec<f64>,
    parameters: usize,
}

pub fn run(args: CompareArgs) -> anyhow::Result<ExitCode> {
    let mut groups: BTreeMap<(String, String), Group> = BTreeMap::new();
    for run in &args.runs {
        let path = run.join("result.json");
        let text = std::fs::read_to_string(&path).with_context(|| format!("{}: cannot read", path.display()))?;
        let result: serde_json::Value =
            serde_json::from_str(&text).with_context(|| format!("{}: not JSON", path.display()))?;
        let field = |k: &str| result[k].as_f64().with_context(|| format!("{}: no {k}", path.display()));
        let key = (
            result["data"].as_str().unwrap_or("?").to_string(),
            result["architecture"].as_str().unwrap_or("?").to_string(),
        );
        let group = groups.entry(key).or_default();
        group.segment.push(field("test_segment_accuracy")?);
        group.track.push(field("test_track_accuracy")?);
        group.seconds.push(field("train_seconds")?);
        let checkpoint = Checkpoint::load(&run.join("model.gmdl"))?;
        // Trainable parameters, as PyTorch counts them (BatchNorm running statistics are buffers).
        group.parameters = checkpoint
            .weights
            .iter()
            .filter(|(name, _)| !name.contains(".running_"))
            .map(|(_, t)| t.values.len())
            .sum();
    }
    let mut md = String::from(
        "| data | architecture | runs | segment accuracy | track accuracy | parameters | training time |\n|---|---|---|---|---|---|---|\n",
    );
    for ((data, arch), g) in &groups {
        let (sm, ss) = mean_std(&g.segment);
        let (tm, ts) = mean_std(&g.track);
        let (secs, _) = mean_std(&g.seconds);
        let _ = writeln!(
            md,
            "| {data} | {arch} | {} | {sm:.3} ± {ss:.3} | {tm:.3} ± {ts:.3} | {} | {secs:.0} s |",
            g.track.len(),
            g.parameters
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
