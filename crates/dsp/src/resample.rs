//! Streaming sample-rate conversion to the feature rate (22,050 Hz by default).
//!
//! librosa resamples with libsoxr's "HQ" recipe, and so do we (cargo feature `soxr`, on
//! by default): the `soxr-hq` crate
//! runs that recipe (half-band, FIR, polyphase and post-stages, as soxr plans them) and
//! equals soxr's output to under 1e-6 for every ratio soxr finds rational, which is
//! every pair of common rates. For a ratio it does not (soxr then interpolates between
//! filter phases, which is not ported), rubato's synchronous FFT resampler with a
//! Blackman-Harris² window takes over: it too stops at Nyquist, and [`FILTER_LEN`] is
//! the filter length whose transition band came closest to soxr HQ's when swept
//! against librosa (`docs/parity.md`). The FFT resampler needs a length that is a
//! multiple of the rates' smallest block (`rate / gcd(from, to)`). Built without the
//! `soxr` feature ([`Resampler::Rubato`]), rubato resamples down and
//! [`crate::polyphase`]'s Kaiser-windowed sinc, with soxr HQ's bands, up.

use rubato::audioadapter_buffers::direct::InterleavedSlice;

use crate::polyphase::PolyphaseUpsampler;
use rubato::{Fft, FixedSync, Indexing, Resampler as _, WindowFunction};

/// Length of rubato's anti-aliasing filter, in samples at the lower of the two rates,
/// that best matches soxr HQ's transition band.
pub(crate) const FILTER_LEN: usize = 320;

/// The sample rates we resample from or to: from well below telephone audio's 8 kHz to
/// the highest that audio hardware records at. A header outside them is broken (a 1 Hz or
/// 4 GHz "rate" would need gigabytes of filter and output), not music.
pub const RESAMPLE_RATES_HZ: std::ops::RangeInclusive<u32> = 1_000..=768_000;

/// Which resampler converts audio that is not at the feature rate; recorded with
/// cached features and in checkpoints, since the two give slightly different numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Resampler {
    /// libsoxr's HQ recipe through `soxr-hq` (librosa's own; LGPL-2.1-or-later), with
    /// rubato for the ratios it has no plan for.
    SoxrHq,
    /// rubato's FFT resampler for every ratio (MIT), close to soxr HQ but not equal.
    Rubato,
}

impl Resampler {
    /// The resampler of this build: [`Resampler::SoxrHq`] with the `soxr` feature.
    ///
    /// ```
    /// println!("resampling with {}", genre_dsp::Resampler::of_this_build());
    /// ```
    pub const fn of_this_build() -> Self {
        if cfg!(feature = "soxr") { Resampler::SoxrHq } else { Resampler::Rubato }
    }

    /// Its name, as serialised: `"soxr-hq"` or `"rubato"`.
    pub const fn name(self) -> &'static str {
        match self {
            Resampler::SoxrHq => "soxr-hq",
            Resampler::Rubato => "rubato",
        }
    }
}

impl std::fmt::Display for Resampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Resamples mono `samples` from `from_hz` to `to_hz` as [`crate::load_mono`] does
/// (librosa's `resample` with `res_type="soxr_hq"`): `ceil(len * to / from)` samples.
///
/// ```
/// let second = vec![0.0f32; 44_100];
/// let out = genre_dsp::resample(&second, 44_100, 22_050)?;
/// assert_eq!(out.len(), 22_050);
/// # Ok::<(), genre_dsp::DspError>(())
/// ```
pub fn resample(samples: &[f32], from_hz: u32, to_hz: u32) -> crate::Result<Vec<f32>> {
    if from_hz == to_hz {
        return Ok(samples.to_vec());
    }
    let error = |reason: String| crate::DspError::Rates { from_hz, to_hz, reason };
    let mut resampler = StreamResampler::new(from_hz, to_hz).map_err(error)?;
    let mut out = Vec::with_capacity((samples.len() as u64 * u64::from(to_hz) / u64::from(from_hz)) as usize + 1);
    resampler.push(samples, &mut out).map_err(error)?;
    resampler.finish(&mut out).map_err(error)?;
    Ok(out)
}

/// Input frames handed to rubato per call (about a third of a second at 44.1 kHz).
const TARGET_CHUNK_IN: usize = 16_384;

/// A mono resampler fed with blocks of any size; output sample `k` is the signal at
/// time `k / to_hz`, as soxr's, and the total length is librosa's,
/// `ceil(frames_in * to / from)`.
pub(crate) enum StreamResampler {
    /// soxr HQ's own stages, and the rates (for librosa's length).
    #[cfg(feature = "soxr")]
    Soxr { inner: Box<soxr_hq::Resampler>, from_hz: u32, to_hz: u32 },
    /// Up to the feature rate without `soxr-hq`: a Kaiser-windowed sinc with soxr HQ's
    /// bands.
    Polyphase(Box<PolyphaseUpsampler>),
    /// rubato, down (and up by ratios with too many phases) without `soxr-hq`, and for
    /// the ratios `soxr-hq` has no plan for.
    Fft(Box<FftResampler>),
}

impl StreamResampler {
    /// A resampler from `from_hz` to `to_hz`, both in [`RESAMPLE_RATES_HZ`].
    pub(crate) fn new(from_hz: u32, to_hz: u32) -> Result<Self, String> {
        if !RESAMPLE_RATES_HZ.contains(&from_hz) || !RESAMPLE_RATES_HZ.contains(&to_hz) {
            return Err(format!(
                "rates from {} to {} Hz are supported",
                RESAMPLE_RATES_HZ.start(),
                RESAMPLE_RATES_HZ.end()
            ));
        }
        #[cfg(feature = "soxr")]
        match soxr_hq::Resampler::new(from_hz, to_hz) {
            Ok(inner) => return Ok(StreamResampler::Soxr { inner: Box::new(inner), from_hz, to_hz }),
            Err(soxr_hq::Unsupported::Irrational) => {}
            Err(other) => return Err(other.to_string()),
        }
        if let Some(polyphase) = PolyphaseUpsampler::new(from_hz, to_hz) {
            return Ok(StreamResampler::Polyphase(Box::new(polyphase)));
        }
        Ok(StreamResampler::Fft(Box::new(FftResampler::new(from_hz, to_hz)?)))
    }

    /// Feeds `input`; appends whatever output is ready to `out`.
    pub(crate) fn push(&mut self, input: &[f32], out: &mut Vec<f32>) -> Result<(), String> {
        match self {
            #[cfg(feature = "soxr")]
            StreamResampler::Soxr { inner, .. } => {
                inner.push(input, out);
                Ok(())
            }
            StreamResampler::Polyphase(polyphase) => {
                polyphase.push(input, out);
                Ok(())
            }
            StreamResampler::Fft(fft) => fft.push(input, out),
        }
    }

    /// Flushes the filter; after this `out` holds `ceil(frames_in * to / from)` samples
    /// in all, as `librosa.resample` returns (soxr's output, padded with zeros to that
    /// length by librosa's `fix_length`).
    pub(crate) fn finish(&mut self, out: &mut Vec<f32>) -> Result<(), String> {
        match self {
            #[cfg(feature = "soxr")]
            StreamResampler::Soxr { inner, from_hz, to_hz } => {
                inner.finish(out);
                let expected = (inner.frames_in() * u64::from(*to_hz)).div_ceil(u64::from(*from_hz));
                // soxr rounds the length, which never exceeds librosa's ceiling.
                debug_assert!(inner.frames_out() <= expected);
                out.resize(out.len() + expected.saturating_sub(inner.frames_out()) as usize, 0.0);
                Ok(())
            }
            StreamResampler::Polyphase(polyphase) => {
                polyphase.finish(out);
                Ok(())
            }
            StreamResampler::Fft(fft) => fft.finish(out),
        }
    }
}

/// rubato's FFT resampler, delay-compensated.
pub(crate) struct FftResampler {
    inner: Fft<f32>,
    pending: Vec<f32>,
    out_block: Vec<f32>,
    /// Output frames still to drop at the start (the filter's delay).
    skip: usize,
    frames_in: u64,
    frames_out: u64,
    from_hz: u32,
    to_hz: u32,
}

impl FftResampler {
    /// A resampler from `from_hz` to `to_hz`; both must be non-zero.
    pub(crate) fn new(from_hz: u32, to_hz: u32) -> Result<Self, String> {
        let (from, to) = (from_hz as usize, to_hz as usize);
        let gcd = gcd(from, to);
        let (min_in, min_out) = (from / gcd, to / gcd);
        // The filter's length counts samples at the lower of the two rates.
        let min_lower = if to < from { min_out } else { min_in };
        let blocks = (FILTER_LEN as f64 / min_lower as f64).round().max(1.0) as usize;
        let sub_in = blocks * min_in;
        let sub_chunks = (TARGET_CHUNK_IN / sub_in).max(1);
        let inner = Fft::<f32>::new_custom(
            from,
            to,
            sub_in * sub_chunks,
            sub_chunks,
            1,
            WindowFunction::BlackmanHarris2,
            FixedSync::Input,
        )
        .map_err(|e| e.to_string())?;
        let (lead, skip) = delay_alignment(inner.fft_size_out(), from, to);
        let out_block = vec![0.0; inner.output_frames_max()];
        let pending = vec![0.0; lead];
        Ok(FftResampler { inner, pending, out_block, skip, frames_in: 0, frames_out: 0, from_hz, to_hz })
    }

    /// Feeds `input`; appends whatever output is ready to `out`.
    pub(crate) fn push(&mut self, input: &[f32], out: &mut Vec<f32>) -> Result<(), String> {
        self.frames_in += input.len() as u64;
        self.pending.extend_from_slice(input);
        let mut used = 0;
        while self.pending.len() - used >= self.inner.input_frames_next() {
            let need = self.inner.input_frames_next();
            self.process(used, need, None, out)?;
            used += need;
        }
        self.pending.drain(..used);
        Ok(())
    }

    /// Flushes the filter; after this `out` holds `ceil(frames_in * to / from)` samples
    /// in all, as `librosa.resample` returns.
    pub(crate) fn finish(&mut self, out: &mut Vec<f32>) -> Result<(), String> {
        let expected = (self.frames_in * u64::from(self.to_hz)).div_ceil(u64::from(self.from_hz));
        let mut partial = self.pending.len();
        while self.frames_out < expected {
            let need = self.inner.input_frames_next();
            self.pending.resize(need.max(self.pending.len()), 0.0);
            self.process(0, need, Some(partial), out)?;
            partial = 0;
        }
        let extra = (self.frames_out - expected) as usize;
        out.truncate(out.len() - extra);
        self.frames_out = expected;
        self.pending.clear();
        Ok(())
    }

    fn process(
        &mut self,
        offset: usize,
        need: usize,
        partial: Option<usize>,
        out: &mut Vec<f32>,
    ) -> Result<(), String> {
        let input = InterleavedSlice::new(&self.pending[offset..offset + need], 1, need).map_err(|e| e.to_string())?;
        let frames = self.out_block.len();
        let mut output = InterleavedSlice::new_mut(&mut self.out_block[..], 1, frames).map_err(|e| e.to_string())?;
        let indexing = partial.map(|p| Indexing::new().partial_len(p));
        let (_, written) =
            self.inner.process_into_buffer(&input, &mut output, indexing.as_ref()).map_err(|e| e.to_string())?;
        let dropped = self.skip.min(written);
        self.skip -= dropped;
        out.extend_from_slice(&self.out_block[dropped..written]);
        self.frames_out += (written - dropped) as u64;
        Ok(())
    }
}

/// The filter delays the output by `fft_size_out / 2` output samples, which is a half
/// sample when `fft_size_out` is odd (16 kHz to 22,050 Hz: 441). Dropping whole output
/// samples cannot undo a half sample, but `lead` zeros before the input add
/// `lead * to / from` output samples of delay, and some small `lead` makes the total
/// (nearly) whole. Returns `(lead, output samples to drop)`.
fn delay_alignment(fft_size_out: usize, from: usize, to: usize) -> (usize, usize) {
    let exact = fft_size_out as f64 / 2.0;
    let per_input = to as f64 / from as f64;
    let (lead, delay) = (0..64)
        .map(|lead| (lead, exact + lead as f64 * per_input))
        .min_by(|a, b| (a.1 - a.1.round()).abs().total_cmp(&(b.1 - b.1.round()).abs()))
        .unwrap_or((0, exact));
    (lead, delay.round() as usize)
}

/// Greatest common divisor.
pub(crate) fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resample_all(input: &[f32], from: u32, to: u32, block: usize) -> Vec<f32> {
        let mut r = StreamResampler::new(from, to).expect("resampler");
        let mut out = Vec::new();
        for chunk in input.chunks(block) {
            r.push(chunk, &mut out).expect("push");
        }
        r.finish(&mut out).expect("finish");
        out
    }

    #[test]
    fn output_length_is_ceil_of_ratio() {
        let input = vec![0.1f32; 44_101];
        assert_eq!(resample_all(&input, 44_100, 22_050, 1000).len(), 22_051);
        assert_eq!(resample_all(&input, 48_000, 22_050, 777).len(), (44_101u64 * 22_050).div_ceil(48_000) as usize);
        assert_eq!(resample_all(&input[..5], 8_000, 22_050, 3).len(), 14);
    }

    #[test]
    fn block_size_does_not_change_the_result() {
        let input: Vec<f32> = (0..30_000).map(|i| ((i as f32) * 0.01).sin()).collect();
        let a = resample_all(&input, 44_100, 22_050, 30_000);
        let b = resample_all(&input, 44_100, 22_050, 517);
        assert_eq!(a, b);
    }

    #[test]
    fn a_low_tone_keeps_its_phase_and_level() {
        // 440 Hz at 44.1 kHz resampled to 22.05 kHz must still be the same sine, undelayed.
        let tone = |rate: f32, n: usize| -> Vec<f32> {
            (0..n).map(|i| (2.0 * std::f32::consts::PI * 440.0 * i as f32 / rate).sin() * 0.5).collect()
        };
        let out = resample_all(&tone(44_100.0, 44_100), 44_100, 22_050, 4096);
        let expected = tone(22_050.0, 22_050);
        let err = out[2000..20_000].iter().zip(&expected[2000..20_000]).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        assert!(err < 1e-3, "max error {err}");
    }
}
