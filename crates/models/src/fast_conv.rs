//! Inference-time 2-D convolution on the CPU, for the models' stride-1 convolutions.
//!
//! Burn's CPU backend convolves by converting the input to channels-last (one thread),
//! then building im2col tiles and multiplying each: in CRNN inference half the time
//! went to those loops and a third to the multiplication itself. [`conv2d`] builds the
//! im2col matrix straight from the channels-first input, a row copy at a time, and
//! multiplies it once per item ([`crate::matmul`]), items in parallel. It serves
//! evaluation on the `flex` device (no autodiff); anything else (training, a GPU, a
//! strided or grouped convolution) goes through Burn's own `Conv2d::forward`.
//!
//! musicnn's front end (convolution, ReLU, batch norm, maximum over mels) is one pass
//! here ([`conv2d_relu_norm_max`]): each item's product goes into a buffer the thread
//! reuses and only each row's extreme is kept, where the layers one after another wrote
//! and re-read a 9 MB map per segment and block four times (the default model went from
//! 0.53 to 0.27 s per 30 s track, `docs/benchmarks.md`).

use burn::nn::conv::Conv2d;
use burn::nn::pool::MaxPool2d;
use burn::nn::{BatchNorm, PaddingConfig2d};
use burn::prelude::*;
use rayon::prelude::*;

use crate::im2col::Im2col;
use crate::matmul::{MatrixRef, multiply};

/// `conv.forward(x)`, computed by this module when it can (see the module's
/// documentation); the two agree to float rounding.
pub fn conv2d(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    match fast_conv2d(conv, &x, None, false) {
        Some(y) => y,
        None => conv.forward(x),
    }
}

/// `relu(norm(conv(x)))` for a batch norm in evaluation mode. On the fast path the norm
/// is folded into the convolution (each output channel's weights and bias scaled by
/// `gamma / sqrt(var + eps)`, then shifted) and the ReLU applied as the bias is added,
/// so the activation is written once instead of once per elementwise operation.
pub fn conv2d_norm_relu(conv: &Conv2d, norm: &BatchNorm, x: Tensor<4>) -> Tensor<4> {
    let fast = fast_path_applies(conv, &x.device()).then(|| fold(norm)).flatten();
    match fast.and_then(|affine| fast_conv2d(conv, &x, Some(affine), true)) {
        Some(y) => y,
        None => burn::tensor::activation::relu(norm.forward(conv.forward(x))),
    }
}

/// `max_pool_2x2(relu(norm(conv(x))))`: [`conv2d_norm_relu`] with the pooling done as
/// the result is written (`pool` must be a 2 x 2, stride 2, unpadded max pool; other
/// pools, and anything off the fast path, go through Burn's layers).
pub fn conv2d_norm_relu_pool(conv: &Conv2d, norm: &BatchNorm, pool: &MaxPool2d, x: Tensor<4>) -> Tensor<4> {
    let fast = (is_plain_2x2(pool) && fast_path_applies(conv, &x.device())).then(|| fold(norm)).flatten();
    match fast.and_then(|affine| fast_conv2d_pooled(conv, &x, Some(affine), true, true)) {
        Some(y) => y,
        None => pool.forward(conv2d_norm_relu(conv, norm, x)),
    }
}

/// Whether `pool` is a 2 x 2, stride 2, unpadded max pool (odd edges dropped).
pub(crate) fn is_plain_2x2(pool: &MaxPool2d) -> bool {
    pool.kernel_size == [2, 2]
        && pool.stride == [2, 2]
        && pool.dilation == [1, 1]
        && matches!(pool.padding, PaddingConfig2d::Valid)
        && !pool.ceil_mode
}

/// `max over the last axis of norm(relu(conv(x)))`, `[B, C, H, W]` to `[B, C, H]`: a
/// musicnn front-end block. On the fast path only each row's largest and smallest
/// convolution output are kept: ReLU and a per-channel `scale * v + shift` are monotone
/// in `v` (increasing where `scale >= 0`, decreasing where not), so the row's maximum
/// after them is the image of its maximum (or minimum) before. The `[C, H, W]` map of an
/// item is never written out, only one row of it at a time.
pub fn conv2d_relu_norm_max(conv: &Conv2d, norm: &BatchNorm, x: Tensor<4>) -> Tensor<3> {
    let fast = fast_path_applies(conv, &x.device()).then(|| fold(norm)).flatten();
    match fast.and_then(|affine| fast_conv2d_row_max(conv, &x, &affine)) {
        Some(y) => y,
        None => {
            let y = norm.forward(burn::tensor::activation::relu(conv2d(conv, x)));
            let [b, c, h, _] = y.dims();
            y.max_dim(3).reshape([b, c, h])
        }
    }
}

/// Per output channel `y * scale + shift`, applied to the convolution's output.
struct Affine {
    scale: Vec<f32>,
    shift: Vec<f32>,
}

/// A batch norm in evaluation mode as a per-channel scale and shift.
fn fold(norm: &BatchNorm) -> Option<Affine> {
    let read = |t: Tensor<1>| t.into_data().try_into_vec::<f32>().ok();
    let (gamma, beta) = (read(norm.gamma.val())?, read(norm.beta.val())?);
    let (mean, var) = (read(norm.running_mean.value())?, read(norm.running_var.value())?);
    let scale: Vec<f32> =
        gamma.iter().zip(&var).map(|(&g, &v)| (f64::from(g) / (f64::from(v) + norm.epsilon).sqrt()) as f32).collect();
    let shift = beta.iter().zip(&mean).zip(&scale).map(|((&b, &m), &s)| b - m * s).collect();
    Some(Affine { scale, shift })
}

fn fast_path_applies(conv: &Conv2d, device: &Device) -> bool {
    !device.is_autodiff()
        && *device == Device::flex()
        && conv.stride == [1, 1]
        && conv.dilation == [1, 1]
        && conv.groups == 1
        && !matches!(conv.padding, PaddingConfig2d::Same)
}

/// The convolution by im2col and one product per item, then `affine` and `relu` if
/// asked; `None` where the fast path does not apply.
fn fast_conv2d(conv: &Conv2d, x: &Tensor<4>, affine: Option<Affine>, relu: bool) -> Option<Tensor<4>> {
    fast_conv2d_pooled(conv, x, affine, relu, false)
}

/// [`fast_conv2d`], then optionally a 2 x 2 max pool with stride 2 (odd edges dropped,
/// as PyTorch's and Burn's `MaxPool2d(2)`).
fn fast_conv2d_pooled(
    conv: &Conv2d,
    x: &Tensor<4>,
    affine: Option<Affine>,
    relu: bool,
    pool: bool,
) -> Option<Tensor<4>> {
    let device = x.device();
    if !fast_path_applies(conv, &device) {
        return None;
    }
    let Prepared { input, mut weight, mut bias, shape, batch, outputs, k } = prepare(conv, x)?;
    if let Some(Affine { scale, shift }) = &affine {
        for ((row, b), (&s, &t)) in weight.chunks_mut(k.max(1)).zip(bias.iter_mut()).zip(scale.iter().zip(shift)) {
            row.iter_mut().for_each(|w| *w *= s);
            *b = *b * s + t;
        }
    }
    let (channels, height, width, out_h, out_w) = (shape.channels, shape.height, shape.width, shape.out_h, shape.out_w);
    let n = out_h * out_w;
    let (final_h, final_w) = if pool { (out_h / 2, out_w / 2) } else { (out_h, out_w) };
    let mut out = vec![0.0f32; batch * outputs * final_h * final_w];
    if n > 0 && k > 0 && final_h * final_w > 0 {
        out.par_chunks_mut(outputs * final_h * final_w).zip(input.par_chunks(channels * height * width)).for_each(
            |(out, item)| {
                THREAD_BUFFERS.with_borrow_mut(|buffers| {
                    let Buffers { columns, padded, full } = buffers;
                    let c = im2col(columns, padded, &shape, item, k);
                    let target: &mut [f32] = if pool {
                        full.resize(outputs * n, 0.0);
                        full
                    } else {
                        out
                    };
                    multiply(target, n, MatrixRef::row_major(&weight, outputs, k), c, 1.0, false);
                    for (row, &b) in target.chunks_exact_mut(n).zip(&bias) {
                        if relu {
                            row.iter_mut().for_each(|v| *v = (*v + b).max(0.0));
                        } else {
                            row.iter_mut().for_each(|v| *v += b);
                        }
                    }
                    if pool {
                        for (plane, pooled) in full.chunks_exact(n).zip(out.chunks_exact_mut(final_h * final_w)) {
                            for (y, line) in pooled.chunks_exact_mut(final_w).enumerate() {
                                let (upper, lower) = (&plane[2 * y * out_w..], &plane[(2 * y + 1) * out_w..]);
                                for (x, p) in line.iter_mut().enumerate() {
                                    *p = upper[2 * x].max(upper[2 * x + 1]).max(lower[2 * x]).max(lower[2 * x + 1]);
                                }
                            }
                        }
                    }
                })
            },
        );
    }
    Some(Tensor::from_data(TensorData::new(out, [batch, outputs, final_h, final_w]), &device))
}

/// The weights, bias and im2col shape of `conv` on `x`, read once.
struct Prepared {
    input: Vec<f32>,
    weight: Vec<f32>,
    bias: Vec<f32>,
    shape: Im2col,
    batch: usize,
    outputs: usize,
    k: usize,
}

fn prepare(conv: &Conv2d, x: &Tensor<4>) -> Option<Prepared> {
    let padding = match conv.padding {
        PaddingConfig2d::Explicit(top, left, bottom, right) => (top, left, bottom, right),
        _ => (0, 0, 0, 0),
    };
    let weight = conv.weight.val().into_data().try_into_vec::<f32>().ok()?;
    let bias = conv.bias.as_ref().map(|b| b.val().into_data().try_into_vec::<f32>()).transpose().ok()?;
    prepare_parts(weight, bias, conv.kernel_size, padding, x)
}

/// [`prepare`] from the weights (`[outputs, channels, kernel_h, kernel_w]`, flat), the
/// bias, the kernel and the padding `(top, left, bottom, right)`.
fn prepare_parts(
    weight: Vec<f32>,
    bias: Option<Vec<f32>>,
    [kernel_h, kernel_w]: [usize; 2],
    (top, left, bottom, right): (usize, usize, usize, usize),
    x: &Tensor<4>,
) -> Option<Prepared> {
    let [batch, channels, height, width] = x.dims();
    let (out_h, out_w) =
        ((height + top + bottom + 1).saturating_sub(kernel_h), (width + left + right + 1).saturating_sub(kernel_w));
    let input = x.clone().into_data().try_into_vec::<f32>().ok()?;
    let k = channels * kernel_h * kernel_w;
    let outputs = weight.len() / k.max(1);
    let bias = bias.unwrap_or_else(|| vec![0.0; outputs]);
    // With these lengths checked, the per-item matrix views fit their slices.
    if weight.len() != outputs * k || bias.len() != outputs || input.len() != batch * channels * height * width {
        return None;
    }
    let shape = Im2col { channels, height, width, kernel_h, kernel_w, top, left, out_h, out_w };
    Some(Prepared { input, weight, bias, shape, batch, outputs, k })
}

/// [`conv2d_relu_norm_max`]'s fast path: per item, the product into a buffer of the
/// thread's own (kept between calls, so that neither it nor the im2col matrix is
/// cleared again: a fresh pair per item had `memset` at 7 % of the tagger), then each
/// row reduced.
fn fast_conv2d_row_max(conv: &Conv2d, x: &Tensor<4>, affine: &Affine) -> Option<Tensor<3>> {
    let Prepared { input, weight, bias, shape, batch, outputs, k } = prepare(conv, x)?;
    let (out_h, out_w) = (shape.out_h, shape.out_w);
    let n = out_h * out_w;
    let mut out = vec![0.0f32; batch * outputs * out_h];
    let item_len = shape.channels * shape.height * shape.width;
    if n > 0 && k > 0 && affine.scale.len() == outputs && affine.shift.len() == outputs {
        out.par_chunks_mut(outputs * out_h).zip(input.par_chunks(item_len)).for_each(|(out, item)| {
            THREAD_BUFFERS.with_borrow_mut(|buffers| {
                let Buffers { columns, padded, full } = buffers;
                full.resize(outputs * n, 0.0);
                let c = im2col(columns, padded, &shape, item, k);
                multiply(full, n, MatrixRef::row_major(&weight, outputs, k), c, 1.0, false);
                for (channel, (plane, pooled)) in full.chunks_exact(n).zip(out.chunks_exact_mut(out_h)).enumerate() {
                    let (b, scale, shift) = (bias[channel], affine.scale[channel], affine.shift[channel]);
                    for (row, value) in plane.chunks_exact(out_w).zip(pooled.iter_mut()) {
                        let extreme = if scale >= 0.0 { row_max(row) } else { -row_max_negated(row) };
                        *value = (extreme + b).max(0.0) * scale + shift;
                    }
                }
            })
        });
    }
    Some(Tensor::from_data(TensorData::new(out, [batch, outputs, out_h]), &x.device()))
}

/// A thread's working buffers, kept between items and calls: the im2col matrix, the
/// time-padded input (for [`Im2col::padded_in_time`]) and the product before pooling.
#[derive(Default)]
struct Buffers {
    columns: Vec<f32>,
    padded: Vec<f32>,
    full: Vec<f32>,
}

thread_local! {
    static THREAD_BUFFERS: std::cell::RefCell<Buffers> = std::cell::RefCell::default();
}

/// The im2col matrix (`k` rows) of `item`: a view of its time-padded copy in
/// `padded` where the shape allows, else written to `columns`.
fn im2col<'a>(
    columns: &'a mut Vec<f32>,
    padded: &'a mut Vec<f32>,
    shape: &Im2col,
    item: &[f32],
    k: usize,
) -> MatrixRef<'a> {
    let n = shape.out_h * shape.out_w;
    match shape.padded_in_time(item, padded) {
        Some(row_stride) => MatrixRef::strided(padded, k, n, row_stride),
        None => {
            // Every value is written by `fill`; only a longer matrix clears new memory.
            columns.resize(k * n, 0.0);
            shape.fill(item, columns);
            MatrixRef::row_major(columns, k, n)
        }
    }
}

/// Lanes of the row reductions: independent maxima the compiler keeps in one vector.
const LANES: usize = 16;

/// The largest value of `row` (the convolution's outputs are finite). Sixteen running
/// maxima, one per lane, so that the loop vectorises (a single running maximum is a
/// chain of dependent comparisons).
fn row_max(row: &[f32]) -> f32 {
    row_max_of(row, |v| v)
}

/// The largest value of `-row`, i.e. minus the row's smallest, as [`row_max`].
fn row_max_negated(row: &[f32]) -> f32 {
    row_max_of(row, |v| -v)
}

#[inline(always)]
fn row_max_of(row: &[f32], value: impl Fn(f32) -> f32) -> f32 {
    let larger = |m: f32, v: f32| if v > m { v } else { m };
    let mut lanes = [f32::NEG_INFINITY; LANES];
    let mut chunks = row.chunks_exact(LANES);
    for chunk in &mut chunks {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            *lane = larger(*lane, value(v));
        }
    }
    let rest = chunks.remainder().iter().fold(f32::NEG_INFINITY, |m, &v| larger(m, value(v)));
    lanes.iter().fold(rest, |m, &v| larger(m, v))
}

#[cfg(test)]
mod tests {
    use burn::nn::PaddingConfig2d;
    use burn::nn::conv::Conv2dConfig;
    use burn::tensor::Distribution;

    use super::*;

    fn max_difference(a: Tensor<4>, b: Tensor<4>) -> f32 {
        assert_eq!(a.dims(), b.dims());
        (a - b).abs().max().into_scalar()
    }

    #[test]
    fn equals_burn_s_convolution_for_the_models_shapes() {
        let device = Device::flex();
        device.seed(3);
        let cases = [
            // CRNN 3 x 3 "same", musicnn's asymmetric "same" timbral and temporal filters,
            // a valid (unpadded) kernel wider than tall, no bias.
            (Conv2dConfig::new([4, 8], [3, 3]).with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1)), [3, 4, 17, 13]),
            (Conv2dConfig::new([1, 6], [7, 5]).with_padding(PaddingConfig2d::Explicit(3, 0, 3, 0)), [2, 1, 20, 9]),
            (Conv2dConfig::new([1, 5], [8, 1]).with_padding(PaddingConfig2d::Explicit(3, 0, 4, 0)), [2, 1, 19, 6]),
            (Conv2dConfig::new([2, 3], [2, 4]).with_bias(false), [1, 2, 6, 9]),
        ];
        for (config, shape) in cases {
            let conv = config.init(&device);
            let x = Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), &device);
            let difference = max_difference(conv2d(&conv, x.clone()), conv.forward(x));
            assert!(difference < 1e-5, "{shape:?}: {difference}");
        }
    }

    #[test]
    fn the_row_max_of_relu_then_norm_equals_burn_s_layers_for_either_sign_of_gamma() {
        let device = Device::flex();
        device.seed(9);
        // musicnn's timbral block shape, small: [B, 1, T, M], kernel 7 x 5, time padded 3;
        // and a temporal block's, a kernel one mel wide, time padded 3 above and 4 below
        // (read through the overlapping-rows view, no im2col matrix).
        for (kernel, padding) in
            [([7, 5], PaddingConfig2d::Explicit(3, 0, 3, 0)), ([8, 1], PaddingConfig2d::Explicit(3, 0, 4, 0))]
        {
            let conv = Conv2dConfig::new([1, 6], kernel).with_padding(padding).init(&device);
            let mut norm = burn::nn::BatchNormConfig::new(6).init(&device);
            let random = |low: f64, high: f64| Tensor::<1>::random([6], Distribution::Uniform(low, high), &device);
            // Half the channels with a negative scale: their maximum comes from the row's minimum.
            norm.gamma =
                burn::module::Param::from_tensor(Tensor::from_floats([1.2, -0.7, 0.4, -1.5, 0.9, -0.2], &device));
            norm.beta = burn::module::Param::from_tensor(random(-0.5, 0.5));
            norm.running_mean = burn::module::RunningState::new(random(-0.3, 0.3));
            norm.running_var = burn::module::RunningState::new(random(0.5, 2.0));
            let x = Tensor::<4>::random([3, 1, 20, 11], Distribution::Normal(0.0, 1.0), &device);
            let map = norm.forward(burn::tensor::activation::relu(conv.forward(x.clone())));
            let [b, c, h, _] = map.dims();
            let expected = map.max_dim(3).reshape([b, c, h]);
            let fused = conv2d_relu_norm_max(&conv, &norm, x);
            assert_eq!(fused.dims(), expected.dims());
            let difference: f32 = (fused - expected).abs().max().into_scalar();
            assert!(difference < 1e-5, "kernel {kernel:?}: {difference}");
        }
    }

    #[test]
    fn the_folded_norm_and_relu_equal_burn_s_layers() {
        let device = Device::flex();
        device.seed(5);
        let conv = Conv2dConfig::new([3, 6], [3, 3]).with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1)).init(&device);
        let mut norm = burn::nn::BatchNormConfig::new(6).init(&device);
        let random = |low: f64, high: f64| Tensor::<1>::random([6], Distribution::Uniform(low, high), &device);
        norm.gamma = burn::module::Param::from_tensor(random(0.5, 1.5));
        norm.beta = burn::module::Param::from_tensor(random(-0.5, 0.5));
        norm.running_mean = burn::module::RunningState::new(random(-0.3, 0.3));
        norm.running_var = burn::module::RunningState::new(random(0.5, 2.0));
        let x = Tensor::<4>::random([2, 3, 11, 9], Distribution::Normal(0.0, 1.0), &device);
        let expected = burn::tensor::activation::relu(norm.forward(conv.forward(x.clone())));
        let difference = max_difference(conv2d_norm_relu(&conv, &norm, x.clone()), expected.clone());
        assert!(difference < 1e-5, "{difference}");
        // With the pooling (odd height and width: the last row and column are dropped).
        let pool = burn::nn::pool::MaxPool2dConfig::new([2, 2]).init();
        let difference = max_difference(conv2d_norm_relu_pool(&conv, &norm, &pool, x), pool.forward(expected));
        assert!(difference < 1e-5, "{difference}");
    }

    #[test]
    fn training_goes_through_burn() {
        let device = Device::flex().autodiff();
        let conv = Conv2dConfig::new([1, 2], [3, 3]).init(&device);
        let x = Tensor::<4>::ones([1, 1, 5, 5], &device).require_grad();
        let y = conv2d(&conv, x.clone());
        let grads = y.sum().backward();
        assert!(x.grad(&grads).is_some());
    }
}
