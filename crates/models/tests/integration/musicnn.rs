//! musicnn against the Python package (fixtures by `fixtures/make_musicnn_fixtures.py`,
//! TensorFlow 2.21, musicnn 0.1.0).

use burn::prelude::*;
use genre_dsp::{FeatureConfig, FeatureExtractor, FeatureScale};
use genre_models::musicnn::{MusicnnSource, load_pretrained};

use crate::{fixtures, npy};

const PATCH: usize = 187;
const MELS: usize = 96;

fn device() -> Device {
    genre_models::DeviceKind::Cpu.device().unwrap()
}

/// The package's features `[frames, 96]` cut into our layout `[patches, 96, 187]`.
fn reference_patches(stem: &str) -> (Vec<f32>, usize) {
    let features = npy(&fixtures().join(format!("musicnn/{stem}.features.npy")));
    let patches = features.shape()[0] / PATCH;
    let mut out = vec![0.0; patches * MELS * PATCH];
    for p in 0..patches {
        for t in 0..PATCH {
            for m in 0..MELS {
                out[(p * MELS + m) * PATCH + t] = features[[p * PATCH + t, m]];
            }
        }
    }
    (out, patches)
}

fn ours(stem: &str, ext: &str, patches: usize) -> Vec<f32> {
    let config = FeatureConfig { segments_per_clip: patches, ..FeatureConfig::musicnn() };
    let extractor = FeatureExtractor::new(config).unwrap();
    let path = fixtures().join(format!("audio/{stem}.{ext}"));
    extractor.extract_with(path, genre_dsp::Coverage::Clip, FeatureScale::Standardized).unwrap().into_vec()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// Features: musicnn's values are float16, and so is the `10000 x + 1` they are the
/// logarithm of; a mel power within float32 rounding of librosa's can land one float16
/// step away in either. The bound allows one step on a small share of values and
/// nothing beyond: `max(2^-10 |v|, log10(1 + 2^-10))`.
#[test]
fn features_match_the_package_to_one_float16_step() {
    let (reference, patches) = reference_patches("musicnn_16000_pcm16");
    let ours = ours("musicnn_16000_pcm16", "wav", patches);
    let step = |v: f32| (v.abs() / 1024.0).max((1.0f32 + 1.0 / 1024.0).log10());
    let mut differ = 0;
    for (&r, &o) in reference.iter().zip(&ours) {
        assert!((r - o).abs() <= 1.01 * step(r), "{o} against the package's {r}");
        differ += usize::from(r != o);
    }
    assert!(differ * 1000 < ours.len(), "{differ} of {} values differ", ours.len());
}

/// Resampled input: a 22,050 Hz clip, which musicnn resamples to 16 kHz with soxr HQ
/// (through librosa), as we do with `soxr-hq`. Compared where the package's values are
/// finite (its `10000 x` overflows on the loudest bins of this clip).
#[test]
fn resampled_features_match_the_package_where_it_is_finite() {
    let (reference, patches) = reference_patches("music_22050_flac");
    let ours = ours("music_22050_flac", "flac", patches);
    let step = |v: f32| (v.abs() / 1024.0).max((1.0f32 + 1.0 / 1024.0).log10());
    let (mut compared, mut differ) = (0, 0);
    for (&r, &o) in reference.iter().zip(&ours) {
        if r.is_finite() {
            assert!((r - o).abs() <= 1.01 * step(r), "{o} against the package's {r}");
            compared += 1;
            differ += usize::from(r != o);
        }
    }
    println!("{differ} of {compared} finite values differ by one float16 step");
    assert!(compared > reference.len() / 2, "only {compared} finite values");
    assert!(differ * 100 < compared, "{differ} of {compared} values differ");
}

/// The loud file: 10000 x overflows float16 in its second patch; we keep the value
/// finite. Its first patch has no overflow and matches like any other.
#[test]
fn loud_input_stays_finite_and_matches_where_the_package_is_finite() {
    let (reference, patches) = reference_patches("loud_16000_pcm16");
    assert_eq!(patches, 2);
    let ours = ours("loud_16000_pcm16", "wav", patches);
    assert!(ours.iter().all(|v| v.is_finite()));
    assert!(reference[MELS * PATCH..].iter().any(|v| v.is_infinite()), "fixture no longer overflows");
    let size = MELS * PATCH;
    let differ = reference[..size].iter().zip(&ours[..size]).filter(|(x, y)| x != y).count();
    assert!(differ < size / 100, "{differ} values of the finite patch differ");
    // Past float16's range our values keep growing with the power instead of becoming inf.
    let loudest = ours[size..].iter().copied().fold(0.0, f32::max);
    assert!(loudest > 4.82 && loudest < 8.0, "loudest value {loudest}");
}

fn tensor3(values: Vec<f32>, shape: [usize; 3]) -> Tensor<3> {
    Tensor::from_data(TensorData::new(values, shape), &device())
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_into_vec_as::<f32>().unwrap()
}

fn relative_error(ours: &[f32], reference: &[f32]) -> f32 {
    let scale = reference.iter().map(|v| v.abs()).fold(0.0, f32::max).max(1e-6);
    max_abs_diff(ours, reference) / scale
}

/// The network on the package's own features: every intermediate output.
#[test]
fn network_matches_the_package_layer_by_layer() {
    let (features, patches) = reference_patches("musicnn_16000_pcm16");
    let model = load_pretrained(&crate::weights("msd_musicnn.pt"), &device()).unwrap();
    let out = model.forward_all(tensor3(features, [patches, MELS, PATCH]));
    let reference = |name: &str| npy(&fixtures().join(format!("musicnn/musicnn_16000_pcm16.msd_musicnn.{name}.npy")));
    let check = |name: &str, ours: Vec<f32>, bound: f32| {
        let r = reference(name);
        let err = relative_error(&ours, r.as_slice().unwrap());
        assert!(err < bound, "{name}: relative error {err:e} (bound {bound:e})");
    };
    check("timbral", values(out.timbral), 1e-5);
    check("temporal", values(out.temporal), 1e-5);
    check("cnn1", values(out.cnn1), 1e-5);
    check("cnn2", values(out.cnn2), 1e-5);
    check("cnn3", values(out.cnn3), 1e-5);
    check("mean_pool", values(out.mean_pool), 1e-5);
    check("max_pool", values(out.max_pool), 1e-5);
    check("penultimate", values(out.penultimate), 1e-5);
    let taggram = values(burn::tensor::activation::sigmoid(out.logits));
    let err = max_abs_diff(&taggram, reference("taggram").as_slice().unwrap());
    assert!(err < 1e-5, "taggram: max abs error {err:e}");
}

/// Audio to taggram, both pretrained models: our features and our network.
#[test]
fn audio_to_taggram_matches_the_package() {
    for source in [MusicnnSource::Msd, MusicnnSource::Mtt] {
        let model = load_pretrained(&crate::weights(&format!("{}_musicnn.pt", source.name())), &device()).unwrap();
        for (stem, ext, patches) in [("musicnn_16000_pcm16", "wav", 3), ("loud_16000_pcm16", "wav", 1)] {
            let features = ours(stem, ext, patches);
            let taggram =
                values(burn::tensor::activation::sigmoid(model.forward(tensor3(features, [patches, MELS, PATCH]))));
            let name = format!("musicnn/{stem}.{}_musicnn.taggram.npy", source.name());
            let reference = npy(&fixtures().join(name));
            let reference = &reference.as_slice().unwrap()[..patches * 50];
            let err = max_abs_diff(&taggram, reference);
            assert!(err < 2e-3, "{stem} {}: taggram max abs error {err:e}", source.name());
        }
    }
}

/// The VGG baselines on the package's own features: last pool and taggram.
#[test]
fn vgg_matches_the_package() {
    let (features, patches) = reference_patches("musicnn_16000_pcm16");
    for source in [MusicnnSource::Msd, MusicnnSource::Mtt] {
        let model = genre_models::musicnn_vgg::load_pretrained_vgg(
            &crate::weights(&format!("{}_vgg.pt", source.name())),
            &device(),
        )
        .unwrap();
        let out = model.forward_all(tensor3(features.clone(), [patches, MELS, PATCH]));
        let name = |what: &str| format!("musicnn/musicnn_16000_pcm16.{}_vgg.{what}.npy", source.name());
        // pool5 [B, 128, 2, 1] -> the package's [B * 2, 128] (time, channel).
        let pool5 = out.pools.last().unwrap().clone();
        let [b, c, h, w] = pool5.dims();
        let pool5 = values(pool5.permute([0, 2, 3, 1]).reshape([b * h * w, c]));
        let reference = npy(&fixtures().join(name("pool5")));
        let err = relative_error(&pool5, reference.as_slice().unwrap());
        assert!(err < 1e-5, "{} pool5: relative error {err:e}", source.name());
        let taggram = values(burn::tensor::activation::sigmoid(out.logits));
        let err = max_abs_diff(&taggram, npy(&fixtures().join(name("taggram"))).as_slice().unwrap());
        assert!(err < 1e-5, "{} taggram: max abs error {err:e}", source.name());
    }
}
