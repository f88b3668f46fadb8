//! The one error type of this crate.

use std::path::PathBuf;

/// What can go wrong with models, checkpoints and weights.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// A checkpoint file is not ours, is damaged, or is truncated.
    #[error("{path}: not a usable model checkpoint: {reason}")]
    Checkpoint {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A PyTorch file could not be read as a state_dict.
    #[error("{path}: cannot read PyTorch state_dict: {reason}")]
    Pytorch {
        /// The file.
        path: PathBuf,
        /// What the reader said.
        reason: String,
    },
    /// Weights that do not fit the architecture: every missing, extra and mis-shaped
    /// tensor is named.
    #[error("weights do not fit {architecture}: {}", problems.join("; "))]
    Weights {
        /// The architecture being loaded.
        architecture: String,
        /// One entry per problem, e.g. `missing gru.weight_ih_l0`.
        problems: Vec<String>,
    },
    /// The requested device is not compiled in or not available; the text says which
    /// cargo feature or driver is missing.
    #[error("{0}")]
    Device(String),
    /// A model configuration (read from a checkpoint, say) that no model can have.
    #[error("model configuration: {field}: {reason}")]
    Config {
        /// The field, as named in the configuration.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A tensor could not be read back from its device (a GPU that failed, say).
    #[error("cannot read a tensor back from the device: {0}")]
    TensorRead(String),
    /// Model input of the wrong shape.
    #[error("model input must be [segments, {n_mels}, {n_frames}], got {got:?}")]
    Input {
        /// Expected mel bands.
        n_mels: usize,
        /// Expected frames.
        n_frames: usize,
        /// What came.
        got: Vec<usize>,
    },
    /// The audio a model was to classify could not be read (names the file).
    #[error(transparent)]
    Audio(#[from] genre_dsp::DspError),
}

/// `Result` with [`ModelError`].
pub type Result<T, E = ModelError> = std::result::Result<T, E>;

/// A tensor's values as `f32` on the host, a failure as [`ModelError::TensorRead`].
pub(crate) fn read_f32<const D: usize>(tensor: burn::prelude::Tensor<D>) -> Result<Vec<f32>> {
    tensor.into_data().try_into_vec_as::<f32>().map_err(|e| ModelError::TensorRead(format!("{e:?}")))
}

/// An integer tensor's values as `i64` on the host, a failure as [`ModelError::TensorRead`].
pub(crate) fn read_i64<const D: usize>(tensor: burn::prelude::Tensor<D, burn::prelude::Int>) -> Result<Vec<i64>> {
    tensor.into_data().try_into_vec_as::<i64>().map_err(|e| ModelError::TensorRead(format!("{e:?}")))
}
