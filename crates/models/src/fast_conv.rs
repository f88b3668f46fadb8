//! Inference-time 2-D convolution on the CPU, for the models' stride-1 convolutions.
//!
//! Burn's CPU backend convolves by converting the input to channels-last (one thread),
//! then building im2col tiles and multiplying each: in CRNN inference half the time
//! went to those loops and a third to the multiplication itself. [`conv2d`] builds the
//! im2col matrix straight from the channels-first input, a row copy at a time, and
//! multiplies it once per item ([`crate::matmul`]), items in parallel. It serves
//! evaluation on the `flex` device (no autodiff); anything else (training, a GPU, a
//! strided or grouped convolution) goes through Burn's own `Conv2d::forward`.

use burn::nn::conv::Conv2d;
use burn::nn::pool::MaxPool2d;
use burn::nn::{BatchNorm, PaddingConfig2d};
use burn::prelude::*;
use rayon::prelude::*;

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
    let plain_pool = pool.kernel_size == [2, 2]
        && pool.stride == [2, 2]
        && pool.dilation == [1, 1]
        && matches!(pool.padding, PaddingConfig2d::Valid)
        && !pool.ceil_mode;
    let fast = (plain_pool && fast_path_applies(conv, &x.device())).then(|| fold(norm)).flatten();
    match fast.and_then(|affine| fast_conv2d_pooled(conv, &x, Some(affine), true, true)) {
        Some(y) => y,
        None => pool.forward(conv2d_norm_relu(conv, norm, x)),
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
    let (top, left, bottom, right) = match conv.padding {
        PaddingConfig2d::Explicit(top, left, bottom, right) => (top, left, bottom, right),
        _ => (0, 0, 0, 0),
    };
    let [batch, channels, height, width] = x.dims();
    let [kernel_h, kernel_w] = conv.kernel_size;
    let (out_h, out_w) =
        ((height + top + bottom + 1).saturating_sub(kernel_h), (width + left + right + 1).saturating_sub(kernel_w));
    let input = x.clone().into_data().try_into_vec::<f32>().ok()?;
    let mut weight = conv.weight.val().into_data().try_into_vec::<f32>().ok()?;
    let k = channels * kernel_h * kernel_w;
    let outputs = weight.len() / k.max(1);
    let mut bias = match &conv.bias {
        Some(b) => b.val().into_data().try_into_vec::<f32>().ok()?,
        None => vec![0.0; outputs],
    };
    if let Some(Affine { scale, shift }) = &affine {
        for ((row, b), (&s, &t)) in weight.chunks_mut(k.max(1)).zip(bias.iter_mut()).zip(scale.iter().zip(shift)) {
            row.iter_mut().for_each(|w| *w *= s);
            *b = *b * s + t;
        }
    }
    // With these lengths checked, the per-item matrix views below fit their slices.
    if weight.len() != outputs * k || bias.len() != outputs || input.len() != batch * channels * height * width {
        return None;
    }
    let shape = Im2col { channels, height, width, kernel_h, kernel_w, top, left, out_h, out_w };
    let n = out_h * out_w;
    let (final_h, final_w) = if pool { (out_h / 2, out_w / 2) } else { (out_h, out_w) };
    let mut out = vec![0.0f32; batch * outputs * final_h * final_w];
    if n > 0 && k > 0 && final_h * final_w > 0 {
        out.par_chunks_mut(outputs * final_h * final_w).zip(input.par_chunks(channels * height * width)).for_each(
            |(out, item)| {
                let mut columns = vec![0.0f32; k * n];
                shape.fill(item, &mut columns);
                let mut full = if pool { vec![0.0f32; outputs * n] } else { Vec::new() };
                let target: &mut [f32] = if pool { &mut full } else { out };
                let (w, c) = (MatrixRef::row_major(&weight, outputs, k), MatrixRef::row_major(&columns, k, n));
                multiply(target, n, w, c, 1.0, false);
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
            },
        );
    }
    Some(Tensor::from_data(TensorData::new(out, [batch, outputs, final_h, final_w]), &device))
}

/// The im2col layout of one item: row `(c, i, j)` (kernel position `i, j` of channel
/// `c`) holds, for every output pixel, the input pixel under that kernel cell (zero in
/// the padding).
#[derive(Clone, Copy)]
struct Im2col {
    channels: usize,
    height: usize,
    width: usize,
    kernel_h: usize,
    kernel_w: usize,
    top: usize,
    left: usize,
    out_h: usize,
    out_w: usize,
}

impl Im2col {
    fn fill(&self, item: &[f32], columns: &mut [f32]) {
        let n = self.out_h * self.out_w;
        let mut rows = columns.chunks_exact_mut(n);
        for c in 0..self.channels {
            let plane = &item[c * self.height * self.width..(c + 1) * self.height * self.width];
            for i in 0..self.kernel_h {
                for j in 0..self.kernel_w {
                    let Some(row) = rows.next() else { return };
                    // Output column x reads input column x + j - left: valid for x in
                    // [left - j, left - j + width), clipped to the output.
                    let x_start = self.left.saturating_sub(j).min(self.out_w);
                    let x_end = (self.left + self.width).saturating_sub(j).min(self.out_w).max(x_start);
                    for y in 0..self.out_h {
                        let line = &mut row[y * self.out_w..(y + 1) * self.out_w];
                        let source_y = (y + i).checked_sub(self.top).filter(|&s| s < self.height);
                        match source_y {
                            Some(sy) => {
                                line[..x_start].fill(0.0);
                                let from = sy * self.width + x_start + j - self.left;
                                line[x_start..x_end].copy_from_slice(&plane[from..from + (x_end - x_start)]);
                                line[x_end..].fill(0.0);
                            }
                            None => line.fill(0.0),
                        }
                    }
                }
            }
        }
    }
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
