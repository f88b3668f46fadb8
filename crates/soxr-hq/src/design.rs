// Ported from libsoxr 0.1.3 (Copyright (c) 2007-18 robs@users.sourceforge.net),
// licensed under the GNU Lesser General Public License 2.1 or later; this file is too
// (see ../COPYING).

//! libsoxr's low-pass design (`filter.c`): a Kaiser-windowed sinc whose window
//! parameter and length come from soxr's own fitted formulas, not Kaiser's.

use std::f64::consts::PI;

/// `20 log10(x)`.
pub(crate) fn linear_to_db(x: f64) -> f64 {
    20.0 * x.log10()
}

/// Where a filter of stop-band attenuation `att` dB is `drop_db` down, as a fraction
/// of its transition band (soxr's `lsx_inv_f_resp`).
pub(crate) fn inv_f_resp(drop_db: f64, att: f64) -> f64 {
    let sine_phi = ((2.0517e-07 * att - 1.1303e-04) * att + 0.023154) * att + 0.55924;
    let sine_pow = 0.5f64.ln() / (sine_phi * 0.5).sin().ln();
    let drop = (drop_db * (10f64.ln() * 0.05)).exp();
    let s = if drop > 0.5 { 1.0 - drop } else { drop };
    let x = s.powf(1.0 / sine_pow).asin() / sine_phi;
    if drop > 0.5 { x } else { 1.0 - x }
}

/// soxr's fitted Kaiser beta for attenuation `att` and relative transition width
/// `tr_bw` (`lsx_kaiser_beta`).
fn kaiser_beta(att: f64, tr_bw: f64) -> f64 {
    const COEFS: [[f64; 4]; 10] = [
        [-6.784957e-10, 1.02856e-05, 0.1087556, -0.8988365 + 0.001],
        [-6.897885e-10, 1.027433e-05, 0.10876, -0.8994658 + 0.002],
        [-1.000683e-09, 1.030092e-05, 0.1087677, -0.9007898 + 0.003],
        [-3.654474e-10, 1.040631e-05, 0.1087085, -0.8977766 + 0.006],
        [8.106988e-09, 6.983091e-06, 0.1091387, -0.9172048 + 0.015],
        [9.519571e-09, 7.272678e-06, 0.1090068, -0.9140768 + 0.025],
        [-5.626821e-09, 1.342186e-05, 0.1083999, -0.9065452 + 0.05],
        [-9.965946e-08, 5.073548e-05, 0.1040967, -0.7672778 + 0.085],
        [1.604808e-07, -5.856462e-05, 0.1185998, -1.34824 + 0.1],
        [-1.511964e-07, 6.363034e-05, 0.1064627, -0.9876665 + 0.18],
    ];
    if att >= 60.0 {
        let realm = (tr_bw / 0.0005).ln() / 2f64.ln();
        let ir = realm as i64; // truncation, as C's `(int)`
        let at = |i: i64| {
            let c = COEFS[i.clamp(0, 9) as usize];
            ((c[0] * att + c[1]) * att + c[2]) * att + c[3]
        };
        let (b0, b1) = (at(ir), at(ir + 1));
        b0 + (b1 - b0) * (realm - ir as f64)
    } else if att > 50.0 {
        0.1102 * (att - 8.7)
    } else if att > 20.96 {
        0.58417 * (att - 20.96).powf(0.4) + 0.07886 * (att - 20.96)
    } else {
        0.0
    }
}

/// The modified Bessel function of the first kind, order 0 (power series).
fn bessel_i0(x: f64) -> f64 {
    let (mut sum, mut term, q) = (1.0, 1.0, x * x / 4.0);
    for k in 1..500 {
        term *= q / (k * k) as f64;
        sum += term;
        if term < sum * 1e-17 {
            break;
        }
    }
    sum
}

/// A designed low-pass filter.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LowPass {
    /// Cut-off (the -6 dB point) relative to the Nyquist frequency of the rate it runs at.
    pub cutoff: f64,
    /// Kaiser window parameter.
    pub beta: f64,
    /// Coefficients, with a gain of `phases`.
    pub taps: Vec<f64>,
}

/// soxr's `lsx_design_lpf`: pass band to `fp`, stop band from `fs` (both relative to
/// `fn_`), `att` dB; `k > 0` designs a `k`-phase filter, `k < 0` one whose length is
/// 1 more than a multiple of `-k`. `num_taps` 0 lets the attenuation choose it.
pub(crate) fn design_lpf(fp: f64, fs: f64, fn_: f64, att: f64, num_taps: usize, k: i64) -> LowPass {
    let phases = k.max(1) as usize;
    let modulo = (-k).max(1) as usize;
    let rho = if phases == 1 {
        0.5
    } else if att < 120.0 {
        0.63
    } else {
        0.75
    };
    let (fp, mut fs) = (fp / fn_.abs(), fs / fn_.abs());
    let mut tr_bw = 0.5 * (fs - fp) / phases as f64;
    fs /= phases as f64;
    tr_bw = tr_bw.min(0.5 * fs);
    let cutoff = fs - tr_bw;
    let beta = kaiser_beta(att, tr_bw * 0.5 / cutoff);
    let num_taps = if num_taps > 0 {
        num_taps
    } else {
        let a = if att < 60.0 {
            (att - 7.95) / (2.285 * PI * 2.0)
        } else {
            ((0.0007528358 - 1.577737e-05 * beta) * beta + 0.6248022) * beta + 0.06186902
        };
        let n = (a / tr_bw + 1.0).ceil() as usize;
        if phases > 1 { n / phases * phases + phases - 1 } else { (n + modulo - 2) / modulo * modulo + 1 }
    };
    LowPass { cutoff, beta, taps: make_lpf(num_taps, cutoff, beta, rho, phases as f64) }
}

/// soxr's `lsx_make_lpf`: `scale * sinc * Kaiser`, the window reaching zero `rho`
/// samples beyond the end taps, made exactly symmetric.
fn make_lpf(num_taps: usize, cutoff: f64, beta: f64, rho: f64, scale: f64) -> Vec<f64> {
    let m = (num_taps - 1) as f64;
    let i0_beta = bessel_i0(beta);
    let h: Vec<f64> = (0..num_taps)
        .map(|i| {
            let z = i as f64 - 0.5 * m;
            let x = z * PI;
            let y = z / (0.5 * m + rho);
            let sinc = if x != 0.0 { (cutoff * x).sin() / x } else { cutoff };
            sinc * bessel_i0(beta * (1.0 - y * y).sqrt()) * (scale / i0_beta)
        })
        .collect();
    h.iter().zip(h.iter().rev()).map(|(a, b)| 0.5 * (a + b)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bessel_i0_matches_known_values() {
        // Abramowitz and Stegun, table 9.8: I0(1), I0(5)·e^-5; scipy.special.i0(14.0586387).
        assert!((bessel_i0(1.0) - 1.266_065_877_752_008_4).abs() < 1e-15);
        assert!((bessel_i0(5.0) * (-5f64).exp() - 0.183_540_812_3).abs() < 1e-9);
        assert!((bessel_i0(0.0) - 1.0).abs() < 1e-15);
    }

    #[test]
    fn hq_pass_band_ends_where_soxr_puts_it() {
        // soxr.c: passband_end = 1 - .05 / lsx_to_3dB(precision * linear_to_dB(2)).
        let fp = 1.0 - 0.05 / (1.0 - inv_f_resp(-3.0, 20.0 * linear_to_db(2.0)));
        assert!((fp - 0.913_743_653_3).abs() < 1e-9, "{fp}");
    }

    #[test]
    fn the_16k_first_stage_has_soxr_s_parameters() {
        // Printed by the Python port of soxr's design that matches soxr to 3e-7
        // (docs/parity.md): 409 taps, Fc 0.47843591, beta 13.71120417.
        let att = 21.0 * linear_to_db(2.0) + linear_to_db(2.0);
        let fp = 1.0 - 0.05 / (1.0 - inv_f_resp(-3.0, 20.0 * linear_to_db(2.0)));
        let lp = design_lpf(fp, 1.0, 2.0, att, 0, -4);
        assert_eq!(lp.taps.len(), 409);
        assert!((lp.cutoff - 0.478_435_91).abs() < 1e-8, "{}", lp.cutoff);
        assert!((lp.beta - 13.711_204_17).abs() < 1e-7, "{}", lp.beta);
    }
}
