//! musicnn (Pons and Serra, 2019): the pretrained music tagger of the `musicnn` Python
//! package, and genre models that learn on its embeddings.
//!
//! ```text
//! [B, 96 mels, 187 frames] -> [B, 1, 187, 96] -> BN
//!   front-end: timbral  conv 7x38, 7x67 (204 each, time padded 3)  -> ReLU -> BN -> max over mels
//!              temporal conv 128x1, 64x1, 32x1 (51 each, "same")    -> ReLU -> BN -> max over mels
//!              concatenated: [B, 561, 187]
//!   mid-end:   conv1d k7 561->64 -> ReLU -> BN               = cnn1
//!              conv1d k7 64->64  -> ReLU -> BN, + cnn1       = cnn2
//!              conv1d k7 64->64  -> ReLU -> BN, + cnn2       = cnn3
//!              concatenated with the front-end: [B, 753, 187]
//!   back-end:  max and mean over time, interleaved [B, 1506] -> BN
//!              -> dense 200 -> ReLU -> BN (= penultimate) -> dense 50 (logits; taggram = sigmoid)
//! ```
//!
//! Layer names follow `weights/convert_musicnn.py`, which turns the package's
//! TensorFlow checkpoints into PyTorch-layout state dicts (`input_bn`, `timbral_74`,
//! `temporal_128`, `midend_1`, `backend.dense`, ...). TensorFlow's batch norm uses
//! `epsilon = 1e-3`, and its "same" padding puts the odd extra row after the input.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

mod embedding;
mod head;
mod pretrained;
mod tag_prior;
mod tagger;
mod transfer;

pub use embedding::{EmbeddingCache, EmbeddingStandardization, embed_set, embeddings_side_by_side};
pub use head::{TransferHead, TransferHeadConfig};
pub use pretrained::{load_pretrained, tag_names};
pub use tag_prior::TagPriorConfig;
pub use tagger::{FrontendBlock, MidendLayer, Musicnn, MusicnnConfig, MusicnnOutputs};
pub use transfer::{MusicnnTransfer, MusicnnTransferConfig};

/// Which of musicnn's outputs a genre head learns from.
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum EmbeddingLayer {
    /// The 200-unit penultimate layer.
    Penultimate,
    /// Mean and max pools of the front- and mid-end, `2 * 753` values.
    #[default]
    Pools,
    /// The 50 tag probabilities.
    Taggram,
    /// The penultimate layer, then the tag probabilities: `200 + 50` values.
    PenultimateTaggram,
}

impl EmbeddingLayer {
    /// `penultimate`, `pools` or `taggram`.
    pub fn name(self) -> &'static str {
        match self {
            EmbeddingLayer::Penultimate => "penultimate",
            EmbeddingLayer::Pools => "pools",
            EmbeddingLayer::Taggram => "taggram",
            EmbeddingLayer::PenultimateTaggram => "penultimate-taggram",
        }
    }

    /// Length of the embedding for `config`.
    pub fn size(self, config: &MusicnnConfig) -> usize {
        match self {
            EmbeddingLayer::Penultimate => config.backend_units,
            EmbeddingLayer::Pools => config.pool_features(),
            EmbeddingLayer::Taggram => config.n_tags,
            EmbeddingLayer::PenultimateTaggram => config.backend_units + config.n_tags,
        }
    }
}

impl FromStr for EmbeddingLayer {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        [
            EmbeddingLayer::Penultimate,
            EmbeddingLayer::Pools,
            EmbeddingLayer::Taggram,
            EmbeddingLayer::PenultimateTaggram,
        ]
        .into_iter()
        .find(|l| l.name() == s)
        .ok_or_else(|| format!("unknown embedding layer {s:?} (penultimate, pools, taggram, penultimate-taggram)"))
    }
}

/// The pretrained weights a transfer model starts from.
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MusicnnSource {
    /// `MSD_musicnn`: trained on the Million Song Dataset's 50 most common tags.
    Msd,
    /// `MTT_musicnn`: trained on MagnaTagATune's 50 most common tags.
    Mtt,
}

impl MusicnnSource {
    /// `msd` or `mtt`.
    pub fn name(self) -> &'static str {
        match self {
            MusicnnSource::Msd => "msd",
            MusicnnSource::Mtt => "mtt",
        }
    }
}

impl FromStr for MusicnnSource {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "msd" => Ok(MusicnnSource::Msd),
            "mtt" => Ok(MusicnnSource::Mtt),
            _ => Err(format!("unknown musicnn model {s:?} (msd, mtt)")),
        }
    }
}
