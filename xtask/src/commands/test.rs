//! `cargo xtask test [-- CARGO_TEST_ARGS]`: the whole test suite, as CI runs it.
//!
//! Today this is `cargo test --workspace`; it is the one place that will also find or
//! install what later tests need (a browser, a Python stack), so README's test command
//! stays the same.

use std::process::{Command, ExitCode};

use anyhow::Context;

use crate::cli::TestArgs;

pub fn run(args: TestArgs) -> anyhow::Result<ExitCode> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["test", "--workspace", "--all-targets"])
        .args(&args.cargo_args)
        .status()
        .context("cannot run cargo test")?;
    // Doc tests are not part of --all-targets.
    let doc_status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["test", "--workspace", "--doc"])
        .status()
        .context("cannot run cargo test --doc")?;
    Ok(if status.success() && doc_status.success() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
