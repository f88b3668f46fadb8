//! Weights by name, as PyTorch's `state_dict` names them.
//!
//! Every model here converts itself to and from a [`StateDict`] whose keys and shapes
//! are those of the Python original (`cnn.0.weight`, `gru.weight_ih_l0`,
//! `classifier.4.bias`, ...). Checkpoints store a `StateDict`, and importing a PyTorch
//! file is reading its `state_dict` into one, so there is one mapping to get right.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use burn::module::{Param, RunningState};
use burn::prelude::*;

use crate::error::{ModelError, Result};

/// One tensor: its shape and row-major `f32` values.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedTensor {
    /// Extents, outermost first.
    pub shape: Vec<usize>,
    /// Values, row-major.
    pub values: Vec<f32>,
}

/// Tensors by name, sorted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StateDict {
    tensors: BTreeMap<String, NamedTensor>,
}

impl StateDict {
    /// An empty dictionary.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces a tensor.
    pub fn insert(&mut self, name: impl Into<String>, shape: Vec<usize>, values: Vec<f32>) {
        self.tensors.insert(name.into(), NamedTensor { shape, values });
    }

    /// The tensor called `name`.
    pub fn get(&self, name: &str) -> Option<&NamedTensor> {
        self.tensors.get(name)
    }

    /// All tensors, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &NamedTensor)> {
        self.tensors.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Number of tensors.
    pub fn len(&self) -> usize {
        self.tensors.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty()
    }

    /// Reads a PyTorch `state_dict` saved with `torch.save`, plain or wrapped as
    /// `{"state_dict": ...}`. Integer tensors (`num_batches_tracked`) are skipped.
    pub fn read_pytorch(path: &Path) -> Result<Self> {
        Self::read_pytorch_named(path, path)
    }

    /// A PyTorch `state_dict` file held in memory (say, weights inside a binary), read
    /// as [`StateDict::read_pytorch`] reads a file; errors name `origin`. PyTorch's zip
    /// container keeps tensor data outside its pickle, which Burn's reader only finds
    /// in a file, so the bytes go through a temporary file first.
    pub fn read_pytorch_bytes(bytes: &[u8], origin: &Path) -> Result<Self> {
        let fail = |e: std::io::Error| ModelError::Pytorch { path: origin.to_path_buf(), reason: e.to_string() };
        let mut file = tempfile::NamedTempFile::new().map_err(fail)?;
        std::io::Write::write_all(&mut file, bytes).map_err(fail)?;
        Self::read_pytorch_named(file.path(), origin)
    }

    fn read_pytorch_named(path: &Path, origin: &Path) -> Result<Self> {
        use burn::store::pytorch_reader::{DType, PytorchReader};
        let fail = |reason: String| ModelError::Pytorch { path: origin.to_path_buf(), reason };
        let reader = match PytorchReader::with_top_level_key(path, "state_dict") {
            Ok(r) if !r.is_empty() => r,
            _ => PytorchReader::new(path).map_err(|e| fail(e.to_string()))?,
        };
        let mut dict = StateDict::new();
        for (name, tensor) in reader.tensors() {
            let bytes = tensor.read().map_err(|e| fail(e.to_string()))?;
            let values: Vec<f32> = match tensor.dtype() {
                DType::F32 => bytes.chunks_exact(4).map(|c| f32::from_ne_bytes([c[0], c[1], c[2], c[3]])).collect(),
                DType::F64 => bytes
                    .chunks_exact(8)
                    .map(|c| f64::from_ne_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32)
                    .collect(),
                _ => continue,
            };
            dict.insert(name.clone(), tensor.shape().to_vec(), values);
        }
        if dict.is_empty() {
            return Err(fail("no floating-point tensors found".into()));
        }
        Ok(dict)
    }
}

/// Takes tensors out of a [`StateDict`] while building a module, collecting every
/// problem instead of stopping at the first, so one error lists them all.
pub(crate) struct Loader<'a> {
    dict: &'a StateDict,
    device: Device,
    used: BTreeSet<&'a str>,
    problems: Vec<String>,
}

impl<'a> Loader<'a> {
    pub(crate) fn new(dict: &'a StateDict, device: &Device) -> Self {
        Loader { dict, device: device.clone(), used: BTreeSet::new(), problems: Vec::new() }
    }

    /// The values of `name`, which must have `shape`; zeros (and a recorded problem) if not.
    pub(crate) fn values(&mut self, name: &str, shape: &[usize]) -> Vec<f32> {
        let zeros = || vec![0.0; shape.iter().product()];
        match self.dict.tensors.get_key_value(name) {
            None => {
                self.problems.push(format!("missing {name} {shape:?}"));
                zeros()
            }
            Some((key, t)) => {
                self.used.insert(key.as_str());
                if t.shape != shape {
                    self.problems.push(format!("{name} has shape {:?}, expected {shape:?}", t.shape));
                    zeros()
                } else {
                    t.values.clone()
                }
            }
        }
    }

    pub(crate) fn tensor<const D: usize>(&mut self, name: &str, shape: [usize; D]) -> Tensor<D> {
        let values = self.values(name, &shape);
        Tensor::from_data(TensorData::new(values, shape), &self.device)
    }

    pub(crate) fn param<const D: usize>(&mut self, name: &str, shape: [usize; D]) -> Param<Tensor<D>> {
        Param::from_tensor(self.tensor(name, shape))
    }

    pub(crate) fn running(&mut self, name: &str, len: usize) -> RunningState<Tensor<1>> {
        RunningState::new(self.tensor(name, [len]))
    }

    /// Tensors PyTorch keeps that carry nothing we need.
    pub(crate) fn ignore(&mut self, name: &str) {
        if let Some((key, _)) = self.dict.tensors.get_key_value(name) {
            self.used.insert(key.as_str());
        }
    }

    /// Ok, or every missing, extra and mis-shaped tensor.
    pub(crate) fn finish(mut self, architecture: &str) -> Result<()> {
        for name in self.dict.tensors.keys() {
            if !self.used.contains(name.as_str()) && !name.ends_with("num_batches_tracked") {
                self.problems.push(format!("unexpected {name}"));
            }
        }
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(ModelError::Weights { architecture: architecture.to_string(), problems: self.problems })
        }
    }
}

/// Values and shape of a tensor. A parameter that cannot be read back from its device
/// (a failed GPU) becomes NaNs of its shape, never an empty or zeroed tensor: a model
/// saved from it gives NaN everywhere instead of plausible wrong answers.
pub(crate) fn export<const D: usize>(tensor: Tensor<D>) -> (Vec<usize>, Vec<f32>) {
    let shape = tensor.dims().to_vec();
    let values = crate::error::read_f32(tensor).unwrap_or_else(|_| vec![f32::NAN; shape.iter().product()]);
    (shape, values)
}

/// Adds a tensor under `name`.
pub(crate) fn put<const D: usize>(dict: &mut StateDict, name: &str, tensor: Tensor<D>) {
    let (shape, values) = export(tensor);
    dict.insert(name, shape, values);
}
