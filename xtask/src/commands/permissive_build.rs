//! `genre-dsp` as another project builds it without the LGPL `soxr` feature: its own
//! tests (rubato resampling, held to the resampled-audio bounds), then a downstream
//! crate made in a temp folder that depends on it with `default-features = false` and
//! computes features in three lines. Its dependency tree must hold no `soxr-hq`, and
//! `cargo deny check licenses` with the repository's `deny.toml` (a permissive
//! allow-list) must pass on it. cargo-deny is found, or installed with
//! `cargo install --locked`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;

/// What the downstream crate's `main.rs` holds: the three lines of the README.
const DOWNSTREAM_MAIN: &str = r#"fn main() -> Result<(), genre_dsp::DspError> {
    let extractor = genre_dsp::FeatureExtractor::new(genre_dsp::FeatureConfig::default())?;
    let features = extractor.extract(std::env::args().nth(1).unwrap_or_default())?;
    println!("features {:?}, resampler {}", features.shape(), genre_dsp::Resampler::of_this_build());
    Ok(())
}
"#;

/// Runs every check; whether all passed. Prints what each found.
pub fn check(cargo: &str, root: &Path) -> anyhow::Result<bool> {
    let tests = Command::new(cargo)
        .args(["test", "-p", "genre-dsp", "--no-default-features"])
        .current_dir(root)
        .status()
        .context("cannot run genre-dsp's tests without soxr")?;
    let downstream = tempfile::Builder::new().prefix("genre-dsp-downstream-").tempdir()?;
    write_downstream(downstream.path(), root)?;
    let manifest = downstream.path().join("Cargo.toml");
    let audio = root.join("fixtures/audio/music_44100_mp3.mp3");
    let run = Command::new(cargo)
        .args(["run", "--quiet", "--manifest-path"])
        .arg(&manifest)
        .arg("--")
        .arg(&audio)
        .output()
        .context("cannot run the downstream crate")?;
    let printed = String::from_utf8_lossy(&run.stdout);
    println!("downstream crate on {}: {}", audio.display(), printed.trim());
    let ran = run.status.success() && printed.contains("features [10, 128, 130], resampler rubato");
    if !ran {
        eprintln!("{}", String::from_utf8_lossy(&run.stderr));
    }
    let tree = Command::new(cargo)
        .args(["tree", "--edges", "normal", "--prefix", "none", "--format", "{p} {l}", "--manifest-path"])
        .arg(&manifest)
        .output()
        .context("cannot run cargo tree")?;
    let tree = String::from_utf8_lossy(&tree.stdout);
    let copyleft: Vec<&str> = tree.lines().filter(|l| l.contains("soxr") || l.contains("GPL")).collect();
    println!("downstream dependency tree: {} crates, LGPL/GPL among them: {copyleft:?}", tree.lines().count());
    let licences = deny(cargo)?.arg("--manifest-path").arg(&manifest).args(["check", "licenses"]).status()?;
    Ok(tests.success() && ran && copyleft.is_empty() && !tree.is_empty() && licences.success())
}

fn write_downstream(dir: &Path, root: &Path) -> anyhow::Result<()> {
    let dsp = root.join("crates/dsp").canonicalize().context("crates/dsp")?;
    let manifest = format!(
        "[package]\nname = \"downstream\"\nversion = \"0.1.0\"\nedition = \"2024\"\nlicense = \"MIT\"\npublish = false\n\n\
         [dependencies]\ngenre-dsp = {{ path = {:?}, default-features = false }}\n\n[workspace]\n",
        dsp.display().to_string()
    );
    std::fs::create_dir_all(dir.join("src"))?;
    std::fs::write(dir.join("Cargo.toml"), manifest)?;
    std::fs::write(dir.join("src/main.rs"), DOWNSTREAM_MAIN)?;
    std::fs::copy(root.join("deny.toml"), dir.join("deny.toml")).context("deny.toml")?;
    Ok(())
}

/// `cargo deny`, installed first if it is missing.
fn deny(cargo: &str) -> anyhow::Result<Command> {
    let found = || Command::new(cargo).args(["deny", "--version"]).output().is_ok_and(|o| o.status.success());
    if !found() {
        println!("cargo-deny not found; installing it with `cargo install --locked cargo-deny`");
        let build = tempfile::Builder::new().prefix("cargo-deny-build-").tempdir()?;
        let installed = Command::new(cargo)
            .args(["install", "--locked", "cargo-deny"])
            .env("CARGO_TARGET_DIR", build.path())
            .status()
            .context("cannot run cargo install")?;
        anyhow::ensure!(installed.success() && found(), "cargo-deny could not be installed; install it by hand");
    }
    let mut command = Command::new(cargo);
    command.arg("deny");
    Ok(command)
}

/// The clone this runner was built from.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}
