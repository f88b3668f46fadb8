//! PyTorch weights run here with PyTorch's outputs (fixtures from
//! `fixtures/make_model_fixtures.py`, i.e. `torch_reference.py export`).

use burn::prelude::*;
use models::{Architecture, ModelError, StateDict};

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
    let not_torch = crate::scratch("not-torch").join("x.pt");
    std::fs::write(&not_torch, b"definitely not a pickle").unwrap();
    assert!(StateDict::read_pytorch(&not_torch).unwrap_err().to_string().contains("x.pt"));
}
