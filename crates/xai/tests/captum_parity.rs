//! Our explanations against Captum's on identical weights (fixtures by
//! `fixtures/make_xai_fixtures.py`: the seeded random models of
//! `fixtures/models/*.pt` and two of `fixtures/models/features.npy`'s segments).
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use genre_models::checkpoint::Checkpoint;
use genre_models::{Architecture, StateDict};
use genre_xai::{Explainer, IntegratedGradients, IntegrationRule, Occlusion};
use ndarray::ArrayD;
use ndarray_npy::ReadNpyExt;

fn fixtures() -> PathBuf {
    std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../../fixtures")
}

fn npy(path: &Path) -> Vec<f32> {
    ArrayD::<f32>::read_npy(std::fs::File::open(path).unwrap()).unwrap().iter().copied().collect()
}

fn explainer(arch: Architecture) -> Explainer {
    let device = genre_models::DeviceKind::Cpu.device().unwrap();
    let dict = StateDict::read_pytorch(&fixtures().join(format!("models/{}.pt", arch.name()))).unwrap();
    let config = arch.default_config(4);
    let model = config.load(&dict, &device).unwrap();
    let labels = (0..4).map(|i| format!("class{i}")).collect();
    let checkpoint = Checkpoint::new(&model, config, labels, genre_dsp::FeatureConfig::default());
    Explainer::new(&checkpoint, &device).unwrap()
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

/// Largest difference relative to the reference's largest magnitude.
fn relative_error(ours: &[f32], reference: &[f32]) -> f64 {
    let peak = reference.iter().map(|v| v.abs()).fold(0.0f32, f32::max);
    let diff = ours.iter().zip(reference).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    f64::from(diff / peak)
}

struct Case {
    arch: Architecture,
    segment: usize,
    target: usize,
    input: Vec<f32>,
}

fn cases() -> Vec<Case> {
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("xai/manifest.json")).unwrap()).unwrap();
    let features = npy(&fixtures().join("models/features.npy"));
    let size = 128 * 130;
    manifest["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let segment = c["segment"].as_u64().unwrap() as usize;
            Case {
                arch: c["architecture"].as_str().unwrap().parse().unwrap(),
                segment,
                target: c["target"].as_u64().unwrap() as usize,
                input: features[segment * size..(segment + 1) * size].to_vec(),
            }
        })
        .collect()
}

fn reference(case: &Case, method: &str) -> Vec<f32> {
    npy(&fixtures().join(format!("xai/{}.seg{}.{method}.npy", case.arch.name(), case.segment)))
}

fn check(case: &Case, method: &str, ours: &[f32], max_relative: f64) {
    let reference = reference(case, method);
    let r = pearson(ours, &reference);
    let e = relative_error(ours, &reference);
    let name = format!("{} seg{} {method}", case.arch.name(), case.segment);
    assert!(r >= 0.99, "{name}: Pearson {r:.5}");
    assert!(e <= max_relative, "{name}: max relative error {e:.2e}");
}

#[test]
fn integrated_gradients_match_captum() {
    for case in cases() {
        let explainer = explainer(case.arch);
        assert_eq!(explainer.predicted(&case.input), case.target);
        let ig = explainer.integrated_gradients(&case.input, case.target, &IntegratedGradients::default()).unwrap();
        check(&case, "ig", &ig.values, 5e-3);
        if case.arch != Architecture::Transformer {
            let settings = IntegratedGradients { rule: IntegrationRule::RiemannTrapezoid, ..Default::default() };
            let trapezoid = explainer.integrated_gradients(&case.input, case.target, &settings).unwrap();
            // The trapezoid rule evaluates the all-zero baseline itself, where the CNN's
            // max-pool windows are full of ties: PyTorch and Burn may route those
            // gradients to different cells, a small share of the integral.
            check(&case, "ig_riemann_trapezoid", &trapezoid.values, 5e-3);
        }
    }
}

#[test]
fn grad_cam_matches_captum() {
    for case in cases().into_iter().filter(|c| c.arch != Architecture::Transformer) {
        let cam = explainer(case.arch).grad_cam(&case.input, case.target).unwrap();
        check(&case, "gradcam", &cam.values, 1e-2);
    }
}

#[test]
fn occlusion_matches_captum() {
    for case in cases() {
        let occlusion = explainer(case.arch).occlusion(&case.input, case.target, &Occlusion::default()).unwrap();
        check(&case, "occlusion", &occlusion.values, 1e-3);
    }
}
