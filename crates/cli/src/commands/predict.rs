//! `genre predict FILE|DIR... [--model MODEL] [--top-k K] [--aggregate A]
//! [--whole-track | --first-30s] [--format table|json|csv] [--device D]`

use std::path::PathBuf;
use std::process::ExitCode;

use genre_dsp::{Coverage, FeatureExtractor};
use genre_models::DeviceKind;
use genre_models::infer::{Aggregation, Classifier, Prediction};

use crate::args::{ReadsArgs, default_threads, use_threads};
use crate::bundled::ModelChoice;

/// Output formats of `predict`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// A readable table.
    Table,
    /// One JSON object per file per line.
    Json,
    /// One CSV row per file.
    Csv,
}

/// `genre predict`'s arguments.
#[derive(Debug, clap::Args)]
pub struct PredictArgs {
    /// Audio files or folders (walked for audio files).
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// A bundled model, `gtzan` (GTZAN's ten genres, the default) or `emotify` (four
    /// genres), or a model file (from `train`, `import-torch` or `bundle`).
    #[arg(long, default_value = "gtzan", value_name = "NAME|FILE")]
    pub model: ModelChoice,
    /// How many genres to show.
    #[arg(long, default_value_t = 3)]
    pub top_k: usize,
    /// How segment probabilities become the track's.
    #[arg(long, value_enum, default_value_t = Aggregation::Mean)]
    pub aggregate: Aggregation,
    /// What of the file the model reads.
    #[command(flatten)]
    pub reads: ReadsArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    /// Where the model runs (wgpu and cuda need the binary built with their cargo
    /// feature).
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    pub device: DeviceKind,
    /// CPU threads.
    #[arg(long, default_value_t = default_threads())]
    pub threads: usize,
    /// Segments per inference batch, shared across files (short files are classified
    /// together); also the step of a whole track through features and the model:
    /// memory grows with it, not with the files.
    #[arg(long, default_value_t = 10)]
    pub batch: usize,
}

/// Runs `genre predict`.
pub fn run(args: PredictArgs) -> anyhow::Result<ExitCode> {
    use_threads(args.threads)?;
    let aggregation = args.aggregate;
    let kind = args.device;
    let device = kind.device()?;
    let checkpoint = args.model.load()?;
    let classifier = Classifier::new(checkpoint, &device)?;
    let extractor = FeatureExtractor::new(classifier.checkpoint().header.features.clone())?;
    let seconds = extractor.config().segment_seconds();
    let coverage = classifier.checkpoint().header.coverage(args.reads.whole_track());
    let inputs = crate::audio_files::expand(&args.inputs);
    let labels = classifier.labels();
    if args.format == OutputFormat::Table {
        println!(
            "model {} ({} genres), device {}",
            classifier.checkpoint().header.model.name(),
            labels.len(),
            kind.describe()
        );
    }
    if args.format == OutputFormat::Csv {
        println!("file,device,prediction,{}", labels.join(","));
    }
    // An input that gave no files is reported like a file that failed, and the rest go on.
    let mut failed = inputs.problems.len();
    for problem in &inputs.problems {
        eprintln!("error: {problem}");
    }
    // Segments of all the files share the model's batches; features stream, so memory
    // stays bounded by a few batches whatever the files' lengths.
    let files = &inputs.files;
    crate::shared_batches::classify_files(files, &extractor, &classifier, coverage, args.batch, |index, outcome| {
        let file = &files[index];
        let segments = match outcome {
            Ok(outcome) => {
                if outcome.silent {
                    eprintln!(
                        "warning: {}: {} silent; the genres predicted for it mean nothing",
                        file.display(),
                        match coverage {
                            Coverage::Clip => "the first 30 s are",
                            Coverage::WholeTrack => "the audio is",
                        }
                    );
                }
                outcome.segments
            }
            Err(e) => {
                eprintln!("error: {e}");
                failed += 1;
                return Ok(());
            }
        };
        let prediction = Prediction::new(
            file.display().to_string(),
            kind.describe(),
            labels,
            &segments,
            aggregation,
            args.top_k,
            seconds,
        );
        match args.format {
            OutputFormat::Json => println!("{}", serde_json::to_string(&prediction)?),
            OutputFormat::Csv => {
                let p: Vec<String> = prediction.probabilities.iter().map(|v| format!("{v:.6}")).collect();
                println!(
                    "{},{},{},{}",
                    csv_field(&prediction.file),
                    kind.describe(),
                    prediction.prediction,
                    p.join(",")
                );
            }
            OutputFormat::Table => {
                let top: Vec<String> =
                    prediction.top_k.iter().map(|t| format!("{} {:.1}%", t.genre, 100.0 * t.probability)).collect();
                let count = match segments.len() {
                    1 => "1 segment".to_string(),
                    n => format!("{n} segments"),
                };
                println!(
                    "{}: {}  ({} of {count}, {})",
                    prediction.file,
                    top.join(", "),
                    aggregation.name(),
                    coverage_name(coverage)
                );
            }
        }
        Ok(())
    })?;
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn coverage_name(coverage: Coverage) -> &'static str {
    match coverage {
        Coverage::Clip => "first 30 s",
        Coverage::WholeTrack => "whole track",
    }
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text.to_string() }
}
