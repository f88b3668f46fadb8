//! PyTorch weights run here with PyTorch's outputs (fixtures from
//! `fixtures/make_model_fixtures.py`, i.e. `torch_reference.py export`).

use burn::prelude::*;
use genre_models::{Architecture, ModelError, StateDict};

use crate::{fixtures, npy};

fn features(device: &Device) -> (Tensor<3>, usize) {
    let x = npy(&fixtures().join("models/features.npy"));
    let shape = x.shape().to_vec();
    let values = x.iter().copied().collect::<Vec<f32>>();
    (Tensor::from_data(TensorData::new(values, [shape[0], shape[1], shape[2]]), device), shape[0])
}

fn max_logit_difference(arch: Architecture, file: &str) -> f32 {
    let device = Device::flex();
    let dict = StateDict::read_pytorch(&fixtures().join("models").join(file)).unwrap();
    let model = arch.default_config(4).load(&dict, &device).unwrap();
    let (x, n) = features(&device);
    let ours = model.forward(x).into_data().try_into_vec_as::<f32>().unwrap();
    let theirs = npy(&fixtures().join(format!("models/{}.logits.npy", arch.name())));
    assert_eq!(ours.len(), n * 4);
    ours.iter().zip(theirs.iter()).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max)
}

#[test]
fn crnn_bigru_logits_equal_pytorch() {
    let d = max_logit_difference(Architecture::CrnnBigru, "crnn-bigru.pt");
    println!("crnn-bigru max |logit diff| {d:e}");
    assert!(d <= 1e-4, "{d}");
}

#[test]
fn crnn_bilstm_logits_equal_pytorch() {
    let d = max_logit_difference(Architecture::CrnnBilstm, "crnn-bilstm.pt");
    println!("crnn-bilstm max |logit diff| {d:e}");
    assert!(d <= 1e-4, "{d}");
}

#[test]
fn transformer_logits_equal_pytorch_also_from_a_wrapped_state_dict() {
    for file in ["transformer.pt", "transformer.wrapped.pt"] {
        let d = max_logit_difference(Architecture::Transformer, file);
        println!("transformer ({file}) max |logit diff| {d:e}");
        assert!(d <= 1e-4, "{file}: {d}");
    }
}

#[test]
fn wrong_weights_name_every_problem() {
    let device = Device::flex();
    let dict = StateDict::read_pytorch(&fixtures().join("models/crnn-bigru.pt")).unwrap();
    // LSTM weights are not GRU weights; 10 classes are not 4.
    let err = Architecture::CrnnBilstm.default_config(4).load(&dict, &device).unwrap_err().to_string();
    assert!(err.contains("missing lstm.weight_ih_l0") && err.contains("unexpected gru.weight_ih_l0"), "{err}");
    let err = Architecture::CrnnBigru.default_config(10).load(&dict, &device).unwrap_err();
    let ModelError::Weights { problems, .. } = &err else { panic!("{err}") };
    assert_eq!(
        problems,
        &[
            "classifier.4.weight has shape [4, 128], expected [10, 128]",
            "classifier.4.bias has shape [4], expected [10]"
        ]
    );
    let dir = crate::scratch("not-torch");
    let not_torch = dir.path().join("x.pt");
    std::fs::write(&not_torch, b"definitely not a pickle").unwrap();
    assert!(StateDict::read_pytorch(&not_torch).unwrap_err().to_string().contains("x.pt"));
}

#[test]
fn from_audio_our_features_and_imported_weights_give_pytorchs_probabilities() {
    // PyTorch's logits were computed on librosa's features of these two fixtures (two
    // segments each); ours come from decoding the audio here.
    let device = Device::flex();
    let dict = StateDict::read_pytorch(&fixtures().join("models/crnn-bigru.pt")).unwrap();
    let config = Architecture::CrnnBigru.default_config(4);
    let model = config.load(&dict, &device).unwrap();
    let labels = ["a", "b", "c", "d"].map(String::from).to_vec();
    let checkpoint =
        genre_models::checkpoint::Checkpoint::new(&model, config, labels, genre_dsp::FeatureConfig::default());
    let classifier = genre_models::infer::Classifier::new(checkpoint, &device).unwrap();
    let extractor = genre_dsp::FeatureExtractor::new(genre_dsp::FeatureConfig::default()).unwrap();
    let mut ours = Vec::new();
    for audio in ["music_22050_au16.au", "chirp_22050_float.wav"] {
        let features = extractor.extract(fixtures().join("audio").join(audio)).unwrap();
        ours.extend(classifier.probabilities(&features, 32).unwrap().into_iter().take(2));
    }
    let logits = npy(&fixtures().join("models/crnn-bigru.logits.npy"));
    let mut worst = 0.0f32;
    for (s, row) in ours.iter().enumerate() {
        let z: Vec<f32> = (0..4).map(|c| logits[[s, c]]).collect();
        let max = z.iter().copied().fold(f32::MIN, f32::max);
        let total: f32 = z.iter().map(|v| (v - max).exp()).sum();
        for c in 0..4 {
            worst = worst.max((row[c] - (z[c] - max).exp() / total).abs());
        }
    }
    println!("end to end: max |probability diff| {worst:e}");
    assert!(worst <= 2e-3, "{worst}");
}
