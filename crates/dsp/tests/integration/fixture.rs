//! Paths to the committed fixtures, and small helpers to write test audio.

use std::path::{Path, PathBuf};

use ndarray::Array3;
use ndarray_npy::ReadNpyExt;

/// The repository's `fixtures/` folder.
pub fn dir() -> PathBuf {
    std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../../fixtures")
}

/// Reads a 3-D `f32` `.npy` from `fixtures/reference/`.
pub fn reference(name: &str) -> Array3<f32> {
    let path = dir().join("reference").join(name);
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Array3::<f32>::read_npy(file).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A fresh folder for one test, removed on drop.
pub fn scratch(test: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(&format!("genre-dsp-{test}-")).tempdir().expect("a temp folder for the test")
}

/// Writes interleaved `f32` samples as a WAV file with the given sample format.
pub fn write_wav(path: &Path, samples: &[f32], channels: u16, rate: u32, format: WavFormat) {
    let (bits, sample_format) = match format {
        WavFormat::Int(bits) => (bits, hound::SampleFormat::Int),
        WavFormat::Float => (32, hound::SampleFormat::Float),
    };
    let spec = hound::WavSpec { channels, sample_rate: rate, bits_per_sample: bits, sample_format };
    let mut writer = hound::WavWriter::create(path, spec).expect("create wav");
    for &s in samples {
        match format {
            WavFormat::Float => writer.write_sample(s).expect("write"),
            WavFormat::Int(8) => writer.write_sample((s * 127.0) as i8).expect("write"),
            WavFormat::Int(bits) => {
                let scale = (1i64 << (bits - 1)) as f64 - 1.0;
                writer.write_sample((f64::from(s) * scale) as i32).expect("write")
            }
        }
    }
    writer.finalize().expect("finalize wav");
}

/// Sample formats for [`write_wav`].
#[derive(Clone, Copy)]
pub enum WavFormat {
    Int(u16),
    Float,
}

/// A mono test signal: a few tones and some deterministic noise.
pub fn signal(rate: u32, seconds: f32) -> Vec<f32> {
    let n = (rate as f32 * seconds) as usize;
    let mut state = 0x2545_f491_u32;
    (0..n)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let noise = (state as f32 / u32::MAX as f32 - 0.5) * 0.1;
            let x = i as f32 / rate as f32;
            0.3 * (2.0 * std::f32::consts::PI * 330.0 * x).sin()
                + 0.2 * (2.0 * std::f32::consts::PI * 1870.0 * x).sin()
                + noise
        })
        .collect()
}
