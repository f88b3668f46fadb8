//! What a training run is told: the optimiser, the original's recipe per architecture,
//! the learning-rate schedule and SpecAugment.

use serde::{Deserialize, Serialize};

use crate::arch::{Architecture, ModelConfig};

/// The optimiser and its settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum OptimizerConfig {
    /// Adam (PyTorch's defaults: betas 0.9 / 0.999, eps 1e-8).
    Adam {
        /// Learning rate.
        lr: f64,
    },
    /// AdamW with decoupled weight decay.
    AdamW {
        /// Learning rate.
        lr: f64,
        /// Weight decay.
        weight_decay: f32,
    },
}

/// Everything that defines a training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingConfig {
    /// The model.
    pub model: ModelConfig,
    /// The optimiser.
    pub optimizer: OptimizerConfig,
    /// Segments per batch.
    pub batch_size: usize,
    /// Upper bound on epochs.
    pub max_epochs: usize,
    /// Epochs without a better validation accuracy before stopping.
    pub patience: usize,
    /// Seed of the weights and of the shuffles.
    pub seed: u64,
    /// Lower the learning rate when validation loss stops improving (off by default).
    #[serde(default)]
    pub reduce_lr_on_plateau: Option<ReduceLrOnPlateau>,
    /// SpecAugment-style masking of training inputs (off by default).
    #[serde(default)]
    pub spec_augment: Option<SpecAugment>,
    /// Weigh each training track equally in the loss, however many segments it has
    /// (off by default: each segment counts once). A collection of 2 s excerpts beside
    /// 30 s clips would otherwise learn mostly from the long clips' few artists.
    #[serde(default)]
    pub weight_tracks_equally: bool,
}

/// PyTorch's `ReduceLROnPlateau(mode="min")` on the validation loss: after `patience`
/// epochs without a relative improvement of `threshold`, the learning rate is
/// multiplied by `factor`, never below `min_lr`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReduceLrOnPlateau {
    /// Multiplier of the learning rate.
    pub factor: f64,
    /// Epochs without improvement before lowering it.
    pub patience: usize,
    /// Relative improvement that counts.
    pub threshold: f64,
    /// Floor of the learning rate.
    pub min_lr: f64,
}

impl Default for ReduceLrOnPlateau {
    /// Halve after 3 epochs without a 0.01% better validation loss.
    fn default() -> Self {
        ReduceLrOnPlateau { factor: 0.5, patience: 3, threshold: 1e-4, min_lr: 1e-6 }
    }
}

/// SpecAugment-style masking (Park et al., 2019, without time warping): each training
/// segment gets `time_masks` bands of up to `max_time` frames and `freq_masks` bands of
/// up to `max_freq` mel bins set to 0 (the mean of standardised features); drawn from
/// the epoch's seed, so a resumed run masks the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecAugment {
    /// Time masks per segment.
    pub time_masks: usize,
    /// Widest time mask, frames.
    pub max_time: usize,
    /// Frequency masks per segment.
    pub freq_masks: usize,
    /// Widest frequency mask, mel bins.
    pub max_freq: usize,
}

impl Default for SpecAugment {
    /// Two masks of up to 13 frames (0.3 s) and two of up to 12 mel bins.
    fn default() -> Self {
        SpecAugment { time_masks: 2, max_time: 13, freq_masks: 2, max_freq: 12 }
    }
}

impl SpecAugment {
    /// Masks one `[n_mels, n_frames]` segment in place.
    pub fn apply(&self, segment: &mut [f32], n_mels: usize, n_frames: usize, rng: &mut impl rand::RngExt) {
        for _ in 0..self.time_masks {
            let width = rng.random_range(0..=self.max_time.min(n_frames));
            let start = rng.random_range(0..=n_frames - width);
            for row in segment.chunks_exact_mut(n_frames) {
                row[start..start + width].fill(0.0);
            }
        }
        for _ in 0..self.freq_masks {
            let width = rng.random_range(0..=self.max_freq.min(n_mels));
            let start = rng.random_range(0..=n_mels - width);
            segment[start * n_frames..(start + width) * n_frames].fill(0.0);
        }
    }
}

impl TrainingConfig {
    /// The original's recipe for `arch`: Adam 1e-3 (AdamW 5e-4, weight decay 1e-2 for
    /// the transformer), batch 32, at most 60 epochs, patience 7, seed 42.
    pub fn original(arch: Architecture, n_classes: usize) -> Self {
        let optimizer = match arch {
            Architecture::Transformer => OptimizerConfig::AdamW { lr: 5e-4, weight_decay: 1e-2 },
            // bench/linear_head_study.py's choice for the linear head on both taggers.
            Architecture::MusicnnDual => OptimizerConfig::AdamW { lr: 1e-3, weight_decay: 1.0 },
            _ => OptimizerConfig::Adam { lr: 1e-3 },
        };
        TrainingConfig {
            model: arch.default_config(n_classes),
            optimizer,
            batch_size: 32,
            max_epochs: 60,
            patience: 7,
            seed: 42,
            reduce_lr_on_plateau: None,
            spec_augment: None,
            weight_tracks_equally: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    #[test]
    fn spec_augment_masks_whole_bands_and_nothing_else() {
        let (mels, frames) = (16, 20);
        let mut segment = vec![1.0f32; mels * frames];
        let augment = SpecAugment { time_masks: 1, max_time: 5, freq_masks: 1, max_freq: 4 };
        augment.apply(&mut segment, mels, frames, &mut ChaCha8Rng::seed_from_u64(3));
        let zero_columns = (0..frames).filter(|&t| (0..mels).all(|m| segment[m * frames + t] == 0.0)).count();
        let zero_rows = (0..mels).filter(|&m| segment[m * frames..(m + 1) * frames].iter().all(|&v| v == 0.0)).count();
        assert!(zero_columns <= 5 && zero_rows <= 4);
        assert!(segment.iter().all(|&v| v == 0.0 || v == 1.0));
        let zeros = segment.iter().filter(|&&v| v == 0.0).count();
        assert_eq!(zeros, zero_columns * mels + zero_rows * frames - zero_columns * zero_rows);
    }
}
