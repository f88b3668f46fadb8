//! The original's training recipe: cross-entropy, Adam (AdamW for the transformer),
//! batches of shuffled segments, early stopping on validation accuracy with the best
//! weights restored.

mod config;
mod resume;

use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{AdamConfig, AdamWConfig, GradientsParams};
use std::path::Path;

use burn::prelude::*;
use genre_dataset::segments::SegmentSet;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::arch::GenreModel;
use crate::data::{SegmentBatcher, SegmentExample};
use crate::error::{Result, read_f32, read_i64};
use crate::infer::argmax;

pub use config::{OptimizerConfig, ReduceLrOnPlateau, SpecAugment, TrainingConfig};
use resume::{ResumeState, SavedProgress};

/// Each segment's weight when every track weighs the same: `1 / segments of its track`,
/// scaled so that the weights average 1 (the loss keeps its scale).
fn track_weights(set: &SegmentSet) -> Vec<f32> {
    let tracks = set.tracks().count().max(1);
    let mut weights = Vec::with_capacity(set.len());
    for (_, _, features) in set.tracks() {
        let n = features.n_segments();
        weights.extend(std::iter::repeat_n(set.len() as f32 / (tracks * n) as f32, n));
    }
    weights
}

/// Mean over the batch of `weights[i] * cross-entropy(logits[i], labels[i])`.
fn weighted_cross_entropy(logits: Tensor<2>, labels: Tensor<1, Int>, weights: Tensor<1>) -> Tensor<1> {
    let log_p = burn::tensor::activation::log_softmax(logits, 1);
    let picked: Tensor<1> = log_p.gather(1, labels.unsqueeze_dim(1)).squeeze_dim(1);
    (picked * weights).mean().neg()
}

/// What one epoch measured. Accuracies are segment-level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss.
    pub train_loss: f64,
    /// Training segment accuracy (dropout on).
    pub train_accuracy: f64,
    /// Mean validation loss.
    pub valid_loss: f64,
    /// Validation segment accuracy.
    pub valid_accuracy: f64,
    /// Wall time of the epoch.
    pub seconds: f64,
}

/// The result of [`train`].
#[derive(Debug)]
pub struct TrainOutcome {
    /// The model of the best epoch, on the non-autodiff device.
    pub model: GenreModel,
    /// One entry per epoch run.
    pub history: Vec<EpochMetrics>,
    /// The epoch whose weights were kept.
    pub best_epoch: usize,
}

/// Trains `config.model` on `train`, stopping early on `valid` (if `valid` is empty:
/// for `max_epochs`, keeping the last epoch); calls `on_epoch` after
/// every epoch with its metrics and the current weights (for checkpoints and logs).
///
/// With `state_dir`, the full training state (weights with their parameter ids,
/// optimiser moments, history, best weights) is written there after every epoch,
/// atomically; `resume` then continues from the last finished epoch and reaches the
/// same result as a run that was never stopped (each epoch reseeds its shuffle and
/// dropout from the seed and the epoch number).
#[allow(clippy::too_many_arguments)]
pub fn train(
    config: &TrainingConfig,
    train: &SegmentSet,
    valid: &SegmentSet,
    n_mels: usize,
    n_frames: usize,
    device: &Device,
    state_dir: Option<&Path>,
    resume: bool,
    on_epoch: &mut dyn FnMut(&EpochMetrics, &GenreModel),
) -> Result<TrainOutcome> {
    let autodiff = device.clone().autodiff();
    autodiff.seed(config.seed);
    let mut model = config.model.init(&autodiff);
    // A training batch goes through in one pass (its batch norms need the whole batch).
    let per_pass = model.items_per_pass(&autodiff, n_mels * n_frames);
    if config.batch_size > per_pass {
        return Err(crate::ModelError::Config {
            field: "batch_size".into(),
            reason: format!(
                "{} is more than one pass on this device holds for this model ({per_pass}, within the GPU's {} MiB \
                 per tensor)",
                config.batch_size,
                crate::arch::GPU_BUFFER_BYTES >> 20
            ),
        });
    }
    let mut optim = match config.optimizer {
        OptimizerConfig::Adam { .. } => AdamConfig::new().with_epsilon(1e-8).init(),
        OptimizerConfig::AdamW { weight_decay, .. } => {
            AdamWConfig::new().with_epsilon(1e-8).with_weight_decay(weight_decay).init()
        }
    };
    let mut lr = match config.optimizer {
        OptimizerConfig::Adam { lr } | OptimizerConfig::AdamW { lr, .. } => lr,
    };
    // f64::MAX, not infinity: the state goes through JSON for --resume, which has no infinity.
    let mut plateau = Plateau { best_loss: f64::MAX, wait: 0 };
    let loss_fn = CrossEntropyLossConfig::new().init(&autodiff);
    let batcher = SegmentBatcher { n_mels, n_frames };
    let weights = config.weight_tracks_equally.then(|| track_weights(train));
    let mut history: Vec<EpochMetrics> = Vec::new();
    let mut best: Option<(f64, usize, crate::StateDict)> = None;
    let mut first_epoch = 1;
    if let (Some(dir), true) = (state_dir, resume)
        && let Some(saved) = ResumeState::load(dir, &config.model, &autodiff, device)?
    {
        model = saved.model;
        optim = optim.load_record(saved.optimizer);
        history = saved.state.history;
        best = Some((saved.state.best_accuracy, saved.state.best_epoch, saved.best_weights));
        first_epoch = saved.state.next_epoch;
        if let Some(saved_lr) = saved.state.lr {
            lr = saved_lr;
        }
        plateau = saved.state.plateau.unwrap_or(plateau);
    }
    for epoch in first_epoch..=config.max_epochs {
        if best.as_ref().is_some_and(|(_, e, _)| epoch - 1 - e >= config.patience) {
            break; // a resumed run that had already stopped early
        }
        autodiff.seed(config.seed.wrapping_add(epoch as u64));
        let start = std::time::Instant::now();
        let mut order: Vec<usize> = (0..train.len()).collect();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(config.seed.wrapping_add(epoch as u64)));
        let (mut loss_sum, mut correct) = (0.0, 0usize);
        let mut masking = ChaCha8Rng::seed_from_u64(config.seed.wrapping_add(epoch as u64).wrapping_mul(31));
        for chunk in order.chunks(config.batch_size.max(1)) {
            let mut items = examples(train, chunk);
            if let Some(augment) = &config.spec_augment {
                for item in &mut items {
                    augment.apply(&mut item.features, n_mels, n_frames, &mut masking);
                }
            }
            let batch = burn::data::dataloader::batcher::Batcher::batch(&batcher, items, &autodiff);
            let labels = read_i64(batch.labels.clone())?;
            let logits = model.forward(batch.features);
            let loss = match &weights {
                None => loss_fn.forward(logits.clone(), batch.labels),
                Some(weights) => {
                    let w: Vec<f32> = chunk.iter().map(|&i| weights[i]).collect();
                    let w = Tensor::<1>::from_data(TensorData::new(w, [chunk.len()]), &autodiff);
                    weighted_cross_entropy(logits.clone(), batch.labels, w)
                }
            };
            loss_sum += f64::from(scalar(loss.clone())) * chunk.len() as f64;
            correct += count_correct(logits.inner(), &labels)?;
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(lr, model, grads);
        }
        let eval = model.valid();
        let (valid_loss, valid_accuracy) = evaluate(&eval, valid, &batcher, device)?;
        let metrics = EpochMetrics {
            epoch,
            train_loss: loss_sum / train.len().max(1) as f64,
            train_accuracy: correct as f64 / train.len().max(1) as f64,
            valid_loss,
            valid_accuracy,
            seconds: start.elapsed().as_secs_f64(),
        };
        on_epoch(&metrics, &eval);
        if let Some(schedule) = &config.reduce_lr_on_plateau {
            lr = plateau.step(schedule, valid_loss, lr);
        }
        history.push(metrics);
        // Without a validation set (a final model trained on everything), the last
        // epoch is kept and the run goes to `max_epochs`.
        if valid.is_empty() || best.as_ref().is_none_or(|(acc, _, _)| valid_accuracy > *acc) {
            best = Some((valid_accuracy, epoch, eval.state_dict()));
        }
        if let (Some(dir), Some((accuracy, best_epoch, weights))) = (state_dir, best.as_ref()) {
            let state = SavedProgress {
                next_epoch: epoch + 1,
                history: history.clone(),
                best_accuracy: *accuracy,
                best_epoch: *best_epoch,
                lr: Some(lr),
                plateau: Some(plateau),
            };
            ResumeState::save(dir, &config.model, device, &model, &optim, &state, weights)?;
        }
        if best.as_ref().is_some_and(|(_, e, _)| epoch - e >= config.patience) {
            break;
        }
    }
    let (_, best_epoch, weights) = best.unwrap_or((0.0, 0, model.valid().state_dict()));
    Ok(TrainOutcome { model: config.model.load(&weights, device)?, history, best_epoch })
}

/// [`ReduceLrOnPlateau`]'s state.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Plateau {
    best_loss: f64,
    wait: usize,
}

impl Plateau {
    /// The learning rate after an epoch with validation loss `loss`.
    fn step(&mut self, schedule: &ReduceLrOnPlateau, loss: f64, lr: f64) -> f64 {
        if loss < self.best_loss * (1.0 - schedule.threshold) {
            self.best_loss = loss;
            self.wait = 0;
            return lr;
        }
        self.wait += 1;
        if self.wait > schedule.patience {
            self.wait = 0;
            return (lr * schedule.factor).max(schedule.min_lr);
        }
        lr
    }
}

/// Mean cross-entropy and segment accuracy of `model` on `set`.
pub fn evaluate(model: &GenreModel, set: &SegmentSet, batcher: &SegmentBatcher, device: &Device) -> Result<(f64, f64)> {
    let (mut loss, mut correct) = (0.0, 0usize);
    let indices: Vec<usize> = (0..set.len()).collect();
    for chunk in indices.chunks(64) {
        let items = examples(set, chunk);
        let batch = burn::data::dataloader::batcher::Batcher::batch(batcher, items, device);
        let labels = read_i64(batch.labels)?;
        let logits = model.forward(batch.features);
        correct += count_correct(logits.clone(), &labels)?;
        let probabilities = read_f32(burn::tensor::activation::log_softmax(logits, 1))?;
        let classes = probabilities.len() / labels.len().max(1);
        for (row, &label) in probabilities.chunks(classes.max(1)).zip(&labels) {
            loss -= f64::from(row[label as usize]);
        }
    }
    Ok((loss / set.len().max(1) as f64, correct as f64 / set.len().max(1) as f64))
}

/// The segments at `indices` as training examples (borrowing the set, not cloning it).
fn examples(set: &SegmentSet, indices: &[usize]) -> Vec<SegmentExample> {
    indices
        .iter()
        .filter_map(|&i| set.get(i))
        .map(|s| SegmentExample { features: s.features.to_vec(), label: s.label, track: s.track, segment: s.segment })
        .collect()
}

fn count_correct(logits: Tensor<2>, labels: &[i64]) -> Result<usize> {
    let values = read_f32(logits)?;
    let classes = values.len() / labels.len().max(1);
    Ok(values.chunks(classes.max(1)).zip(labels).filter(|(row, label)| argmax(row) == **label as usize).count())
}

fn scalar(t: Tensor<1>) -> f32 {
    t.into_data().try_into_vec_as::<f32>().ok().and_then(|v| v.first().copied()).unwrap_or(f32::NAN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighting_tracks_equally_gives_each_track_the_same_total_weight() {
        let features = |n: usize| genre_dsp::Features::from_vec(vec![0.0; n * 2], [n, 1, 2]).unwrap();
        let set = SegmentSet::from_features(vec![(0, 0, features(10)), (1, 1, features(1)), (2, 0, features(4))]);
        let w = track_weights(&set);
        assert_eq!(w.len(), 15);
        let per_track = [w[..10].iter().sum::<f32>(), w[10], w[11..].iter().sum::<f32>()];
        for total in per_track {
            assert!((total - 5.0).abs() < 1e-5, "{per_track:?}");
        }
        assert!((w.iter().sum::<f32>() / 15.0 - 1.0).abs() < 1e-6, "weights average 1");
    }

    #[test]
    fn weighted_cross_entropy_with_unit_weights_is_the_usual_loss_and_weights_scale_items() {
        let device = Device::flex();
        let logits = Tensor::<2>::from_data(TensorData::new(vec![2.0f32, 0.5, -1.0, 0.1, 0.3, 1.7], [2, 3]), &device);
        let labels = Tensor::<1, Int>::from_data(TensorData::new(vec![0i64, 2], [2]), &device);
        let plain: f32 =
            CrossEntropyLossConfig::new().init(&device).forward(logits.clone(), labels.clone()).into_scalar();
        let ones = Tensor::<1>::from_data(TensorData::new(vec![1.0f32, 1.0], [2]), &device);
        let weighted: f32 = weighted_cross_entropy(logits.clone(), labels.clone(), ones).into_scalar();
        assert!((plain - weighted).abs() < 1e-6, "{plain} vs {weighted}");
        // Weight 2 on the first item and 0 on the second: the first item's loss alone.
        let first = Tensor::<1>::from_data(TensorData::new(vec![2.0f32, 0.0], [2]), &device);
        let only_first: f32 = weighted_cross_entropy(logits.clone(), labels.clone(), first).into_scalar();
        let ce0 = -(2.0f32.exp() / (2.0f32.exp() + 0.5f32.exp() + (-1.0f32).exp())).ln();
        assert!((only_first - ce0).abs() < 1e-5, "{only_first} vs {ce0}");
    }

    #[test]
    fn plateau_lowers_the_rate_after_patience_epochs_like_pytorch() {
        let schedule = ReduceLrOnPlateau { factor: 0.1, patience: 2, threshold: 1e-4, min_lr: 0.0 };
        let mut state = Plateau { best_loss: f64::MAX, wait: 0 };
        let losses = [1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.8];
        let rates: Vec<f64> = losses
            .iter()
            .scan(1.0, |lr, &l| {
                *lr = state.step(&schedule, l, *lr);
                Some(*lr)
            })
            .collect();
        // torch.optim.lr_scheduler.ReduceLROnPlateau(patience=2, factor=0.1) on these losses.
        assert_eq!(rates, [1.0, 1.0, 1.0, 1.0, 0.1, 0.1, 0.1]);
    }
}
