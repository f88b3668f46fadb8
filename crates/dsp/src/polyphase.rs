//! Upsampling by a rational ratio with a Kaiser-windowed sinc whose pass and stop bands
//! are soxr HQ's: flat to 0.9137 of the input's Nyquist frequency, 126 dB down from
//! Nyquist on. Built without the `soxr` feature, this is how audio below the feature
//! rate (16 kHz speech-rate recordings, 11,025 Hz, 8 kHz) is brought up to it.
//!
//! Our own code, not rubato's: rubato's FFT resampler fixes its cut-off from its window
//! and length (the transition band it gives at 16 kHz starts and ends elsewhere than
//! soxr's, and the top mel bands, where upsampled audio has only the filter's edge,
//! differ by up to 0.47 standardised), and its sinc resampler has no Kaiser window.
//! The filter is the textbook design (Kaiser's formulas for the window's shape and
//! length), one table of coefficients per output phase. Its `dot` and `bessel_i0` are
//! the textbook loops `soxr-hq` also has: that crate is optional and LGPL, so this
//! permissive path cannot call into it.

use std::f64::consts::PI;

use crate::resample::gcd;

/// End of the pass band, as a fraction of the input's Nyquist frequency (soxr HQ's).
const PASS_END: f64 = 0.9137;
/// Stop-band attenuation in dB (soxr HQ's, at least).
const ATTENUATION_DB: f64 = 126.0;
/// The most output phases (coefficient tables) we make; ratios needing more fall back.
pub(crate) const MAX_PHASES: usize = 4096;

/// A streaming upsampler from `from_hz` to `to_hz` (`to_hz > from_hz`): output sample
/// `k` is the band-limited input at time `k * from / to`, as soxr's.
pub(crate) struct PolyphaseUpsampler {
    /// Output samples per `down` input samples (`to / gcd`).
    up: usize,
    /// `from / gcd`.
    down: usize,
    /// Coefficients per phase (input samples each output reads).
    taps: usize,
    /// `up` tables of `taps` coefficients, phase-major.
    coefficients: Vec<f32>,
    /// Input not yet consumed; `buffer[0]` is input sample `base`.
    buffer: Vec<f32>,
    base: i64,
    /// The next output sample's index.
    next: u64,
    frames_in: u64,
}

impl PolyphaseUpsampler {
    /// The upsampler, or `None` when the ratio would need more than [`MAX_PHASES`] tables.
    pub(crate) fn new(from_hz: u32, to_hz: u32) -> Option<Self> {
        let (from, to) = (from_hz as usize, to_hz as usize);
        let gcd = gcd(from, to);
        let (up, down) = (to / gcd, from / gcd);
        if to_hz <= from_hz || up > MAX_PHASES {
            return None;
        }
        // Kaiser's formulas: transition width as a fraction of the input rate, window
        // length for the attenuation, and the window's shape parameter.
        let transition = (1.0 - PASS_END) / 2.0;
        let length = ((ATTENUATION_DB - 7.95) / (14.36 * transition)).ceil() as usize;
        let taps = length + length % 2;
        let beta = 0.1102 * (ATTENUATION_DB - 8.7);
        let cutoff = (PASS_END + 1.0) / 2.0;
        let half = taps / 2;
        let mut coefficients = Vec::with_capacity(up * taps);
        for phase in 0..up {
            let fraction = phase as f64 / up as f64;
            // Coefficient `m` weighs input sample `floor(t) - (half - 1) + m`, at a
            // distance `fraction + half - 1 - m` before the output's time `t`.
            coefficients.extend((0..taps).map(|m| {
                let tau = fraction + (half as f64 - 1.0) - m as f64;
                kernel(tau, cutoff, taps as f64 / 2.0, beta) as f32
            }));
        }
        Some(PolyphaseUpsampler {
            up,
            down,
            taps,
            coefficients,
            buffer: vec![0.0; half],
            base: -(half as i64),
            next: 0,
            frames_in: 0,
        })
    }

    /// Feeds `input`; appends every output sample it completes to `out`.
    pub(crate) fn push(&mut self, input: &[f32], out: &mut Vec<f32>) {
        self.frames_in += input.len() as u64;
        self.buffer.extend_from_slice(input);
        self.drain(out, u64::MAX);
    }

    /// Flushes: after this `out` holds `ceil(frames_in * to / from)` samples in all.
    pub(crate) fn finish(&mut self, out: &mut Vec<f32>) {
        let expected = (self.frames_in * self.up as u64).div_ceil(self.down as u64);
        self.buffer.resize(self.buffer.len() + self.taps, 0.0);
        self.drain(out, expected);
    }

    /// Writes outputs while the input they read is buffered, up to index `limit`.
    fn drain(&mut self, out: &mut Vec<f32>, limit: u64) {
        let half = (self.taps / 2) as i64;
        let end = self.base + self.buffer.len() as i64;
        while self.next < limit {
            let position = self.next * self.down as u64;
            let whole = (position / self.up as u64) as i64;
            let phase = (position % self.up as u64) as usize;
            let first = whole - (half - 1);
            if first + self.taps as i64 > end {
                break;
            }
            let start = (first - self.base) as usize;
            let window = &self.buffer[start..start + self.taps];
            let table = &self.coefficients[phase * self.taps..(phase + 1) * self.taps];
            out.push(dot(window, table));
            self.next += 1;
        }
        // Keep only what later outputs read.
        let position = self.next * self.down as u64;
        let first = (position / self.up as u64) as i64 - (half - 1);
        let consumed = (first - self.base).clamp(0, self.buffer.len() as i64) as usize;
        self.buffer.drain(..consumed);
        self.base += consumed as i64;
    }
}

/// `fc * sinc(fc * tau) * kaiser(tau)`: the band-limiting kernel at `tau` input samples,
/// cut-off `fc` (of the input's Nyquist frequency), window half-width `half_width`.
fn kernel(tau: f64, fc: f64, half_width: f64, beta: f64) -> f64 {
    let r = tau / half_width;
    if r.abs() >= 1.0 {
        return 0.0;
    }
    let x = PI * fc * tau;
    let sinc = if x.abs() < 1e-12 { 1.0 } else { x.sin() / x };
    fc * sinc * bessel_i0(beta * (1.0 - r * r).sqrt()) / bessel_i0(beta)
}

/// The modified Bessel function of the first kind, order 0, by its power series.
fn bessel_i0(x: f64) -> f64 {
    let (mut sum, mut term, quarter_square) = (1.0, 1.0, x * x / 4.0);
    for k in 1..200 {
        term *= quarter_square / (k * k) as f64;
        sum += term;
        if term < sum * 1e-17 {
            break;
        }
    }
    sum
}

/// `a . b` in eight lanes (the compiler keeps them in one vector register).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let (chunks_a, chunks_b) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = chunks_a.remainder().iter().zip(chunks_b.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in chunks_a.zip(chunks_b) {
        for i in 0..8 {
            lanes[i] += x[i] * y[i];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upsample(input: &[f32], from: u32, to: u32, block: usize) -> Vec<f32> {
        let mut resampler = PolyphaseUpsampler::new(from, to).expect("ratio");
        let mut out = Vec::new();
        for chunk in input.chunks(block) {
            resampler.push(chunk, &mut out);
        }
        resampler.finish(&mut out);
        out
    }

    fn tone(frequency: f32, rate: f32, n: usize) -> Vec<f32> {
        (0..n).map(|i| ((2.0 * PI * f64::from(frequency) * i as f64 / f64::from(rate)).sin() * 0.5) as f32).collect()
    }

    #[test]
    fn a_tone_keeps_its_phase_and_level() {
        for (from, frequency) in [(16_000, 440.0), (16_000, 7_000.0), (11_025, 3_000.0), (8_000, 1_000.0)] {
            let out = upsample(&tone(frequency, from as f32, from as usize), from, 22_050, 4096);
            assert_eq!(out.len(), 22_050);
            let expected = tone(frequency, 22_050.0, 22_050);
            let error =
                out[2_000..20_000].iter().zip(&expected[2_000..20_000]).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
            assert!(error < 1e-4, "{from} Hz, {frequency} Hz tone: max error {error}");
        }
    }

    #[test]
    fn nothing_is_left_above_the_input_s_nyquist_frequency() {
        // A tone just inside the pass band: its image at 16,000 - 7,300 Hz must be gone.
        let out = upsample(&tone(7_300.0, 16_000.0, 16_000), 16_000, 22_050, 1000);
        let expected = tone(7_300.0, 22_050.0, 22_050);
        let residual: f64 =
            out[2_000..20_000].iter().zip(&expected[2_000..20_000]).map(|(a, b)| f64::from(a - b).powi(2)).sum();
        let signal: f64 = expected[2_000..20_000].iter().map(|&v| f64::from(v).powi(2)).sum();
        assert!(10.0 * (residual / signal).log10() < -100.0, "residual {residual}");
    }

    #[test]
    fn block_size_does_not_change_the_result() {
        let input: Vec<f32> = (0..20_000).map(|i| ((i as f32) * 0.013).sin()).collect();
        assert_eq!(upsample(&input, 16_000, 22_050, 20_000), upsample(&input, 16_000, 22_050, 333));
    }

    #[test]
    fn ratios_needing_too_many_tables_are_declined() {
        assert!(PolyphaseUpsampler::new(22_049, 22_050).is_none());
        assert!(PolyphaseUpsampler::new(44_100, 22_050).is_none());
    }
}
