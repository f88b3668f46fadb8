//! The one error type of this crate.

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
