//! Damaged and hostile checkpoints give a typed error, never a panic: random byte
//! flips, every truncation, and headers whose values are absurd but carry a valid
//! checksum (as a file written by another program might), each parsed and, when it
//! parses, built into a model.

use std::path::Path;

use burn::prelude::Device;
use genre_models::checkpoint::{Checkpoint, Precision};
use genre_models::crnn::CrnnConfig;
use genre_models::transformer::SpecTransformerConfig;
use genre_models::{DeviceKind, ModelConfig};
use rand::{RngExt, SeedableRng};

fn cpu() -> Device {
    DeviceKind::Cpu.device().unwrap()
}

/// Small models of each kind, so that every mutation that still parses can be built.
fn small_checkpoints() -> Vec<Checkpoint> {
    let configs = [
        ModelConfig::Crnn(CrnnConfig::new(4, genre_models::crnn::RecurrentKind::Gru).with_hidden(8)),
        ModelConfig::Transformer(SpecTransformerConfig::new(4).with_dim(16).with_heads(2).with_layers(1).with_ff(16)),
    ];
    configs
        .into_iter()
        .map(|config| {
            let model = config.init(&cpu());
            let labels = (0..4).map(|i| format!("g{i}")).collect();
            Checkpoint::new(&model, config, labels, genre_dsp::FeatureConfig::default())
        })
        .collect()
}

/// The file's parts: its header as JSON, and the tensor values after it.
fn split(bytes: &[u8]) -> (serde_json::Value, Vec<u8>) {
    let len = u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
    let header = serde_json::from_slice(&bytes[12..12 + len]).unwrap();
    (header, bytes[12 + len..bytes.len() - 32].to_vec())
}

/// A file with `header` and `values`, and a checksum that matches.
fn join(header: &serde_json::Value, values: &[u8]) -> Vec<u8> {
    let json = serde_json::to_vec(header).unwrap();
    let mut out = b"GENREMDL".to_vec();
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(values);
    let checksum = blake3::hash(&out);
    out.extend_from_slice(checksum.as_bytes());
    out
}

/// Every number and string in `value`, by path.
fn leaves(value: &serde_json::Value, path: Vec<String>, out: &mut Vec<Vec<String>>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, child) in map {
                let mut p = path.clone();
                p.push(key.clone());
                leaves(child, p, out);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                let mut p = path.clone();
                p.push(i.to_string());
                leaves(child, p, out);
            }
        }
        _ => out.push(path),
    }
}

fn leaf_mut<'a>(value: &'a mut serde_json::Value, path: &[String]) -> &'a mut serde_json::Value {
    path.iter().fold(value, |v, key| match v {
        serde_json::Value::Array(items) => &mut items[key.parse::<usize>().unwrap()],
        other => &mut other[key.as_str()],
    })
}

/// Parses `bytes` and builds the model if it parses: `Ok(true)` if both worked,
/// `Ok(false)` for a typed error, `Err` with the case for a panic.
fn outcome(bytes: &[u8], case: &str) -> Result<bool, String> {
    let result = std::panic::catch_unwind(|| match Checkpoint::from_bytes(bytes, Path::new("mutated.gmdl")) {
        Err(e) => {
            assert!(!e.to_string().is_empty());
            false
        }
        Ok(checkpoint) => {
            // Built, the model must also classify features of its own configuration.
            let config = checkpoint.header.features.clone();
            match genre_models::infer::Classifier::new(checkpoint, &cpu()) {
                Err(_) => false,
                Ok(classifier) => {
                    let shape = [1, config.n_mels, config.n_frames()];
                    let zeros = genre_dsp::Features::from_vec(vec![0.0; shape.iter().product()], shape).unwrap();
                    classifier.probabilities(&zeros, 8).is_ok()
                }
            }
        }
    });
    result.map_err(|_| case.to_string())
}

#[test]
fn every_mutated_checkpoint_is_a_typed_error_or_a_working_model() {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let absurd = [
        serde_json::json!(0),
        serde_json::json!(-1),
        serde_json::json!(1.0),
        serde_json::json!(1.5),
        serde_json::json!(1e300),
        serde_json::json!(u64::MAX),
        serde_json::json!(1u64 << 40),
        serde_json::json!(null),
        serde_json::json!("x"),
        serde_json::json!([]),
    ];
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let (mut cases, mut errors, mut panics) = (0usize, 0usize, Vec::new());
    let mut record = |result: Result<bool, String>, expect_error: bool| {
        cases += 1;
        match result {
            Ok(false) => errors += 1,
            Ok(true) => assert!(!expect_error, "a damaged file was accepted"),
            Err(case) => panics.push(case),
        }
    };
    for checkpoint in small_checkpoints() {
        let bytes = checkpoint.to_bytes(Precision::F32);
        let (header, values) = split(&bytes);
        let name = header["model"]["kind"].as_str().unwrap().to_string();
        // Random byte flips and truncations: the checksum catches each.
        for _ in 0..200 {
            let mut flipped = bytes.clone();
            let at = rng.random_range(0..flipped.len());
            flipped[at] ^= 1 << rng.random_range(0..8);
            record(outcome(&flipped, &format!("{name}: flip at {at}")), true);
        }
        for len in (0..bytes.len()).step_by((bytes.len() / 200).max(1)) {
            record(outcome(&bytes[..len], &format!("{name}: truncated to {len}")), true);
        }
        // Every header value replaced by absurd ones, or removed, with a valid checksum.
        let mut paths = Vec::new();
        leaves(&header, Vec::new(), &mut paths);
        for path in &paths {
            for value in &absurd {
                let mut mutated = header.clone();
                *leaf_mut(&mut mutated, path) = value.clone();
                record(outcome(&join(&mutated, &values), &format!("{name}: {} = {value}", path.join("."))), false);
            }
        }
    }
    std::panic::set_hook(hook);
    println!("{cases} mutated checkpoints: {errors} typed errors, the rest working models, {} panics", panics.len());
    assert!(panics.is_empty(), "{} of {cases} mutations panicked: {:?}", panics.len(), &panics[..panics.len().min(20)]);
    assert!(cases > 1000 && errors > cases / 2, "{cases} cases, {errors} errors");
}
