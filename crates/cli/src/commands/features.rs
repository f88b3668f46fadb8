//! `genre features AUDIO --out F.npy [--db] [--whole-track]`

use std::path::PathBuf;
use std::process::ExitCode;

use genre_dsp::{Coverage, FeatureConfig, FeatureExtractor, FeatureScale};

/// `genre features`'s arguments.
#[derive(Debug, clap::Args)]
pub struct FeaturesArgs {
    /// The audio file (WAV, AU, FLAC, MP3, OGG, M4A).
    pub audio: PathBuf,
    /// Where to write the .npy (f32, C order): [10, 128, 130], or [N, 128, 130] with --whole-track.
    #[arg(long)]
    pub out: PathBuf,
    /// Write the log-mel in dB, before per-segment standardisation.
    #[arg(long)]
    pub db: bool,
    /// Every 3 s segment of the file instead of the first 30 s.
    #[arg(long)]
    pub whole_track: bool,
}

/// Runs `genre features`.
pub fn run(args: FeaturesArgs) -> anyhow::Result<ExitCode> {
    let extractor = FeatureExtractor::new(FeatureConfig::default())?;
    let coverage = if args.whole_track { Coverage::WholeTrack } else { Coverage::Clip };
    let scale = if args.db { FeatureScale::Decibels } else { FeatureScale::Standardized };
    let array = super::features_array(&extractor, &args.audio, coverage, scale)?;
    crate::npy::write_atomic(&args.out, &array)?;
    println!("{}: wrote {:?} f32 to {}", args.audio.display(), array.shape(), args.out.display());
    Ok(ExitCode::SUCCESS)
}
