//! One file that holds everything `predict` needs: architecture and configuration,
//! label names, the [`FeatureConfig`] the model was trained on, and the weights.
//!
//! Layout: `GENREMDL` magic, a little-endian `u32` header length, the header as JSON,
//! the tensors' values (`f32` or `f16`, little-endian, in header order), and a BLAKE3
//! checksum of everything before it. The checksum makes a truncated or damaged file a
//! clear error; the weights are stored under PyTorch's key names, so BatchNorm running
//! statistics travel as the plain tensors they are and a round trip is bit-exact.

use std::path::Path;

use burn::prelude::Device;
use genre_dsp::FeatureConfig;
use serde::{Deserialize, Serialize};

use crate::arch::{GenreModel, ModelConfig};
use crate::error::{ModelError, Result};
use crate::state_dict::StateDict;

const MAGIC: &[u8; 8] = b"GENREMDL";
const FORMAT: u32 = 1;

/// How the weights are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// 32-bit floats, exact.
    #[default]
    F32,
    /// 16-bit floats: half the size, for bundling.
    F16,
}

/// Everything in a checkpoint but the weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointHeader {
    /// File format version.
    pub format: u32,
    /// Architecture and hyper-parameters.
    pub model: ModelConfig,
    /// Genre names, in output order.
    pub labels: Vec<String>,
    /// The features the model takes.
    pub features: FeatureConfig,
    /// How the weights are stored.
    pub precision: Precision,
    /// Free-form provenance: what it was trained on, and how well it did.
    #[serde(default)]
    pub notes: serde_json::Value,
    /// Whether the model learned from every segment of its tracks (`train
    /// --whole-track`), and so reads whole tracks unless told otherwise.
    #[serde(default)]
    pub whole_track: bool,
    /// The resampler that made the training features of audio not at the feature rate
    /// (checkpoints that do not say were made with soxr HQ).
    #[serde(default = "resampler_before_the_field")]
    pub resampler: genre_dsp::Resampler,
}

fn resampler_before_the_field() -> genre_dsp::Resampler {
    genre_dsp::Resampler::SoxrHq
}

impl CheckpointHeader {
    /// What of a file the model reads: every segment if `whole_track` is `Some(true)`,
    /// the first 30 s if `Some(false)`; with `None`, the model's own default (whole
    /// tracks for a model trained on them, else the first 30 s, as the original).
    pub fn coverage(&self, whole_track: Option<bool>) -> genre_dsp::Coverage {
        if whole_track.unwrap_or(self.whole_track) {
            genre_dsp::Coverage::WholeTrack
        } else {
            genre_dsp::Coverage::Clip
        }
    }
}

/// The header as stored: the public part and the tensors' names and shapes.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredHeader {
    #[serde(flatten)]
    header: CheckpointHeader,
    tensors: Vec<TensorEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct TensorEntry {
    name: String,
    shape: Vec<usize>,
}

/// A model with what it needs to be used.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// The header.
    pub header: CheckpointHeader,
    /// The weights.
    pub weights: StateDict,
}

impl Checkpoint {
    /// Bundles a model with its labels and feature configuration.
    pub fn new(model: &GenreModel, config: ModelConfig, labels: Vec<String>, features: FeatureConfig) -> Self {
        let weights = model.state_dict();
        let header = CheckpointHeader {
            format: FORMAT,
            model: config,
            labels,
            features,
            precision: Precision::F32,
            notes: serde_json::Value::Null,
            whole_track: false,
            resampler: genre_dsp::Resampler::of_this_build(),
        };
        Checkpoint { header, weights }
    }

    /// The model, on `device`; an error if it cannot read its own features.
    pub fn model(&self, device: &Device) -> Result<GenreModel> {
        self.header.model.validate_input(&self.header.features)?;
        self.header.model.load(&self.weights, device)
    }

    /// The file's bytes.
    pub fn to_bytes(&self, precision: Precision) -> Vec<u8> {
        let mut header = self.header.clone();
        header.precision = precision;
        let tensors =
            self.weights.iter().map(|(name, t)| TensorEntry { name: name.into(), shape: t.shape.clone() }).collect();
        let json = serde_json::to_vec(&StoredHeader { header, tensors }).unwrap_or_default();
        let mut out =
            Vec::with_capacity(json.len() + 48 + self.weights.iter().map(|(_, t)| t.values.len() * 4).sum::<usize>());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(json.len() as u32).to_le_bytes());
        out.extend_from_slice(&json);
        for (_, t) in self.weights.iter() {
            for &v in &t.values {
                match precision {
                    Precision::F32 => out.extend_from_slice(&v.to_le_bytes()),
                    Precision::F16 => out.extend_from_slice(&burn::tensor::f16::from_f32(v).to_le_bytes()),
                }
            }
        }
        let checksum = blake3::hash(&out);
        out.extend_from_slice(checksum.as_bytes());
        out
    }

    /// Parses a checkpoint; `origin` names it in errors.
    pub fn from_bytes(bytes: &[u8], origin: &Path) -> Result<Self> {
        let fail = |reason: &str| ModelError::Checkpoint { path: origin.to_path_buf(), reason: reason.to_string() };
        if bytes.len() < 8 || &bytes[..8] != MAGIC {
            return Err(fail("it does not start with the GENREMDL signature"));
        }
        if bytes.len() < 12 + 32 {
            return Err(fail("the file is truncated"));
        }
        let (body, checksum) = bytes.split_at(bytes.len() - 32);
        if blake3::hash(body).as_bytes() != checksum {
            return Err(fail("its checksum does not match: the file is truncated or damaged"));
        }
        let header_len = u32::from_le_bytes([body[8], body[9], body[10], body[11]]) as usize;
        let json = body.get(12..12 + header_len).ok_or_else(|| fail("the header is truncated"))?;
        let StoredHeader { mut header, tensors } =
            serde_json::from_slice(json).map_err(|e| fail(&format!("unreadable header: {e}")))?;
        if header.format != FORMAT {
            return Err(fail(&format!("format {} (this build reads format {FORMAT})", header.format)));
        }
        header.model.validate(header.labels.len()).map_err(|e| fail(&e.to_string()))?;
        header.features.validate().map_err(|e| fail(&format!("feature configuration: {e}")))?;
        let width = match header.precision {
            Precision::F32 => 4,
            Precision::F16 => 2,
        };
        let mut data = &body[12 + header_len..];
        let mut weights = StateDict::new();
        for entry in &tensors {
            let bytes = entry.shape.iter().try_fold(width, |acc: usize, &d| acc.checked_mul(d));
            let Some(bytes) = bytes.filter(|&b| b <= data.len()) else {
                return Err(fail(&format!("the values of {} are truncated", entry.name)));
            };
            let (chunk, rest) = data.split_at(bytes);
            let values = match header.precision {
                Precision::F32 => chunk.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
                Precision::F16 => {
                    chunk.chunks_exact(2).map(|c| burn::tensor::f16::from_le_bytes([c[0], c[1]]).to_f32()).collect()
                }
            };
            weights.insert(entry.name.clone(), entry.shape.clone(), values);
            data = rest;
        }
        if !data.is_empty() {
            return Err(fail("bytes left over after the last tensor"));
        }
        // In memory, weights are f32 whatever the file held.
        header.precision = Precision::F32;
        Ok(Checkpoint { header, weights })
    }

    /// Writes the checkpoint to `path` atomically (temporary file, then rename).
    pub fn save(&self, path: &Path, precision: Precision) -> Result<()> {
        let io = |source| ModelError::Io { path: path.to_path_buf(), source };
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(io)?;
        crate::atomic::write(path, &self.to_bytes(precision)).map_err(io)
    }

    /// Reads a checkpoint file.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|source| ModelError::Io { path: path.to_path_buf(), source })?;
        Self::from_bytes(&bytes, path)
    }
}
