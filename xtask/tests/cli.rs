//! The runner as a user meets it: exit codes, one-line errors, files written or not.
#![allow(clippy::unwrap_used)] // a panic in a test helper is a failed test

use std::path::{Path, PathBuf};
use std::process::Command;

fn xtask() -> Command {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("xtask-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn features_writes_a_npy_of_the_right_shape() {
    let dir = scratch("features");
    let out = dir.join("f.npy");
    let status = xtask()
        .args(["features"])
        .arg(fixtures().join("audio/music_22050_flac.flac"))
        .arg("--out")
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(&bytes[..6], b"\x93NUMPY");
    let header = String::from_utf8_lossy(&bytes[10..128]);
    assert!(header.contains("'shape': (10, 128, 130)") && header.contains("'descr': '<f4'"), "{header}");
    assert_eq!(bytes.len() % 64, (10 * 128 * 130 * 4) % 64);

    let whole = dir.join("whole.npy");
    let status = xtask()
        .args(["features", "--whole-track", "--db"])
        .arg(fixtures().join("audio/tones_22050_pcm16.wav"))
        .arg("--out")
        .arg(&whole)
        .status()
        .unwrap();
    assert!(status.success());
    let header = String::from_utf8_lossy(&std::fs::read(&whole).unwrap()[10..128]).to_string();
    assert!(
        header.contains("'shape': (2, 128, 130)"),
        "4.5 s is one segment and a 1.5 s tail, which is kept: {header}"
    );
}

#[test]
fn broken_audio_fails_with_one_line_and_writes_nothing() {
    let dir = scratch("broken");
    for (name, bytes) in [("empty.wav", Vec::new()), ("noise.mp3", vec![0x5a; 3000]), ("text.au", b"hello".to_vec())] {
        let input = dir.join(name);
        std::fs::write(&input, bytes).unwrap();
        let out = dir.join(format!("{name}.npy"));
        let result = xtask().arg("features").arg(&input).arg("--out").arg(&out).output().unwrap();
        assert!(!result.status.success(), "{name} was accepted");
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert_eq!(stderr.trim_end().lines().count(), 1, "{name}: {stderr}");
        assert!(stderr.contains(name), "{name}: {stderr}");
        assert!(!out.exists(), "{name}: an output file was written");
        assert!(std::fs::read_dir(&dir).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().ends_with(".tmp")));
    }
}
