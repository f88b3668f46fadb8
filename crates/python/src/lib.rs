//! The `genre_classifier._native` extension module: the project's feature extractor
//! and models for Python. The Python package (`python/genre_classifier/`) wraps it:
//! numpy arrays in and out, typed exceptions, docstrings and stubs live there; this
//! module moves `f32` data as bytes and predictions as the JSON `genre predict --format
//! json` prints, so that the two can never disagree.
//!
//! Everything that decodes, computes features or runs a model releases the GIL.

use pyo3::prelude::*;

mod audio_input;
mod classifier;
mod errors;
mod features;

/// The extension module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(features::features_of_file, m)?)?;
    m.add_function(wrap_pyfunction!(features::features_of_samples, m)?)?;
    m.add_function(wrap_pyfunction!(classifier::bundled_models, m)?)?;
    m.add_class::<classifier::NativeClassifier>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
