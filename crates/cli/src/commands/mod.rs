//! One file per command: its arguments and its code.

pub mod cache;
pub mod compare;
pub mod eda;
pub mod embed;
pub mod eval;
pub mod explain;
pub mod features;
pub mod import_torch;
pub mod predict;
pub mod serve;
pub mod split;
pub mod tags;
pub mod train;
pub mod validate;

use std::process::ExitCode;

use clap::Subcommand;

/// The user commands, shared by `genre` and `cargo xtask`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Classify audio files with a model: top genres per file and per segment.
    Predict(predict::PredictArgs),
    /// Explain a model's decision on an audio file: integrated gradients, Grad-CAM and
    /// occlusion over the spectrogram, as .npy and PNG, with deletion curves.
    Explain(explain::ExplainArgs),
    /// Serve the web app: the page at `/` and its JSON API under `/api`.
    Serve(serve::ServeArgs),
    /// Tag audio with pretrained musicnn (zero-shot): top tags overall and over time,
    /// and a taggram picture.
    Tags(tags::TagsArgs),
    /// Compute the model input features of one audio file and write them as .npy.
    Features(features::FeaturesArgs),
    /// Pretrained musicnn embeddings of every segment of a collection, for your own
    /// classifier: `embeddings.npy` ([segments, E] f32) and `segments.csv`.
    Embed(embed::EmbedArgs),
    /// Decode every file of a collection: broken files, audio statistics, duplicates.
    Validate(validate::ValidateArgs),
    /// Make a track-level train / validation / test split of a collection.
    Split(split::SplitArgs),
    /// Compute and store the features of every track of a collection.
    Cache(cache::CacheArgs),
    /// Write an exploratory-analysis report (one HTML page with charts) of a collection.
    Eda(eda::EdaArgs),
    /// Train a model on a collection with the original's recipe (early stopping).
    Train(train::TrainArgs),
    /// Evaluate a model on a collection's test split: accuracies, per-class metrics,
    /// confusion matrix, aggregation comparison, calibration.
    Eval(eval::EvalArgs),
    /// Compare training runs: accuracy (mean and spread over folds), parameters, time.
    Compare(compare::CompareArgs),
    /// Convert a PyTorch state_dict of the original's models into a model file.
    ImportTorch(import_torch::ImportTorchArgs),
}

/// Runs one user command.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Predict(args) => predict::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Tags(args) => tags::run(args),
        Command::Features(args) => features::run(args),
        Command::Embed(args) => embed::run(args),
        Command::Validate(args) => validate::run(args),
        Command::Split(args) => split::run(args),
        Command::Cache(args) => cache::run(args),
        Command::Eda(args) => eda::run(args),
        Command::Train(args) => train::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Compare(args) => compare::run(args),
        Command::ImportTorch(args) => import_torch::run(args),
    }
}

/// The features of `path` as an ndarray, for writing or comparing.
pub fn features_array(
    extractor: &genre_dsp::FeatureExtractor,
    path: &std::path::Path,
    coverage: genre_dsp::Coverage,
    scale: genre_dsp::FeatureScale,
) -> anyhow::Result<ndarray::Array3<f32>> {
    let features = extractor.extract_with(path, coverage, scale)?;
    let shape = features.shape();
    Ok(ndarray::Array3::from_shape_vec((shape[0], shape[1], shape[2]), features.into_vec())?)
}
