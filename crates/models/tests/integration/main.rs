//! Integration tests of the models crate, one binary.
#![allow(clippy::unwrap_used)] // a panic in a test helper is a failed test

mod checkpoint;
mod checkpoint_mutation;
mod data;
mod musicnn;
mod pytorch_parity;
mod training;

use std::path::{Path, PathBuf};

use ndarray::{ArrayD, IxDyn};
use ndarray_npy::ReadNpyExt;

/// The repository's `fixtures/`.
pub fn fixtures() -> PathBuf {
    std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../../fixtures")
}

/// The repository's converted musicnn weights file `name`.
pub fn weights(name: &str) -> PathBuf {
    fixtures().join("../weights/musicnn").join(name)
}

/// Reads an `f32` `.npy` of any rank.
pub fn npy(path: &Path) -> ArrayD<f32> {
    ArrayD::<f32>::read_npy(std::fs::File::open(path).unwrap()).unwrap().into_dimensionality::<IxDyn>().unwrap()
}

/// A fresh folder for one test, removed on drop.
pub fn scratch(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(&format!("genre-models-{name}-")).tempdir().expect("a temp folder for the test")
}
