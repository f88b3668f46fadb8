//! The log-mel spectrogram of one segment, computed as librosa 0.11 computes it.
//!
//! Every step mirrors librosa's arithmetic, including where it rounds to `f32`:
//! the periodic Hann window of `scipy.signal.get_window`, centred frames padded with
//! zeros, `|STFT|²`, the Slaney mel filterbank of `librosa.filters.mel` (built in
//! `f64`, stored as `f32`), and `power_to_db(ref=np.max, amin=1e-10, top_db=80)`.

use std::sync::Arc;

use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};

/// Hz to mel on the Slaney scale (`librosa.hz_to_mel(htk=False)`).
pub fn hz_to_mel(hz: f64) -> f64 {
    let (f_min, f_sp) = (0.0, 200.0 / 3.0);
    let min_log_hz = 1000.0;
    let min_log_mel = (min_log_hz - f_min) / f_sp;
    let logstep = 6.4f64.ln() / 27.0;
    if hz >= min_log_hz { min_log_mel + (hz / min_log_hz).ln() / logstep } else { (hz - f_min) / f_sp }
}

/// Mel (Slaney scale) to Hz (`librosa.mel_to_hz(htk=False)`).
pub fn mel_to_hz(mel: f64) -> f64 {
    let (f_min, f_sp) = (0.0, 200.0 / 3.0);
    let min_log_hz = 1000.0;
    let min_log_mel = (min_log_hz - f_min) / f_sp;
    let logstep = 6.4f64.ln() / 27.0;
    if mel >= min_log_mel { min_log_hz * (logstep * (mel - min_log_mel)).exp() } else { f_min + f_sp * mel }
}

/// `numpy.linspace(start, stop, num)` with numpy's exact arithmetic.
fn linspace(start: f64, stop: f64, num: usize) -> Vec<f64> {
    if num == 1 {
        return vec![start];
    }
    let step = (stop - start) / (num - 1) as f64;
    let mut v: Vec<f64> = (0..num).map(|i| i as f64 * step + start).collect();
    v[num - 1] = stop;
    v
}

/// A mel filterbank with Slaney scale and Slaney ("area") normalisation, equal to
/// `librosa.filters.mel(sr=…, n_fft=…, n_mels=…, fmin=…, fmax=…)` as `f32`.
///
/// Each filter is stored as its non-zero span only, so applying the bank costs about
/// two multiply-adds per FFT bin.
///
/// ```
/// let bank = genre_dsp::MelFilterbank::slaney(22_050, 2048, 128, 0.0, 11_025.0);
/// assert_eq!(bank.n_mels(), 128);
/// assert_eq!(bank.n_bins(), 1025);
/// ```
#[derive(Debug, Clone)]
pub struct MelFilterbank {
    n_bins: usize,
    filters: Vec<MelFilter>,
}

#[derive(Debug, Clone)]
struct MelFilter {
    first_bin: usize,
    weights: Vec<f32>,
}

impl MelFilterbank {
    /// Builds the filterbank for an `n_fft`-point FFT at `sample_rate`, with `n_mels`
    /// triangles spaced evenly on the Slaney mel scale between `fmin` and `fmax` Hz.
    pub fn slaney(sample_rate: u32, n_fft: usize, n_mels: usize, fmin: f64, fmax: f64) -> Self {
        let n_bins = n_fft / 2 + 1;
        // np.fft.rfftfreq(n_fft, 1 / sr)
        let val = 1.0 / (n_fft as f64 * (1.0 / f64::from(sample_rate)));
        let fft_freqs: Vec<f64> = (0..n_bins).map(|k| k as f64 * val).collect();
        let mel_f: Vec<f64> =
            linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2).into_iter().map(mel_to_hz).collect();
        let filters = (0..n_mels)
            .map(|i| {
                let (lower_diff, upper_diff) = (mel_f[i + 1] - mel_f[i], mel_f[i + 2] - mel_f[i + 1]);
                let enorm = 2.0 / (mel_f[i + 2] - mel_f[i]);
                let row: Vec<f32> = fft_freqs
                    .iter()
                    .map(|&f| {
                        let lower = -(mel_f[i] - f) / lower_diff;
                        let upper = (mel_f[i + 2] - f) / upper_diff;
                        // librosa stores the triangle as f32, then scales it in f64.
                        let w = 0.0f64.max(lower.min(upper)) as f32;
                        (f64::from(w) * enorm) as f32
                    })
                    .collect();
                let first_bin = row.iter().position(|&w| w != 0.0).unwrap_or(0);
                let end = row.iter().rposition(|&w| w != 0.0).map_or(first_bin, |p| p + 1);
                MelFilter { first_bin, weights: row[first_bin..end].to_vec() }
            })
            .collect();
        MelFilterbank { n_bins, filters }
    }

    /// Number of mel bands.
    pub fn n_mels(&self) -> usize {
        self.filters.len()
    }

    /// Number of FFT bins each filter spans (`n_fft / 2 + 1`).
    pub fn n_bins(&self) -> usize {
        self.n_bins
    }

    /// The dense `[n_mels, n_bins]` matrix, row-major, as librosa returns it.
    pub fn to_dense(&self) -> Vec<f32> {
        let mut dense = vec![0.0; self.n_mels() * self.n_bins];
        for (m, filter) in self.filters.iter().enumerate() {
            let row = &mut dense[m * self.n_bins..(m + 1) * self.n_bins];
            row[filter.first_bin..filter.first_bin + filter.weights.len()].copy_from_slice(&filter.weights);
        }
        dense
    }

    /// Projects `GROUP` power spectra, stored bin-major (`grouped[bin * GROUP + frame]`),
    /// onto the mel bands (`mel[band * GROUP + frame]`). The inner loop runs over the
    /// frames, so it vectorises however short a filter is.
    #[inline(always)]
    fn apply_grouped(&self, grouped: &[f32], mel: &mut [f32]) {
        for (filter, out) in self.filters.iter().zip(mel.chunks_exact_mut(GROUP)) {
            let mut acc = [0.0f32; GROUP];
            let (rows, _) = grouped[filter.first_bin * GROUP..].as_chunks::<GROUP>();
            for (&w, row) in filter.weights.iter().zip(rows) {
                for j in 0..GROUP {
                    acc[j] += w * row[j];
                }
            }
            out.copy_from_slice(&acc);
        }
    }
}

/// Frames whose power spectra are projected onto the mel bands together.
const GROUP: usize = 8;

/// The periodic Hann window of `scipy.signal.get_window("hann", n, fftbins=True)`.
pub fn hann_window(n: usize) -> Vec<f64> {
    let fac = linspace(-std::f64::consts::PI, std::f64::consts::PI, n + 1);
    fac[..n].iter().map(|&x| 0.5 + 0.5 * x.cos()).collect()
}

/// Computes the log-mel spectrogram (in dB) of fixed-length segments.
///
/// Reusable across segments and threads (`&self`); each call allocates only its
/// scratch buffers.
#[derive(Clone)]
pub struct LogMelSpectrogram {
    n_fft: usize,
    hop: usize,
    window: Vec<f32>,
    /// A complex FFT of `n_fft` points, fed two real frames at a time.
    fft: Arc<dyn Fft<f32>>,
    filterbank: MelFilterbank,
    amin: f32,
    top_db: Option<f32>,
}

impl std::fmt::Debug for LogMelSpectrogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogMelSpectrogram")
            .field("n_fft", &self.n_fft)
            .field("hop", &self.hop)
            .field("n_mels", &self.filterbank.n_mels())
            .field("amin", &self.amin)
            .field("top_db", &self.top_db)
            .finish()
    }
}

impl LogMelSpectrogram {
    /// A spectrogram with the given FFT size, hop, filterbank and dB conversion.
    pub fn new(n_fft: usize, hop: usize, filterbank: MelFilterbank, amin: f32, top_db: Option<f32>) -> Self {
        let window = hann_window(n_fft).into_iter().map(|w| w as f32).collect();
        let fft = FftPlanner::<f32>::new().plan_fft_forward(n_fft);
        LogMelSpectrogram { n_fft, hop, window, fft, filterbank, amin, top_db }
    }

    /// Number of frames for a segment of `len` samples (centred framing).
    pub fn n_frames(&self, len: usize) -> usize {
        1 + len / self.hop
    }

    /// Number of mel bands.
    pub fn n_mels(&self) -> usize {
        self.filterbank.n_mels()
    }

    /// Writes the mel power spectrogram of `segment`, `[n_mels, n_frames]` row-major,
    /// into `out`.
    ///
    /// Two real frames go through one complex FFT (frame `t` as the real part, `t + 1`
    /// as the imaginary part) and are separated afterwards by conjugate symmetry: half
    /// the transforms of a real FFT per frame, and no twiddle post-processing.
    ///
    /// # Panics
    /// If `out.len() != n_mels * n_frames(segment.len())`.
    pub fn power(&self, segment: &[f32], out: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked above.
            return unsafe { self.power_avx2(segment, out) };
        }
        self.power_portable(segment, out);
    }

    /// [`LogMelSpectrogram::power`] compiled for AVX2: twice the lanes in the
    /// windowing, power and mel loops, and the same numbers (Rust never fuses a
    /// multiply and an add unasked).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn power_avx2(&self, segment: &[f32], out: &mut [f32]) {
        self.power_portable(segment, out);
    }

    #[inline(always)]
    fn power_portable(&self, segment: &[f32], out: &mut [f32]) {
        let n_frames = self.n_frames(segment.len());
        let n_bins = self.n_fft / 2 + 1;
        let n_mels = self.n_mels();
        assert_eq!(out.len(), n_mels * n_frames, "output buffer has the wrong size");
        let mut buffer = vec![Complex::new(0.0f32, 0.0); self.n_fft];
        let mut scratch = vec![Complex::new(0.0f32, 0.0); self.fft.get_inplace_scratch_len()];
        let (mut frame_a, mut frame_b) = (vec![0.0f32; self.n_fft], vec![0.0f32; self.n_fft]);
        // Power spectra of GROUP frames, bin-major ([bin][frame]), so that the mel
        // projection runs GROUP frames per multiply-add.
        let mut grouped = vec![0.0f32; n_bins * GROUP];
        let mut mel = vec![0.0f32; n_mels * GROUP];
        for group_start in (0..n_frames).step_by(GROUP) {
            let group_len = GROUP.min(n_frames - group_start);
            for lane in (0..group_len).step_by(2) {
                let t = group_start + lane;
                let (start_a, start_b) = (t * self.hop, (t + 1) * self.hop);
                let half = self.n_fft / 2;
                if t + 1 < n_frames && start_a >= half && start_b + half <= segment.len() {
                    // Both frames lie inside the segment: window and interleave in one pass.
                    let a = &segment[start_a - half..start_a + half];
                    let b = &segment[start_b - half..start_b + half];
                    for (((z, &x), &y), &w) in buffer.iter_mut().zip(a).zip(b).zip(&self.window) {
                        *z = Complex::new(x * w, y * w);
                    }
                } else {
                    self.windowed_frame(segment, t, &mut frame_a);
                    if t + 1 < n_frames {
                        self.windowed_frame(segment, t + 1, &mut frame_b);
                    } else {
                        frame_b.fill(0.0);
                    }
                    for ((z, &a), &b) in buffer.iter_mut().zip(&frame_a).zip(&frame_b) {
                        *z = Complex::new(a, b);
                    }
                }
                self.fft.process_with_scratch(&mut buffer, &mut scratch);
                split_power(&buffer, &mut grouped, lane);
            }
            self.filterbank.apply_grouped(&grouped, &mut mel);
            for m in 0..n_mels {
                let row = &mut out[m * n_frames + group_start..][..group_len];
                row.copy_from_slice(&mel[m * GROUP..m * GROUP + group_len]);
            }
        }
    }

    /// Frame `t` of `segment` times the window: `segment[t * hop - n_fft / 2 ..][..n_fft]`,
    /// zero outside the segment (librosa's `center=True, pad_mode="constant"`).
    #[inline(always)]
    fn windowed_frame(&self, segment: &[f32], t: usize, frame: &mut [f32]) {
        let start = (t * self.hop) as isize - (self.n_fft / 2) as isize;
        let lo = (-start).clamp(0, self.n_fft as isize) as usize;
        let hi = (segment.len() as isize - start).clamp(lo as isize, self.n_fft as isize) as usize;
        frame[..lo].fill(0.0);
        frame[hi..].fill(0.0);
        let src = &segment[(start + lo as isize) as usize..(start + hi as isize) as usize];
        for ((x, &s), &w) in frame[lo..hi].iter_mut().zip(src).zip(&self.window[lo..hi]) {
            *x = s * w;
        }
    }

    /// Writes `power_to_db(mel_power(segment), ref=max)` into `out`
    /// (`[n_mels, n_frames]`, row-major).
    pub fn decibels(&self, segment: &[f32], out: &mut [f32]) {
        self.power(segment, out);
        power_to_db(out, self.amin, self.top_db);
    }
}

/// Separates the spectra of two real frames packed as `z = a + i b` and writes their
/// power `|A[k]|²`, `|B[k]|²` for `k = 0 ..= n/2` into lanes `lane` and `lane + 1` of
/// the bin-major `grouped` buffer, where
/// `A[k] = (Z[k] + conj(Z[n-k])) / 2` and `B[k] = (Z[k] - conj(Z[n-k])) / 2i`.
///
/// numpy squares `hypotf(re, im)` of the `complex64` spectrum; the sum of squares is
/// the same `f32` to within a few ulps (1e-6 dB).
#[inline(always)]
fn split_power(z: &[Complex<f32>], grouped: &mut [f32], lane: usize) {
    let half = z.len() / 2;
    let pair = |p: Complex<f32>, q: Complex<f32>, row: &mut [f32]| {
        row[lane] = ((p.re + q.re) * (p.re + q.re) + (p.im - q.im) * (p.im - q.im)) * 0.25;
        row[lane + 1] = ((p.re - q.re) * (p.re - q.re) + (p.im + q.im) * (p.im + q.im)) * 0.25;
    };
    let mut rows = grouped.chunks_exact_mut(GROUP);
    let (Some(first), Some(_)) = (rows.next(), z.first()) else { return };
    pair(z[0], z[0], first);
    let mirrored = z[half..].iter().rev(); // z[n-1], z[n-2], ..., z[half]
    for ((p, q), row) in z[1..=half].iter().zip(mirrored).zip(rows) {
        pair(*p, *q, row);
    }
}

/// `librosa.power_to_db(S, ref=np.max, amin=amin, top_db=top_db)`, in place, in `f32`
/// as numpy computes it.
pub fn power_to_db(values: &mut [f32], amin: f32, top_db: Option<f32>) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, checked above.
        return unsafe { power_to_db_avx2(values, amin, top_db) };
    }
    power_to_db_portable(values, amin, top_db);
}

/// [`power_to_db`] compiled for AVX2, to the same numbers.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn power_to_db_avx2(values: &mut [f32], amin: f32, top_db: Option<f32>) {
    power_to_db_portable(values, amin, top_db);
}

#[inline(always)]
fn power_to_db_portable(values: &mut [f32], amin: f32, top_db: Option<f32>) {
    let reference = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let offset = 10.0 * amin.max(reference).log10();
    let max_db = 10.0 * amin.max(reference).log10() - offset;
    let floor = top_db.map_or(f32::NEG_INFINITY, |t| max_db - t);
    // Plain comparisons rather than f32::max (no NaN can occur here), so the loop vectorises.
    for v in values.iter_mut() {
        let x = if *v > amin { *v } else { amin };
        let db = 10.0 * log10(x) - offset;
        *v = if db > floor { db } else { floor };
    }
}

/// `log10(x)` for positive, finite, normal `x`, within 2 ulp of the correctly rounded
/// value (so within 1e-5 dB of numpy's `float32` `log10`). Written without branches
/// so that the loop over a spectrogram vectorises; libm's `log10f` was a fifth of the
/// whole feature time. The polynomial is Cephes' `logf`.
#[inline(always)]
fn log10(x: f32) -> f32 {
    const LOG10_E: f32 = std::f32::consts::LOG10_E;
    let bits = x.to_bits();
    let exponent = ((bits >> 23) & 0xff) as i32 - 127;
    let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000); // [1, 2)
    // Move m into [sqrt(1/2), sqrt(2)) so that the polynomial's argument is small.
    let big = m > std::f32::consts::SQRT_2;
    let m = if big { m * 0.5 } else { m };
    let e = exponent as f32 + if big { 1.0 } else { 0.0 };
    let f = m - 1.0;
    let z = f * f;
    let mut p = 7.037_683_6e-2_f32;
    for c in [
        -1.151_461e-1,
        1.167_699_9e-1,
        -1.242_014_1e-1,
        1.424_932_3e-1,
        -1.666_805_8e-1,
        2.000_071_4e-1,
        -2.499_999_4e-1,
        3.333_333e-1,
    ] {
        p = p * f + c;
    }
    let mut y = f * z * p;
    y += -2.121_944_4e-4 * e;
    y += -0.5 * z;
    let ln = f + y + 0.693_359_4 * e;
    ln * LOG10_E
}

/// `(x - mean(x)) / (std(x) + eps)` over the whole slice, in place.
pub fn standardize(values: &mut [f32], eps: f32) {
    let n = values.len() as f64;
    let mean = sum_f64(values, |v| v) / n;
    let var = sum_f64(values, |v| (v - mean) * (v - mean)) / n;
    let (mean, denom) = (mean as f32, var.sqrt() as f32 + eps);
    for v in values.iter_mut() {
        *v = (*v - mean) / denom;
    }
}

/// `sum(f(v))` in `f64` with four independent partial sums (vectorisable).
fn sum_f64(values: &[f32], f: impl Fn(f64) -> f64) -> f64 {
    let mut acc = [0.0f64; 4];
    let chunks = values.chunks_exact(4);
    let tail: f64 = chunks.remainder().iter().map(|&v| f(f64::from(v))).sum();
    for c in chunks {
        for i in 0..4 {
            acc[i] += f(f64::from(c[i]));
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slaney_scale_round_trips() {
        for hz in [0.0, 440.0, 999.9, 1000.0, 5000.0, 11_025.0] {
            assert!((mel_to_hz(hz_to_mel(hz)) - hz).abs() < 1e-9);
        }
        // librosa.hz_to_mel(1000.0) == 14.999999999999998: the same arithmetic, the same rounding.
        assert_eq!(hz_to_mel(1000.0), 14.999999999999998);
    }

    #[test]
    fn hann_window_is_periodic() {
        let w = hann_window(8);
        assert_eq!(w[0], 0.0);
        assert!((w[4] - 1.0).abs() < 1e-15);
        assert!((w[2] - 0.5).abs() < 1e-15 && (w[6] - 0.5).abs() < 1e-15);
    }

    #[test]
    fn filterbank_rows_have_slaney_area() {
        // Slaney normalisation makes each triangle's area in Hz equal to 1.
        let bank = MelFilterbank::slaney(22_050, 2048, 128, 0.0, 11_025.0);
        let dense = bank.to_dense();
        let bin_hz = 22_050.0 / 2048.0;
        for m in [10usize, 64, 120] {
            let area: f32 = dense[m * 1025..(m + 1) * 1025].iter().sum::<f32>() * bin_hz;
            assert!((area - 1.0).abs() < 0.05, "band {m}: area {area}");
        }
    }

    #[test]
    fn fast_log10_is_within_two_ulp() {
        let mut x = 1e-10f32;
        while x < 1e10 {
            let (ours, exact) = (log10(x), f64::from(x).log10());
            let ulp = f64::from(f32::EPSILON) * exact.abs().max(1.0);
            assert!((f64::from(ours) - exact).abs() <= 2.0 * ulp, "log10({x}) = {ours}, exact {exact}");
            x *= 1.000_37;
        }
    }

    #[test]
    fn power_to_db_clips_at_top_db() {
        let mut v = vec![1.0, 1e-3, 1e-12, 0.0];
        power_to_db(&mut v, 1e-10, Some(80.0));
        assert_eq!(v, vec![0.0, -30.0, -80.0, -80.0]);
    }

    /// The original's log-mel: 2048-point frames, hop 512, 128 Slaney mels, 80 dB range.
    fn original_spectrogram() -> LogMelSpectrogram {
        LogMelSpectrogram::new(2048, 512, MelFilterbank::slaney(22_050, 2048, 128, 0.0, 11_025.0), 1e-10, Some(80.0))
    }

    #[test]
    fn silence_gives_zero_features() {
        let spec = original_spectrogram();
        let mut out = vec![1.0; 128 * 130];
        spec.decibels(&vec![0.0; 66_150], &mut out);
        standardize(&mut out, 1e-8);
        assert!(out.iter().all(|&v| v == 0.0));
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn the_avx2_build_gives_the_same_bits() {
        if !std::is_x86_feature_detected!("avx2") {
            return;
        }
        let spec = original_spectrogram();
        let segment: Vec<f32> = (0..66_150).map(|i| (i as f32 * 0.031).sin() * (i as f32 * 1e-4).cos()).collect();
        let (mut portable, mut wide) = (vec![0.0; 128 * 130], vec![0.0; 128 * 130]);
        spec.power_portable(&segment, &mut portable);
        // SAFETY: the CPU has AVX2, checked above.
        unsafe { spec.power_avx2(&segment, &mut wide) };
        assert!(portable.iter().zip(&wide).all(|(a, b)| a.to_bits() == b.to_bits()));
        power_to_db_portable(&mut portable, 1e-10, Some(80.0));
        // SAFETY: as above.
        unsafe { power_to_db_avx2(&mut wide, 1e-10, Some(80.0)) };
        assert!(portable.iter().zip(&wide).all(|(a, b)| a.to_bits() == b.to_bits()));
    }
}
