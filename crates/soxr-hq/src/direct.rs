//! The direct engine: a polyphase stage's outputs one dot product each, portable, and
//! with AVX2 fused multiply-adds where the CPU has them (chosen at run time), four
//! outputs at a time.

use crate::stage::{Clock, Cursor, Inputs};

/// The output at `cursor`'s phase (taps reversed) and the inputs it reads.
#[inline(always)]
pub(crate) fn direct_window<'a>(phases: &'a [Vec<f32>], inputs: Inputs<'a>, cursor: Cursor) -> (&'a [f32], &'a [f32]) {
    let taps = &phases[cursor.phase];
    let from = (cursor.last - taps.len() as i64 + 1 - inputs.first) as usize;
    (&taps[..], &inputs.history[from..from + taps.len()])
}

/// Appends every output of a direct stage whose inputs have all arrived, from
/// `cursor` on, and moves `cursor` past them.
pub(crate) fn direct_outputs(
    phases: &[Vec<f32>],
    fma: bool,
    inputs: Inputs<'_>,
    clock: Clock,
    cursor: &mut Cursor,
    out: &mut Vec<f32>,
) {
    #[cfg(target_arch = "x86_64")]
    if fma {
        // SAFETY: `fma` is set only where the CPU has AVX2 and FMA (`has_fma`).
        return unsafe { direct_outputs_fma(phases, inputs, clock, cursor, out) };
    }
    direct_outputs_with::<false>(phases, inputs, clock, cursor, out);
}

/// [`direct_outputs`] compiled for AVX2 and FMA, so that [`dot_fma`] is inlined.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn direct_outputs_fma(phases: &[Vec<f32>], inputs: Inputs<'_>, clock: Clock, cursor: &mut Cursor, out: &mut Vec<f32>) {
    direct_outputs_with::<true>(phases, inputs, clock, cursor, out);
}

#[inline(always)]
fn direct_outputs_with<const FMA: bool>(
    phases: &[Vec<f32>],
    inputs: Inputs<'_>,
    clock: Clock,
    cursor: &mut Cursor,
    out: &mut Vec<f32>,
) {
    let ready = (inputs.received - cursor.last).max(0) as u64;
    out.reserve((ready * clock.up / clock.down + 1) as usize);
    let window = |cursor: Cursor| direct_window(phases, inputs, cursor);
    #[cfg(target_arch = "x86_64")]
    if FMA {
        // Four outputs at a time, their sums reduced together.
        loop {
            let c1 = clock.advance(*cursor);
            let c2 = clock.advance(c1);
            let c3 = clock.advance(c2);
            if c3.last >= inputs.received {
                break;
            }
            // SAFETY: only `direct_outputs_fma`, compiled for AVX2 and FMA, asks for FMA.
            let values = unsafe { dot4_fma([window(*cursor), window(c1), window(c2), window(c3)]) };
            out.extend_from_slice(&values);
            *cursor = clock.advance(c3);
        }
    }
    while cursor.last < inputs.received {
        let (taps, window) = window(*cursor);
        out.push(dot_on(FMA, taps, window));
        *cursor = clock.advance(*cursor);
    }
}

/// Four dot products `a . b` with AVX2 fused multiply-adds, for slices whose lengths
/// are multiples of 16 (a direct stage's padded phases); the four sums are reduced
/// together.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
fn dot4_fma(pairs: [(&[f32], &[f32]); 4]) -> [f32; 4] {
    use std::arch::x86_64::*;
    let mut sums = [_mm256_setzero_ps(); 4];
    for (sum, (a, b)) in sums.iter_mut().zip(pairs) {
        debug_assert_eq!(a.len().min(b.len()) % 16, 0);
        *sum = fma_lanes(a, b).0;
    }
    // Pairwise sums of lanes: [s0 s1 s2 s3] in each half, then the halves added.
    let h01 = _mm256_hadd_ps(sums[0], sums[1]);
    let h23 = _mm256_hadd_ps(sums[2], sums[3]);
    let h = _mm256_hadd_ps(h01, h23);
    let four = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps::<1>(h));
    let mut values = [0.0f32; 4];
    // SAFETY: `values` holds 4 floats.
    unsafe { _mm_storeu_ps(values.as_mut_ptr(), four) };
    values
}

/// Whether this CPU has AVX2 and FMA, for [`dot_fma`].
#[inline]
pub(crate) fn has_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// [`dot_fma`] if `fma` (the CPU has it), else [`dot`].
#[inline(always)]
pub(crate) fn dot_on(fma: bool, a: &[f32], b: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if fma {
        // SAFETY: `fma` is set only where the CPU has AVX2 and FMA (`has_fma`).
        return unsafe { dot_fma(a, b) };
    }
    let _ = fma;
    dot(a, b)
}

/// `sum a[i] b[i]` in eight lanes, which the compiler turns into vector code.
#[inline]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let (a_chunks, b_chunks) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a_chunks.remainder().iter().zip(b_chunks.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in a_chunks.zip(b_chunks) {
        for i in 0..8 {
            lanes[i] += x[i] * y[i];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// The products `a[i] b[i]` of the longest prefix whose length is a multiple of 16,
/// summed in eight lanes (two accumulators of fused multiply-adds, then added), and
/// that prefix's length.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
fn fma_lanes(a: &[f32], b: &[f32]) -> (std::arch::x86_64::__m256, usize) {
    use std::arch::x86_64::*;
    let n = a.len().min(b.len());
    let (mut acc0, mut acc1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
    let mut i = 0;
    while i + 16 <= n {
        // SAFETY: i + 16 <= n, so both 8-float loads at i and i + 8 are inside both slices.
        unsafe {
            acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a.as_ptr().add(i)), _mm256_loadu_ps(b.as_ptr().add(i)), acc0);
            acc1 =
                _mm256_fmadd_ps(_mm256_loadu_ps(a.as_ptr().add(i + 8)), _mm256_loadu_ps(b.as_ptr().add(i + 8)), acc1);
        }
        i += 16;
    }
    (_mm256_add_ps(acc0, acc1), i)
}

/// [`dot`] with AVX2 fused multiply-adds, two 8-lane accumulators.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
fn dot_fma(a: &[f32], b: &[f32]) -> f32 {
    use std::arch::x86_64::*;
    let n = a.len().min(b.len());
    let (lanes, i) = fma_lanes(a, b);
    // The eight lanes summed as a tree: halves, quarters, then the last two.
    let four = _mm_add_ps(_mm256_castps256_ps128(lanes), _mm256_extractf128_ps::<1>(lanes));
    let two = _mm_add_ps(four, _mm_movehl_ps(four, four));
    let one = _mm_add_ss(two, _mm_movehdup_ps(two));
    _mm_cvtss_f32(one) + a[i..n].iter().zip(&b[i..n]).map(|(x, y)| x * y).sum::<f32>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fastest_dot_product_equals_the_portable_one() {
        for len in [0, 5, 8, 16, 23, 48, 409] {
            let a: Vec<f32> = (0..len).map(|i| (i as f32 * 0.71).sin()).collect();
            let b: Vec<f32> = (0..len).map(|i| (i as f32 * 0.13).cos()).collect();
            let exact: f64 = a.iter().zip(&b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum();
            assert!((f64::from(dot(&a, &b)) - exact).abs() < 1e-4, "length {len}");
            #[cfg(target_arch = "x86_64")]
            if has_fma() {
                // SAFETY: the CPU has AVX2 and FMA.
                let fused = unsafe { dot_fma(&a, &b) };
                assert!((f64::from(fused) - exact).abs() < 1e-4, "length {len}");
                if len % 16 == 0 {
                    let shifted: Vec<f32> = b.iter().map(|x| x + 0.5).collect();
                    // SAFETY: the CPU has AVX2 and FMA.
                    let four = unsafe { dot4_fma([(&a, &b), (&b, &a), (&a, &shifted), (&shifted, &shifted)]) };
                    for (value, (x, y)) in four.iter().zip([(&a, &b), (&b, &a), (&a, &shifted), (&shifted, &shifted)]) {
                        let exact: f64 = x.iter().zip(y).map(|(p, q)| f64::from(*p) * f64::from(*q)).sum();
                        assert!((f64::from(*value) - exact).abs() < 1e-4, "length {len}, four at once");
                    }
                }
            }
        }
    }
}
