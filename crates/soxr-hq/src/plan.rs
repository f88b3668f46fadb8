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

/// Why a pair of rates has no plan here (libsoxr handles them with parts not ported:
/// use another resampler for them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsupported {
    /// A rate is zero.
    ZeroRate,
    /// Down-sampling by more than about 4 (input of 88.2 kHz and up for 22,050 Hz),
    /// which libsoxr does with fixed half-band filters.
    HalfBandStages,
    /// Up-sampling by more than 4, which libsoxr finishes with a post-stage.
    PostUpsampling,
    /// A ratio soxr does not find rational, which it interpolates between phases.
    Irrational,
}

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Unsupported::ZeroRate => "a sample rate is zero",
            Unsupported::HalfBandStages => "down-sampling by more than 4 needs soxr's half-band stages",
            Unsupported::PostUpsampling => "up-sampling by more than 4 needs soxr's post-stage",
            Unsupported::Irrational => "the ratio is not rational to soxr",
        })
    }
}

impl std::error::Error for Unsupported {}

/// The stages soxr HQ runs from `from_hz` to `to_hz`, in order.
pub fn plan(from_hz: u32, to_hz: u32) -> Result<Vec<Stage>, Unsupported> {
    if from_hz == 0 || to_hz == 0 {
        return Err(Unsupported::ZeroRate);
    }
    let io_ratio = f64::from(from_hz) / f64::from(to_hz);
    let mut att = (PRECISION + 1.0) * linear_to_db(2.0);
    let mut att_arb = att;
    let (mut arb_m, mut arb_l, post_l) = (io_ratio, 1usize, 1usize);
    let upsample = arb_m < 1.0;
    let mut shr = 0;
    let mut i = (0.5 * arb_m) as u64;
    loop {
        i >>= 1;
        if i == 0 {
            break;
        }
        arb_m *= 0.5;
        shr += 1;
    }
    let mut pre_m = usize::from(upsample || (1.5 < arb_m && arb_m < 2.0));
    let mut post_m = 1 + usize::from(arb_m > 1.0 && pre_m == 1);
    arb_m /= post_m as f64;
    let mut pre_l = 1 + usize::from(pre_m == 0 && arb_m < 2.0) + usize::from(upsample);
    arb_m *= pre_l as f64;
    let frac = arb_m - arb_m.trunc();
    let mult32 = 65536.0 * 65536.0;
    let eps = if frac != 0.0 { ((frac * mult32 + 0.5).floor() / (frac * mult32) - 1.0).abs() } else { 0.0 };
    let mut rational = frac == 0.0;
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
    if up_ratio > 4.0 && up_ratio != 5.0 {
        return Err(Unsupported::PostUpsampling);
    }
    if rational && (l.max(m) < 5 || l * m < 6) {
        (pre_l, pre_m, arb_m, arb_l, post_m) = (l, m, 1.0, 1, 1);
    }
    if shr > 0 {
        return Err(Unsupported::HalfBandStages);
    }
    if !rational {
        return Err(Unsupported::Irrational);
    }
    let have_pre = pre_m * pre_l != 1;
    let have_arb = arb_m * arb_l as f64 != 1.0;
    let have_post = post_m * post_l != 1;
    let mut n = usize::from(have_pre) + usize::from(have_arb) + usize::from(have_post);
    if n > 1 {
        if have_arb {
            att += linear_to_db(2.0);
            att_arb = att;
            n -= 1;
        }
        att += linear_to_db(n as f64);
    }
    let pass_end = 1.0 - 0.05 / (1.0 - inv_f_resp(-3.0, PRECISION * linear_to_db(2.0)));
    let (mut fp1, mut fs1) = (pass_end, 1.0);
    let mut stages = Vec::new();
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

/// A plain FIR stage (`up` phases of one filter of gain `up`).
fn fir_stage(fp: f64, fs: f64, fn_: f64, att: f64, up: usize, down: usize) -> Stage {
    let lp = design_lpf(fp, fs, fn_, att, 0, -4);
    Stage {
        up,
        down,
        taps: lp.taps.iter().map(|&t| (t * up as f64) as f32).collect(),
        cutoff: lp.cutoff,
        beta: lp.beta,
    }
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
    fn rates_needing_unported_stages_say_so() {
        assert_eq!(plan(96_000, 22_050), Err(Unsupported::HalfBandStages));
        assert_eq!(plan(88_200, 22_050), Err(Unsupported::HalfBandStages));
        assert_eq!(plan(5_000, 22_050), Err(Unsupported::PostUpsampling));
        assert_eq!(plan(0, 22_050), Err(Unsupported::ZeroRate));
    }
}
