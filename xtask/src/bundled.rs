//! The model that ships inside the binary, used when no `--model` is given.

use models::checkpoint::Checkpoint;

/// The bundled checkpoint, or a message saying how to get a model.
pub fn checkpoint() -> anyhow::Result<Checkpoint> {
    anyhow::bail!(
        "this build has no bundled model yet: pass --model FILE (a model from `cargo xtask import-torch`, \
         or one trained with `cargo xtask train` once it exists)"
    )
}
