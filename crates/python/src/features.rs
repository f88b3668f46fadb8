//! `features(...)`: the original's features of a file or of samples, as
//! `genre features` writes them.

use std::path::PathBuf;

use genre_dsp::{Coverage, FeatureConfig, FeatureExtractor, FeatureScale, Features};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes};

use crate::audio_input::AudioInput;
use crate::errors;

/// `f32` values as bytes Python turns into a numpy array, and their shape.
pub type ArrayBytes = (Py<PyByteArray>, Vec<usize>);

/// The `[segments, n_mels, n_frames]` features of a file (the first 30 s, or every
/// segment with `whole_track`), standardised or in dB.
#[pyfunction]
#[pyo3(signature = (path, whole_track = false, db = false))]
pub fn features_of_file(py: Python<'_>, path: PathBuf, whole_track: bool, db: bool) -> PyResult<ArrayBytes> {
    features_of(py, AudioInput::File(path), whole_track, db)
}

/// The same for mono `f32` samples (native-endian bytes) at `rate` Hz.
#[pyfunction]
#[pyo3(signature = (samples, rate, whole_track = false, db = false, name = "array".to_string()))]
pub fn features_of_samples(
    py: Python<'_>,
    samples: &Bound<'_, PyBytes>,
    rate: u32,
    whole_track: bool,
    db: bool,
    name: String,
) -> PyResult<ArrayBytes> {
    let input = AudioInput::Samples { bytes: samples.as_bytes().to_vec(), rate, name };
    features_of(py, input, whole_track, db)
}

fn features_of(py: Python<'_>, input: AudioInput, whole_track: bool, db: bool) -> PyResult<ArrayBytes> {
    let coverage = if whole_track { Coverage::WholeTrack } else { Coverage::Clip };
    let scale = if db { FeatureScale::Decibels } else { FeatureScale::Standardized };
    let features = py
        .detach(|| default_extractor()?.extract_decoded(input.decoder()?, coverage, scale))
        .map_err(|e| errors::audio(py, &e))?;
    Ok(array_bytes(py, &features))
}

/// The extractor of the original's features, made once per process (its filterbank
/// and FFT plans are the costly part of a short file).
fn default_extractor() -> genre_dsp::Result<&'static FeatureExtractor> {
    static EXTRACTOR: std::sync::OnceLock<FeatureExtractor> = std::sync::OnceLock::new();
    if let Some(extractor) = EXTRACTOR.get() {
        return Ok(extractor);
    }
    let extractor = FeatureExtractor::new(FeatureConfig::default())?;
    Ok(EXTRACTOR.get_or_init(|| extractor))
}

/// `features` as bytes and shape.
pub fn array_bytes(py: Python<'_>, features: &Features) -> ArrayBytes {
    (values_bytes(py, features.as_slice()), features.shape().to_vec())
}

/// `f32` values as a Python `bytearray` (native-endian).
pub fn values_bytes(py: Python<'_>, values: &[f32]) -> Py<PyByteArray> {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_ne_bytes()).collect();
    PyByteArray::new(py, &bytes).unbind()
}
