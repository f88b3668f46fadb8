//! The whole transformer in CPU inference, on plain slices.
//!
//! Ten segments through the transformer are about 40 small Burn operations per layer,
//! each a pass over memory and a dispatch; that way the model ran at 0.6x PyTorch's
//! speed. Here the batch is split into one run of items per thread, and each thread
//! does the whole forward pass alone: a run's tokens are one `[items * tokens, dim]`
//! matrix, so every linear layer is one product ([`crate::matmul`], AVX-512 where the
//! CPU has it); the three attention projections are fused into one; GELU and the
//! softmax use vectorisable `exp` and `erf` (PyTorch's own approximation of `erf`);
//! the final norm and head only touch the class tokens. The arithmetic is
//! [`super::SpecTransformer::forward`]'s without dropout; they agree to float rounding
//! (a unit test holds them within 1e-4, the PyTorch parity tests within theirs).

use burn::nn::{LayerNorm, Linear};
use burn::prelude::*;
use rayon::prelude::*;

use super::{EncoderLayer, LAYER_NORM_EPSILON, SpecTransformer};
use crate::matmul::{MatrixRef, multiply};

/// A linear layer's weights as plain numbers: `[d_in, d_out]` row-major and the bias.
struct Dense {
    weight: Vec<f32>,
    bias: Vec<f32>,
    d_in: usize,
    d_out: usize,
}

impl Dense {
    fn of(linear: &Linear) -> Option<Self> {
        let [d_in, d_out] = linear.weight.dims();
        let weight = read(linear.weight.val())?;
        let bias = match &linear.bias {
            Some(b) => read(b.val())?,
            None => vec![0.0; d_out],
        };
        (weight.len() == d_in * d_out && bias.len() == d_out).then_some(Dense { weight, bias, d_in, d_out })
    }

    /// Several layers reading the same input as one: their outputs side by side.
    fn side_by_side(parts: &[Dense]) -> Option<Self> {
        let d_in = parts.first()?.d_in;
        if parts.iter().any(|p| p.d_in != d_in) {
            return None;
        }
        let d_out = parts.iter().map(|p| p.d_out).sum();
        let mut weight = Vec::with_capacity(d_in * d_out);
        for row in 0..d_in {
            for p in parts {
                weight.extend_from_slice(&p.weight[row * p.d_out..(row + 1) * p.d_out]);
            }
        }
        let bias = parts.iter().flat_map(|p| p.bias.iter().copied()).collect();
        Some(Dense { weight, bias, d_in, d_out })
    }

    /// `x [rows, d_in] -> [rows, d_out]`.
    fn apply(&self, x: &[f32], rows: usize) -> Vec<f32> {
        let mut out: Vec<f32> = Vec::with_capacity(rows * self.d_out);
        for _ in 0..rows {
            out.extend_from_slice(&self.bias);
        }
        let (a, w) =
            (MatrixRef::row_major(x, rows, self.d_in), MatrixRef::row_major(&self.weight, self.d_in, self.d_out));
        multiply(&mut out, self.d_out, a, w, 1.0, true);
        out
    }
}

/// A layer norm's scale and shift.
struct Norm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
}

impl Norm {
    fn of(norm: &LayerNorm) -> Option<Self> {
        let gamma = read(norm.gamma.val())?;
        let beta = match &norm.beta {
            Some(beta) => read(beta.val())?,
            None => vec![0.0; gamma.len()],
        };
        Some(Norm { gamma, beta })
    }

    /// `gamma * (x - mean) / sqrt(var + eps) + beta` over each row of `x`, in place.
    fn apply(&self, x: &mut [f32]) {
        let d = self.gamma.len();
        for row in x.chunks_exact_mut(d) {
            let mean = row.iter().sum::<f32>() / d as f32;
            let var = row.iter().map(|&v| (v - mean) * (v - mean)).sum::<f32>() / d as f32;
            let inv = 1.0 / (var + LAYER_NORM_EPSILON as f32).sqrt();
            for ((v, &g), &b) in row.iter_mut().zip(&self.gamma).zip(&self.beta) {
                *v = (*v - mean) * inv * g + b;
            }
        }
    }
}

fn read<const D: usize>(t: Tensor<D>) -> Option<Vec<f32>> {
    t.into_data().try_into_vec::<f32>().ok()
}

/// One encoder layer's weights, the attention projections fused.
struct Encoder {
    qkv: Dense,
    out_proj: Dense,
    linear1: Dense,
    linear2: Dense,
    norm1: Norm,
    norm2: Norm,
    heads: usize,
}

impl Encoder {
    fn of(layer: &EncoderLayer) -> Option<Self> {
        let parts = [&layer.query, &layer.key, &layer.value].map(Dense::of);
        let [q, k, v] = parts;
        Some(Encoder {
            qkv: Dense::side_by_side(&[q?, k?, v?])?,
            out_proj: Dense::of(&layer.out_proj)?,
            linear1: Dense::of(&layer.linear1)?,
            linear2: Dense::of(&layer.linear2)?,
            norm1: Norm::of(&layer.norm1)?,
            norm2: Norm::of(&layer.norm2)?,
            heads: layer.heads.max(1),
        })
    }

    /// `x [batch * n, d]` in place.
    fn apply(&self, x: &mut [f32], batch: usize, n: usize) {
        let d = self.out_proj.d_in;
        let (h, dh) = (self.heads, d / self.heads);
        let qkv = self.qkv.apply(x, batch * n);
        let scale = 1.0 / (dh as f32).sqrt();
        let mut heads = vec![0.0f32; batch * n * d];
        for (heads, qkv) in heads.chunks_exact_mut(n * d).zip(qkv.chunks_exact(n * 3 * d)) {
            let all = MatrixRef::row_major(qkv, n, 3 * d);
            let mut scores = vec![0.0f32; n * n];
            for head in 0..h {
                let (q, k, v) =
                    (all.columns(head * dh, dh), all.columns(d + head * dh, dh), all.columns(2 * d + head * dh, dh));
                multiply(&mut scores, n, q, k.t(), scale, false);
                softmax_rows(&mut scores, n);
                let weights = MatrixRef::row_major(&scores, n, n);
                multiply(&mut heads[head * dh..], d, weights, v, 1.0, false);
            }
        }
        let attended = self.out_proj.apply(&heads, batch * n);
        x.iter_mut().zip(&attended).for_each(|(x, a)| *x += a);
        self.norm1.apply(x);
        let mut inner = self.linear1.apply(x, batch * n);
        gelu(&mut inner);
        let outer = self.linear2.apply(&inner, batch * n);
        x.iter_mut().zip(&outer).for_each(|(x, f)| *x += f);
        self.norm2.apply(x);
    }
}

/// The transformer's weights as plain numbers.
struct Weights {
    projection: Dense,
    class_token: Vec<f32>,
    positions: Vec<f32>,
    encoder: Vec<Encoder>,
    norm: Norm,
    head: Dense,
    patch: usize,
}

impl Weights {
    fn of(model: &SpecTransformer) -> Option<Self> {
        Some(Weights {
            projection: Dense::of(&model.projection)?,
            class_token: read(model.class_token.val())?,
            positions: read(model.positions.val())?,
            encoder: model.encoder.iter().map(Encoder::of).collect::<Option<_>>()?,
            norm: Norm::of(&model.norm)?,
            head: Dense::of(&model.head)?,
            patch: model.patch,
        })
    }

    /// Whether the sizes fit together for `tokens` tokens.
    fn consistent(&self, tokens: usize) -> bool {
        let d = self.projection.d_out;
        self.projection.d_in == self.patch * self.patch
            && self.class_token.len() == d
            && self.positions.len() >= tokens * d
            && self.head.d_in == d
            && self.encoder.iter().all(|e| e.out_proj.d_in == d && e.qkv.d_out == 3 * d && d.is_multiple_of(e.heads))
    }

    /// Logits `[items, classes]` for `input`, `items` spectrograms of `mels x frames`,
    /// on the calling thread.
    fn logits(&self, input: &[f32], items: usize, (mels, frames): (usize, usize)) -> Vec<f32> {
        let (p, d) = (self.patch, self.projection.d_out);
        let (gh, gw) = (mels.div_ceil(p), frames.div_ceil(p));
        let n = gh * gw + 1;
        // Patches, the input zero-padded to whole patches: patch (i, j) of an item is row
        // i * gw + j, its pixel (r, c) column r * p + c (the Burn path's reshape and permute).
        let mut patches = vec![0.0f32; items * (n - 1) * p * p];
        for (patches, item) in patches.chunks_exact_mut((n - 1) * p * p).zip(input.chunks_exact(mels * frames)) {
            for (index, patch) in patches.chunks_exact_mut(p * p).enumerate() {
                let (top, left) = ((index / gw) * p, (index % gw) * p);
                let width = p.min(frames.saturating_sub(left));
                for r in 0..p.min(mels.saturating_sub(top)) {
                    let from = (top + r) * frames + left;
                    patch[r * p..r * p + width].copy_from_slice(&item[from..from + width]);
                }
            }
        }
        let tokens = self.projection.apply(&patches, items * (n - 1));
        // [class token; patch tokens] + positions.
        let mut x = vec![0.0f32; items * n * d];
        for (rows, tokens) in x.chunks_exact_mut(n * d).zip(tokens.chunks_exact((n - 1) * d)) {
            rows[..d].copy_from_slice(&self.class_token);
            rows[d..].copy_from_slice(tokens);
            rows.iter_mut().zip(&self.positions[..n * d]).for_each(|(v, &pos)| *v += pos);
        }
        for layer in &self.encoder {
            layer.apply(&mut x, items, n);
        }
        // Only the class tokens reach the head.
        let mut classes: Vec<f32> = x.chunks_exact(n * d).flat_map(|rows| rows[..d].iter().copied()).collect();
        self.norm.apply(&mut classes);
        self.head.apply(&classes, items)
    }
}

/// Logits `[B, classes]` of `model` for `features [B, n_mels, frames]`, or `None` if a
/// weight cannot be read as `f32` (the caller then takes Burn's path). The batch is
/// split into one run of items per thread: each thread then does large products alone,
/// with no hand-offs between the many small steps.
pub(super) fn forward(model: &SpecTransformer, features: &Tensor<3>) -> Option<Tensor<2>> {
    let [batch, mels, frames] = features.dims();
    let weights = Weights::of(model)?;
    let p = weights.patch;
    if batch == 0 || !weights.consistent(mels.div_ceil(p) * frames.div_ceil(p) + 1) {
        return None;
    }
    let input = read(features.clone())?;
    let per_thread = batch.div_ceil(rayon::current_num_threads().max(1));
    let parts: Vec<Vec<f32>> = input
        .par_chunks(per_thread * mels * frames)
        .map(|part| weights.logits(part, part.len() / (mels * frames), (mels, frames)))
        .collect();
    let classes = weights.head.d_out;
    Some(Tensor::from_data(TensorData::new(parts.concat(), [batch, classes]), &features.device()))
}

// The elementwise functions, written without branches or library calls so that the
// compiler vectorises them: `expf` and `erff` from the C library, one value at a time,
// were half of this path's time (about 3.4 million calls for ten segments).

/// `e^x` to about 2 ulp for `x` in [-87, 88] (Cephes' `expf`: `x = n ln 2 + r`, a
/// degree-7 polynomial in `r`, `2^n` through the exponent bits); the input is clamped
/// to that range, so very negative `x` give about 1e-38 instead of 0.
#[inline(always)]
pub(super) fn exp(x: f32) -> f32 {
    // Adding 1.5 * 2^23 rounds to an integer n, which then sits in the low mantissa bits.
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let shifted = x * std::f32::consts::LOG2_E + ROUND;
    let n = shifted - ROUND;
    let r = x - n * 0.693_359_4 + n * 2.121_944_4e-4; // ln 2 in two parts
    let p = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r + 1.666_666_5e-1)
        * r
        + 0.5;
    let e = p * r * r + r + 1.0;
    // 2^n from the exponent bits; integer arithmetic only (a float-to-int cast would
    // saturate, which costs a compare and a select per value).
    let n_bits = shifted.to_bits().wrapping_sub(ROUND.to_bits());
    e * f32::from_bits(n_bits.wrapping_add(127) << 23)
}

/// `erf(x)` to 5e-7 (Abramowitz and Stegun 7.1.26: 1.5e-7, plus f32 rounding in `1 - r`), the approximation PyTorch's own
/// vectorised GELU uses on the CPU.
#[inline(always)]
pub(super) fn erf(x: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let r = ((((1.061_405_4 * t - 1.453_152_1) * t + 1.421_413_8) * t - 0.284_496_74) * t + 0.254_829_6) * t;
    (1.0 - r * exp(-a * a)).copysign(x)
}

/// GELU with the error function (PyTorch's default and Burn's), in place.
pub(super) fn gelu(values: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has the features `gelu_avx2` is compiled for.
        return unsafe { gelu_avx2(values) };
    }
    gelu_portable(values);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn gelu_avx2(values: &mut [f32]) {
    gelu_portable(values);
}

#[inline(always)]
fn gelu_portable(values: &mut [f32]) {
    values.iter_mut().for_each(|v| *v = 0.5 * *v * (1.0 + erf(*v * std::f32::consts::FRAC_1_SQRT_2)));
}

/// Softmax of each `n`-long row of `rows`, in place.
pub(super) fn softmax_rows(rows: &mut [f32], n: usize) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has the features `softmax_rows_avx2` is compiled for.
        return unsafe { softmax_rows_avx2(rows, n) };
    }
    softmax_rows_portable(rows, n);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn softmax_rows_avx2(rows: &mut [f32], n: usize) {
    softmax_rows_portable(rows, n);
}

#[inline(always)]
fn softmax_rows_portable(rows: &mut [f32], n: usize) {
    for row in rows.chunks_exact_mut(n.max(1)) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        row.iter_mut().for_each(|v| *v = exp(*v - max));
        let inverse = 1.0 / row.iter().sum::<f32>();
        row.iter_mut().for_each(|v| *v *= inverse);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_and_erf_match_the_c_library() {
        for i in -80_000..=80_000 {
            let x = i as f32 / 1000.0;
            let (ours, libm) = (exp(x), libm::expf(x));
            assert!(((ours - libm) / libm).abs() < 5e-7, "exp({x}): {ours} vs {libm}");
            if x.abs() <= 10.0 {
                let (ours, libm) = (erf(x), libm::erff(x));
                assert!((ours - libm).abs() < 5e-7, "erf({x}): {ours} vs {libm}");
            }
        }
        assert!(exp(-1000.0) < 1e-37 && exp(f32::NEG_INFINITY) < 1e-37);
        let mut row = [1.0, 2.0, f32::NEG_INFINITY, 3.0];
        softmax_rows(&mut row, 4);
        let e = [1.0f32, 1.0f32.exp(), 0.0, 2.0f32.exp()].map(|v| v / (1.0 + 1.0f32.exp() + 2.0f32.exp()));
        assert!(row.iter().zip(e).all(|(a, b)| (a - b).abs() < 1e-6), "{row:?}");
        // The dispatched GELU (AVX2 and FMA where the CPU has them) against libm's erf.
        let xs: Vec<f32> = (-10_000..=10_000).map(|i| i as f32 / 1000.0).collect();
        let mut values = xs.clone();
        gelu(&mut values);
        for (x, ours) in xs.iter().zip(values) {
            let exact = 0.5 * x * (1.0 + libm::erff(x * std::f32::consts::FRAC_1_SQRT_2));
            assert!((ours - exact).abs() < 5e-7 * x.abs().max(1.0), "gelu({x}): {ours} vs {exact}");
        }
    }
}
