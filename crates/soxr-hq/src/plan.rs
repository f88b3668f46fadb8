// Ported from libsoxr 0.1.3 (Copyright (c) 2007-18 robs@users.sourceforge.net),
// licensed under the GNU Lesser General Public License 2.1 or later; this file is too
// (see ../COPYING).

//! Which stages soxr's HQ recipe runs for a pair of rates, and their filters: a port of
//! the stage planning in libsoxr's `cr.c` (`_soxr_init`) for linear phase, 20 bits.

use crate::design::{design_lpf, inv_f_resp, linear_to_db};

/// HQ's precision in bits.
const PRECISION: f64 = 20.0;

/// One filtering stage: up-sample by `up` (zeros between samples), filter with
/// `taps`, keep every `down`-th sample. Output `n` is centred on input time
/// `n * down / up`: `y[n] = sum_k x[k] * taps[n * down + (len - 1) / 2 - k * up]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    /// Up-sampling factor (filter phases).
    pub up: usize,
    /// Down-sampling factor.
    pub down: usize,
    /// The filter, gain included.
    pub taps: Vec<f32>,
    /// Its -6 dB point relative to the Nyquist frequency of the rate it runs at.
    pub cutoff: f64,
    /// Its Kaiser window parameter.
    pub beta: f64,
}

/// Why a pair of rates has no plan here (use another resampler for them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsupported {
    /// A rate is zero.
    ZeroRate,
    /// A ratio soxr does not find rational (within 2,048 phases), which it handles by
    /// interpolating between filter phases: not ported.
    Irrational,
}

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Unsupported::ZeroRate => "a sample rate is zero",
            Unsupported::Irrational => "the ratio is not rational to soxr",
        })
    }
}

impl std::error::Error for Unsupported {}

/// libsoxr's fixed half-band filters (`half-coefs.h`) that HQ can use: the
/// coefficients at odd offsets `±1, ±3, ...` of a filter whose centre tap is 0.5, and
/// the attenuation each one reaches, in dB.
#[allow(clippy::excessive_precision)] // soxr's numbers, as libsoxr writes them
const HALF_BAND_FILTERS: [(f64, &[f64]); 2] = [
    (
        136.51,
        &[
            3.1154652365332069e-01,
            -8.7344917685739543e-02,
            3.6814458353637280e-02,
            -1.5189204581464479e-02,
            5.4540855610738801e-03,
            -1.5643862626630416e-03,
            3.1816575906323303e-04,
            -3.4799449225005688e-05,
        ],
    ),
    (
        152.32,
        &[
            3.1227034755311189e-01,
            -8.9221517147969526e-02,
            3.9139704015071934e-02,
            -1.7250558515852023e-02,
            6.8589440230476112e-03,
            -2.3045049636430419e-03,
            6.0963740543348963e-04,
            -1.1323803957431231e-04,
            1.1197769991000046e-05,
        ],
    ),
];

/// The stages soxr HQ runs from `from_hz` to `to_hz`, in order.
pub fn plan(from_hz: u32, to_hz: u32) -> Result<Vec<Stage>, Unsupported> {
    if from_hz == 0 || to_hz == 0 {
        return Err(Unsupported::ZeroRate);
    }
    let io_ratio = f64::from(from_hz) / f64::from(to_hz);
    let mut att = (PRECISION + 1.0) * linear_to_db(2.0);
    let mut att_arb = att;
    let mut arb_m = io_ratio;
    let (mut arb_l, mut post_l) = (1usize, 1usize);
    let (mut pre_l, mut pre_m, mut post_m, mut shr) = (1usize, 1usize, 1usize, 0usize);
    let (mut upsample, mut rational) = (false, false);
    // soxr plans twice when it moves up-sampling by more than 4 into a post-stage.
    let mut again = true;
    while again {
        again = false;
        upsample = arb_m < 1.0;
        shr = 0;
        let mut i = (0.5 * arb_m) as u64;
        loop {
            i >>= 1;
            if i == 0 {
                break;
            }
            arb_m *= 0.5;
            shr += 1;
        }
        pre_m = usize::from(upsample || (1.5 < arb_m && arb_m < 2.0));
        post_m = 1 + usize::from(arb_m > 1.0 && pre_m == 1);
        arb_m /= post_m as f64;
        pre_l = 1 + usize::from(pre_m == 0 && arb_m < 2.0) + usize::from(upsample);
        arb_m *= pre_l as f64;
        let frac = arb_m - arb_m.trunc();
        let mult32 = 65536.0 * 65536.0;
        let eps = if frac != 0.0 { ((frac * mult32 + 0.5).floor() / (frac * mult32) - 1.0).abs() } else { 0.0 };
        rational = frac == 0.0;
        for i in 1..=2048usize {
            if rational {
                break;
            }
            let d = frac * i as f64;
            let tr = (d + 0.5) as usize;
            if (tr as f64 / d - 1.0).abs() <= eps {
                rational = true;
                if tr == i {
                    arb_m = arb_m.ceil();
                    let halve = arb_m > 3.0;
                    shr += usize::from(halve);
                    arb_m /= 1.0 + f64::from(u8::from(halve));
                } else {
                    arb_m = (i as f64) * arb_m.trunc() + tr as f64;
                    arb_l = i;
                }
            }
        }
        let (mut l, mut m) = (pre_l * arb_l, (arb_m * post_m as f64) as usize);
        if (l | m) & 1 == 0 {
            (l, m) = (l >> 1, m >> 1);
        }
        let up_ratio = (pre_l * arb_l) as f64 / arb_m;
        if post_l == 1 && up_ratio > 4.0 && up_ratio != 5.0 {
            // Up-sampling by a power of 2 of at least 4 moves to a post-stage.
            post_l = 4;
            let mut i = (up_ratio / 16.0) as u64;
            loop {
                i >>= 1;
                if i == 0 || post_l >= 256 {
                    break;
                }
                post_l <<= 1;
            }
            arb_m = arb_m * post_l as f64 / arb_l as f64 / pre_l as f64;
            arb_l = 1;
            again = true;
        } else if rational && (l.max(m) < 5 || l * m < 6) {
            (pre_l, pre_m, arb_m, arb_l, post_m) = (l, m, 1.0, 1, 1);
        }
    }
    if !rational {
        return Err(Unsupported::Irrational);
    }
    let have_pre = pre_m * pre_l != 1;
    let have_arb = arb_m * arb_l as f64 != 1.0;
    let have_post = post_m * post_l != 1;
    let mut n = shr + usize::from(have_pre) + usize::from(have_arb) + usize::from(have_post);
    if n > 1 {
        if have_arb {
            att += linear_to_db(2.0);
            att_arb = att;
            n -= 1;
        }
        att += linear_to_db(n as f64);
    }
    let mut stages = Vec::new();
    // Half-band decimation first: the first table that reaches `att`, else the last.
    let (_, half_band) = HALF_BAND_FILTERS.iter().find(|(reach, _)| att <= *reach).unwrap_or(&HALF_BAND_FILTERS[1]);
    for _ in 0..shr {
        stages.push(half_band_stage(half_band));
    }
    let pass_end = 1.0 - 0.05 / (1.0 - inv_f_resp(-3.0, PRECISION * linear_to_db(2.0)));
    let (mut fp1, mut fs1) = (pass_end, 1.0);
    if have_pre {
        let fn1 = if pre_m > 0 { pre_l.max(pre_m) as f64 } else { arb_m / arb_l as f64 };
        stages.push(fir_stage(fp1, fs1, fn1, att, pre_l, pre_m.max(1)));
        fp1 /= fn1;
        fs1 /= fn1;
    }
    if have_arb {
        let (fn_, fs) = if !upsample && pre_m > 0 {
            (2.0 * arb_m / arb_l as f64, 3.0 + (fs1 - 1.0).abs())
        } else {
            (1.0, 2.0 - (fp1 + (fs1 - fp1) * 0.7))
        };
        let fp = fs - (fs - fp1) / (1.0 - inv_f_resp(-0.01, att_arb));
        let mut phases = arb_l;
        let probe = design_lpf(fp, fs, fn_, att_arb, 0, phases.max(19) as i64);
        let mut num_coefs = probe.taps.len() / phases.max(19) + 1;
        num_coefs += num_coefs & usize::from(pre_m == 0);
        if num_coefs & 1 == 1 && arb_l & 1 == 1 {
            phases <<= 1;
            arb_l <<= 1;
            arb_m *= 2.0;
        }
        let lp = design_lpf(fp, fs, fn_, att_arb, num_coefs * phases - 1, phases as i64);
        stages.push(Stage {
            up: arb_l,
            down: arb_m as usize,
            taps: lp.taps.iter().map(|&t| t as f32).collect(),
            cutoff: lp.cutoff,
            beta: lp.beta,
        });
    }
    if have_post {
        let alpha = post_m as f64 / (io_ratio * post_l as f64);
        let fp = pass_end / if upsample { alpha } else { 1.0 };
        let fs = if upsample { (2.0 - 1.0 / alpha).max(1.0) } else { 1.0 };
        stages.push(fir_stage(fp, fs, post_l.max(post_m) as f64, att, post_l, post_m));
    }
    Ok(stages)
}

/// A plain FIR stage (`up` phases of one filter of gain `up`; soxr's "DFT" stage). Its
/// length is 1 more than a multiple of `2 up` when `up` is a power of 2 (2 or more)
/// equal to `fn_`, else of 4.
fn fir_stage(fp: f64, fs: f64, fn_: f64, att: f64, up: usize, down: usize) -> Stage {
    let k = if up >= 2 && up.is_power_of_two() && fn_ == up as f64 { 2 * up } else { 4 };
    let lp = design_lpf(fp, fs, fn_, att, 0, -(k as i64));
    Stage {
        up,
        down,
        taps: lp.taps.iter().map(|&t| (t * up as f64) as f32).collect(),
        cutoff: lp.cutoff,
        beta: lp.beta,
    }
}

/// A half-band decimation stage: `y[i] = x[2i] / 2 + sum_j c[j] (x[2i - 2j - 1] + x[2i + 2j + 1])`,
/// as `4 n - 1` symmetric taps (coefficients rounded to f32, as soxr's float engine).
fn half_band_stage(coefs: &[f64]) -> Stage {
    let centre = 2 * coefs.len() - 1;
    let mut taps = vec![0.0f32; 4 * coefs.len() - 1];
    taps[centre] = 0.5;
    for (j, &c) in coefs.iter().enumerate() {
        taps[centre - (2 * j + 1)] = c as f32;
        taps[centre + 2 * j + 1] = c as f32;
    }
    Stage { up: 1, down: 2, taps, cutoff: 0.5, beta: 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (up, down, taps, cutoff, beta) of each stage, as a Python port of the same
    /// code printed them; that port's output matched soxr's to 3e-7 (`docs/parity.md`).
    fn summary(from: u32, to: u32) -> Vec<(usize, usize, usize, f64, f64)> {
        plan(from, to).expect("a plan").iter().map(|s| (s.up, s.down, s.taps.len(), s.cutoff, s.beta)).collect()
    }

    fn assert_plan(from: u32, to: u32, expected: &[(usize, usize, usize, f64, f64)]) {
        let got = summary(from, to);
        assert_eq!(got.len(), expected.len(), "{from} -> {to}: {got:?}");
        for (g, e) in got.iter().zip(expected) {
            assert_eq!((g.0, g.1, g.2), (e.0, e.1, e.2), "{from} -> {to}: {got:?}");
            assert!((g.3 - e.3).abs() < 1e-8 && (g.4 - e.4).abs() < 1e-7, "{from} -> {to}: {got:?}");
        }
    }

    #[test]
    fn plans_match_soxr_s_for_common_rates() {
        assert_plan(
            16_000,
            22_050,
            &[(2, 1, 409, 0.47843591, 13.71120417), (882, 1280, 13229, 0.00103053, 14.05863874)],
        );
        assert_plan(11_025, 22_050, &[(2, 1, 389, 0.47843591, 13.04003576)]);
        assert_plan(24_000, 22_050, &[(2, 1, 445, 0.439563, 13.71120417), (147, 320, 2057, 0.00615399, 14.05863874)]);
        assert_plan(44_100, 22_050, &[(1, 2, 389, 0.47843591, 13.04003576)]);
        assert_plan(48_000, 22_050, &[(1, 1, 445, 0.439563, 13.71120417), (147, 320, 2057, 0.00615399, 14.05863874)]);
        assert_plan(
            22_050,
            16_000,
            &[(2, 1, 561, 0.3471643815, 13.7112041719), (160, 441, 1919, 0.0055902334, 14.0586387419)],
        );
        assert_plan(
            37_800,
            22_050,
            &[(14, 12, 181, 0.0752825034, 14.0586387419), (1, 2, 409, 0.4784359133, 13.7112041719)],
        );
    }

    #[test]
    fn half_band_and_post_stages_are_planned_as_soxr_plans_them() {
        // (up, down, taps) per stage, as the Python port printed them.
        let shape =
            |from, to| plan(from, to).expect("a plan").iter().map(|s| (s.up, s.down, s.taps.len())).collect::<Vec<_>>();
        assert_eq!(shape(88_200, 22_050), [(1, 2, 31), (1, 2, 409)]);
        assert_eq!(shape(96_000, 22_050), [(1, 2, 35), (1, 1, 465), (147, 320, 2057)]);
        assert_eq!(shape(192_000, 22_050), [(1, 2, 35), (1, 2, 35), (1, 1, 477), (147, 320, 2057)]);
        assert_eq!(shape(4_000, 22_050), [(2, 1, 429), (882, 1280, 13229), (4, 1, 129)]);
        assert_eq!(shape(5_000, 22_050), [(2, 1, 429), (882, 1600, 13229), (4, 1, 281)]);
        assert_eq!(plan(0, 22_050), Err(Unsupported::ZeroRate));
    }

    #[test]
    fn equal_rates_copy_the_input() {
        assert_eq!(plan(22_050, 22_050), Ok(vec![]));
        let mut resampler = crate::Resampler::new(22_050, 22_050).expect("a plan");
        let mut out = Vec::new();
        resampler.push(&[0.25, -0.5], &mut out);
        resampler.push(&[1.0], &mut out);
        resampler.finish(&mut out);
        resampler.finish(&mut out);
        assert_eq!(out, [0.25, -0.5, 1.0]);
    }

    #[test]
    fn odd_rates_plan_small_filters_or_say_why_not() {
        // Rates a damaged header can claim: a plan or an error, never a panic, and
        // filters that stay small.
        for from in [1u32, 2, 3, 7, 100, 1000, 3000, 22_051, 250_000, 1_000_000, 10_000_000, u32::MAX] {
            for to in [22_050u32, 16_000] {
                if let Ok(stages) = plan(from, to) {
                    let taps: usize = stages.iter().map(|s| s.taps.len()).sum();
                    assert!(taps < 100_000, "{from} -> {to}: {taps} taps");
                    let mut resampler = crate::Resampler::new(from, to).expect("planned");
                    let mut out = Vec::new();
                    resampler.push(&vec![0.5; 1000], &mut out);
                    resampler.finish(&mut out);
                    assert_eq!(out.len() as u64, (1000.0 / (f64::from(from) / f64::from(to)) + 0.5) as u64);
                    assert!(out.iter().all(|v| v.is_finite()), "{from} -> {to}");
                }
            }
        }
    }
}
