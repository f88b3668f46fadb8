//! `genre` explains itself: help, version, completions, man pages, and errors that say
//! what was possible.
#![allow(clippy::unwrap_used)] // a panic in a test helper is a failed test

use std::process::{Command, Output};

fn genre(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_genre")).args(args).output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn help_lists_the_user_commands_and_no_developer_task() {
    let out = genre(&["--help"]);
    assert!(out.status.success());
    let help = stdout(&out);
    for command in [
        "predict",
        "explain",
        "serve",
        "tags",
        "features",
        "embed",
        "validate",
        "split",
        "cache",
        "eda",
        "train",
        "eval",
        "compare",
        "import-torch",
        "completions",
        "man",
    ] {
        assert!(help.lines().any(|l| l.trim_start().starts_with(command)), "{command} missing:\n{help}");
    }
    for task in ["test", "bench", "parity", "bundle"] {
        assert!(!help.lines().any(|l| l.trim_start().starts_with(&format!("{task} "))), "{task} listed:\n{help}");
    }
}

#[test]
fn closed_choices_list_their_values_and_a_typo_gets_a_suggestion() {
    let help = stdout(&genre(&["predict", "-h"]));
    for values in ["mean, median, max, vote", "table, json, csv", "cpu, wgpu, cuda"] {
        assert!(help.contains(values), "{values} missing:\n{help}");
    }
    let help = stdout(&genre(&["train", "-h"]));
    assert!(help.contains("crnn-bigru, crnn-bilstm, transformer, musicnn-msd, musicnn-mtt, musicnn-dual"), "{help}");
    let out = genre(&["predict", "song.ogg", "--aggregate", "meen"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("invalid value 'meen'") && err.contains("'mean'"), "{err}");
    let err = stderr(&genre(&["explain", "song.ogg", "--out", "x", "--method", "gradcam"]));
    assert!(err.contains("'grad-cam'"), "{err}");
}

#[test]
fn threads_default_to_the_machine_s_cores() {
    let cores = std::thread::available_parallelism().unwrap().get();
    let help = stdout(&genre(&["predict", "--help"]));
    assert!(help.contains(&format!("[default: {cores}]")), "{help}");
}

#[test]
fn version_names_the_bundled_models() {
    let out = genre(&["--version"]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.starts_with(&format!("genre {}", env!("CARGO_PKG_VERSION"))), "{text}");
    assert!(text.contains("gtzan") && text.contains("emotify"), "{text}");
}

#[test]
fn completions_and_man_pages_are_generated() {
    for (shell, marker) in [("bash", "_genre()"), ("zsh", "#compdef genre"), ("fish", "complete -c genre")] {
        let out = genre(&["completions", shell]);
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        let script = stdout(&out);
        assert!(script.contains(marker) && script.contains("predict"), "{shell}:\n{script}");
    }
    let dir = tempfile::tempdir().unwrap();
    let out = genre(&["man", "--out", dir.path().to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let page = std::fs::read_to_string(dir.path().join("genre.1")).unwrap();
    assert!(page.starts_with(".ie") || page.contains(".TH genre"), "{page}");
    assert!(dir.path().join("genre-predict.1").is_file());
}

#[cfg(not(feature = "cuda"))]
#[test]
fn a_device_not_built_in_is_one_line_naming_its_feature() {
    let crate_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into());
    let fixture = format!("{crate_dir}/../../fixtures/audio/music_22050_flac.flac");
    let out = genre(&["predict", &fixture, "--device", "cuda"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("--device cuda") && err.contains("--features cuda"), "{err}");
}
