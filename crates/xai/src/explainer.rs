//! The explainer: a model loaded with gradients, and what every method shares.

use burn::prelude::*;
use genre_models::GenreModel;
use genre_models::checkpoint::Checkpoint;

use crate::{Attribution, IntegratedGradients, Method, Occlusion, Result, XaiError};

/// Explains one model's decisions.
pub struct Explainer {
    pub(crate) model: GenreModel,
    pub(crate) device: Device,
    pub(crate) n_mels: usize,
    pub(crate) n_frames: usize,
    labels: Vec<String>,
}

impl Explainer {
    /// Loads `checkpoint` on `device` with gradients, in evaluation mode.
    pub fn new(checkpoint: &Checkpoint, device: &Device) -> Result<Self> {
        let device = device.clone().autodiff();
        // `freeze` turns dropout off and batch norm to its running statistics, and stops
        // gradients at the weights: only the input's gradient is computed.
        let model = checkpoint.model(&device)?.freeze();
        let features = &checkpoint.header.features;
        Ok(Explainer {
            model,
            device,
            n_mels: features.n_mels,
            n_frames: features.n_frames(),
            labels: checkpoint.header.labels.clone(),
        })
    }

    /// The class names.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// `[n_mels, n_frames]` of a segment.
    pub fn segment_shape(&self) -> [usize; 2] {
        [self.n_mels, self.n_frames]
    }

    pub(crate) fn check(&self, segment: &[f32], target: usize) -> Result<()> {
        if segment.len() != self.n_mels * self.n_frames {
            return Err(XaiError::Input { n_mels: self.n_mels, n_frames: self.n_frames, got: segment.len() });
        }
        if target >= self.labels.len() {
            return Err(XaiError::Target { target, classes: self.labels.len() });
        }
        Ok(())
    }

    pub(crate) fn batch(&self, values: Vec<f32>, n: usize) -> Tensor<3> {
        Tensor::from_data(TensorData::new(values, [n, self.n_mels, self.n_frames]), &self.device)
    }

    /// Logits `[n, classes]` of `n` stacked segments, without gradients.
    pub fn logits(&self, values: Vec<f32>, n: usize) -> Vec<Vec<f32>> {
        let x = self.batch(values, n).detach();
        let logits: Vec<f32> = self.model.forward(x).into_data().iter::<f32>().collect();
        logits.chunks(self.labels.len().max(1)).map(<[f32]>::to_vec).collect()
    }

    /// The class the model gives `segment` the highest logit.
    pub fn predicted(&self, segment: &[f32]) -> usize {
        genre_models::infer::argmax(&self.logits(segment.to_vec(), 1)[0])
    }

    /// The gradient of the target logit with respect to each of `n` stacked inputs.
    pub(crate) fn target_gradients(&self, values: Vec<f32>, n: usize, target: usize) -> Vec<f32> {
        let x = self.batch(values, n).require_grad();
        let logits = self.model.forward(x.clone());
        let classes = logits.dims()[1];
        let picked = logits.slice([0..n, target..target + 1]).sum();
        debug_assert!(target < classes);
        let grads = picked.backward();
        x.grad(&grads)
            .map(|g| g.into_data().iter::<f32>().collect())
            .unwrap_or_else(|| vec![0.0; n * self.n_mels * self.n_frames])
    }

    /// Any method with its default settings.
    pub fn explain(&self, method: Method, segment: &[f32], target: usize) -> Result<Attribution> {
        match method {
            Method::IntegratedGradients => self.integrated_gradients(segment, target, &IntegratedGradients::default()),
            Method::GradCam => self.grad_cam(segment, target),
            Method::Occlusion => self.occlusion(segment, target, &Occlusion::default()),
        }
    }
}

pub(crate) fn softmax(logits: &[f32]) -> Vec<f64> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f64> = logits.iter().map(|&l| f64::from(l - max).exp()).collect();
    let sum: f64 = exp.iter().sum();
    exp.iter().map(|e| e / sum).collect()
}
