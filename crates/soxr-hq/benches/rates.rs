//! Criterion benchmarks of resampling 30 s of audio from the common rates to 22,050 Hz,
//! pushed in blocks of 16,384 samples as `genre-dsp` feeds it.

use criterion::{Criterion, criterion_group, criterion_main};

/// 30 s of a deterministic, broadband signal at `rate` (a chirp plus a pseudo-random hiss).
fn signal(rate: u32) -> Vec<f32> {
    let mut state = 0x2545_f491_u32;
    (0..30 * rate as usize)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let t = i as f32 / rate as f32;
            0.5 * (t * t * 700.0).sin() + 0.1 * (state as f32 / u32::MAX as f32 - 0.5)
        })
        .collect()
}

fn rates(c: &mut Criterion) {
    for from in [44_100, 48_000, 16_000] {
        let input = signal(from);
        c.bench_function(&format!("plan, {from} Hz to 22,050 Hz"), |b| {
            b.iter(|| soxr_hq::plan(from, 22_050).expect("a rational ratio"))
        });
        // The filters are designed on first use and copied after.
        c.bench_function(&format!("a resampler, {from} Hz to 22,050 Hz"), |b| {
            b.iter(|| soxr_hq::Resampler::new(from, 22_050).expect("a rational ratio"))
        });
        let mut out = Vec::with_capacity(30 * 22_050 + 1);
        c.bench_function(&format!("30 s from {from} Hz to 22,050 Hz"), |b| {
            b.iter(|| {
                out.clear();
                let mut resampler = soxr_hq::Resampler::new(from, 22_050).expect("a rational ratio");
                for block in input.chunks(16_384) {
                    resampler.push(block, &mut out);
                }
                resampler.finish(&mut out);
                out.len()
            })
        });
    }
}

criterion_group!(benches, rates);
criterion_main!(benches);
