//! `cargo xtask bundle --model RUN/model.gmdl --name gtzan|emotify --check FILE|DIR...`
//!
//! Stores a trained model as one of the bundled models (`crates/cli/assets/<name>.gmdl`,
//! built into the binary by the next build): in half precision if no class
//! probability of any segment of the check files moves by more than 1e-3 with it,
//! otherwise in full precision.

use std::path::PathBuf;
use std::process::ExitCode;

use genre_cli::bundled::BundledModel;
use genre_models::DeviceKind;
use genre_models::checkpoint::{Checkpoint, Precision};
use genre_models::infer::Classifier;

#[derive(Debug, clap::Args)]
pub struct BundleArgs {
    /// The trained model (f32).
    #[arg(long)]
    pub model: PathBuf,
    /// Audio files (or folders) whose predictions must survive half precision.
    #[arg(long, num_args = 1.., required = true)]
    pub check: Vec<PathBuf>,
    /// Which bundled model it becomes.
    #[arg(long, value_enum)]
    pub name: BundledModel,
    /// Where to write it (default: `crates/cli/assets/<name>.gmdl`).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Largest change of a probability that half precision may cause.
const TOLERANCE: f32 = 1e-3;

pub fn run(args: BundleArgs) -> anyhow::Result<ExitCode> {
    let device = DeviceKind::Cpu.device()?;
    let full = Checkpoint::load(&args.model)?;
    let out = args.out.clone().unwrap_or_else(|| args.name.asset_path());
    let tmp = out.with_extension("gmdl.tmp");
    full.save(&tmp, Precision::F16)?;
    let half = Checkpoint::load(&tmp)?;
    let (full, half) = (Classifier::new(full, &device)?, Classifier::new(half, &device)?);
    let extractor = genre_dsp::FeatureExtractor::new(full.checkpoint().header.features.clone())?;
    let mut worst = 0.0f32;
    let files = genre_cli::audio_files::expand(&args.check).all_or_error()?;
    for file in &files {
        let features = extractor.extract(file)?;
        let (a, b) = (full.probabilities(&features, 32)?, half.probabilities(&features, 32)?);
        for (x, y) in a.iter().flatten().zip(b.iter().flatten()) {
            worst = worst.max((x - y).abs());
        }
    }
    println!("half precision: largest probability change {worst:.2e} over {} files", files.len());
    if worst > TOLERANCE {
        println!("that is more than {TOLERANCE:e}: storing full precision");
        full.checkpoint().save(&tmp, Precision::F32)?;
    }
    std::fs::rename(&tmp, &out)?;
    println!("wrote {} ({} bytes)", out.display(), std::fs::metadata(&out)?.len());
    Ok(ExitCode::SUCCESS)
}
