//! The one error type of this crate.

use std::path::PathBuf;

/// What can go wrong while indexing or splitting a collection.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DatasetError {
    /// A folder or file could not be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The folder or file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The folder is not a collection this crate understands.
    #[error("{path}: {reason}")]
    Layout {
        /// The folder.
        path: PathBuf,
        /// What is missing or unexpected.
        reason: String,
    },
    /// A line of a split list or artist index cannot be used.
    #[error("{path}:{line}: {reason}")]
    ListLine {
        /// The list file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// Files named by split lists are not in the collection.
    #[error(
        "{count} listed files are not in the collection (first: {first}); allow missing files to go on with the rest"
    )]
    MissingListed {
        /// How many are missing.
        count: usize,
        /// The first missing entry, as listed.
        first: String,
        /// All missing entries, as listed.
        missing: Vec<String>,
    },
    /// The feature cache cannot be used.
    #[error("{path}: feature cache: {reason}")]
    Cache {
        /// The cache folder or entry.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Decoding or feature extraction failed.
    #[error(transparent)]
    Audio(#[from] genre_dsp::DspError),
    /// Split parameters that cannot work.
    #[error("invalid split: {0}")]
    Split(String),
}

/// `Result` with [`DatasetError`].
pub type Result<T, E = DatasetError> = std::result::Result<T, E>;
