//! The three architectures as one configuration type and one module type.

use std::str::FromStr;

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::crnn::{Crnn, CrnnConfig, RecurrentKind};
use crate::error::Result;
use crate::musicnn::{
    EmbeddingLayer, MusicnnSource, MusicnnTransfer, MusicnnTransferConfig, TransferHead, TransferHeadConfig,
};
use crate::state_dict::StateDict;
use crate::transformer::{SpecTransformer, SpecTransformerConfig};

/// The architectures, as named on the command line and in checkpoints.
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Architecture {
    /// CNN front + bidirectional GRU (the original's main model).
    CrnnBigru,
    /// CNN front + bidirectional LSTM.
    CrnnBilstm,
    /// Spectrogram transformer.
    Transformer,
    /// A genre head on pretrained musicnn (`MSD_musicnn`), musicnn's own features.
    MusicnnMsd,
    /// A genre head on pretrained musicnn (`MTT_musicnn`), musicnn's own features.
    MusicnnMtt,
    /// A linear genre head on both pretrained taggers (MSD and MTT) side by side.
    MusicnnDual,
}

impl Architecture {
    /// All of them.
    pub const ALL: [Architecture; 6] = [
        Architecture::CrnnBigru,
        Architecture::CrnnBilstm,
        Architecture::Transformer,
        Architecture::MusicnnMsd,
        Architecture::MusicnnMtt,
        Architecture::MusicnnDual,
    ];

    /// `crnn-bigru`, `crnn-bilstm`, `transformer`, `musicnn-msd`, `musicnn-mtt` or
    /// `musicnn-dual`.
    pub fn name(self) -> &'static str {
        match self {
            Architecture::CrnnBigru => "crnn-bigru",
            Architecture::CrnnBilstm => "crnn-bilstm",
            Architecture::Transformer => "transformer",
            Architecture::MusicnnMsd => "musicnn-msd",
            Architecture::MusicnnMtt => "musicnn-mtt",
            Architecture::MusicnnDual => "musicnn-dual",
        }
    }

    /// The pretrained tagger a transfer architecture builds on (the first, for
    /// `musicnn-dual`).
    pub fn musicnn_source(self) -> Option<MusicnnSource> {
        match self {
            Architecture::MusicnnMsd | Architecture::MusicnnDual => Some(MusicnnSource::Msd),
            Architecture::MusicnnMtt => Some(MusicnnSource::Mtt),
            _ => None,
        }
    }

    /// The second tagger of `musicnn-dual`.
    pub fn musicnn_partner(self) -> Option<MusicnnSource> {
        (self == Architecture::MusicnnDual).then_some(MusicnnSource::Mtt)
    }

    /// The layer a transfer architecture's head reads by default: the pools for one
    /// tagger, penultimate and taggram for both (`docs/musicnn.md`).
    pub fn default_embedding(self) -> EmbeddingLayer {
        match self {
            Architecture::MusicnnDual => EmbeddingLayer::PenultimateTaggram,
            _ => EmbeddingLayer::default(),
        }
    }

    /// The features the architecture reads: the original's log-mel, or musicnn's.
    pub fn feature_config(self) -> genre_dsp::FeatureConfig {
        match self.musicnn_source() {
            Some(_) => genre_dsp::FeatureConfig::musicnn(),
            None => genre_dsp::FeatureConfig::default(),
        }
    }

    /// The original's configuration for `n_classes` genres (for the transfer models:
    /// a head on [`Architecture::default_embedding`]).
    pub fn default_config(self, n_classes: usize) -> ModelConfig {
        match self {
            Architecture::CrnnBigru => ModelConfig::Crnn(CrnnConfig::new(n_classes, RecurrentKind::Gru)),
            Architecture::CrnnBilstm => ModelConfig::Crnn(CrnnConfig::new(n_classes, RecurrentKind::Lstm)),
            Architecture::Transformer => ModelConfig::Transformer(SpecTransformerConfig::new(n_classes)),
            Architecture::MusicnnMsd | Architecture::MusicnnMtt => {
                let source = self.musicnn_source().unwrap_or(MusicnnSource::Msd);
                ModelConfig::MusicnnTransfer(MusicnnTransferConfig::for_classes(
                    n_classes,
                    source,
                    EmbeddingLayer::default(),
                ))
            }
            Architecture::MusicnnDual => {
                ModelConfig::MusicnnTransfer(MusicnnTransferConfig::dual(n_classes, self.default_embedding()))
            }
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
        Architecture::ALL.into_iter().find(|a| a.name() == s).ok_or_else(|| {
            format!(
                "unknown architecture {s:?} (crnn-bigru, crnn-bilstm, transformer, musicnn-msd, musicnn-mtt, musicnn-dual)"
            )
        })
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
    /// musicnn with a genre head.
    MusicnnTransfer(MusicnnTransferConfig),
    /// A genre head alone, fed precomputed embeddings as `[B, 1, E]`: what a transfer
    /// model trains while its tagger is frozen.
    TransferHead(TransferHeadConfig),
}

impl ModelConfig {
    /// Which architecture this configures (`None` for a bare transfer head).
    pub fn architecture(&self) -> Option<Architecture> {
        match self {
            ModelConfig::Crnn(c) if c.recurrent == RecurrentKind::Gru => Some(Architecture::CrnnBigru),
            ModelConfig::Crnn(_) => Some(Architecture::CrnnBilstm),
            ModelConfig::Transformer(_) => Some(Architecture::Transformer),
            ModelConfig::MusicnnTransfer(c) => Some(match (c.source, c.partner) {
                (_, Some(_)) => Architecture::MusicnnDual,
                (MusicnnSource::Msd, None) => Architecture::MusicnnMsd,
                (MusicnnSource::Mtt, None) => Architecture::MusicnnMtt,
            }),
            ModelConfig::TransferHead(_) => None,
        }
    }

    /// A short name: the architecture's, or `transfer-head`.
    pub fn name(&self) -> &'static str {
        self.architecture().map_or("transfer-head", Architecture::name)
    }

    /// Number of output classes.
    pub fn n_classes(&self) -> usize {
        match self {
            ModelConfig::Crnn(c) => c.n_classes,
            ModelConfig::Transformer(c) => c.n_classes,
            ModelConfig::MusicnnTransfer(c) => c.head.n_classes,
            ModelConfig::TransferHead(c) => c.n_classes,
        }
    }

    /// A model with fresh random weights.
    pub fn init(&self, device: &Device) -> GenreModel {
        match self {
            ModelConfig::Crnn(c) => GenreModel::Crnn(c.init(device)),
            ModelConfig::Transformer(c) => GenreModel::Transformer(c.init(device)),
            ModelConfig::MusicnnTransfer(c) => GenreModel::MusicnnTransfer(c.init(device)),
            ModelConfig::TransferHead(c) => GenreModel::TransferHead(c.init(device)),
        }
    }

    /// A model with the weights of `dict` (PyTorch key names); every missing, extra or
    /// mis-shaped tensor is named in the error.
    pub fn load(&self, dict: &StateDict, device: &Device) -> Result<GenreModel> {
        Ok(match self {
            ModelConfig::Crnn(c) => GenreModel::Crnn(c.load(dict, device)?),
            ModelConfig::Transformer(c) => GenreModel::Transformer(c.load(dict, device)?),
            ModelConfig::MusicnnTransfer(c) => GenreModel::MusicnnTransfer(c.load(dict, device)?),
            ModelConfig::TransferHead(c) => GenreModel::TransferHead(c.load(dict, device)?),
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
    /// musicnn with a genre head.
    MusicnnTransfer(MusicnnTransfer),
    /// A genre head on precomputed embeddings.
    TransferHead(TransferHead),
}

impl GenreModel {
    /// Logits `[B, classes]` for features `[B, n_mels, frames]` (the architecture's
    /// own features; embeddings as `[B, 1, E]` for a bare head).
    ///
    /// Off the CPU a batch goes through in passes of at most
    /// [`GenreModel::items_per_pass`] items (the same logits; in training the caller
    /// keeps its batches within that).
    pub fn forward(&self, x: Tensor<3>) -> Tensor<2> {
        let [items, rows, columns] = x.dims();
        let limit = self.items_per_pass(&x.device(), rows * columns);
        if items <= limit {
            return self.forward_pass(x);
        }
        Tensor::cat(x.split(limit, 0).into_iter().map(|part| self.forward_pass(part)).collect(), 0)
    }

    /// The most items of `values_per_item` input values (`n_mels * frames`) one forward
    /// pass may hold on `device`: unlimited on the CPU; on a
    /// GPU, as many as keep the widest activation within [`GPU_BUFFER_BYTES`], since
    /// Burn 0.22's wgpu backend computes larger tensors wrongly and says nothing (the
    /// bundled model's logits were off by 68 in a batch of 16, right in one of 10:
    /// `crates/xai/tests/wgpu.rs`).
    pub fn items_per_pass(&self, device: &Device, values_per_item: usize) -> usize {
        if *device == Device::flex() || *device == Device::flex().autodiff() {
            return usize::MAX;
        }
        // The widest activation per input value: the CRNNs' first block (64 channels on
        // the input's grid), musicnn's narrower timbral block (204 filters on 59 of 96
        // mel rows: 125), the transformer's patch tokens and attention (well under 16).
        let widening = match self {
            GenreModel::Crnn(_) => 64,
            GenreModel::Transformer(_) => 16,
            GenreModel::MusicnnTransfer(_) => 128,
            GenreModel::TransferHead(_) => 4,
        };
        let bytes_per_item = values_per_item * widening * std::mem::size_of::<f32>();
        (GPU_BUFFER_BYTES / bytes_per_item.max(1)).max(1)
    }

    fn forward_pass(&self, x: Tensor<3>) -> Tensor<2> {
        match self {
            GenreModel::Crnn(m) => m.forward(x),
            GenreModel::Transformer(m) => m.forward(x),
            GenreModel::MusicnnTransfer(m) => m.forward(x),
            GenreModel::TransferHead(m) => m.forward_rows(x),
        }
    }

    /// The weights under PyTorch's key names.
    pub fn state_dict(&self) -> StateDict {
        match self {
            GenreModel::Crnn(m) => m.state_dict(),
            GenreModel::Transformer(m) => m.state_dict(),
            GenreModel::MusicnnTransfer(m) => m.state_dict(),
            GenreModel::TransferHead(m) => m.state_dict(),
        }
    }
}

/// The largest tensor a GPU pass may hold: wgpu's default storage-buffer binding limit
/// (128 MiB).
pub const GPU_BUFFER_BYTES: usize = 128 << 20;

/// A model's logits with the feature map Grad-CAM weighs (see [`GenreModel::forward_for_cam`]).
#[derive(Debug, Clone)]
pub struct CamForward {
    /// Logits `[B, classes]`.
    pub logits: Tensor<2>,
    /// The map, `[B, channels, rows, columns]`, rows along mels and columns along time.
    pub map: Tensor<4>,
    /// The input extent `[mels, frames]` the map's grid spans; it can exceed the input
    /// (the transformer pads to whole patches), and the upsampled map is then cropped.
    pub covers: [usize; 2],
}

impl GenreModel {
    /// Logits with the map Grad-CAM reads: the CRNNs' last conv block's ReLU output
    /// (before its pooling), the transformer's patch tokens after the encoder, and
    /// musicnn's temporal front-end maps. `None` for a bare transfer head.
    pub fn forward_for_cam(&self, x: Tensor<3>) -> Option<CamForward> {
        let [_, mels, frames] = x.dims();
        match self {
            GenreModel::Crnn(m) => {
                let (logits, map) = m.forward_with_last_activation(x);
                Some(CamForward { logits, map, covers: [mels, frames] })
            }
            GenreModel::Transformer(m) => {
                let (logits, map) = m.forward_with_tokens(x);
                let [_, _, rows, columns] = map.dims();
                let p = m.patch_size();
                Some(CamForward { logits, map, covers: [rows * p, columns * p] })
            }
            GenreModel::MusicnnTransfer(m) => {
                let (logits, map) = m.forward_with_maps(x);
                Some(CamForward { logits, map, covers: [mels, frames] })
            }
            GenreModel::TransferHead(_) => None,
        }
    }
}
