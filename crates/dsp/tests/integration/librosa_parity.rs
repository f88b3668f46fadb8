//! Our features against librosa 0.11's, on the fixtures made by `fixtures/make_fixtures.py`.

use genre_dsp::{Coverage, FeatureConfig, FeatureExtractor, FeatureScale, MelFilterbank};
use serde::Deserialize;

use crate::fixture;

#[derive(Deserialize)]
struct Manifest {
    fixtures: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    audio: String,
    stem: String,
    tolerance: String,
    segments_stored: usize,
}

struct Stats {
    max: f32,
    p99: f32,
    mean: f64,
}

fn stats(ours: &[f32], theirs: &[f32]) -> Stats {
    assert_eq!(ours.len(), theirs.len());
    let mut d: Vec<f32> = ours.iter().zip(theirs).map(|(a, b)| (a - b).abs()).collect();
    d.sort_by(f32::total_cmp);
    let mean = d.iter().map(|&x| f64::from(x)).sum::<f64>() / d.len() as f64;
    Stats { max: d[d.len() - 1], p99: d[(d.len() - 1) * 99 / 100], mean }
}

fn manifest() -> Manifest {
    let text = std::fs::read_to_string(fixture::dir().join("reference/manifest.json")).expect("manifest");
    serde_json::from_str(&text).expect("manifest JSON")
}

#[test]
fn features_match_librosa_on_every_fixture() {
    let extractor = FeatureExtractor::new(FeatureConfig::default()).expect("extractor");
    let mut failures = Vec::new();
    for entry in manifest().fixtures {
        let path = fixture::dir().join(&entry.audio);
        let n = entry.segments_stored;
        let db = extractor.extract_with(&path, Coverage::Clip, FeatureScale::Decibels).expect("features");
        let std = extractor.extract_with(&path, Coverage::Clip, FeatureScale::Standardized).expect("features");
        assert_eq!(std.shape(), [10, 128, 130], "{}", entry.stem);
        let size = 128 * 130;
        // Past the audio, segments are digital silence: exactly 0 in both scales, as in librosa.
        assert!(std.as_slice()[n * size..].iter().all(|&v| v == 0.0), "{}: padding not zero", entry.stem);
        assert!(db.as_slice()[n * size..].iter().all(|&v| v == 0.0), "{}: padding not zero", entry.stem);
        let ref_db = fixture::reference(&format!("{}.db.npy", entry.stem));
        let ref_std = fixture::reference(&format!("{}.std.npy", entry.stem));
        let s_db = stats(&db.as_slice()[..n * size], ref_db.as_slice().expect("contiguous"));
        let s_std = stats(&std.as_slice()[..n * size], ref_std.as_slice().expect("contiguous"));
        println!(
            "{:<22} {:<9} dB max {:.5} | std max {:.6} p99 {:.6} mean {:.7}",
            entry.stem, entry.tolerance, s_db.max, s_std.max, s_std.p99, s_std.mean
        );
        let ok = match entry.tolerance.as_str() {
            // 22,050 Hz PCM: the required bound is 1e-3 standardised and 0.01 dB.
            "pcm" => s_std.max <= 1e-3 && s_db.max <= 0.01,
            // Resampled through our port of soxr HQ (16 to 96 kHz): the same samples as
            // librosa's to 1e-6, so the same bound.
            "resampled" if cfg!(feature = "soxr") => s_std.max <= 1e-3 && s_db.max <= 0.01,
            // Lossy, or resampled without `soxr` (rubato down, our Kaiser sinc up): the
            // required bound for resampled or lossy input (decoders and resamplers may differ).
            "lossy" | "resampled" => s_std.max <= 0.25 && s_std.p99 <= 0.03 && s_std.mean <= 0.004,
            other => panic!("unknown tolerance class {other}"),
        };
        if !ok {
            failures.push(entry.stem);
        }
    }
    assert!(failures.is_empty(), "outside tolerance: {failures:?}");
}

#[test]
fn filterbank_equals_librosa_filters_mel() {
    let ours = MelFilterbank::slaney(22_050, 2048, 128, 0.0, 11_025.0).to_dense();
    let theirs = fixture::reference("mel_filterbank_22050_2048_128.npy");
    let theirs = theirs.as_slice().expect("contiguous");
    let max_rel = ours
        .iter()
        .zip(theirs)
        .map(|(a, b)| if *b == 0.0 { f64::from(a.abs()) } else { f64::from((a - b).abs() / b.abs()) })
        .fold(0.0, f64::max);
    // Same arithmetic in the same order: equal to within one f32 rounding.
    assert!(max_rel <= 2.0 * f64::from(f32::EPSILON), "max relative difference {max_rel}");
}
