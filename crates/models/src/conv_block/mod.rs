//! The CRNNs' conv block in training on the CPU: convolution, batch norm with the
//! batch's statistics, ReLU and 2 x 2 max pool as one operation with its own gradient.
//!
//! Through Burn's layers a CRNN training step on the `flex` device spent about nine
//! tenths of its time in the three conv blocks: the convolution's layout conversions and
//! im2col tiles on one thread, and five full passes over each block's largest tensor
//! (32 channels x 128 x 130 per item) for the norm, the ReLU and the pool, each written
//! to fresh memory, forward and backward. Here ([`kernels`]) the forward pass writes the
//! convolution's output once and reads it twice (statistics, then norm, ReLU and pool in
//! one pass), and the backward pass writes the convolution's output gradient once, with
//! the products for the weights' and the input's gradients taken per item, items in
//! parallel.
//!
//! It is a Burn backend extension ([`ConvBlockOps`]) with a handwritten backward pass
//! for `Autodiff<Flex>`. Everything else (inference, a GPU, a frozen norm, other
//! shapes) goes through Burn's layers, which the tests hold this to (gradients and
//! running statistics within float rounding).

mod autodiff;
mod kernels;

use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, Flex, TensorMetadata, backend_extension};
use burn::nn::conv::Conv2d;
use burn::nn::pool::MaxPool2d;
use burn::nn::{BatchNorm, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::DType;
use burn_flex::FlexTensor;

use crate::fast_conv::is_plain_2x2;
use crate::flex_values::{floats, tensor};
use crate::im2col::Im2col;
use kernels::{BlockShape, Parameters};

/// The fused block as a backend operation: the pooled output `[B, C, H/2, W/2]`, and
/// the batch's mean and biased variance per channel (detached).
#[backend_extension(Flex, Autodiff)]
pub trait ConvBlockOps: Backend {
    /// `max_pool_2x2(relu(batch_norm_train(conv2d(x, weight, bias))))` for a stride-1
    /// convolution padded `[top, left, bottom, right]`.
    fn conv_norm_relu_pool(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        padding: [usize; 4],
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
}

impl ConvBlockOps for Flex {
    fn conv_norm_relu_pool(
        x: FlexTensor,
        weight: FlexTensor,
        bias: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        padding: [usize; 4],
        epsilon: f64,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let (shape, forward) = forward(&x, [&weight, &bias, &gamma, &beta], padding, epsilon);
        let (mean, variance) = (vector(forward.mean), vector(forward.variance));
        (pooled_tensor(forward.pooled, &shape), mean, variance)
    }
}

/// `pool(relu(norm(conv(x))))` in training mode through [`ConvBlockOps`], with the
/// norm's running statistics updated as Burn's `BatchNorm` updates them; `None` where
/// it does not apply (see the module's documentation), for the caller to use Burn's
/// layers.
pub(crate) fn conv_norm_relu_pool_train(
    conv: &Conv2d,
    norm: &BatchNorm,
    pool: &MaxPool2d,
    x: &Tensor<4>,
) -> Option<Tensor<4>> {
    let device = x.device();
    let applies = device.is_autodiff()
        && device.clone().inner() == Device::flex()
        && norm.training.is_enabled()
        && is_plain_2x2(pool)
        && conv.stride == [1, 1]
        && conv.dilation == [1, 1]
        && conv.groups == 1
        && x.dtype() == DType::F32
        && conv.weight.val().dtype() == DType::F32
        && norm.gamma.val().dtype() == DType::F32;
    let padding = match conv.padding {
        PaddingConfig2d::Explicit(top, left, bottom, right) => [top, left, bottom, right],
        PaddingConfig2d::Valid => [0; 4],
        _ => return None,
    };
    if !applies {
        return None;
    }
    let [_, _, kernel_h, kernel_w] = conv.weight.dims();
    let [_, _, height, width] = x.dims();
    if height + padding[0] + padding[2] < kernel_h + 1 || width + padding[1] + padding[3] < kernel_w + 1 {
        return None;
    }
    let outputs = conv.weight.dims()[0];
    let bias = conv.bias.as_ref().map(|b| b.val()).unwrap_or_else(|| Tensor::zeros([outputs], &device));
    let (pooled, mean, variance) = <Dispatch as ConvBlockOps>::conv_norm_relu_pool(
        x.clone().into_dispatch(),
        conv.weight.val().into_dispatch(),
        bias.into_dispatch(),
        norm.gamma.val().into_dispatch(),
        norm.beta.val().into_dispatch(),
        padding,
        norm.epsilon,
    );
    let (mean, variance) = (Tensor::<1>::from_dispatch(mean), Tensor::<1>::from_dispatch(variance));
    let update = |running: &burn::module::RunningState<Tensor<1>>, batch: Tensor<1>| {
        let value = running.value_sync().to_device(&device);
        running.update(value.mul_scalar(1.0 - norm.momentum).add(batch.detach().mul_scalar(norm.momentum)).detach());
    };
    update(&norm.running_mean, mean);
    update(&norm.running_var, variance);
    Some(Tensor::from_dispatch(pooled))
}

/// The block's shape and [`kernels::forward`] on the tensors' values.
fn forward(
    x: &FlexTensor,
    [weight, bias, gamma, beta]: [&FlexTensor; 4],
    padding: [usize; 4],
    epsilon: f64,
) -> (BlockShape, kernels::Forward) {
    let shape = block_shape(x, weight, padding);
    let parameters =
        Parameters { weight: &floats(weight), bias: &floats(bias), gamma: &floats(gamma), beta: &floats(beta) };
    let forward = kernels::forward(&floats(x), parameters, epsilon, &shape);
    (shape, forward)
}

/// The block's shape from the input `[B, C, H, W]` and the weight `[O, C, kh, kw]`.
fn block_shape(x: &FlexTensor, weight: &FlexTensor, [top, left, bottom, right]: [usize; 4]) -> BlockShape {
    let (input, kernel) = (x.shape(), weight.shape());
    let (batch, channels, height, width) = (input[0], input[1], input[2], input[3]);
    let (outputs, kernel_h, kernel_w) = (kernel[0], kernel[2], kernel[3]);
    let out_h = height + top + bottom + 1 - kernel_h;
    let out_w = width + left + right + 1 - kernel_w;
    BlockShape {
        batch,
        outputs,
        im2col: Im2col { channels, height, width, kernel_h, kernel_w, top, left, out_h, out_w },
    }
}

fn vector(values: Vec<f32>) -> FlexTensor {
    let len = values.len();
    tensor(values, [len])
}

fn pooled_tensor(values: Vec<f32>, shape: &BlockShape) -> FlexTensor {
    let (h, w) = shape.pooled();
    tensor(values, [shape.batch, shape.outputs, h, w])
}

#[cfg(test)]
mod tests;
