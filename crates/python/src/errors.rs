//! Rust errors as the package's typed Python exceptions (`genre_classifier.AudioError`,
//! `ModelError`, `GenreError`), each with the file (if any) and the cause as attributes.

use pyo3::prelude::*;

/// Which of the package's exceptions.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// A file or samples that cannot be decoded or resampled.
    Audio,
    /// A model that cannot be loaded or run, or a device that is not there.
    Model,
    /// Anything else: a bad argument value.
    Usage,
}

/// The Python exception of `kind`, carrying `message`, `file` and `cause`.
pub fn raise(py: Python<'_>, kind: Kind, message: String, file: Option<String>, cause: Option<String>) -> PyErr {
    let name = match kind {
        Kind::Audio => "AudioError",
        Kind::Model => "ModelError",
        Kind::Usage => "GenreError",
    };
    match py.import("genre_classifier._errors").and_then(|m| m.getattr(name)) {
        Ok(class) => match class.call1((message.clone(), file, cause)) {
            Ok(instance) => PyErr::from_value(instance),
            Err(e) => e,
        },
        // The Python half is missing (the module imported on its own): still an exception.
        Err(_) => pyo3::exceptions::PyRuntimeError::new_err(message),
    }
}

/// A decoding or feature error, which names its file.
pub fn audio(py: Python<'_>, error: &genre_dsp::DspError) -> PyErr {
    let file = error.path().map(|p| p.display().to_string());
    let message = error.to_string();
    let cause = match &file {
        Some(f) => message.strip_prefix(&format!("{f}: ")).map(str::to_string),
        None => Some(message.clone()),
    };
    raise(py, Kind::Audio, message, file, cause)
}

/// A model error (loading, running, device), with the file it concerns if any.
pub fn model(py: Python<'_>, error: impl std::fmt::Display, file: Option<String>) -> PyErr {
    let message = error.to_string();
    raise(py, Kind::Model, message.clone(), file, Some(message))
}

/// A bad argument.
pub fn usage(py: Python<'_>, message: String) -> PyErr {
    raise(py, Kind::Usage, message.clone(), None, Some(message))
}
