//! The model that ships inside the binary, used when no `--model` is given: made by
//! `cargo xtask bundle` from a `cargo xtask train` run (see README for what it was
//! trained on and how well it does).

use std::path::Path;

use models::checkpoint::Checkpoint;

const BUNDLED: &[u8] = include_bytes!("../assets/bundled.gmdl");

/// The bundled checkpoint.
pub fn checkpoint() -> anyhow::Result<Checkpoint> {
    Ok(Checkpoint::from_bytes(BUNDLED, Path::new("<bundled model>"))?)
}
