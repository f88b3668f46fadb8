//! The one error type of this crate.

use std::path::{Path, PathBuf};

/// Everything that can go wrong while turning an audio file into features.
///
/// Every variant that concerns a file carries its path, so that the one-line
/// `Display` form (`"<file>: <cause>"`) is enough for a user to act on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DspError {
    /// The file could not be opened or read.
    #[error("{path}: cannot read file: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The file is not in a container or codec this crate decodes.
    #[error("{path}: unsupported or unrecognised audio format: {reason}")]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// What was not recognised.
        reason: String,
    },
    /// The file claims to be audio but its header or data is broken.
    #[error("{path}: malformed audio: {reason}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The file decoded but holds no audio frames at all.
    #[error("{path}: no audio samples in file")]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// A decoded sample is NaN or infinite.
    #[error("{path}: non-finite sample value ({value}) at frame {frame}")]
    NonFinite {
        /// The file.
        path: PathBuf,
        /// Index of the first bad frame, at the file's own sample rate.
        frame: u64,
        /// The offending value.
        value: f32,
    },
    /// The resampler could not be built or failed.
    #[error("{path}: cannot resample from {from_hz} Hz to {to_hz} Hz: {reason}")]
    Resample {
        /// The file.
        path: PathBuf,
        /// The file's sample rate.
        from_hz: u32,
        /// The requested sample rate.
        to_hz: u32,
        /// What the resampler said.
        reason: String,
    },
    /// Samples handed to [`crate::resample`] at rates it cannot convert between.
    #[error("cannot resample from {from_hz} Hz to {to_hz} Hz: {reason}")]
    Rates {
        /// The samples' rate.
        from_hz: u32,
        /// The requested rate.
        to_hz: u32,
        /// What the resampler said.
        reason: String,
    },
    /// A [`FeatureConfig`](crate::FeatureConfig) whose values cannot work together.
    #[error("invalid feature configuration: {0}")]
    Config(String),
}

impl DspError {
    pub(crate) fn malformed(path: &Path, reason: impl Into<String>) -> Self {
        DspError::Malformed { path: path.to_path_buf(), reason: reason.into() }
    }

    pub(crate) fn unsupported(path: &Path, reason: impl Into<String>) -> Self {
        DspError::Unsupported { path: path.to_path_buf(), reason: reason.into() }
    }

    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        DspError::Io { path: path.to_path_buf(), source }
    }

    /// The file this error is about, if it is about one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            DspError::Io { path, .. }
            | DspError::Unsupported { path, .. }
            | DspError::Malformed { path, .. }
            | DspError::Empty { path }
            | DspError::NonFinite { path, .. }
            | DspError::Resample { path, .. } => Some(path),
            DspError::Config(_) | DspError::Rates { .. } => None,
        }
    }
}

/// `Result` with [`DspError`].
pub type Result<T, E = DspError> = std::result::Result<T, E>;
