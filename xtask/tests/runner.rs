//! `cargo xtask` is `genre`'s commands plus the developer tasks.
#![allow(clippy::unwrap_used)] // a panic in a test is a failed test

#[test]
fn the_runner_offers_the_user_commands_and_the_developer_tasks() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_xtask")).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for command in ["predict", "explain", "serve", "train", "eval", "test", "bench", "parity", "bundle"] {
        assert!(help.lines().any(|l| l.trim_start().starts_with(command)), "{command} missing:\n{help}");
    }
}
