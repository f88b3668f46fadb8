//! Inference-time 2-D convolution on the CPU, for the models' stride-1 convolutions.
//!
//! Burn's CPU backend convolves by converting the input to channels-last (one thread),
//! then building im2col tiles and multiplying each: in CRNN inference half the time
//! went to those loops and a third to the multiplication itself. [`conv2d`] builds the
//! im2col matrix straight from the channels-first input, a row copy at a time, and
//! multiplies it once per item with `matrixmultiply`, items in parallel. It serves
//! evaluation on the `flex` device (no autodiff); anything else (training, a GPU, a
//! strided or grouped convolution) goes through Burn's own `Conv2d::forward`.

use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::prelude::*;
use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView2, ArrayViewMut2};
use rayon::prelude::*;

/// `conv.forward(x)`, computed by this module when it can (see the module's
/// documentation); the two agree to float rounding.
pub fn conv2d(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let device = x.device();
    let padding = match conv.padding {
        PaddingConfig2d::Valid => Some((0, 0, 0, 0)),
        PaddingConfig2d::Explicit(top, left, bottom, right) => Some((top, left, bottom, right)),
        PaddingConfig2d::Same => None,
    };
    let fast = !device.is_autodiff()
        && device == Device::flex()
        && conv.stride == [1, 1]
        && conv.dilation == [1, 1]
        && conv.groups == 1;
    let Some((top, left, bottom, right)) = padding.filter(|_| fast) else {
        return conv.forward(x);
    };
    let [batch, channels, height, width] = x.dims();
    let [kernel_h, kernel_w] = conv.kernel_size;
    let (out_h, out_w) =
        ((height + top + bottom + 1).saturating_sub(kernel_h), (width + left + right + 1).saturating_sub(kernel_w));
    let (Ok(input), Ok(weight)) =
        (x.clone().into_data().try_into_vec::<f32>(), conv.weight.val().into_data().try_into_vec::<f32>())
    else {
        return conv.forward(x);
    };
    let bias: Option<Vec<f32>> = conv.bias.as_ref().and_then(|b| b.val().into_data().try_into_vec::<f32>().ok());
    let shape = Im2col { channels, height, width, kernel_h, kernel_w, top, left, out_h, out_w };
    let k = channels * kernel_h * kernel_w;
    let outputs = weight.len() / k.max(1);
    let n = out_h * out_w;
    let mut out = vec![0.0f32; batch * outputs * n];
    if n > 0 && k > 0 {
        out.par_chunks_mut(outputs * n).zip(input.par_chunks(channels * height * width)).for_each(|(out, item)| {
            let mut columns = vec![0.0f32; k * n];
            shape.fill(item, &mut columns);
            let (Ok(w), Ok(c), Ok(mut o)) = (
                ArrayView2::from_shape((outputs, k), &weight),
                ArrayView2::from_shape((k, n), &columns),
                ArrayViewMut2::from_shape((outputs, n), out),
            ) else {
                return;
            };
            general_mat_mul(1.0, &w, &c, 0.0, &mut o);
            if let Some(bias) = &bias {
                for (mut row, &b) in o.rows_mut().into_iter().zip(bias) {
                    row.mapv_inplace(|v| v + b);
                }
            }
        });
    }
    Tensor::from_data(TensorData::new(out, [batch, outputs, out_h, out_w]), &device)
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
    fn training_goes_through_burn() {
        let device = Device::flex().autodiff();
        let conv = Conv2dConfig::new([1, 2], [3, 3]).init(&device);
        let x = Tensor::<4>::ones([1, 1, 5, 5], &device).require_grad();
        let y = conv2d(&conv, x.clone());
        let grads = y.sum().backward();
        assert!(x.grad(&grads).is_some());
    }
}
