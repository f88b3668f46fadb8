//! Simple signal descriptors for reports: loudness, brightness, noisiness.
//!
//! These summarise a whole signal for exploratory analysis; they are not model input
//! and are not held to librosa's numbers, though they follow its definitions.

use rustfft::FftPlanner;
use rustfft::num_complex::Complex;

/// RMS level in dBFS (`-inf` for digital silence or an empty slice).
pub fn rms_dbfs(samples: &[f32]) -> f64 {
    if samples.is_empty() {
        return f64::NEG_INFINITY;
    }
    let energy = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum::<f64>() / samples.len() as f64;
    10.0 * energy.log10()
}

/// Fraction of consecutive sample pairs whose signs differ (librosa's zero-crossing
/// rate, averaged over the whole signal).
pub fn zero_crossing_rate(samples: &[f32]) -> f64 {
    if samples.len() < 2 {
        return 0.0;
    }
    let crossings = samples.windows(2).filter(|w| (w[0] >= 0.0) != (w[1] >= 0.0)).count();
    crossings as f64 / (samples.len() - 1) as f64
}

/// Mean spectral centroid in Hz over 2048-sample Hann frames with hop 512, weighted by
/// magnitude as `librosa.feature.spectral_centroid`; silent frames are skipped.
pub fn spectral_centroid(samples: &[f32], sample_rate: u32) -> f64 {
    const N: usize = 2048;
    const HOP: usize = 512;
    if samples.len() < N {
        return 0.0;
    }
    let window = crate::mel::hann_window(N);
    let fft = FftPlanner::<f64>::new().plan_fft_forward(N);
    let mut buffer = vec![Complex::new(0.0, 0.0); N];
    let bin_hz = f64::from(sample_rate) / N as f64;
    let (mut sum, mut frames) = (0.0, 0usize);
    for start in (0..=samples.len() - N).step_by(HOP) {
        for ((z, &s), &w) in buffer.iter_mut().zip(&samples[start..start + N]).zip(&window) {
            *z = Complex::new(f64::from(s) * w, 0.0);
        }
        fft.process(&mut buffer);
        let (mut weighted, mut total) = (0.0, 0.0);
        for (k, z) in buffer[..=N / 2].iter().enumerate() {
            let m = z.norm();
            weighted += k as f64 * bin_hz * m;
            total += m;
        }
        if total > 0.0 {
            sum += weighted / total;
            frames += 1;
        }
    }
    if frames == 0 { 0.0 } else { sum / frames as f64 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptors_of_a_tone() {
        let tone: Vec<f32> =
            (0..22_050).map(|i| (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / 22_050.0).sin() * 0.5).collect();
        assert!((rms_dbfs(&tone) - 20.0 * (0.5f64 / 2f64.sqrt()).log10()).abs() < 0.01);
        assert!((zero_crossing_rate(&tone) - 2000.0 / 22_050.0).abs() < 1e-3);
        assert!((spectral_centroid(&tone, 22_050) - 1000.0).abs() < 30.0);
        assert_eq!(rms_dbfs(&[0.0; 10]), f64::NEG_INFINITY);
    }
}
