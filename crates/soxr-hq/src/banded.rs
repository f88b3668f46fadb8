//! Direct polyphase stages eight outputs at a time as small banded products, with no
//! horizontal sums (soxr HQ's 48 kHz to 22,050 Hz stage: 147 phases of 14 taps).
//!
//! One output at a time, each output is a 16-lane dot product that ends in a
//! horizontal sum, and those sums' latency was most of the stage's time. Here eight
//! consecutive outputs are one step: their windows overlap, so together they read a
//! band of at most a few dozen inputs, and the step is `sum over the band's inputs x[p]
//! of coefficients[p] * x[p]`, `coefficients[p]` holding for each of the eight outputs
//! its tap at input `p` (zero where `p` is outside its window). Eight outputs are eight
//! lanes of one vector: every input is one broadcast and one fused multiply-add. The
//! phase pattern repeats after `up / gcd(up, down)` outputs, so the coefficient blocks
//! of one period's groups serve every period.

use crate::stage::{Clock, Cursor, Inputs};

/// Outputs per step: the lanes of an AVX2 vector.
const LANES: usize = 8;

/// Groups whose band is wider than this are left to the one-at-a-time path.
const MAX_WIDTH: usize = 64;

/// A stage's coefficient blocks, one per group of eight outputs of a period.
#[derive(Debug, Clone)]
pub(crate) struct Banded {
    /// Outputs per period of the phase pattern.
    period: usize,
    /// Inputs each output reads (the padded phase length).
    taps: usize,
    groups: Vec<Group>,
    /// Per group, `width` rows of [`LANES`] coefficients.
    coefficients: Vec<f32>,
}

#[derive(Debug, Clone, Copy)]
struct Group {
    /// Inputs the group's band spans, from its first output's window start.
    width: usize,
    /// Where its rows start in `coefficients`.
    start: usize,
    /// Its outputs: [`LANES`], fewer at the end of a period.
    outputs: usize,
    /// How far the next group's first output's last input is from this one's, and its
    /// phase.
    step: i64,
    next_phase: usize,
}

impl Banded {
    /// The blocks for a stage of `phases` (each reversed and padded in front to the same
    /// length), or `None` where this path does not apply: a CPU without AVX2 and FMA, or
    /// bands wider than [`MAX_WIDTH`].
    pub(crate) fn new(phases: &[Vec<f32>], clock: Clock) -> Option<Self> {
        if !crate::direct::has_fma() || phases.is_empty() {
            return None;
        }
        let taps = phases[0].len();
        let (up, down) = (clock.up as usize, clock.down as usize);
        let period = up / gcd(up, down);
        let cursors: Vec<Cursor> = (0..period as u64).map(|n| clock.window_end(n)).collect();
        let (mut groups, mut coefficients) = (Vec::new(), Vec::new());
        for first in (0..period).step_by(LANES) {
            let lanes = &cursors[first..(first + LANES).min(period)];
            let start = lanes[0].last;
            let width = (lanes[lanes.len() - 1].last - start) as usize + taps;
            if width > MAX_WIDTH {
                return None;
            }
            let offset = coefficients.len();
            coefficients.resize(offset + width * LANES, 0.0);
            for (lane, cursor) in lanes.iter().enumerate() {
                // This output reads inputs `last - taps + 1 ..= last`, rows `shift ..`.
                let shift = (cursor.last - start) as usize;
                for (i, &tap) in phases[cursor.phase].iter().enumerate() {
                    coefficients[offset + (shift + i) * LANES + lane] = tap;
                }
            }
            let next = clock.window_end((first + lanes.len()) as u64);
            let (step, next_phase) = (next.last - start, next.phase);
            groups.push(Group { width, start: offset, outputs: lanes.len(), step, next_phase });
        }
        Some(Banded { period, taps, groups, coefficients })
    }

    /// Outputs from `n` on before the next group starts: the caller computes these one
    /// at a time.
    pub(crate) fn to_group_start(&self, n: u64) -> usize {
        let j = (n % self.period as u64) as usize;
        // Groups start every LANES outputs and again at the period's end.
        if j.is_multiple_of(LANES) { 0 } else { (LANES - j % LANES).min(self.period - j) }
    }

    /// Appends whole groups of outputs, from output `n` (at `cursor`, at a group's
    /// start) on, while their inputs have all arrived; moves `n` and `cursor` past them.
    pub(crate) fn outputs(
        &self,
        n: &mut u64,
        inputs: Inputs<'_>,
        clock: Clock,
        cursor: &mut Cursor,
        out: &mut Vec<f32>,
    ) {
        debug_assert_eq!(self.to_group_start(*n), 0);
        let mut index = (*n % self.period as u64) as usize / LANES;
        loop {
            let group = self.groups[index];
            let first = cursor.last - self.taps as i64 + 1;
            if first + group.width as i64 > inputs.received {
                return;
            }
            let from = (first - inputs.first) as usize;
            let band = &inputs.history[from..from + group.width];
            let rows = &self.coefficients[group.start..group.start + group.width * LANES];
            // SAFETY: `new` returns a `Banded` only where the CPU has AVX2 and FMA.
            let values = unsafe { band_product(rows, band) };
            out.extend_from_slice(&values[..group.outputs]);
            *n += group.outputs as u64;
            *cursor = Cursor { last: cursor.last + group.step, phase: group.next_phase };
            debug_assert_eq!(*cursor, clock.window_end(*n));
            index = if index + 1 == self.groups.len() { 0 } else { index + 1 };
        }
    }
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// `sum_p rows[p] * band[p]`, a row of [`LANES`] coefficients per input, in four
/// accumulators.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn band_product(rows: &[f32], band: &[f32]) -> [f32; LANES] {
    use std::arch::x86_64::*;
    assert!(rows.len() >= band.len() * LANES);
    // Eight independent sums: a fused multiply-add's latency is four cycles, and two
    // issue per cycle.
    let mut acc = [_mm256_setzero_ps(); 8];
    let mut chunks = band.chunks_exact(8);
    let mut p = 0;
    for chunk in &mut chunks {
        for (k, (sum, &x)) in acc.iter_mut().zip(chunk).enumerate() {
            // SAFETY: row p + k < band.len() lies inside `rows` (asserted above).
            let row = unsafe { _mm256_loadu_ps(rows.as_ptr().add((p + k) * LANES)) };
            *sum = _mm256_fmadd_ps(row, _mm256_set1_ps(x), *sum);
        }
        p += 8;
    }
    for (k, &x) in chunks.remainder().iter().enumerate() {
        // SAFETY: as above.
        let row = unsafe { _mm256_loadu_ps(rows.as_ptr().add((p + k) * LANES)) };
        acc[k] = _mm256_fmadd_ps(row, _mm256_set1_ps(x), acc[k]);
    }
    let quads = [0, 1, 2, 3].map(|k| _mm256_add_ps(acc[k], acc[k + 4]));
    let sum = _mm256_add_ps(_mm256_add_ps(quads[0], quads[1]), _mm256_add_ps(quads[2], quads[3]));
    let mut values = [0.0f32; LANES];
    // SAFETY: `values` holds LANES floats.
    unsafe { _mm256_storeu_ps(values.as_mut_ptr(), sum) };
    values
}

#[cfg(not(target_arch = "x86_64"))]
unsafe fn band_product(_rows: &[f32], _band: &[f32]) -> [f32; LANES] {
    unreachable!("`Banded::new` needs AVX2 and FMA")
}
