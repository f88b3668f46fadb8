//! Checkpoints: bit-exact round trips (BatchNorm running statistics included) and clear
//! errors for files that are not ours.

use burn::prelude::*;
use genre_models::checkpoint::{Checkpoint, Precision};
use genre_models::{Architecture, StateDict};

use crate::{fixtures, scratch};

fn imported() -> Checkpoint {
    let device = Device::flex();
    let dict = StateDict::read_pytorch(&fixtures().join("models/crnn-bigru.pt")).unwrap();
    let config = Architecture::CrnnBigru.default_config(4);
    let model = config.load(&dict, &device).unwrap();
    let labels = ["classical", "electronic", "pop", "rock"].map(String::from).to_vec();
    Checkpoint::new(&model, config, labels, genre_dsp::FeatureConfig::default())
}

#[test]
fn save_and_load_is_bit_exact_including_batchnorm_statistics() {
    let device = Device::flex();
    let checkpoint = imported();
    let original = StateDict::read_pytorch(&fixtures().join("models/crnn-bigru.pt")).unwrap();
    // The model's own state dict is the PyTorch one, less num_batches_tracked.
    for (name, tensor) in original.iter().filter(|(n, _)| !n.ends_with("num_batches_tracked")) {
        assert_eq!(checkpoint.weights.get(name), Some(tensor), "{name}");
    }
    let dir = scratch("roundtrip");
    let path = dir.path().join("model.gmdl");
    checkpoint.save(&path, Precision::F32).unwrap();
    let loaded = Checkpoint::load(&path).unwrap();
    assert_eq!(loaded.header, checkpoint.header);
    assert_eq!(loaded.weights, checkpoint.weights);
    // And through a model built from the file, back to tensors.
    let again = loaded.model(&device).unwrap().state_dict();
    assert_eq!(again, checkpoint.weights);
    let mean = again.get("cnn.6.running_mean").unwrap();
    assert!(mean.values.iter().any(|&v| v != 0.0), "running statistics were lost");
}

#[test]
fn half_precision_stays_close() {
    let checkpoint = imported();
    let bytes = checkpoint.to_bytes(Precision::F16);
    assert!(bytes.len() < checkpoint.to_bytes(Precision::F32).len() / 2 + 4096);
    let half = Checkpoint::from_bytes(&bytes, std::path::Path::new("half")).unwrap();
    for (name, t) in checkpoint.weights.iter() {
        let h = half.weights.get(name).unwrap();
        let err = t.values.iter().zip(&h.values).map(|(a, b)| (a - b).abs() / a.abs().max(1e-3)).fold(0.0, f32::max);
        assert!(err < 2e-3, "{name}: relative error {err}");
    }
}

#[test]
fn foreign_truncated_and_damaged_files_are_clear_errors() {
    let dir = scratch("bad-checkpoints");
    let bytes = imported().to_bytes(Precision::F32);
    let mut damaged = bytes.clone();
    damaged[5000] ^= 1;
    let cases: [(&str, Vec<u8>, &str); 4] = [
        ("foreign.gmdl", b"PK\x03\x04 a zip file, not a model".to_vec(), "signature"),
        ("truncated.gmdl", bytes[..bytes.len() / 2].to_vec(), "truncated or damaged"),
        ("damaged.gmdl", damaged, "truncated or damaged"),
        ("empty.gmdl", Vec::new(), "signature"),
    ];
    for (name, content, expected) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        let err = Checkpoint::load(&path).unwrap_err().to_string();
        assert!(err.contains(name) && err.contains(expected), "{name}: {err}");
    }
    let missing = dir.path().join("missing.gmdl");
    assert!(Checkpoint::load(&missing).unwrap_err().to_string().contains("missing.gmdl"));
}

#[test]
fn the_whole_track_default_round_trips_and_old_files_read_as_first_30_s() {
    let dir = scratch("whole-track");
    let path = dir.path().join("model.gmdl");
    let mut checkpoint = imported();
    assert!(!checkpoint.header.whole_track, "a new checkpoint reads the first 30 s");
    checkpoint.header.whole_track = true;
    checkpoint.save(&path, Precision::F32).unwrap();
    let header = Checkpoint::load(&path).unwrap().header;
    assert!(header.whole_track);
    assert_eq!(header.coverage(None), genre_dsp::Coverage::WholeTrack, "the model's default");
    assert_eq!(header.coverage(Some(false)), genre_dsp::Coverage::Clip, "unless told otherwise");
    assert_eq!(imported().header.coverage(None), genre_dsp::Coverage::Clip);
    // A header written before the field existed has no `whole_track`: it reads as false.
    let mut json = serde_json::to_value(&checkpoint.header).unwrap();
    json.as_object_mut().unwrap().remove("whole_track");
    let old: genre_models::checkpoint::CheckpointHeader = serde_json::from_value(json).unwrap();
    assert!(!old.whole_track);
}
