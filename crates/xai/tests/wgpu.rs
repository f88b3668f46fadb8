//! The GPU code path, tested for real: Burn's wgpu backend (on CI, Mesa's software
//! Vulkan driver, lavapipe) against the CPU backend, for the CRNN-BiGRU (seeded
//! weights of `fixtures/models`) and the bundled default model. Predictions, each
//! explanation method and one training step must agree. `cargo xtask test` runs it
//! (`cargo test -p genre-xai --features wgpu --test wgpu`), after finding or installing
//! the driver. The CPU's generic Burn path (the one GPUs take) is checked against its
//! fast paths here too: the explainer's autodiff device never takes the fast paths.
#![cfg(feature = "wgpu")]
#![allow(clippy::unwrap_used)] // a panic in a test is a failed test

use std::path::PathBuf;

use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use genre_dsp::{FeatureExtractor, FeatureScale, Features};
use genre_models::checkpoint::Checkpoint;
use genre_models::infer::Classifier;
use genre_models::{Architecture, DeviceKind, ModelConfig, StateDict};
use genre_xai::{Explainer, IntegratedGradients, Method, Occlusion};

fn repo() -> PathBuf {
    std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../..")
}

fn cpu() -> Device {
    DeviceKind::Cpu.device().unwrap()
}

fn gpu() -> Device {
    DeviceKind::Wgpu.device().unwrap_or_else(|e| panic!("{e}"))
}

/// The original's CRNN-BiGRU with the seeded weights of the PyTorch fixtures.
fn crnn_bigru() -> Checkpoint {
    let arch = Architecture::CrnnBigru;
    let dict = StateDict::read_pytorch(&repo().join("fixtures/models/crnn-bigru.pt")).unwrap();
    let config = arch.default_config(4);
    let model = config.load(&dict, &cpu()).unwrap();
    let labels = (0..4).map(|i| format!("class{i}")).collect();
    Checkpoint::new(&model, config, labels, genre_dsp::FeatureConfig::default())
}

/// The default model that ships inside `genre`.
fn bundled_default() -> Checkpoint {
    Checkpoint::load(&repo().join("crates/cli/assets/gtzan.gmdl")).unwrap()
}

/// The model's own features of a music fixture, read as the model reads by default.
fn features_for(checkpoint: &Checkpoint) -> Features {
    let extractor = FeatureExtractor::new(checkpoint.header.features.clone()).unwrap();
    let coverage = checkpoint.header.coverage(None);
    extractor
        .extract_with(repo().join("fixtures/audio/music_22050_flac.flac"), coverage, FeatureScale::Standardized)
        .unwrap()
}

/// Prints a figure, and appends it to the file `GENRE_WGPU_REPORT` names (where
/// `cargo xtask test` collects them for CI's log).
fn report(line: &str) {
    println!("{line}");
    if let Some(path) = std::env::var_os("GENRE_WGPU_REPORT") {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
        writeln!(file, "{line}").unwrap();
    }
}

fn max_abs_difference(a: &[Vec<f32>], b: &[Vec<f32>]) -> f32 {
    a.iter().flatten().zip(b.iter().flatten()).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

fn softmax(logits: &[f32]) -> Vec<f32> {
    let top = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f32> = logits.iter().map(|&z| (z - top).exp()).collect();
    let sum: f32 = exp.iter().sum();
    exp.iter().map(|e| e / sum).collect()
}

fn pearson(a: &[f32], b: &[f32]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().map(|&v| f64::from(v)).sum::<f64>() / n, b.iter().map(|&v| f64::from(v)).sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        let (dx, dy) = (f64::from(x) - ma, f64::from(y) - mb);
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
    }
    sab / (saa * sbb).sqrt()
}

#[test]
fn predictions_on_wgpu_equal_the_cpu_s() {
    for (name, checkpoint) in [("crnn-bigru", crnn_bigru()), ("gtzan (bundled default)", bundled_default())] {
        let features = features_for(&checkpoint);
        let probabilities = |device: &Device| {
            Classifier::new(checkpoint.clone(), device).unwrap().probabilities(&features, 32).unwrap()
        };
        let on_cpu = probabilities(&cpu());
        let started = std::time::Instant::now();
        let on_gpu = probabilities(&gpu());
        let gpu_seconds = started.elapsed().as_secs_f64();
        // The CPU's generic Burn path: the explainer's frozen model lives on an autodiff
        // device, which never takes the fast paths.
        let explainer = Explainer::new(&checkpoint, &cpu()).unwrap();
        let logits = explainer.logits(features.as_slice().to_vec(), features.n_segments());
        let generic: Vec<Vec<f32>> = logits.iter().map(|row| softmax(row)).collect();
        let (gpu_diff, generic_diff) = (max_abs_difference(&on_cpu, &on_gpu), max_abs_difference(&on_cpu, &generic));
        report(&format!(
            "{name}: {} segments; max |p(wgpu) - p(cpu)| = {gpu_diff:.2e}, max |p(cpu, generic) - p(cpu, fast)| = \
             {generic_diff:.2e}; wgpu {gpu_seconds:.2} s",
            on_cpu.len()
        ));
        assert!(gpu_diff <= 1e-4, "{name}: wgpu differs from cpu by {gpu_diff:.2e}");
        assert!(generic_diff <= 1e-4, "{name}: the generic path differs from the fast path by {generic_diff:.2e}");
    }
}

/// Batches larger than one GPU pass holds (`GenreModel::items_per_pass`: 14 items of the
/// bundled model, 31 of the CRNN) go through in several passes, with the CPU's logits.
/// In one pass Burn's wgpu backend got the bundled model's logits wrong by 68 at 16 items.
#[test]
fn batches_larger_than_a_pass_give_the_cpu_s_logits_on_wgpu() {
    for (name, checkpoint, items) in
        [("crnn-bigru", crnn_bigru(), 40), ("gtzan (bundled default)", bundled_default(), 16)]
    {
        let features = features_for(&checkpoint);
        let segment = features.segment(0).unwrap().to_vec();
        let batch: Vec<f32> = (0..items).flat_map(|_| segment.iter().copied()).collect();
        let (on_cpu, on_gpu) =
            (Explainer::new(&checkpoint, &cpu()).unwrap(), Explainer::new(&checkpoint, &gpu()).unwrap());
        let model = checkpoint.model(&gpu()).unwrap();
        let per_pass = model.items_per_pass(&gpu(), segment.len());
        let one = on_cpu.logits(segment.clone(), 1).remove(0);
        let rows = on_gpu.logits(batch, items);
        let worst = rows.iter().flatten().zip(one.iter().cycle()).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        report(&format!(
            "{name}: {items} items on wgpu in passes of {per_pass}: largest logit difference from the cpu's {worst:.2e}"
        ));
        assert!(per_pass < items, "{name}: the test needs more items than one pass holds");
        assert!(worst <= 1e-3, "{name}: logits differ by {worst:.2e}");
    }
}

#[test]
fn explanations_of_the_crnn_on_wgpu_correlate_with_the_cpu_s() {
    explanations_agree("crnn-bigru", &crnn_bigru());
}

/// With Burn's kernel fusion on (its default for wgpu), integrated gradients of the
/// bundled model correlated with the CPU's at r = 0.42; the workspace builds Burn
/// without it (`docs/models.md`, GPU path).
#[test]
fn explanations_of_the_default_model_on_wgpu_correlate_with_the_cpu_s() {
    explanations_agree("gtzan (bundled default)", &bundled_default());
}

/// Every method on both devices, the first segment, the class the CPU predicts.
fn explanations_agree(name: &str, checkpoint: &Checkpoint) {
    // Lighter settings than the defaults keep lavapipe's time down; the agreement
    // asked for does not depend on them.
    let ig = IntegratedGradients { steps: 16, ..IntegratedGradients::default() };
    let occlusion = Occlusion { window: [32, 32], stride: [32, 32], ..Occlusion::default() };
    let features = features_for(checkpoint);
    let segment = features.segment(0).unwrap().to_vec();
    let (on_cpu, on_gpu) = (Explainer::new(checkpoint, &cpu()).unwrap(), Explainer::new(checkpoint, &gpu()).unwrap());
    let target = on_cpu.predicted(&segment);
    assert_eq!(on_gpu.predicted(&segment), target, "{name}: the explained class differs");
    for method in Method::ALL {
        let explain = |explainer: &Explainer| match method {
            Method::IntegratedGradients => explainer.integrated_gradients(&segment, target, &ig).unwrap(),
            Method::GradCam => explainer.grad_cam(&segment, target).unwrap(),
            Method::Occlusion => explainer.occlusion(&segment, target, &occlusion).unwrap(),
        };
        let (a, b) = (explain(&on_cpu), explain(&on_gpu));
        let r = pearson(&a.values, &b.values);
        report(&format!("{name}: {} on wgpu against cpu: r = {r:.6}", method.name()));
        assert!(r >= 0.999, "{name}: {}: r = {r:.6}", method.name());
    }
}

#[test]
fn one_training_step_of_the_transformer_moves_the_weights_as_on_the_cpu() {
    training_step_agrees(Architecture::Transformer);
}

/// The step's batch-norm statistics are means over 66,560 values per channel (the next
/// test), which Burn's kernel fusion on wgpu got wrong.
#[test]
fn one_training_step_of_the_crnn_moves_the_weights_as_on_the_cpu() {
    training_step_agrees(Architecture::CrnnBigru);
}

/// `mean_dim` over rows of 66,560 values (a batch norm's per-channel statistics for four
/// segments), exact in `f64` on the host: off by up to 1.9e-2 on wgpu with Burn's
/// kernel fusion on.
#[test]
fn long_means_on_wgpu_are_exact() {
    let n = 66_560;
    let values: Vec<f32> = (0..8 * n).map(|i| (i as f32 * 0.618).sin() * 0.5 + 0.3).collect();
    let exact: Vec<f64> = values.chunks(n).map(|c| c.iter().map(|&v| f64::from(v)).sum::<f64>() / n as f64).collect();
    for (name, device) in [("cpu", cpu()), ("wgpu", gpu())] {
        let means: Vec<f32> = Tensor::<2>::from_data(TensorData::new(values.clone(), [8, n]), &device)
            .mean_dim(1)
            .into_data()
            .iter::<f32>()
            .collect();
        let error = means.iter().zip(&exact).map(|(m, e)| (f64::from(*m) - e).abs()).fold(0.0, f64::max);
        report(&format!("mean of 66,560 values on {name}: largest error {error:.2e}"));
        assert!(error < 1e-6, "{name}: mean off by {error:.2e}");
    }
}

/// One Adam step of `arch` from the fixtures' weights on the same batch, on both devices.
fn training_step_agrees(arch: Architecture) {
    let mut config = arch.default_config(4);
    // No dropout: its masks come from each backend's own random numbers.
    match &mut config {
        ModelConfig::Crnn(crnn) => {
            crnn.conv_dropout = [0.0; 3];
            crnn.head_dropout = 0.0;
        }
        ModelConfig::Transformer(transformer) => transformer.dropout = 0.0,
        _ => {}
    }
    let weights = StateDict::read_pytorch(&repo().join(format!("fixtures/models/{}.pt", arch.name()))).unwrap();
    let start = config.load(&weights, &cpu()).unwrap().state_dict();
    let features = fixture_batch();
    let step = |device: &Device| {
        let autodiff = device.clone().autodiff();
        let model = config.load(&start, &autodiff).unwrap();
        let x = Tensor::<3>::from_data(TensorData::new(features.clone(), [4, 128, 130]), &autodiff);
        let labels = Tensor::<1, Int>::from_data(TensorData::new(vec![0i64, 1, 2, 3], [4]), &autodiff);
        let loss = CrossEntropyLossConfig::new().init(&autodiff).forward(model.forward(x), labels);
        let loss_value: f32 = loss.clone().into_scalar();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let mut optim = AdamConfig::new().init();
        let model = optim.step(1e-3, model, grads);
        (loss_value, model.state_dict())
    };
    let (cpu_loss, cpu_after) = step(&cpu());
    let (gpu_loss, gpu_after) = step(&gpu());
    let (mut moved_cpu, mut moved_gpu, mut largest) = (Vec::new(), Vec::new(), 0.0f32);
    for (name, before) in start.iter() {
        let (a, b) = (&cpu_after.get(name).unwrap().values, &gpu_after.get(name).unwrap().values);
        for ((&w0, &wa), &wb) in before.values.iter().zip(a).zip(b) {
            moved_cpu.push(wa - w0);
            moved_gpu.push(wb - w0);
            largest = largest.max((wa - wb).abs());
        }
    }
    let r = pearson(&moved_cpu, &moved_gpu);
    report(&format!(
        "{} training step: loss cpu {cpu_loss:.6}, wgpu {gpu_loss:.6}; weight changes r = {r:.6}, largest weight \
         difference {largest:.2e} (Adam, lr 1e-3)",
        arch.name()
    ));
    assert!((cpu_loss - gpu_loss).abs() <= 1e-4, "{}: loss {cpu_loss} against {gpu_loss}", arch.name());
    assert!(r >= 0.999, "{}: the step moved the weights differently: r = {r:.6}", arch.name());
}

/// Four segments of the model fixtures' features.
fn fixture_batch() -> Vec<f32> {
    use ndarray_npy::ReadNpyExt;
    let file = std::fs::File::open(repo().join("fixtures/models/features.npy")).unwrap();
    let all = ndarray::ArrayD::<f32>::read_npy(file).unwrap();
    let values: Vec<f32> = all.iter().copied().collect();
    let size = 128 * 130;
    (0..4).flat_map(|i| values[(i % (values.len() / size)) * size..][..size].to_vec()).collect()
}
