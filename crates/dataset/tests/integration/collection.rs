//! Tiny collections written on the fly, in every layout.

use std::path::Path;

/// A fresh folder, unique to this call (tests run in parallel), removed on drop.
pub fn scratch(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(&format!("genre-dataset-{name}-")).tempdir().expect("a temp folder for the test")
}

/// A short 22,050 Hz 16-bit WAV whose content depends on `seed`.
pub fn wav(path: &Path, seed: u32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 22_050,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..2205u32 {
        let x = ((i.wrapping_mul(seed + 7) % 2000) as i32 - 1000) * 8;
        w.write_sample(x as i16).unwrap();
    }
    w.finalize().unwrap();
}

/// The same samples as [`wav`], as a big-endian 16-bit AU file.
pub fn au(path: &Path, seed: u32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut bytes = Vec::new();
    for word in [0x2e73_6e64u32, 24, 4410, 3, 22_050, 1] {
        bytes.extend_from_slice(&word.to_be_bytes());
    }
    for i in 0..2205u32 {
        let x = ((i.wrapping_mul(seed + 7) % 2000) as i32 - 1000) * 8;
        bytes.extend_from_slice(&(x as i16).to_be_bytes());
    }
    std::fs::write(path, bytes).unwrap();
}

pub const GENRES: [&str; 3] = ["blues", "jazz", "rock"];

/// `<root>/<genre>/<genre>.000NN.wav`, `per_genre` files each (Kaggle-like names).
pub fn gtzan_like(root: &Path, per_genre: u32) {
    for (g, genre) in GENRES.iter().enumerate() {
        for n in 0..per_genre {
            wav(&root.join(genre).join(format!("{genre}.{n:05}.wav")), g as u32 * 100 + n);
        }
    }
}
