//! The developer tasks, one file per task (its arguments and its code); the user
//! commands come from `genre_cli`.

mod bench_features;
mod bench_memory;
mod bench_model;
mod bench_musicnn;
mod bench_python;
mod bench_serve;
mod bench_train;
mod bundle;
mod parity;
mod permissive_build;
mod python_package;
mod test;
mod wasm;

use std::process::ExitCode;

use clap::Subcommand;

/// Every `cargo xtask` command: the user commands of `genre`, then the developer tasks.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// A user command (the same as `genre <command>`).
    #[command(flatten)]
    User(genre_cli::Command),
    /// Compare our features with reference .npy files (e.g. librosa's) and print the
    /// differences.
    Parity(parity::ParityArgs),
    /// Benchmarks.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Make a model that ships inside the binary (`crates/cli/assets/<name>.gmdl`): a
    /// trained model in half precision if no probability on the check files moves by
    /// more than 1e-3 with it, else in full precision.
    Bundle(bundle::BundleArgs),
    /// Run the whole test suite (what CI runs).
    Test(test::TestArgs),
    /// Build the web app's on-device classifier (WebAssembly) for `serve --wasm-dir`.
    Wasm(wasm::WasmArgs),
}

/// The benchmarks.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Time decoding + features per file (optimised build); last line is JSON.
    Features(bench_features::BenchFeaturesArgs),
    /// Time a model's inference on 10 segments and its training step; last line is JSON.
    Model(bench_model::BenchModelArgs),
    /// Training throughput (segments per second), against PyTorch in the same run with
    /// `--torch`; last line is JSON.
    Train(bench_model::BenchModelArgs),
    /// Time musicnn embedding extraction per 30 s track (decode, features, all ten
    /// patches through the tagger), against the Python package; last line is JSON.
    Musicnn(bench_musicnn::BenchMusicnnArgs),
    /// Load-test the web server on loopback: `--requests` uploads of one file, at most
    /// `--concurrency` in flight, then stop; throughput and latency percentiles, and the
    /// original pipeline's per-upload time for the same file; last line is JSON.
    Serve(bench_serve::BenchServeArgs),
    /// Tracks per second through the CLI, the Python package's `predict_batch` and the
    /// Ray Data job (1 and 2 workers), against the original's pipeline from Python; the
    /// wheel is built into a fresh venv first. Last line is JSON.
    Python(bench_python::BenchPythonArgs),
    /// Peak memory of whole-track `predict` on 30 s, 10 min and 60 min files (this
    /// runner, or another build with `--binary`); last line is JSON.
    Memory(bench_memory::BenchMemoryArgs),
}

/// Runs one command.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::User(command) => genre_cli::run(command),
        Command::Parity(args) => parity::run(args),
        Command::Bench(BenchCommand::Features(args)) => bench_features::run(args),
        Command::Bench(BenchCommand::Model(args)) => bench_model::run(args),
        Command::Bench(BenchCommand::Train(args)) => bench_train::run(args),
        Command::Bench(BenchCommand::Musicnn(args)) => bench_musicnn::run(args),
        Command::Bench(BenchCommand::Serve(args)) => bench_serve::run(args),
        Command::Bench(BenchCommand::Python(args)) => bench_python::run(args),
        Command::Bench(BenchCommand::Memory(args)) => bench_memory::run(args),
        Command::Bundle(args) => bundle::run(args),
        Command::Test(args) => test::run(args),
        Command::Wasm(args) => wasm::run(args),
    }
}
