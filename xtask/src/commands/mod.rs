//! One file per subcommand.

mod bench_features;
mod bench_model;
mod bench_musicnn;
mod bench_serve;
mod bench_train;
mod bundle;
mod cache;
mod compare;
mod eda;
mod embed;
mod eval;
mod explain;
mod features;
mod import_torch;
mod parity;
mod predict;
mod serve;
mod split;
mod tags;
mod test;
mod train;
mod validate;

use std::process::ExitCode;

use crate::cli::{BenchCommand, Command};

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Features(args) => features::run(args),
        Command::Parity(args) => parity::run(args),
        Command::Bench(BenchCommand::Features(args)) => bench_features::run(args),
        Command::Bench(BenchCommand::Model(args)) => bench_model::run(args),
        Command::Bench(BenchCommand::Train(args)) => bench_train::run(args),
        Command::Bench(BenchCommand::Musicnn(args)) => bench_musicnn::run(args),
        Command::Bench(BenchCommand::Serve(args)) => bench_serve::run(args),
        Command::Test(args) => test::run(args),
        Command::Cache(args) => cache::run(args),
        Command::Predict(args) => predict::run(args),
        Command::Train(args) => train::run(args),
        Command::ImportTorch(args) => import_torch::run(args),
        Command::Eda(args) => eda::run(args),
        Command::Compare(args) => compare::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Validate(args) => validate::run(args),
        Command::Split(args) => split::run(args),
        Command::Tags(args) => tags::run(args),
        Command::Embed(args) => embed::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Bundle(args) => bundle::run(args),
        Command::Explain(args) => explain::run(args),
    }
}

/// The features of `path` as an ndarray, for writing or comparing.
pub(crate) fn features_array(
    extractor: &dsp::FeatureExtractor,
    path: &std::path::Path,
    coverage: dsp::Coverage,
    scale: dsp::FeatureScale,
) -> anyhow::Result<ndarray::Array3<f32>> {
    let features = extractor.extract_with(path, coverage, scale)?;
    let shape = features.shape();
    Ok(ndarray::Array3::from_shape_vec((shape[0], shape[1], shape[2]), features.into_vec())?)
}
