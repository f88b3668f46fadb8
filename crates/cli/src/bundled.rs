//! The models that ship inside the binary, and what `--model` names: a bundled model
//! by name (`gtzan`, the default, or `emotify`), or else a model file. Each bundled
//! model is made by `cargo xtask bundle` from a `genre train` run (README says
//! what each was trained on and how well it does).

use std::path::{Path, PathBuf};

use anyhow::Context;
use genre_models::checkpoint::Checkpoint;

/// A model inside the binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BundledModel {
    /// GTZAN's ten genres (the default).
    Gtzan,
    /// Emotify's four genres: classical, electronic, pop, rock.
    Emotify,
}

impl BundledModel {
    /// Every bundled model, the default first.
    pub const ALL: [BundledModel; 2] = [BundledModel::Gtzan, BundledModel::Emotify];

    /// The name `--model` takes.
    pub fn name(self) -> &'static str {
        match self {
            BundledModel::Gtzan => "gtzan",
            BundledModel::Emotify => "emotify",
        }
    }

    fn bytes(self) -> &'static [u8] {
        match self {
            BundledModel::Gtzan => include_bytes!("../assets/gtzan.gmdl"),
            BundledModel::Emotify => include_bytes!("../assets/emotify.gmdl"),
        }
    }

    /// Where `cargo xtask bundle` stores it in the source tree.
    pub fn asset_path(self) -> PathBuf {
        Path::new("crates/cli/assets").join(format!("{}.gmdl", self.name()))
    }

    /// Its checkpoint.
    pub fn checkpoint(self) -> anyhow::Result<Checkpoint> {
        let origin = PathBuf::from(format!("<bundled model {}>", self.name()));
        Ok(Checkpoint::from_bytes(self.bytes(), &origin)?)
    }
}

/// What `--model` says: a bundled model's name, or a model file's path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelChoice {
    /// A model inside the binary.
    Bundled(BundledModel),
    /// A model file (from `train`, `import-torch` or `bundle`).
    File(PathBuf),
}

impl Default for ModelChoice {
    fn default() -> Self {
        ModelChoice::Bundled(BundledModel::Gtzan)
    }
}

impl std::str::FromStr for ModelChoice {
    type Err = std::convert::Infallible;

    /// A bundled model's name, else a path (`./gtzan` names a file called `gtzan`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(BundledModel::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .map_or_else(|| ModelChoice::File(PathBuf::from(s)), ModelChoice::Bundled))
    }
}

impl std::fmt::Display for ModelChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModelChoice::Bundled(m) => f.write_str(m.name()),
            ModelChoice::File(path) => write!(f, "{}", path.display()),
        }
    }
}

impl ModelChoice {
    /// The checkpoint. A path that is no file is reported with the bundled names, since
    /// it was most likely meant as one.
    pub fn load(&self) -> anyhow::Result<Checkpoint> {
        match self {
            ModelChoice::Bundled(m) => m.checkpoint(),
            // A bare word was most likely meant as a bundled model's name.
            ModelChoice::File(path)
                if !path.exists() && path.components().count() == 1 && path.extension().is_none() =>
            {
                anyhow::bail!(
                    "--model {}: no bundled model has that name and no such file exists; bundled models: \
                     gtzan (the default, GTZAN's ten genres), emotify (four genres)",
                    path.display()
                )
            }
            ModelChoice::File(path) if !path.exists() => anyhow::bail!("--model {}: no such file", path.display()),
            ModelChoice::File(path) => {
                Checkpoint::load(path).with_context(|| format!("--model {}: not a model file", path.display()))
            }
        }
    }

    /// A short name for the model: the bundled name, or the file's stem.
    pub fn short_name(&self) -> String {
        match self {
            ModelChoice::Bundled(m) => m.name().to_string(),
            ModelChoice::File(path) => path.file_stem().map_or("model".into(), |s| s.to_string_lossy().into_owned()),
        }
    }
}
