//! The command line, parsed once at the edge.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Music-genre classification: features, benchmarks and (later) models.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compute the model input features of one audio file and write them as .npy.
    Features(FeaturesArgs),
    /// Compare our features with reference .npy files (e.g. librosa's) and print the differences.
    Parity(ParityArgs),
    /// Benchmarks.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Run the whole test suite (what CI runs).
    Test(TestArgs),
}

#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// Extra arguments passed to `cargo test` (after `--`).
    #[arg(last = true)]
    pub cargo_args: Vec<String>,
}

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

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Time decoding + features per file (optimised build); last line is JSON.
    Features(BenchFeaturesArgs),
}

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
    /// The reference script run with `--librosa`.
    #[arg(long, default_value = "../shared/bench/librosa_features.py")]
    pub librosa_script: PathBuf,
    /// Audio files or folders.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
}
