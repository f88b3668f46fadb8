//! `cargo xtask test [-- CARGO_TEST_ARGS]`: the whole test suite, as CI runs it.
//!
//! Runs `cargo test --workspace --all-targets`, then the doc tests. The web app's
//! end-to-end test drives a real headless Chromium: this command finds one (`$CHROMIUM`,
//! or `chromium`, `chromium-browser`, `google-chrome` on `PATH`) or, on a Debian-like
//! machine where it may, installs Debian's `chromium` package with apt-get, so that
//! README's test command works on a fresh machine.
//!
//! The WebAssembly package of the web app's on-device mode is built first (`wasm.rs`),
//! for the browser test. Then `genre-dsp` as other projects may build it, without its LGPL `soxr` feature
//! (`permissive_build.rs`: its tests, a downstream crate, `cargo deny`). Then the Python
//! package: its wheel built and installed in a fresh venv, and its pytest suite
//! (`python_package.rs`), Ray's two-node test included.
//!
//! Then the GPU code path: `genre-xai`'s `tests/wgpu.rs` built with Burn's wgpu backend
//! compares predictions, explanations and a training step with the CPU's. It needs a
//! Vulkan driver; with no GPU, Mesa's CPU-emulated one (lavapipe, Debian's
//! `mesa-vulkan-drivers`), found or installed the same way as Chromium.

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
    // The web app's on-device mode, for its browser test.
    let wasm_package = super::wasm::build_package(None)?;
    let status = Command::new(&cargo)
        // The Python extension module links against libpython only inside a Python
        // process; its tests run through pytest below.
        .args(["test", "--workspace", "--all-targets", "--no-fail-fast", "--exclude", "genre-classifier"])
        .args(&args.cargo_args)
        .env("CHROMIUM", &browser)
        .env("GENRE_WASM_PKG", &wasm_package)
        .status()
        .context("cannot run cargo test")?;
    // Doc tests are not part of --all-targets.
    let doc_status = Command::new(&cargo)
        .args(["test", "--workspace", "--doc", "--exclude", "genre-classifier"])
        .status()
        .context("cannot run cargo test --doc")?;
    let root = super::permissive_build::workspace_root();
    let permissive = super::permissive_build::check(&cargo, &root)?;
    let python = super::python_package::check(&root)?;
    find_or_install_vulkan_driver()?;
    // One test at a time: each fills the emulated GPU's threads by itself. The tests
    // append their figures to a report, printed here for CI's log.
    let report = std::env::temp_dir().join(format!("genre-wgpu-report-{}.txt", std::process::id()));
    let gpu_status = Command::new(&cargo)
        .args(["test", "-p", "genre-xai", "--features", "wgpu", "--test", "wgpu", "--", "--test-threads=1"])
        .env("GENRE_WGPU_REPORT", &report)
        .status()
        .context("cannot run the wgpu tests")?;
    if let Ok(figures) = std::fs::read_to_string(&report) {
        println!("wgpu against cpu (Mesa's lavapipe):\n{figures}");
        let _ = std::fs::remove_file(&report);
    }
    let all = [status, doc_status, gpu_status];
    Ok(if permissive && python && all.iter().all(|s| s.success()) { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Where Vulkan loaders look for installed drivers' manifests.
const VULKAN_ICD_DIRS: [&str; 2] = ["/usr/share/vulkan/icd.d", "/etc/vulkan/icd.d"];

fn vulkan_driver_installed() -> bool {
    VULKAN_ICD_DIRS.iter().any(|dir| std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some()))
}

/// A Vulkan driver for the wgpu tests: any installed one, else Mesa's (with lavapipe,
/// which runs on the CPU) installed with apt-get where that can run.
fn find_or_install_vulkan_driver() -> anyhow::Result<()> {
    if vulkan_driver_installed() {
        return Ok(());
    }
    println!("no Vulkan driver found; installing Debian's mesa-vulkan-drivers package with apt-get");
    let installed = apt_get(&["update", "-qq"]) && apt_get(&["install", "-y", "-qq", "mesa-vulkan-drivers"]);
    anyhow::ensure!(
        installed && vulkan_driver_installed(),
        "the wgpu tests need a Vulkan driver and none could be installed here; install one (Debian/Ubuntu: \
         `apt-get install mesa-vulkan-drivers`, a CPU-emulated GPU)"
    );
    Ok(())
}

/// Runs apt-get as root, or through sudo without a password; whether it succeeded.
fn apt_get(args: &[&str]) -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    let mut command = if root { Command::new("apt-get") } else { Command::new("sudo") };
    if !root {
        command.args(["-n", "apt-get"]);
    }
    command.args(args).env("DEBIAN_FRONTEND", "noninteractive").status().is_ok_and(|s| s.success())
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
    let installed = apt_get(&["update", "-qq"]) && apt_get(&["install", "-y", "-qq", "chromium"]);
    match find_chromium() {
        Some(found) if installed => Ok(found),
        _ => anyhow::bail!(
            "the web app's end-to-end test needs Chromium and it could not be installed here; \
             install it (Debian/Ubuntu: `apt-get install chromium`) or set CHROMIUM to a Chrome or Chromium binary"
        ),
    }
}
