//! Why a model chose a genre: attributions over one segment's spectrogram.
//!
//! | method | what it measures | as in Captum |
//! |---|---|---|
//! | [`Explainer::integrated_gradients`] | path integral of the target logit's gradient from a baseline | `IntegratedGradients` (Gauss-Legendre, or Riemann rules) |
//! | [`Explainer::grad_cam`] | a feature map weighted by the spatial mean of its gradients | `LayerGradCam` + bilinear `interpolate` |
//! | [`Explainer::occlusion`] | drop of the target logit when a window is set to a baseline | `Occlusion` |
//!
//! Every method explains the target's **logit** (as Captum explains the model output)
//! on the model in evaluation mode (dropout off, batch norm on running statistics),
//! and returns a `[n_mels, n_frames]` map. [`Explainer::deletion_curve`] tells how
//! faithful a map is: remove the most-attributed cells first and watch the target's
//! probability fall.
//!
//! ```no_run
//! use genre_xai::{Explainer, IntegratedGradients};
//! let checkpoint = genre_models::checkpoint::Checkpoint::load("model.gmdl".as_ref())?;
//! let explainer = Explainer::new(&checkpoint, &genre_models::DeviceKind::Cpu.device()?)?;
//! let segment = vec![0.0f32; 128 * 130];
//! let ig = explainer.integrated_gradients(&segment, 0, &IntegratedGradients::default())?;
//! println!("completeness error {}", ig.completeness_error.unwrap_or(0.0));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

mod picture;
mod quadrature;

use burn::prelude::*;
use genre_models::GenreModel;
use genre_models::checkpoint::Checkpoint;
use serde::{Deserialize, Serialize};

pub use picture::{draw_explanations, explanation_heatmaps, mel_row_labels};
pub use quadrature::{IntegrationRule, integration_points};

/// Why an explanation could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum XaiError {
    /// The model could not be loaded.
    #[error(transparent)]
    Model(#[from] genre_models::ModelError),
    /// A segment of the wrong size.
    #[error("a segment has {got} values, the model takes {n_mels} x {n_frames} = {}", n_mels * n_frames)]
    Input {
        /// Mel bands the model takes.
        n_mels: usize,
        /// Frames the model takes.
        n_frames: usize,
        /// Values given.
        got: usize,
    },
    /// A target class the model does not have.
    #[error("target class {target} is out of range (the model has {classes})")]
    Target {
        /// The class asked for.
        target: usize,
        /// Number of classes.
        classes: usize,
    },
    /// A method the model cannot be explained with.
    #[error("{0}")]
    Unsupported(String),
    /// A picture could not be written.
    #[error(transparent)]
    Figure(#[from] genre_figures::FigureError),
}

/// Result alias.
pub type Result<T> = std::result::Result<T, XaiError>;

/// The explanation methods.
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Integrated gradients.
    IntegratedGradients,
    /// Grad-CAM.
    GradCam,
    /// Occlusion.
    Occlusion,
}

impl Method {
    /// All three.
    pub const ALL: [Method; 3] = [Method::IntegratedGradients, Method::GradCam, Method::Occlusion];

    /// `integrated-gradients`, `grad-cam` or `occlusion`.
    pub fn name(self) -> &'static str {
        match self {
            Method::IntegratedGradients => "integrated-gradients",
            Method::GradCam => "grad-cam",
            Method::Occlusion => "occlusion",
        }
    }
}

impl std::str::FromStr for Method {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Method::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| format!("unknown method {s:?} (integrated-gradients, grad-cam, occlusion)"))
    }
}

/// Settings of integrated gradients; the default is Captum's 50 Gauss-Legendre points
/// from a zero baseline, ten points per pass: a pass keeps every point's activations
/// for the backward step, and fifty at once through the bundled model's two musicnn
/// taggers held 5.5 GB.
#[derive(Debug, Clone, PartialEq)]
pub struct IntegratedGradients {
    /// Number of points on the path.
    pub steps: usize,
    /// How the points and their weights are chosen.
    pub rule: IntegrationRule,
    /// The baseline (`None`: zeros), `[n_mels * n_frames]`.
    pub baseline: Option<Vec<f32>>,
    /// Points per forward/backward pass.
    pub batch: usize,
}

impl Default for IntegratedGradients {
    fn default() -> Self {
        IntegratedGradients { steps: 50, rule: IntegrationRule::GaussLegendre, baseline: None, batch: 10 }
    }
}

/// Settings of occlusion; the default: 16 x 16 windows, stride 8,
/// baseline 0, 32 windows per forward pass.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Occlusion {
    /// Window extent `[mels, frames]`.
    pub window: [usize; 2],
    /// Window stride `[mels, frames]`.
    pub stride: [usize; 2],
    /// Value the window is set to.
    pub baseline: f32,
    /// Occluded copies per forward pass.
    pub batch: usize,
}

impl Default for Occlusion {
    fn default() -> Self {
        Occlusion { window: [16, 16], stride: [8, 8], baseline: 0.0, batch: 32 }
    }
}

/// An attribution map `[n_mels, n_frames]` for one segment and target.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribution {
    /// The method that made it.
    pub method: Method,
    /// Row-major `[n_mels, n_frames]`.
    pub values: Vec<f32>,
    /// `[n_mels, n_frames]`.
    pub shape: [usize; 2],
    /// The class explained.
    pub target: usize,
    /// Integrated gradients only: `sum(attributions) - (f(x) - f(baseline))` for the
    /// target logit (Captum's convergence delta).
    pub completeness_error: Option<f32>,
}

/// A deletion curve: the target's probability as the most-attributed cells are set to
/// the baseline, a share at a time. A faithful map makes it fall fast (small area).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeletionCurve {
    /// Share of cells removed, from 0 to 1.
    pub fractions: Vec<f64>,
    /// The target's softmax probability after each removal.
    pub probabilities: Vec<f64>,
    /// Area under the curve (trapezoids over the fractions), in `[0, 1]`.
    pub area: f64,
}

/// Explains one model's decisions.
pub struct Explainer {
    model: GenreModel,
    device: Device,
    n_mels: usize,
    n_frames: usize,
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

    fn check(&self, segment: &[f32], target: usize) -> Result<()> {
        if segment.len() != self.n_mels * self.n_frames {
            return Err(XaiError::Input { n_mels: self.n_mels, n_frames: self.n_frames, got: segment.len() });
        }
        if target >= self.labels.len() {
            return Err(XaiError::Target { target, classes: self.labels.len() });
        }
        Ok(())
    }

    fn batch(&self, values: Vec<f32>, n: usize) -> Tensor<3> {
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

    /// Integrated gradients of the target logit.
    pub fn integrated_gradients(
        &self,
        segment: &[f32],
        target: usize,
        settings: &IntegratedGradients,
    ) -> Result<Attribution> {
        self.check(segment, target)?;
        let size = segment.len();
        let baseline = settings.baseline.clone().unwrap_or_else(|| vec![0.0; size]);
        if baseline.len() != size {
            return Err(XaiError::Input { n_mels: self.n_mels, n_frames: self.n_frames, got: baseline.len() });
        }
        let (alphas, weights) = integration_points(settings.rule, settings.steps.max(1));
        let difference: Vec<f32> = segment.iter().zip(&baseline).map(|(x, b)| x - b).collect();
        let mut integral = vec![0.0f32; size];
        let batch = settings.batch.max(1);
        for (alpha_chunk, weight_chunk) in alphas.chunks(batch).zip(weights.chunks(batch)) {
            let n = alpha_chunk.len();
            let mut path = Vec::with_capacity(n * size);
            for &a in alpha_chunk {
                path.extend(baseline.iter().zip(&difference).map(|(b, d)| b + a as f32 * d));
            }
            let gradients = self.target_gradients(path, n, target);
            for (i, &w) in weight_chunk.iter().enumerate() {
                for (acc, g) in integral.iter_mut().zip(&gradients[i * size..(i + 1) * size]) {
                    *acc += w as f32 * g;
                }
            }
        }
        let values: Vec<f32> = integral.iter().zip(&difference).map(|(g, d)| g * d).collect();
        let ends = self.logits([segment.to_vec(), baseline].concat(), 2);
        let completeness =
            values.iter().map(|&v| f64::from(v)).sum::<f64>() - f64::from(ends[0][target] - ends[1][target]);
        Ok(Attribution {
            method: Method::IntegratedGradients,
            values,
            shape: self.segment_shape(),
            target,
            completeness_error: Some(completeness as f32),
        })
    }

    /// The gradient of the target logit with respect to each of `n` stacked inputs.
    fn target_gradients(&self, values: Vec<f32>, n: usize, target: usize) -> Vec<f32> {
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

    /// Grad-CAM of the target logit (see [`GenreModel::forward_for_cam`] for the map
    /// each architecture uses), upsampled bilinearly to the segment's shape as
    /// PyTorch's `interpolate(mode="bilinear", align_corners=False)` does.
    pub fn grad_cam(&self, segment: &[f32], target: usize) -> Result<Attribution> {
        self.check(segment, target)?;
        let x = self.batch(segment.to_vec(), 1).detach();
        let Some(cam) = self.model.forward_for_cam(x) else {
            return Err(XaiError::Unsupported("this model has no feature map for Grad-CAM".into()));
        };
        let [_, channels, rows, columns] = cam.map.dims();
        let picked = cam.logits.slice([0..1, target..target + 1]).sum();
        let grads = picked.backward();
        let activation: Vec<f32> = cam.map.clone().inner().into_data().iter::<f32>().collect();
        let gradient: Vec<f32> = cam
            .map
            .grad(&grads)
            .map(|g| g.into_data().iter::<f32>().collect())
            .unwrap_or_else(|| vec![0.0; channels * rows * columns]);
        let cells = rows * columns;
        let mut raw = vec![0.0f32; cells];
        for c in 0..channels {
            let weight = gradient[c * cells..(c + 1) * cells].iter().sum::<f32>() / cells as f32;
            for (r, a) in raw.iter_mut().zip(&activation[c * cells..(c + 1) * cells]) {
                *r += weight * a;
            }
        }
        for r in raw.iter_mut() {
            *r = r.max(0.0);
        }
        let [cover_rows, cover_columns] = cam.covers;
        let upsampled = bilinear(&raw, [rows, columns], [cover_rows, cover_columns]);
        let mut values = Vec::with_capacity(self.n_mels * self.n_frames);
        for r in 0..self.n_mels {
            values.extend_from_slice(&upsampled[r * cover_columns..r * cover_columns + self.n_frames]);
        }
        Ok(Attribution {
            method: Method::GradCam,
            values,
            shape: self.segment_shape(),
            target,
            completeness_error: None,
        })
    }

    /// Occlusion: for each window, the drop of the target logit when the window is set
    /// to the baseline, averaged over the windows that cover each cell (Captum's
    /// `Occlusion`).
    pub fn occlusion(&self, segment: &[f32], target: usize, settings: &Occlusion) -> Result<Attribution> {
        self.check(segment, target)?;
        let windows = window_grid([self.n_mels, self.n_frames], settings.window, settings.stride);
        let reference = self.logits(segment.to_vec(), 1)[0][target];
        let mut total = vec![0.0f32; segment.len()];
        let mut count = vec![0.0f32; segment.len()];
        for chunk in windows.chunks(settings.batch.max(1)) {
            let mut occluded = Vec::with_capacity(chunk.len() * segment.len());
            for window in chunk {
                let mut copy = segment.to_vec();
                for_each_cell(window, self.n_frames, |i| copy[i] = settings.baseline);
                occluded.extend(copy);
            }
            let logits = self.logits(occluded, chunk.len());
            for (window, row) in chunk.iter().zip(&logits) {
                let drop = reference - row[target];
                for_each_cell(window, self.n_frames, |i| {
                    total[i] += drop;
                    count[i] += 1.0;
                });
            }
        }
        let values = total.iter().zip(&count).map(|(t, c)| if *c > 0.0 { t / c } else { 0.0 }).collect();
        Ok(Attribution {
            method: Method::Occlusion,
            values,
            shape: self.segment_shape(),
            target,
            completeness_error: None,
        })
    }

    /// Any method with its default settings.
    pub fn explain(&self, method: Method, segment: &[f32], target: usize) -> Result<Attribution> {
        match method {
            Method::IntegratedGradients => self.integrated_gradients(segment, target, &IntegratedGradients::default()),
            Method::GradCam => self.grad_cam(segment, target),
            Method::Occlusion => self.occlusion(segment, target, &Occlusion::default()),
        }
    }

    /// The deletion curve of `attribution` on `segment`: cells set to `baseline` in
    /// order of decreasing attribution, `steps` shares from 0 to all.
    pub fn deletion_curve(
        &self,
        segment: &[f32],
        attribution: &Attribution,
        steps: usize,
        baseline: f32,
    ) -> DeletionCurve {
        let steps = steps.max(1);
        let mut order: Vec<usize> = (0..segment.len()).collect();
        order.sort_by(|&a, &b| attribution.values[b].total_cmp(&attribution.values[a]));
        let mut inputs = Vec::with_capacity((steps + 1) * segment.len());
        let mut fractions = Vec::with_capacity(steps + 1);
        for k in 0..=steps {
            let removed = (order.len() * k).div_ceil(steps);
            let mut copy = segment.to_vec();
            for &i in &order[..removed] {
                copy[i] = baseline;
            }
            inputs.extend(copy);
            fractions.push(k as f64 / steps as f64);
        }
        let mut probabilities = Vec::with_capacity(steps + 1);
        let per_pass = 16;
        for chunk in inputs.chunks(per_pass * segment.len()) {
            let n = chunk.len() / segment.len();
            for logits in self.logits(chunk.to_vec(), n) {
                probabilities.push(softmax(&logits)[attribution.target]);
            }
        }
        let area =
            fractions.windows(2).zip(probabilities.windows(2)).map(|(f, p)| (f[1] - f[0]) * (p[0] + p[1]) / 2.0).sum();
        DeletionCurve { fractions, probabilities, area }
    }
}

fn softmax(logits: &[f32]) -> Vec<f64> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f64> = logits.iter().map(|&l| f64::from(l - max).exp()).collect();
    let sum: f64 = exp.iter().sum();
    exp.iter().map(|e| e / sum).collect()
}

/// A window: rows `[r0, r1)` and columns `[c0, c1)`.
type Window = (usize, usize, usize, usize);

/// Captum's window positions: starts at multiples of the stride, `ceil((D - w) / s) + 1`
/// per axis, the last clipped at the edge.
fn window_grid(shape: [usize; 2], window: [usize; 2], stride: [usize; 2]) -> Vec<Window> {
    let starts = |d: usize, w: usize, s: usize| -> Vec<usize> {
        let s = s.max(1);
        let n = if d > w { (d - w).div_ceil(s) + 1 } else { 1 };
        (0..n).map(|i| i * s).collect()
    };
    let mut out = Vec::new();
    for r in starts(shape[0], window[0], stride[0]) {
        for c in starts(shape[1], window[1], stride[1]) {
            out.push((r, (r + window[0]).min(shape[0]), c, (c + window[1]).min(shape[1])));
        }
    }
    out
}

fn for_each_cell(window: &Window, columns: usize, mut f: impl FnMut(usize)) {
    let &(r0, r1, c0, c1) = window;
    for r in r0..r1 {
        for c in c0..c1 {
            f(r * columns + c);
        }
    }
}

/// PyTorch's `interpolate(mode="bilinear", align_corners=False)` of a `[h, w]` grid to
/// `[out_h, out_w]`.
pub fn bilinear(values: &[f32], shape: [usize; 2], out: [usize; 2]) -> Vec<f32> {
    let axis = |n_in: usize, n_out: usize| -> Vec<(usize, usize, f32)> {
        let scale = n_in as f32 / n_out as f32;
        (0..n_out)
            .map(|o| {
                let src = ((o as f32 + 0.5) * scale - 0.5).max(0.0);
                let i0 = (src.floor() as usize).min(n_in - 1);
                let i1 = (i0 + 1).min(n_in - 1);
                (i0, i1, src - i0 as f32)
            })
            .collect()
    };
    let (rows, columns) = (axis(shape[0], out[0]), axis(shape[1], out[1]));
    let at = |r: usize, c: usize| values[r * shape[1] + c];
    let mut result = Vec::with_capacity(out[0] * out[1]);
    for &(r0, r1, fr) in &rows {
        for &(c0, c1, fc) in &columns {
            let top = (1.0 - fc) * at(r0, c0) + fc * at(r0, c1);
            let bottom = (1.0 - fc) * at(r1, c0) + fc * at(r1, c1);
            result.push((1.0 - fr) * top + fr * bottom);
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Grad-CAM reads the gradient of a map each architecture exposes as a leaf of the
    /// graph; a map that is not the leaf itself would have none, and the picture would
    /// be empty. (The CRNNs are checked against Captum in tests/.)
    #[test]
    fn grad_cam_finds_a_gradient_in_every_architecture() {
        let device = genre_models::DeviceKind::Cpu.device().unwrap();
        for arch in [genre_models::Architecture::Transformer, genre_models::Architecture::MusicnnMsd] {
            let config = arch.default_config(3);
            let features = arch.feature_config();
            let model = config.init(&device);
            let labels = vec!["a".to_string(), "b".to_string(), "c".to_string()];
            let checkpoint = Checkpoint::new(&model, config, labels, features.clone());
            let explainer = Explainer::new(&checkpoint, &device).unwrap();
            let n = features.n_mels * features.n_frames();
            let segment: Vec<f32> = (0..n).map(|i| ((i * 7919) % 101) as f32 / 50.0 - 1.0).collect();
            let cam = (0..3).map(|t| explainer.grad_cam(&segment, t).unwrap());
            let peak = cam.flat_map(|a| a.values).fold(0.0f32, f32::max);
            assert!(peak > 0.0, "{}: Grad-CAM is zero for every class", arch.name());
        }
    }

    #[test]
    fn captum_windows_cover_the_segment() {
        let windows = window_grid([128, 130], [16, 16], [8, 8]);
        assert_eq!(windows.len(), 15 * 16);
        assert_eq!(windows.last(), Some(&(112, 128, 120, 130)));
        let mut count = vec![0; 128 * 130];
        for w in &windows {
            for_each_cell(w, 130, |i| count[i] += 1);
        }
        assert!(count.iter().all(|&c| (1..=4).contains(&c)));
        assert_eq!(count[0], 1);
        assert_eq!(count[8 * 130 + 8], 4);
    }

    #[test]
    fn bilinear_matches_pytorch_on_a_small_grid() {
        // torch.nn.functional.interpolate(torch.tensor([[[[0., 1.], [2., 3.]]]]), (4, 4), mode="bilinear")
        let out = bilinear(&[0.0, 1.0, 2.0, 3.0], [2, 2], [4, 4]);
        let expected = [0.0, 0.25, 0.75, 1.0, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2.0, 2.25, 2.75, 3.0];
        for (a, b) in out.iter().zip(expected) {
            assert!((a - b).abs() < 1e-6, "{out:?}");
        }
    }
}
