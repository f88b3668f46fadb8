//! `cargo xtask features AUDIO --out F.npy [--db] [--whole-track]`

use std::process::ExitCode;

use dsp::{Coverage, FeatureConfig, FeatureExtractor, FeatureScale};

use crate::cli::FeaturesArgs;

pub fn run(args: FeaturesArgs) -> anyhow::Result<ExitCode> {
    let extractor = FeatureExtractor::new(FeatureConfig::default())?;
    let coverage = if args.whole_track { Coverage::WholeTrack } else { Coverage::Clip };
    let scale = if args.db { FeatureScale::Decibels } else { FeatureScale::Standardized };
    let array = super::features_array(&extractor, &args.audio, coverage, scale)?;
    crate::npy::write_atomic(&args.out, &array)?;
    println!("{}: wrote {:?} f32 to {}", args.audio.display(), array.shape(), args.out.display());
    Ok(ExitCode::SUCCESS)
}
