//! The training block's arithmetic on plain `f32` slices (NCHW): the forward pass of
//! convolution, batch norm with the batch's statistics, ReLU and a 2 x 2 max pool, and
//! its exact gradient.
//!
//! Forward, per item (items in parallel): im2col and one product, the bias added and
//! the channels' sums taken while the item is in cache; then the variance; then one pass
//! that normalises, applies the ReLU and pools, keeping for each pooled value which of
//! its four inputs won. Kept for the backward pass: the convolution's output and the
//! winners (one byte per pooled value).
//!
//! Backward, with `y` the convolution's output, `ŷ = (y - mean) / σ` and `z = γ ŷ + β`:
//! the pool and the ReLU pass the gradient `g` only to winners with `z > 0` (`dz`);
//! batch norm's gradient is `dy = γ/σ · (dz - mean(dz) - ŷ · mean(dz ŷ))`, `dγ = Σ dz ŷ`,
//! `dβ = Σ dz`; and the convolution's is `dW = Σ_items dy · columnsᵀ`, `db = Σ dy`, and
//! the input's the columns' gradient `Wᵀ · dy` added back through col2im.

use rayon::prelude::*;

use crate::im2col::Im2col;
use crate::matmul::{MatrixRef, multiply};

/// The shape of one block's input and convolution.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct BlockShape {
    pub batch: usize,
    pub outputs: usize,
    pub im2col: Im2col,
}

impl BlockShape {
    /// Rows of the im2col matrix: `channels * kernel_h * kernel_w`.
    pub fn k(&self) -> usize {
        self.im2col.channels * self.im2col.kernel_h * self.im2col.kernel_w
    }

    /// Pixels of one output plane.
    fn n(&self) -> usize {
        self.im2col.out_h * self.im2col.out_w
    }

    fn item_len(&self) -> usize {
        self.im2col.channels * self.im2col.height * self.im2col.width
    }

    /// Height and width after pooling.
    pub fn pooled(&self) -> (usize, usize) {
        (self.im2col.out_h / 2, self.im2col.out_w / 2)
    }
}

/// The forward pass's results.
#[derive(Debug)]
pub(crate) struct Forward {
    /// `[B, C, H/2, W/2]`.
    pub pooled: Vec<f32>,
    /// The batch's mean and biased variance per channel.
    pub mean: Vec<f32>,
    pub variance: Vec<f32>,
    /// What the backward pass needs.
    pub saved: Saved,
}

/// The forward pass's intermediates the gradient needs.
#[derive(Debug)]
pub(crate) struct Saved {
    /// The convolution's output `[B, C, H, W]`, before the norm.
    conv: Vec<f32>,
    /// Per channel: `γ/σ`, `β - mean γ/σ` (so `z = y * scale + shift`) and `1/σ`.
    scale: Vec<f32>,
    shift: Vec<f32>,
    inv_std: Vec<f32>,
    mean: Vec<f32>,
    /// Per pooled value, which of its 2 x 2 inputs (row-major) won.
    winner: Vec<u8>,
}

/// The gradients of the block's inputs and parameters.
#[derive(Debug)]
pub(crate) struct BlockGradients {
    /// `None` when not asked for.
    pub input: Option<Vec<f32>>,
    pub weight: Vec<f32>,
    pub bias: Vec<f32>,
    pub gamma: Vec<f32>,
    pub beta: Vec<f32>,
}

/// The parameters, flat: weight `[outputs, k]`, the rest `[outputs]`.
#[derive(Clone, Copy)]
pub(crate) struct Parameters<'a> {
    pub weight: &'a [f32],
    pub bias: &'a [f32],
    pub gamma: &'a [f32],
    pub beta: &'a [f32],
}

/// Items per group in the weights' gradient.
const GROUP: usize = 4;

thread_local! {
    /// A thread's im2col matrix and product scratch, kept between items and calls.
    static SCRATCH: std::cell::RefCell<(Vec<f32>, Vec<f32>)> = std::cell::RefCell::default();
}

/// The block's forward pass in training mode (batch statistics).
///
/// # Panics
/// If the slices' lengths disagree with `shape`.
pub(crate) fn forward(x: &[f32], p: Parameters<'_>, epsilon: f64, shape: &BlockShape) -> Forward {
    let (batch, outputs, k, n) = (shape.batch, shape.outputs, shape.k(), shape.n());
    assert_eq!(x.len(), batch * shape.item_len(), "input length");
    assert!(p.weight.len() == outputs * k && [p.bias, p.gamma, p.beta].iter().all(|v| v.len() == outputs));
    let mut conv = vec![0.0f32; batch * outputs * n];
    // Per item and channel, the sum of the convolution's output.
    let mut sums = vec![0.0f64; batch * outputs];
    conv.par_chunks_mut(outputs * n).zip(sums.par_chunks_mut(outputs)).zip(x.par_chunks(shape.item_len())).for_each(
        |((out, sums), item)| {
            SCRATCH.with_borrow_mut(|(columns, _)| {
                columns.resize(k * n, 0.0);
                shape.im2col.fill(item, columns);
                multiply(
                    out,
                    n,
                    MatrixRef::row_major(p.weight, outputs, k),
                    MatrixRef::row_major(columns, k, n),
                    1.0,
                    false,
                );
            });
            for ((row, &b), sum) in out.chunks_exact_mut(n).zip(p.bias).zip(sums) {
                row.iter_mut().for_each(|v| *v += b);
                *sum = row.iter().map(|&v| f64::from(v)).sum();
            }
        },
    );
    let count = (batch * n) as f64;
    let mean: Vec<f64> = (0..outputs).map(|c| (0..batch).map(|b| sums[b * outputs + c]).sum::<f64>() / count).collect();
    // Per item, then added in item order: the same bits whatever the threads did.
    let squares: Vec<Vec<f64>> = conv
        .par_chunks(outputs * n)
        .map(|item| {
            item.chunks_exact(n)
                .zip(&mean)
                .map(|(row, &m)| row.iter().map(|&v| (f64::from(v) - m).powi(2)).sum())
                .collect()
        })
        .collect();
    let squares: Vec<f64> = (0..outputs).map(|c| squares.iter().map(|item| item[c]).sum()).collect();
    let variance: Vec<f64> = squares.iter().map(|s| s / count).collect();
    let inv_std: Vec<f64> = variance.iter().map(|v| 1.0 / (v + epsilon).sqrt()).collect();
    let scale: Vec<f32> = inv_std.iter().zip(p.gamma).map(|(&s, &g)| (s * f64::from(g)) as f32).collect();
    let shift: Vec<f32> =
        mean.iter().zip(&scale).zip(p.beta).map(|((&m, &s), &b)| (f64::from(b) - m * f64::from(s)) as f32).collect();

    let (pooled_h, pooled_w) = shape.pooled();
    let plane = pooled_h * pooled_w;
    let mut pooled = vec![0.0f32; batch * outputs * plane];
    let mut winner = vec![0u8; pooled.len()];
    let out_w = shape.im2col.out_w;
    pooled.par_chunks_mut(plane.max(1)).zip(winner.par_chunks_mut(plane.max(1))).enumerate().for_each(
        |(index, (pooled, winner))| {
            let channel = index % outputs;
            let (s, t) = (scale[channel], shift[channel]);
            let source = &conv[index * n..(index + 1) * n];
            for y in 0..pooled_h {
                let (upper, lower) = (&source[2 * y * out_w..], &source[(2 * y + 1) * out_w..]);
                for x in 0..pooled_w {
                    let window = [upper[2 * x], upper[2 * x + 1], lower[2 * x], lower[2 * x + 1]];
                    let (mut best, mut at) = ((window[0] * s + t).max(0.0), 0u8);
                    for (i, &v) in window.iter().enumerate().skip(1) {
                        let r = (v * s + t).max(0.0);
                        if r > best {
                            (best, at) = (r, i as u8);
                        }
                    }
                    pooled[y * pooled_w + x] = best;
                    winner[y * pooled_w + x] = at;
                }
            }
        },
    );
    let to_f32 = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
    Forward {
        pooled,
        mean: to_f32(&mean),
        variance: to_f32(&variance),
        saved: Saved { conv, scale, shift, inv_std: to_f32(&inv_std), mean: to_f32(&mean), winner },
    }
}

/// Where a winner sits in its item's output plane.
fn winner_offset(y: usize, x: usize, at: u8, out_w: usize) -> usize {
    (2 * y + usize::from(at >> 1)) * out_w + 2 * x + usize::from(at & 1)
}

/// The gradients of the block, from `grad` (the gradient of the pooled output).
/// `input_gradient`: whether to compute the input's (not for a model's first block).
///
/// # Panics
/// If the slices' lengths disagree with `shape`.
pub(crate) fn backward(
    grad: &[f32],
    x: &[f32],
    p: Parameters<'_>,
    saved: &Saved,
    shape: &BlockShape,
    input_gradient: bool,
) -> BlockGradients {
    let (batch, outputs, k, n) = (shape.batch, shape.outputs, shape.k(), shape.n());
    let (pooled_h, pooled_w) = shape.pooled();
    let plane = pooled_h * pooled_w;
    let out_w = shape.im2col.out_w;
    assert_eq!(grad.len(), batch * outputs * plane, "gradient length");
    let Saved { conv, scale, shift, inv_std, mean, winner } = saved;
    // The ReLU's gradient at a winner: `g` where `z > 0`.
    let dz = |index: usize, y: usize, x: usize| -> Option<(f32, usize)> {
        let channel = index % outputs;
        let at = y * pooled_w + x;
        let offset = winner_offset(y, x, winner[index * plane + at], out_w);
        let v = conv[index * n + offset];
        (v * scale[channel] + shift[channel] > 0.0).then_some((grad[index * plane + at], offset))
    };
    // Per item and channel, Σ dz and Σ dz ŷ; then per channel, added in item order.
    let planes: Vec<(f64, f64)> = (0..batch * outputs)
        .into_par_iter()
        .map(|index| {
            let channel = index % outputs;
            let mut sums = (0.0f64, 0.0f64);
            for y in 0..pooled_h {
                for x in 0..pooled_w {
                    if let Some((g, offset)) = dz(index, y, x) {
                        let normalised = (conv[index * n + offset] - mean[channel]) * inv_std[channel];
                        sums.0 += f64::from(g);
                        sums.1 += f64::from(g * normalised);
                    }
                }
            }
            sums
        })
        .collect();
    let mut sums = vec![0.0f64; 2 * outputs];
    for (index, (dz, dz_normalised)) in planes.iter().enumerate() {
        sums[2 * (index % outputs)] += dz;
        sums[2 * (index % outputs) + 1] += dz_normalised;
    }
    let count = (batch * n) as f64;
    let beta: Vec<f32> = (0..outputs).map(|c| sums[2 * c] as f32).collect();
    let gamma: Vec<f32> = (0..outputs).map(|c| sums[2 * c + 1] as f32).collect();
    // dy = k (dz - a - ŷ b) with k = γ/σ, a = mean(dz), b = mean(dz ŷ): per channel,
    // dy = dz k + (y - mean) u + w, with u = -k b / σ and w = -k a.
    let slope: Vec<f32> =
        (0..outputs).map(|c| (-f64::from(scale[c]) * sums[2 * c + 1] / count * f64::from(inv_std[c])) as f32).collect();
    let offset: Vec<f32> = (0..outputs).map(|c| (-f64::from(scale[c]) * sums[2 * c] / count) as f32).collect();

    let mut input = input_gradient.then(|| vec![0.0f32; batch * shape.item_len()]);
    let item_gradients = |item: usize, input: Option<&mut [f32]>, weight: &mut Vec<f32>, bias: &mut Vec<f64>| {
        SCRATCH.with_borrow_mut(|(columns, dy)| {
            dy.resize(outputs * n, 0.0);
            for (channel, row) in dy.chunks_exact_mut(n).enumerate() {
                let index = item * outputs + channel;
                let (m, u, w) = (mean[channel], slope[channel], offset[channel]);
                for (d, &v) in row.iter_mut().zip(&conv[index * n..(index + 1) * n]) {
                    *d = (v - m) * u + w;
                }
                for y in 0..pooled_h {
                    for x in 0..pooled_w {
                        if let Some((g, at)) = dz(index, y, x) {
                            row[at] += g * scale[channel];
                        }
                    }
                }
                bias[channel] += row.iter().map(|&v| f64::from(v)).sum::<f64>();
            }
            columns.resize(k * n, 0.0);
            shape.im2col.fill(&x[item * shape.item_len()..(item + 1) * shape.item_len()], columns);
            let dy_matrix = MatrixRef::row_major(dy, outputs, n);
            multiply(weight, k, dy_matrix, MatrixRef::row_major(columns, k, n).t(), 1.0, true);
            if let Some(input) = input {
                multiply(columns, n, MatrixRef::row_major(p.weight, outputs, k).t(), dy_matrix, 1.0, false);
                shape.im2col.add_columns(columns, input);
            }
        })
    };
    // Items in fixed groups, each group's sums in item order and the groups' added in
    // group order: the weights' gradient has the same bits whatever the threads did
    // (training resumes bit-identically).
    let group_gradients = |group: usize, mut input: Option<&mut [f32]>| {
        let (mut weight, mut bias) = (vec![0.0f32; outputs * k], vec![0.0f64; outputs]);
        for item in group * GROUP..((group + 1) * GROUP).min(batch) {
            let offset = (item - group * GROUP) * shape.item_len();
            let input = input.as_deref_mut().map(|chunk| &mut chunk[offset..offset + shape.item_len()]);
            item_gradients(item, input, &mut weight, &mut bias);
        }
        (weight, bias)
    };
    let groups: Vec<(Vec<f32>, Vec<f64>)> = match input.as_mut() {
        Some(input) => input
            .par_chunks_mut(GROUP * shape.item_len())
            .enumerate()
            .map(|(group, chunk)| group_gradients(group, Some(chunk)))
            .collect(),
        None => (0..batch.div_ceil(GROUP)).into_par_iter().map(|group| group_gradients(group, None)).collect(),
    };
    let (mut weight, mut bias) = (vec![0.0f32; outputs * k], vec![0.0f64; outputs]);
    for (w, b) in &groups {
        weight.iter_mut().zip(w).for_each(|(total, v)| *total += v);
        bias.iter_mut().zip(b).for_each(|(total, v)| *total += v);
    }
    BlockGradients { input, weight, bias: bias.iter().map(|&v| v as f32).collect(), gamma, beta }
}
