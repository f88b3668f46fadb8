//! `cargo xtask bench python [--reference-python PYTHON] FOLDER`
//!
//! Tracks per second through each way of classifying many files, in one run: the CLI
//! (`predict` of this runner over the folder), the Python package's `predict_batch`,
//! the Ray Data job with 1 and 2 workers on a local Ray, and, with `--reference-python`
//! (librosa and torch installed), the original's per-upload pipeline from Python. The
//! wheel is built and installed into a fresh venv first; the measuring is
//! `crates/python/bench/throughput.py`. The last line is JSON.

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use anyhow::Context;

use super::permissive_build::workspace_root;
use super::python_package::{path_without_rust, venv_with_wheel};

#[derive(Debug, clap::Args)]
pub struct BenchPythonArgs {
    /// A folder of audio files (walked).
    pub folder: PathBuf,
    /// A Python with librosa and torch (`../shared/bench/requirements.txt`) for the
    /// original's pipeline, measured in the same run.
    #[arg(long)]
    pub reference_python: Option<PathBuf>,
    /// Threads for every side.
    #[arg(long, default_value_t = genre_cli::args::default_threads())]
    pub threads: usize,
}

pub fn run(args: BenchPythonArgs) -> anyhow::Result<ExitCode> {
    let root = workspace_root();
    let scratch = tempfile::Builder::new().prefix("genre-bench-python-").tempdir()?;
    let python = venv_with_wheel(&root, scratch.path())?;
    let mut command = Command::new(&python);
    command
        .arg(root.join("crates/python/bench/throughput.py"))
        .arg(&args.folder)
        .arg("--cli")
        .arg(std::env::current_exe()?)
        .args(["--threads", &args.threads.to_string()])
        .env("PATH", path_without_rust(&python));
    if let Some(reference) = &args.reference_python {
        command.arg("--reference-python").arg(reference);
    }
    let status = command.status().context("cannot run the throughput script")?;
    Ok(if status.success() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
