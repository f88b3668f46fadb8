//! The resampler against libsoxr itself: `fixtures/make_resample_fixtures.py` wrote
//! short signals and `soxr.resample(x, from, to, "HQ")` of each.

use std::path::PathBuf;

use ndarray::Array1;
use ndarray_npy::read_npy;

fn fixture(name: &str) -> Vec<f32> {
    let path =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()))
            .join("../../fixtures/resample")
            .join(name);
    let array: Array1<f32> = read_npy(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    array.to_vec()
}

fn resample(input: &[f32], from: u32, to: u32, block: usize) -> Vec<f32> {
    let mut resampler = soxr_hq::Resampler::new(from, to).expect("a ported plan");
    let mut out = Vec::new();
    for chunk in input.chunks(block) {
        resampler.push(chunk, &mut out);
    }
    resampler.finish(&mut out);
    out
}

#[test]
fn output_equals_soxr_hq() {
    let pairs = [
        (8000, 22050),
        (11025, 22050),
        (16000, 22050),
        (22000, 22050),
        (24000, 22050),
        (32000, 22050),
        (37800, 22050),
        (44100, 22050),
        (48000, 22050),
        (22050, 16000),
        (44100, 16000),
        (48000, 16000),
        (88200, 22050),
        (96000, 22050),
        (176400, 22050),
        (192000, 22050),
        (96000, 16000),
        (4000, 22050),
        (5000, 22050),
    ];
    println!("| from | to | samples | max abs diff |");
    let mut worst = 0.0f32;
    for (from, to) in pairs {
        let input = fixture(&format!("{from}_{to}.in.npy"));
        let expected = fixture(&format!("{from}_{to}.out.npy"));
        for (i, block) in [input.len(), 1000, 97].into_iter().enumerate() {
            let out = resample(&input, from, to, block);
            assert_eq!(out.len(), expected.len(), "{from} -> {to}, blocks of {block}: length");
            let diff = out.iter().zip(&expected).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
            if i == 0 {
                println!("| {from} | {to} | {} | {diff:.2e} |", out.len());
            }
            worst = worst.max(diff);
            assert!(diff < 2e-6, "{from} -> {to}, blocks of {block}: max |diff| {diff}");
        }
    }
    println!("worst: {worst:.2e}");
}
