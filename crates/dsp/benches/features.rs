//! Criterion benchmarks of the feature pipeline's stages on a committed fixture.
//! `cargo xtask bench features` gives the per-track figure against librosa.

use criterion::{Criterion, criterion_group, criterion_main};
use genre_dsp::{FeatureConfig, FeatureExtractor, FeatureScale, LogMelSpectrogram, MelFilterbank};

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../../fixtures/audio")
    .join(name)
}

fn stages(c: &mut Criterion) {
    let path = fixture("music_22050_au16.au");
    let samples = genre_dsp::load_mono(&path, 22_050).expect("fixture decodes");
    let mut segment = samples.clone();
    segment.resize(66_150, 0.0);
    let spectrogram =
        LogMelSpectrogram::new(2048, 512, MelFilterbank::slaney(22_050, 2048, 128, 0.0, 11_025.0), 1e-10, Some(80.0));
    let mut out = vec![0.0; 128 * 130];
    c.bench_function("log-mel dB, one 3 s segment", |b| b.iter(|| spectrogram.decibels(&segment, &mut out)));
    let extractor = FeatureExtractor::new(FeatureConfig::default()).expect("default config");
    c.bench_function("features from samples, 4.5 s padded to 30 s", |b| {
        b.iter(|| extractor.extract_samples(&samples, FeatureScale::Standardized))
    });
    c.bench_function("decode + features, 4.5 s AU file", |b| b.iter(|| extractor.extract(&path).expect("decodes")));
    let resampled = fixture("music_44100_pcm16.wav");
    c.bench_function("decode + resample 44.1 kHz + features, 4.5 s WAV", |b| {
        b.iter(|| extractor.extract(&resampled).expect("decodes"))
    });
}

criterion_group!(benches, stages);
criterion_main!(benches);
