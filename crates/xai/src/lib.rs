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
mod deletion;
mod error;
mod explainer;
mod grad_cam;
mod integrated_gradients;
mod occlusion;
mod picture;
mod quadrature;

use serde::{Deserialize, Serialize};

pub use deletion::DeletionCurve;
pub use error::{Result, XaiError};
pub use explainer::Explainer;
pub use grad_cam::bilinear;
pub use integrated_gradients::IntegratedGradients;
pub use occlusion::Occlusion;
pub use picture::{draw_explanations, explanation_heatmaps, mel_row_labels};
pub use quadrature::{IntegrationRule, integration_points};

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
