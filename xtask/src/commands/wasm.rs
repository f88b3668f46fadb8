//! `cargo xtask wasm [--out DIR]`: the web app's on-device classifier, `crates/wasm` built
//! for `wasm32-unknown-unknown` (release) and bound with `wasm-bindgen --target web`,
//! into DIR (default `<target dir>/wasm-pkg`); serve it with `genre serve --wasm-dir DIR`.
//! The wasm32 target and `wasm-bindgen-cli` (at the version of the `wasm-bindgen` crate in
//! `Cargo.lock`) are found or installed (`rustup target add`, `cargo install`). Prints the
//! package's size, raw and gzip-compressed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::Context;

use super::permissive_build::workspace_root;

const TARGET: &str = "wasm32-unknown-unknown";

#[derive(Debug, clap::Args)]
pub struct WasmArgs {
    /// Where to write the package (`genre_wasm.js`, `genre_wasm_bg.wasm`).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run(args: WasmArgs) -> anyhow::Result<ExitCode> {
    let out = build_package(args.out)?;
    println!("on-device package in {}; serve it with `genre serve --wasm-dir {}`", out.display(), out.display());
    Ok(ExitCode::SUCCESS)
}

/// Builds the package into `out` (or the default folder); returns the folder.
pub fn build_package(out: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    let root = workspace_root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target_dir = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let out = out.unwrap_or_else(|| target_dir.join("wasm-pkg"));
    ensure_target()?;
    let bindgen = ensure_bindgen(&cargo, &root)?;
    let status = Command::new(&cargo)
        .args(["build", "--release", "-p", "genre-wasm", "--target", TARGET])
        .current_dir(&root)
        .status()
        .context("cannot run cargo build")?;
    anyhow::ensure!(status.success(), "the WebAssembly build failed");
    let wasm = target_dir.join(TARGET).join("release/genre_wasm.wasm");
    let status = Command::new(bindgen)
        .args(["--target", "web", "--out-dir"])
        .arg(&out)
        .arg(&wasm)
        .status()
        .context("cannot run wasm-bindgen")?;
    anyhow::ensure!(status.success(), "wasm-bindgen failed");
    let module = out.join("genre_wasm_bg.wasm");
    let raw = std::fs::metadata(&module)?.len();
    println!("genre_wasm_bg.wasm: {:.2} MB, {:.2} MB gzip-compressed", mb(raw), mb(gzip_size(&module)?));
    Ok(out)
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

/// The size of `path` compressed by `gzip -9` (as a server would send it).
fn gzip_size(path: &Path) -> anyhow::Result<u64> {
    let output = Command::new("gzip").args(["-9", "-c"]).arg(path).output().context("cannot run gzip")?;
    anyhow::ensure!(output.status.success(), "gzip failed");
    Ok(output.stdout.len() as u64)
}

fn ensure_target() -> anyhow::Result<()> {
    let installed = Command::new("rustup").args(["target", "list", "--installed"]).output();
    if installed.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).lines().any(|l| l.trim() == TARGET)) {
        return Ok(());
    }
    println!("adding the {TARGET} target with rustup");
    let status = Command::new("rustup").args(["target", "add", TARGET]).status().context("cannot run rustup")?;
    anyhow::ensure!(status.success(), "rustup target add {TARGET} failed");
    Ok(())
}

/// `wasm-bindgen` at the version `Cargo.lock` has for the `wasm-bindgen` crate (the two
/// must match), installed into cargo's bin folder if missing.
fn ensure_bindgen(cargo: &str, root: &Path) -> anyhow::Result<PathBuf> {
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).context("Cargo.lock")?;
    let version = lock
        .split("[[package]]")
        .find(|p| p.contains("name = \"wasm-bindgen\"\n"))
        .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = \"")))
        .map(|v| v.trim_end_matches('"').to_string())
        .context("Cargo.lock has no wasm-bindgen")?;
    let bindgen = PathBuf::from("wasm-bindgen");
    let found = Command::new(&bindgen).arg("--version").output();
    if found.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(&version)) {
        return Ok(bindgen);
    }
    println!("installing wasm-bindgen-cli {version} with cargo install");
    std::io::stdout().flush()?;
    let build = tempfile::Builder::new().prefix("wasm-bindgen-build-").tempdir()?;
    let status = Command::new(cargo)
        .args(["install", "wasm-bindgen-cli", "--version", &version])
        .env("CARGO_TARGET_DIR", build.path())
        .status()
        .context("cannot run cargo install")?;
    anyhow::ensure!(status.success(), "cargo install wasm-bindgen-cli {version} failed");
    Ok(bindgen)
}
