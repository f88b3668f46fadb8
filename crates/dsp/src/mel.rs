//! The log-mel spectrogram of one segment, computed as librosa 0.11 computes it.
//!
//! Every step mirrors librosa's arithmetic, including where it rounds to `f32`:
//! the periodic Hann window of `scipy.signal.get_window`, centred frames padded with
//! zeros, `|STFT|²`, the Slaney mel filterbank of `librosa.filters.mel` (built in
//! `f64`, stored as `f32`), and `power_to_db(ref=np.max, amin=1e-10, top_db=80)`.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

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
/// let bank = dsp::MelFilterbank::slaney(22_050, 2048, 128, 0.0, 11_025.0);
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
        let mel_f: Vec<f64> = linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2).into_iter().map(mel_to_hz).collect();
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

    /// Projects one power spectrum (`n_bins` values) onto the mel bands.
    fn apply(&self, power: &[f32], mel: &mut [f32]) {
        for (out, filter) in mel.iter_mut().zip(&self.filters) {
            let bins = &power[filter.first_bin..filter.first_bin + filter.weights.len()];
            let sum: f32 = filter.weights.iter().zip(bins).map(|(w, p)| w * p).sum();
            *out = sum;
        }
    }
}

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
    fft: Arc<dyn RealToComplex<f32>>,
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
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(n_fft);
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
    pub fn power(&self, segment: &[f32], out: &mut [f32]) {
        let n_frames = self.n_frames(segment.len());
        let n_mels = self.n_mels();
        assert_eq!(out.len(), n_mels * n_frames, "output buffer has the wrong size");
        let half = (self.n_fft / 2) as isize;
        let mut frame = self.fft.make_input_vec();
        let mut spectrum = self.fft.make_output_vec();
        let mut scratch = self.fft.make_scratch_vec();
        let mut power = vec![0.0f32; spectrum.len()];
        let mut mel = vec![0.0f32; n_mels];
        for t in 0..n_frames {
            let start = (t * self.hop) as isize - half;
            for (j, x) in frame.iter_mut().enumerate() {
                let i = start + j as isize;
                *x = if i >= 0 && (i as usize) < segment.len() { segment[i as usize] * self.window[j] } else { 0.0 };
            }
            // The buffers come from the plan, so their sizes always fit.
            let _ = self.fft.process_with_scratch(&mut frame, &mut spectrum, &mut scratch);
            for (p, c) in power.iter_mut().zip(&spectrum) {
                let m = magnitude(*c);
                *p = m * m;
            }
            self.filterbank.apply(&power, &mut mel);
            for (m, &v) in mel.iter().enumerate() {
                out[m * n_frames + t] = v;
            }
        }
    }

    /// Writes `power_to_db(mel_power(segment), ref=max)` into `out`
    /// (`[n_mels, n_frames]`, row-major).
    pub fn decibels(&self, segment: &[f32], out: &mut [f32]) {
        self.power(segment, out);
        power_to_db(out, self.amin, self.top_db);
    }
}

fn magnitude(c: Complex<f32>) -> f32 {
    c.re.hypot(c.im)
}

/// `librosa.power_to_db(S, ref=np.max, amin=amin, top_db=top_db)`, in place, in `f32`
/// as numpy computes it.
pub fn power_to_db(values: &mut [f32], amin: f32, top_db: Option<f32>) {
    let reference = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let offset = 10.0 * amin.max(reference).log10();
    let mut max_db = f32::NEG_INFINITY;
    for v in values.iter_mut() {
        *v = 10.0 * amin.max(*v).log10() - offset;
        max_db = max_db.max(*v);
    }
    if let Some(top_db) = top_db {
        let floor = max_db - top_db;
        for v in values.iter_mut() {
            *v = v.max(floor);
        }
    }
}

/// `(x - mean(x)) / (std(x) + eps)` over the whole slice, in place.
pub fn standardize(values: &mut [f32], eps: f32) {
    let n = values.len() as f64;
    let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let var = values.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / n;
    let (mean, denom) = (mean as f32, var.sqrt() as f32 + eps);
    for v in values.iter_mut() {
        *v = (*v - mean) / denom;
    }
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
    fn power_to_db_clips_at_top_db() {
        let mut v = vec![1.0, 1e-3, 1e-12, 0.0];
        power_to_db(&mut v, 1e-10, Some(80.0));
        assert_eq!(v, vec![0.0, -30.0, -80.0, -80.0]);
    }

    #[test]
    fn silence_gives_zero_features() {
        let spec = LogMelSpectrogram::new(2048, 512, MelFilterbank::slaney(22_050, 2048, 128, 0.0, 11_025.0), 1e-10, Some(80.0));
        let mut out = vec![1.0; 128 * 130];
        spec.decibels(&vec![0.0; 66_150], &mut out);
        standardize(&mut out, 1e-8);
        assert!(out.iter().all(|&v| v == 0.0));
    }
}
