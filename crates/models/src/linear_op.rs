//! A linear layer in training on the CPU as one operation with its own gradient.
//!
//! Burn's `Linear` on `Autodiff<Flex>` is a product into a freshly allocated and
//! cleared tensor, a broadcast bias addition (another tensor), and backward two more
//! products into fresh tensors and a sum: in a transformer training step the clearing
//! and the page faults on that memory were a fifth of the time, more than the products'
//! own share of what they replaced. Here the output starts as the bias and the product
//! accumulates onto it, row blocks in parallel; backward, the input's gradient is one
//! product per row block, and the weights' and bias's gradients are summed per fixed
//! group of rows, then over the groups in order (the same bits whatever the threads
//! did). Elsewhere (inference, a GPU, no bias) Burn's layer runs; the tests hold this to
//! it.

use std::borrow::Cow;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::nn::Linear;
use burn::prelude::*;
use burn::tensor::DType;
use burn_flex::FlexTensor;
use rayon::prelude::*;

use crate::flex_values::{floats, tensor, tensor_like};
use crate::matmul::{MatrixRef, multiply};

/// The operation as a backend extension.
#[backend_extension(Flex, Autodiff)]
pub trait LinearOps: Backend {
    /// `x · weight + bias` over the last axis of `x`; `weight` is `[in, out]`.
    fn fused_linear(x: FloatTensor<Self>, weight: FloatTensor<Self>, bias: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// `linear.forward(x)`, fused in training on `flex`.
pub(crate) fn linear<const D: usize>(linear: &Linear, x: Tensor<D>) -> Tensor<D> {
    let device = x.device();
    let [inputs, _] = linear.weight.dims();
    let fits = x.dims()[D - 1] == inputs
        && x.dtype() == DType::F32
        && linear.weight.val().dtype() == DType::F32
        && linear.bias.as_ref().is_some_and(|b| b.val().dtype() == DType::F32);
    match &linear.bias {
        Some(bias) if fits && device.is_autodiff() && device.clone().inner() == Device::flex() => {
            Tensor::from_dispatch(<Dispatch as LinearOps>::fused_linear(
                x.into_dispatch(),
                linear.weight.val().into_dispatch(),
                bias.val().into_dispatch(),
            ))
        }
        _ => linear.forward(x),
    }
}

/// Rows per parallel task, and per group of the parameters' gradients.
const ROWS: usize = 128;

/// The dimensions: rows of `x` (all leading axes), inputs and outputs.
fn dimensions(x: &FlexTensor, weight: &FlexTensor) -> (usize, usize, usize) {
    let (inputs, outputs) = (weight.layout().shape()[0], weight.layout().shape()[1]);
    (x.layout().shape().num_elements() / inputs.max(1), inputs, outputs)
}

fn forward(x: &FlexTensor, weight: &FlexTensor, bias: &FlexTensor) -> FlexTensor {
    let (rows, inputs, outputs) = dimensions(x, weight);
    let (values, weight, bias) = (floats(x), floats(weight), floats(bias));
    let mut out: Vec<f32> = bias.iter().copied().cycle().take(rows * outputs).collect();
    out.par_chunks_mut(ROWS * outputs).zip(values.par_chunks(ROWS * inputs)).for_each(|(out, x)| {
        let block = MatrixRef::row_major(x, x.len() / inputs, inputs);
        multiply(out, outputs, block, MatrixRef::row_major(&weight, inputs, outputs), 1.0, true);
    });
    let mut shape = x.layout().shape().clone();
    let last = shape.num_dims() - 1;
    shape[last] = outputs;
    tensor(out, shape)
}

impl LinearOps for Flex {
    fn fused_linear(x: FlexTensor, weight: FlexTensor, bias: FlexTensor) -> FlexTensor {
        forward(&x, &weight, &bias)
    }
}

#[derive(Debug)]
struct LinearBackward;

impl Backward<Flex, 3> for LinearBackward {
    /// The input and the weight.
    type State = (FlexTensor, FlexTensor);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [node_x, node_weight, node_bias] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let (x, weight) = ops.state;
        let (rows, inputs, outputs) = dimensions(&x, &weight);
        let (grad, values): (Cow<'_, [f32]>, Cow<'_, [f32]>) = (floats(&grad), floats(&x));
        if let Some(node) = node_x {
            let weight_values = floats(&weight);
            let weight_t = MatrixRef::row_major(&weight_values, inputs, outputs).t();
            let mut dx = vec![0.0f32; rows * inputs];
            dx.par_chunks_mut(ROWS * inputs).zip(grad.par_chunks(ROWS * outputs)).for_each(|(dx, grad)| {
                multiply(dx, inputs, MatrixRef::row_major(grad, grad.len() / outputs, outputs), weight_t, 1.0, false);
            });
            grads.register::<Flex>(node.id, tensor_like(dx, &x));
        }
        if node_weight.is_none() && node_bias.is_none() {
            return;
        }
        let groups: Vec<(Vec<f32>, Vec<f32>)> = grad
            .par_chunks(ROWS * outputs)
            .zip(values.par_chunks(ROWS * inputs))
            .map(|(grad, x)| {
                let block = grad.len() / outputs;
                let mut dw = vec![0.0f32; inputs * outputs];
                let x_t = MatrixRef::row_major(x, block, inputs).t();
                multiply(&mut dw, outputs, x_t, MatrixRef::row_major(grad, block, outputs), 1.0, false);
                let mut db = vec![0.0f32; outputs];
                for row in grad.chunks_exact(outputs) {
                    db.iter_mut().zip(row).for_each(|(total, v)| *total += v);
                }
                (dw, db)
            })
            .collect();
        let (mut dw, mut db) = (vec![0.0f32; inputs * outputs], vec![0.0f32; outputs]);
        for (w, b) in &groups {
            dw.iter_mut().zip(w).for_each(|(total, v)| *total += v);
            db.iter_mut().zip(b).for_each(|(total, v)| *total += v);
        }
        if let Some(node) = node_weight {
            grads.register::<Flex>(node.id, tensor_like(dw, &weight));
        }
        if let Some(node) = node_bias {
            grads.register::<Flex>(node.id, tensor(db, [outputs]));
        }
    }
}

impl<C: CheckpointStrategy> LinearOps for Autodiff<Flex, C> {
    fn fused_linear(x: FloatTensor<Self>, weight: FloatTensor<Self>, bias: FloatTensor<Self>) -> FloatTensor<Self> {
        let nodes = [x.node(), weight.node(), bias.node()];
        let [x, weight, bias] = [x, weight, bias].map(|t| t.into_primitive());
        let out = forward(&x, &weight, &bias);
        match LinearBackward.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => prep.finish((x, weight), out),
            OpsKind::UnTracked(prep) => prep.finish(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use burn::nn::LinearConfig;
    use burn::tensor::Distribution;

    use super::*;

    #[test]
    fn the_fused_linear_layer_equals_burn_s_with_its_gradients() {
        let device = Device::flex().autodiff();
        device.seed(5);
        let layer = LinearConfig::new(24, 40).init(&device);
        // More rows than one group (3 x 100 > 128), not a multiple of it.
        let x = Tensor::<3>::random([3, 100, 24], Distribution::Normal(0.0, 1.0), &device).require_grad();
        let weights = Tensor::<3>::random([3, 100, 40], Distribution::Normal(0.0, 1.0), &device);
        let run = |y: Tensor<3>| {
            let grads = (y.clone() * weights.clone()).sum().backward();
            let bias = layer.bias.as_ref().expect("a bias");
            let gradients = [
                x.grad(&grads).expect("x").flatten::<1>(0, 2),
                layer.weight.grad(&grads).expect("weight").flatten::<1>(0, 1),
                bias.grad(&grads).expect("bias"),
            ];
            (y.inner(), gradients)
        };
        let (fused, fused_grads) = run(linear(&layer, x.clone()));
        let (burn, burn_grads) = run(layer.forward(x.clone()));
        let difference: f32 = (fused - burn).abs().max().into_scalar();
        assert!(difference < 1e-5, "output: {difference}");
        for (name, (fused, burn)) in ["input", "weight", "bias"].iter().zip(fused_grads.into_iter().zip(burn_grads)) {
            let difference: f32 = (fused - burn).abs().max().into_scalar();
            assert!(difference < 1e-4, "gradient of the {name}: {difference}");
        }
    }
}
