//! The Python package's tests, as a user gets the package: a fresh virtual environment
//! in a temp folder, the wheel built by maturin (`crates/python`) and installed with pip,
//! then pytest (`crates/python/tests`) with a `PATH` that holds no Rust toolchain, so
//! that the installed wheel is shown to be self-contained. The tests compare with the
//! `predict` command of this runner (`GENRE_CLI`), and the Ray test starts a two-node
//! Ray cluster on this machine. pip's own cache makes repeated runs quick.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;

/// What pytest needs besides the wheel (and numpy, which the wheel requires).
const TEST_REQUIREMENTS: [&str; 4] = ["pytest>=7", "ray[data]>=2.9", "pyarrow>=10", "maturin>=1.9,<2"];

/// A fresh venv in `scratch` with the test requirements and the wheel just built:
/// its `python`.
pub fn venv_with_wheel(root: &Path, scratch: &Path) -> anyhow::Result<PathBuf> {
    let venv = scratch.join("venv");
    let python = find_python()?;
    run(Command::new(&python).args(["-m", "venv"]).arg(&venv), "python -m venv")?;
    let venv_python = venv.join("bin/python");
    run(
        Command::new(&venv_python)
            .args(["-m", "pip", "install", "--quiet", "--upgrade", "pip"])
            .args(TEST_REQUIREMENTS),
        "pip install (test requirements)",
    )?;
    let wheels = scratch.join("wheels");
    run(
        Command::new(venv.join("bin/maturin"))
            .args(["build", "--release", "--quiet", "--manifest-path"])
            .arg(root.join("crates/python/Cargo.toml"))
            .arg("--out")
            .arg(&wheels)
            .arg("--interpreter")
            .arg(&venv_python),
        "maturin build",
    )?;
    let wheel = std::fs::read_dir(&wheels)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|e| e == "whl"))
        .context("maturin made no wheel")?;
    println!(
        "wheel: {} ({} MB)",
        wheel.file_name().unwrap_or_default().to_string_lossy(),
        wheel.metadata()?.len() >> 20
    );
    run(Command::new(&venv_python).args(["-m", "pip", "install", "--quiet"]).arg(&wheel), "pip install (the wheel)")?;
    Ok(venv_python)
}

/// `PATH` with the venv's `bin` and the system's, and no Rust toolchain.
pub fn path_without_rust(venv_python: &Path) -> String {
    let bin = venv_python.parent().map(Path::display).map(|d| d.to_string()).unwrap_or_default();
    format!("{bin}:/usr/local/bin:/usr/bin:/bin")
}

/// Builds, installs and tests the package; whether the tests passed.
pub fn check(root: &Path) -> anyhow::Result<bool> {
    let scratch = tempfile::Builder::new().prefix("genre-python-").tempdir()?;
    let venv_python = venv_with_wheel(root, scratch.path())?;
    // No cargo, rustc or rustup on PATH from here on: the wheel must not need them.
    let runner = std::env::current_exe().context("this runner's path")?;
    let status = Command::new(&venv_python)
        .args(["-m", "pytest", "-q", "-s", "-p", "no:cacheprovider"])
        .arg(root.join("crates/python/tests"))
        .env("PATH", path_without_rust(&venv_python))
        .env_remove("CARGO")
        .env_remove("RUSTUP_TOOLCHAIN")
        .env("GENRE_CLI", runner)
        .current_dir(scratch.path())
        .status()
        .context("cannot run pytest")?;
    Ok(status.success())
}

/// A CPython 3.9 or newer with `venv`.
fn find_python() -> anyhow::Result<PathBuf> {
    for name in ["python3", "python"] {
        let ok = Command::new(name)
            .args(["-c", "import sys, venv; sys.exit(sys.version_info < (3, 9))"])
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Ok(PathBuf::from(name));
        }
    }
    anyhow::bail!("the Python package's tests need CPython 3.9 or newer with venv (python3 on PATH)")
}

fn run(command: &mut Command, what: &str) -> anyhow::Result<()> {
    let status = command.status().with_context(|| format!("cannot run {what}"))?;
    anyhow::ensure!(status.success(), "{what} failed ({status})");
    Ok(())
}
