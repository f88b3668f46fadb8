//! `cargo xtask test [-- CARGO_TEST_ARGS]`: the whole test suite, as CI runs it.
//!
//! Runs `cargo test --workspace --all-targets`, then the doc tests. The web app's
//! end-to-end test drives a real headless Chromium: this command finds one (`$CHROMIUM`,
//! or `chromium`, `chromium-browser`, `google-chrome` on `PATH`) or, on a Debian-like
//! machine where it may, installs Debian's `chromium` package with apt-get, so that
//! README's test command works on a fresh machine.

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use anyhow::Context;

#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// Extra arguments passed to `cargo test` (after `--`).
    #[arg(last = true)]
    pub cargo_args: Vec<String>,
}

const BROWSERS: [&str; 4] = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];

pub fn run(args: TestArgs) -> anyhow::Result<ExitCode> {
    let browser = find_or_install_chromium()?;
    println!("browser for the web app's end-to-end test: {}", browser.display());
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(&cargo)
        .args(["test", "--workspace", "--all-targets"])
        .args(&args.cargo_args)
        .env("CHROMIUM", &browser)
        .status()
        .context("cannot run cargo test")?;
    // Doc tests are not part of --all-targets.
    let doc_status =
        Command::new(&cargo).args(["test", "--workspace", "--doc"]).status().context("cannot run cargo test --doc")?;
    Ok(if status.success() && doc_status.success() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn find_chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).find_map(|dir| BROWSERS.iter().map(|name| dir.join(name)).find(|p| p.is_file()))
}

/// Chromium, installed with apt-get if it is missing and apt-get can run (as root, or
/// through sudo without a password).
fn find_or_install_chromium() -> anyhow::Result<PathBuf> {
    if let Some(found) = find_chromium() {
        return Ok(found);
    }
    println!("no Chromium found; installing Debian's chromium package with apt-get");
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    let apt = |args: &[&str]| {
        let mut command = if root { Command::new("apt-get") } else { Command::new("sudo") };
        if !root {
            command.args(["-n", "apt-get"]);
        }
        command.args(args).env("DEBIAN_FRONTEND", "noninteractive").status()
    };
    let installed = apt(&["update", "-qq"]).is_ok_and(|s| s.success())
        && apt(&["install", "-y", "-qq", "chromium"]).is_ok_and(|s| s.success());
    match find_chromium() {
        Some(found) if installed => Ok(found),
        _ => anyhow::bail!(
            "the web app's end-to-end test needs Chromium and it could not be installed here; \
             install it (Debian/Ubuntu: `apt-get install chromium`) or set CHROMIUM to a Chrome or Chromium binary"
        ),
    }
}
