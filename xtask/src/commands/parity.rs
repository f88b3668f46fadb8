//! `cargo xtask parity --reference DIR [--db] AUDIO...`: how far our features are from
//! reference arrays (librosa's, written by `shared/bench/librosa_features.py --out DIR`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use genre_dsp::{Coverage, FeatureConfig, FeatureExtractor, FeatureScale};

#[derive(Debug, clap::Args)]
pub struct ParityArgs {
    /// Folder holding the reference `<stem>.npy` of each audio file.
    #[arg(long)]
    pub reference: PathBuf,
    /// Compare log-mel dB instead of standardised features.
    #[arg(long)]
    pub db: bool,
    /// Audio files or folders.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
}

pub fn run(args: ParityArgs) -> anyhow::Result<ExitCode> {
    let extractor = FeatureExtractor::new(FeatureConfig::default())?;
    let scale = if args.db { FeatureScale::Decibels } else { FeatureScale::Standardized };
    let files = genre_cli::audio_files::expand(&args.inputs).all_or_error()?;
    let mut all = Vec::new();
    println!("{:<48} {:>10} {:>10} {:>10}", "file", "max", "p99", "mean");
    for file in &files {
        let stem = file.file_stem().context("file has no name")?.to_string_lossy();
        let reference = genre_cli::npy::read(&args.reference.join(format!("{stem}.npy")))?;
        let ours = genre_cli::commands::features_array(&extractor, file, Coverage::Clip, scale)?;
        anyhow::ensure!(
            ours.shape() == reference.shape(),
            "{}: shape {:?} vs reference {:?}",
            file.display(),
            ours.shape(),
            reference.shape()
        );
        let diffs: Vec<f32> = ours.iter().zip(reference.iter()).map(|(a, b)| (a - b).abs()).collect();
        let stats = DiffStats::of(diffs.clone());
        println!("{:<48} {:>10.6} {:>10.6} {:>10.7}", file.display().to_string(), stats.max, stats.p99, stats.mean);
        all.extend(diffs);
    }
    let stats = DiffStats::of(all);
    println!(
        "{:<48} {:>10.6} {:>10.6} {:>10.7}",
        format!("ALL ({} files)", files.len()),
        stats.max,
        stats.p99,
        stats.mean
    );
    println!("{}", serde_json::json!({"files": files.len(), "max": stats.max, "p99": stats.p99, "mean": stats.mean}));
    Ok(ExitCode::SUCCESS)
}

/// Max, 99th percentile and mean of absolute differences.
struct DiffStats {
    max: f32,
    p99: f32,
    mean: f64,
}

impl DiffStats {
    fn of(mut diffs: Vec<f32>) -> Self {
        if diffs.is_empty() {
            return DiffStats { max: 0.0, p99: 0.0, mean: 0.0 };
        }
        diffs.sort_by(f32::total_cmp);
        let p99 = diffs[((diffs.len() - 1) as f64 * 0.99).round() as usize];
        let mean = diffs.iter().map(|&d| f64::from(d)).sum::<f64>() / diffs.len() as f64;
        DiffStats { max: diffs[diffs.len() - 1], p99, mean }
    }
}
