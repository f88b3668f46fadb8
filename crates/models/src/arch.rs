//! The three architectures as one configuration type and one module type.

use std::str::FromStr;

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::crnn::{Crnn, CrnnConfig, RecurrentKind};
use crate::error::Result;
use crate::state_dict::StateDict;
use crate::transformer::{SpecTransformer, SpecTransformerConfig};

/// The architectures, as named on the command line and in checkpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Architecture {
    /// CNN front + bidirectional GRU (the original's main model).
    CrnnBigru,
    /// CNN front + bidirectional LSTM.
    CrnnBilstm,
    /// Spectrogram transformer.
    Transformer,
}

impl Architecture {
    /// All of them.
    pub const ALL: [Architecture; 3] = [Architecture::CrnnBigru, Architecture::CrnnBilstm, Architecture::Transformer];

    /// `crnn-bigru`, `crnn-bilstm` or `transformer`.
    pub fn name(self) -> &'static str {
        match self {
            Architecture::CrnnBigru => "crnn-bigru",
            Architecture::CrnnBilstm => "crnn-bilstm",
            Architecture::Transformer => "transformer",
        }
    }

    /// The original's configuration for `n_classes` genres.
    pub fn default_config(self, n_classes: usize) -> ModelConfig {
        match self {
            Architecture::CrnnBigru => ModelConfig::Crnn(CrnnConfig::new(n_classes, RecurrentKind::Gru)),
            Architecture::CrnnBilstm => ModelConfig::Crnn(CrnnConfig::new(n_classes, RecurrentKind::Lstm)),
            Architecture::Transformer => ModelConfig::Transformer(SpecTransformerConfig::new(n_classes)),
        }
    }
}

impl std::fmt::Display for Architecture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Architecture {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Architecture::ALL
            .into_iter()
            .find(|a| a.name() == s)
            .ok_or_else(|| format!("unknown architecture {s:?} (crnn-bigru, crnn-bilstm, transformer)"))
    }
}

/// The hyper-parameters of any architecture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ModelConfig {
    /// CRNN-BiGRU or CRNN-BiLSTM.
    Crnn(CrnnConfig),
    /// Spectrogram transformer.
    Transformer(SpecTransformerConfig),
}

impl ModelConfig {
    /// Which architecture this configures.
    pub fn architecture(&self) -> Architecture {
        match self {
            ModelConfig::Crnn(c) if c.recurrent == RecurrentKind::Gru => Architecture::CrnnBigru,
            ModelConfig::Crnn(_) => Architecture::CrnnBilstm,
            ModelConfig::Transformer(_) => Architecture::Transformer,
        }
    }

    /// Number of output classes.
    pub fn n_classes(&self) -> usize {
        match self {
            ModelConfig::Crnn(c) => c.n_classes,
            ModelConfig::Transformer(c) => c.n_classes,
        }
    }

    /// A model with fresh random weights.
    pub fn init(&self, device: &Device) -> GenreModel {
        match self {
            ModelConfig::Crnn(c) => GenreModel::Crnn(c.init(device)),
            ModelConfig::Transformer(c) => GenreModel::Transformer(c.init(device)),
        }
    }

    /// A model with the weights of `dict` (PyTorch key names); every missing, extra or
    /// mis-shaped tensor is named in the error.
    pub fn load(&self, dict: &StateDict, device: &Device) -> Result<GenreModel> {
        Ok(match self {
            ModelConfig::Crnn(c) => GenreModel::Crnn(c.load(dict, device)?),
            ModelConfig::Transformer(c) => GenreModel::Transformer(c.load(dict, device)?),
        })
    }
}

/// Any of the three models.
// A model is built once and then only borrowed; boxing the variants would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum GenreModel {
    /// CRNN-BiGRU or CRNN-BiLSTM.
    Crnn(Crnn),
    /// Spectrogram transformer.
    Transformer(SpecTransformer),
}

impl GenreModel {
    /// Logits `[B, classes]` for standardised features `[B, n_mels, frames]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<2> {
        match self {
            GenreModel::Crnn(m) => m.forward(x),
            GenreModel::Transformer(m) => m.forward(x),
        }
    }

    /// The weights under PyTorch's key names.
    pub fn state_dict(&self) -> StateDict {
        match self {
            GenreModel::Crnn(m) => m.state_dict(),
            GenreModel::Transformer(m) => m.state_dict(),
        }
    }
}
