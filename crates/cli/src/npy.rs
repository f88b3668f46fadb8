//! Reading and atomically writing `.npy` arrays.

use std::path::Path;

use anyhow::Context;
use ndarray::Array3;
use ndarray_npy::{ReadNpyExt, WriteNpyExt};

/// Writes `array` to `path` atomically (see [`crate::atomic`]).
pub fn write_atomic(path: &Path, array: &Array3<f32>) -> anyhow::Result<()> {
    write_any(path, array)
}

/// Writes an `f32` array of any rank to `path` atomically.
pub fn write_any<D: ndarray::Dimension>(path: &Path, array: &ndarray::Array<f32, D>) -> anyhow::Result<()> {
    crate::atomic::write(path, |w| Ok(array.write_npy(w)?))
}

/// Reads a 3-D `f32` array.
pub fn read(path: &Path) -> anyhow::Result<Array3<f32>> {
    let file = std::fs::File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    Array3::<f32>::read_npy(std::io::BufReader::new(file))
        .with_context(|| format!("{}: not a 3-D f32 .npy", path.display()))
}
