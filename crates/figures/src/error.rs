//! The one error type of this crate.

use std::path::PathBuf;

/// Why a picture could not be drawn or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FigureError {
    /// Drawing or encoding failed.
    #[error("{path}: cannot draw the picture: {reason}")]
    Draw {
        /// The picture being written.
        path: PathBuf,
        /// What plotters said.
        reason: String,
    },
    /// A heatmap whose values do not fill its grid.
    #[error("heatmap {title:?}: {values} values for {rows} x {columns}")]
    Shape {
        /// The heatmap's title.
        title: String,
        /// Number of values given.
        values: usize,
        /// Rows expected.
        rows: usize,
        /// Columns expected.
        columns: usize,
    },
}
