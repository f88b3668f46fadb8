//! The encoder's elementwise and row-wise operations in training on the CPU, each one
//! operation with its own gradient: GELU, layer norm over the last axis and softmax over
//! the last axis.
//!
//! On `Autodiff<Flex>`, Burn differentiates layer norm and softmax as the chains of
//! small operations they are made of (each a pass over the tensor, each written to
//! fresh memory), and GELU's forward and backward call the C library's `erff` and `expf`
//! one value at a time: together about a fifth of a transformer training step. Here
//! each is one pass forward and one backward, rows in parallel, with the vectorisable
//! `exp` and `erf` of the CPU inference path ([`super::cpu`]). Elsewhere (inference, a
//! GPU) Burn's operations run; the tests hold these to them.

use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, unary};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::nn::LayerNorm;
use burn::prelude::*;
use burn::tensor::DType;
use burn_flex::FlexTensor;
use rayon::prelude::*;

use crate::flex_values::{floats, tensor_like};

use super::cpu::{erf, exp, gelu as gelu_in_place, softmax_rows};

/// The operations as a backend extension.
#[backend_extension(Flex, Autodiff)]
pub trait EncoderOps: Backend {
    /// GELU with the error function.
    fn fused_gelu(x: FloatTensor<Self>) -> FloatTensor<Self>;
    /// `(x - mean) / sqrt(var + epsilon) * gamma + beta` over the last axis.
    fn fused_layer_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> FloatTensor<Self>;
    /// Softmax over the last axis.
    fn fused_softmax(x: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// Whether `x` is on the device these operations serve.
fn applies(x: &Tensor<3>) -> bool {
    let device = x.device();
    device.is_autodiff() && device.inner() == Device::flex() && x.dtype() == DType::F32
}

/// GELU (`activation`'s) on `x`; the fused operation computes the exact (error
/// function) form, so a tanh-approximating `activation` goes through Burn.
pub(super) fn gelu<const D: usize>(activation: &burn::nn::Gelu, x: Tensor<D>) -> Tensor<D> {
    let device = x.device();
    if !activation.approximate && device.is_autodiff() && device.inner() == Device::flex() && x.dtype() == DType::F32 {
        return Tensor::from_dispatch(<Dispatch as EncoderOps>::fused_gelu(x.into_dispatch()));
    }
    activation.forward(x)
}

/// `norm` over the last axis of `x`. `epsilon` must be the one `norm` was built with
/// (Burn keeps it private): the encoder's norms and the final one are all built with
/// [`super::LAYER_NORM_EPSILON`].
pub(super) fn layer_norm(norm: &LayerNorm, epsilon: f64, x: Tensor<3>) -> Tensor<3> {
    let parameters_f32 = norm.gamma.val().dtype() == DType::F32;
    match &norm.beta {
        Some(beta) if applies(&x) && parameters_f32 && beta.val().dtype() == DType::F32 => {
            Tensor::from_dispatch(<Dispatch as EncoderOps>::fused_layer_norm(
                x.into_dispatch(),
                norm.gamma.val().into_dispatch(),
                beta.val().into_dispatch(),
                epsilon,
            ))
        }
        _ => norm.forward(x),
    }
}

/// Softmax over the last axis of `x`.
pub(super) fn softmax(x: Tensor<4>) -> Tensor<4> {
    let device = x.device();
    if device.is_autodiff() && device.inner() == Device::flex() && x.dtype() == DType::F32 {
        return Tensor::from_dispatch(<Dispatch as EncoderOps>::fused_softmax(x.into_dispatch()));
    }
    burn::tensor::activation::softmax(x, 3)
}

impl EncoderOps for Flex {
    fn fused_gelu(x: FlexTensor) -> FlexTensor {
        let mut values = floats(&x).into_owned();
        gelu_in_place(&mut values);
        tensor_like(values, &x)
    }

    fn fused_layer_norm(x: FlexTensor, gamma: FlexTensor, beta: FlexTensor, epsilon: f64) -> FlexTensor {
        let output = norm_forward(&floats(&x), &floats(&gamma), &floats(&beta), epsilon).output;
        tensor_like(output, &x)
    }

    fn fused_softmax(x: FlexTensor) -> FlexTensor {
        let mut values = floats(&x).into_owned();
        softmax_rows(&mut values, last_axis(&x));
        tensor_like(values, &x)
    }
}

#[derive(Debug)]
struct GeluBackward;

impl Backward<Flex, 1> for GeluBackward {
    type State = FlexTensor;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let x = ops.state;
        unary::<Flex, _>(ops.parents, ops.node, grads, |grad| {
            let mut grad = floats(&grad).into_owned();
            gelu_gradient(&floats(&x), &mut grad);
            tensor_like(grad, &x)
        });
    }
}

#[derive(Debug)]
struct SoftmaxBackward;

impl Backward<Flex, 1> for SoftmaxBackward {
    /// The output.
    type State = FlexTensor;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let y = ops.state;
        unary::<Flex, _>(ops.parents, ops.node, grads, |grad| {
            let mut grad = floats(&grad).into_owned();
            let n = last_axis(&y);
            grad.par_chunks_mut(ROWS * n).zip(floats(&y).par_chunks(ROWS * n)).for_each(|(grad, y)| {
                for (grad, y) in grad.chunks_exact_mut(n).zip(y.chunks_exact(n)) {
                    let dot: f32 = grad.iter().zip(y).map(|(g, y)| g * y).sum();
                    grad.iter_mut().zip(y).for_each(|(g, &y)| *g = y * (*g - dot));
                }
            });
            tensor_like(grad, &y)
        });
    }
}

#[derive(Debug)]
struct LayerNormBackward;

#[derive(Clone, Debug)]
struct LayerNormState {
    x: FlexTensor,
    gamma: FlexTensor,
    /// Per row: the mean and `1 / sqrt(var + epsilon)`.
    statistics: Arc<Vec<(f32, f32)>>,
}

impl Backward<Flex, 3> for LayerNormBackward {
    type State = LayerNormState;

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [node_x, node_gamma, node_beta] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let LayerNormState { x, gamma, statistics } = ops.state;
        let (dx, dgamma, dbeta) = norm_backward(&floats(&grad), &floats(&x), &floats(&gamma), &statistics);
        if let Some(node) = node_x {
            grads.register::<Flex>(node.id, tensor_like(dx, &x));
        }
        for (node, values) in [(node_gamma, dgamma), (node_beta, dbeta)] {
            if let Some(node) = node {
                grads.register::<Flex>(node.id, tensor_like(values, &gamma));
            }
        }
    }
}

impl<C: CheckpointStrategy> EncoderOps for Autodiff<Flex, C> {
    fn fused_gelu(x: FloatTensor<Self>) -> FloatTensor<Self> {
        let node = x.node();
        let x = x.into_primitive();
        let output = Flex::fused_gelu(x.clone());
        match GeluBackward.prepare::<C>([node]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => prep.finish(x, output),
            OpsKind::UnTracked(prep) => prep.finish(output),
        }
    }

    fn fused_layer_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> FloatTensor<Self> {
        let nodes = [x.node(), gamma.node(), beta.node()];
        let [x, gamma, beta] = [x, gamma, beta].map(|t| t.into_primitive());
        let forward = norm_forward(&floats(&x), &floats(&gamma), &floats(&beta), epsilon);
        let output = tensor_like(forward.output, &x);
        match LayerNormBackward.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                prep.finish(LayerNormState { x, gamma, statistics: Arc::new(forward.statistics) }, output)
            }
            OpsKind::UnTracked(prep) => prep.finish(output),
        }
    }

    fn fused_softmax(x: FloatTensor<Self>) -> FloatTensor<Self> {
        let node = x.node();
        let output = Flex::fused_softmax(x.into_primitive());
        match SoftmaxBackward.prepare::<C>([node]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => prep.finish(output.clone(), output),
            OpsKind::UnTracked(prep) => prep.finish(output),
        }
    }
}

/// Rows per parallel task, and per group of the norm's parameter gradients (summed in
/// group order, so that their bits do not depend on the threads).
const ROWS: usize = 64;

struct NormForward {
    output: Vec<f32>,
    statistics: Vec<(f32, f32)>,
}

fn norm_forward(x: &[f32], gamma: &[f32], beta: &[f32], epsilon: f64) -> NormForward {
    let d = gamma.len();
    let mut output = vec![0.0f32; x.len()];
    let mut statistics = vec![(0.0f32, 0.0f32); x.len() / d.max(1)];
    output.par_chunks_mut(ROWS * d).zip(statistics.par_chunks_mut(ROWS)).zip(x.par_chunks(ROWS * d)).for_each(
        |((output, statistics), x)| {
            for ((out, row), statistic) in output.chunks_exact_mut(d).zip(x.chunks_exact(d)).zip(statistics) {
                let mean = row.iter().map(|&v| f64::from(v)).sum::<f64>() / d as f64;
                let var = row.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / d as f64;
                let (mean, inv_std) = (mean as f32, (1.0 / (var + epsilon).sqrt()) as f32);
                for (((o, &v), &g), &b) in out.iter_mut().zip(row).zip(gamma).zip(beta) {
                    *o = (v - mean) * inv_std * g + b;
                }
                *statistic = (mean, inv_std);
            }
        },
    );
    NormForward { output, statistics }
}

/// The gradients of the input, `gamma` and `beta`: with `ĝ = dy γ` and `x̂` the
/// normalised row, `dx = (ĝ - mean(ĝ) - x̂ mean(ĝ x̂)) / σ`, `dγ = Σ dy x̂`, `dβ = Σ dy`.
fn norm_backward(grad: &[f32], x: &[f32], gamma: &[f32], statistics: &[(f32, f32)]) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let d = gamma.len();
    let mut dx = vec![0.0f32; x.len()];
    let groups: Vec<(Vec<f32>, Vec<f32>)> = dx
        .par_chunks_mut(ROWS * d)
        .zip(grad.par_chunks(ROWS * d).zip(x.par_chunks(ROWS * d)))
        .zip(statistics.par_chunks(ROWS))
        .map(|((dx, (grad, x)), statistics)| {
            let (mut dgamma, mut dbeta) = (vec![0.0f32; d], vec![0.0f32; d]);
            let mut scaled = vec![0.0f32; d];
            for (((dx, grad), x), &(mean, inv_std)) in
                dx.chunks_exact_mut(d).zip(grad.chunks_exact(d)).zip(x.chunks_exact(d)).zip(statistics)
            {
                let (mut sum, mut dot) = (0.0f32, 0.0f32);
                for i in 0..d {
                    let normalised = (x[i] - mean) * inv_std;
                    scaled[i] = grad[i] * gamma[i];
                    sum += scaled[i];
                    dot += scaled[i] * normalised;
                    dgamma[i] += grad[i] * normalised;
                    dbeta[i] += grad[i];
                }
                let (sum, dot) = (sum / d as f32, dot / d as f32);
                for i in 0..d {
                    let normalised = (x[i] - mean) * inv_std;
                    dx[i] = (scaled[i] - sum - normalised * dot) * inv_std;
                }
            }
            (dgamma, dbeta)
        })
        .collect();
    let (mut dgamma, mut dbeta) = (vec![0.0f32; d], vec![0.0f32; d]);
    for (g, b) in &groups {
        dgamma.iter_mut().zip(g).for_each(|(total, v)| *total += v);
        dbeta.iter_mut().zip(b).for_each(|(total, v)| *total += v);
    }
    (dx, dgamma, dbeta)
}

/// `grad *= GELU'(x)`, with `GELU'(x) = Φ(x) + x φ(x)`.
fn gelu_gradient(x: &[f32], grad: &mut [f32]) {
    grad.par_chunks_mut(1 << 14).zip(x.par_chunks(1 << 14)).for_each(|(grad, x)| gelu_gradient_chunk(x, grad));
}

fn gelu_gradient_chunk(x: &[f32], grad: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has the features `gelu_gradient_avx2` is compiled for.
        return unsafe { gelu_gradient_avx2(x, grad) };
    }
    gelu_gradient_portable(x, grad);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn gelu_gradient_avx2(x: &[f32], grad: &mut [f32]) {
    gelu_gradient_portable(x, grad);
}

#[inline(always)]
fn gelu_gradient_portable(x: &[f32], grad: &mut [f32]) {
    const FRAC_1_SQRT_2PI: f32 = 0.398_942_3;
    for (g, &v) in grad.iter_mut().zip(x) {
        let cdf = 0.5 * (1.0 + erf(v * std::f32::consts::FRAC_1_SQRT_2));
        *g *= cdf + v * FRAC_1_SQRT_2PI * exp(-0.5 * v * v);
    }
}

fn last_axis(t: &FlexTensor) -> usize {
    t.layout().shape().last().copied().unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use burn::nn::LayerNormConfig;
    use burn::tensor::Distribution;

    use super::*;

    fn largest_difference<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> f32 {
        (a.inner() - b.inner()).abs().max().into_scalar::<f32>()
    }

    /// `f` fused and through Burn, with the input's gradient under a random upstream
    /// gradient.
    fn compare(shape: [usize; 4], fused: impl Fn(Tensor<4>) -> Tensor<4>, burn: impl Fn(Tensor<4>) -> Tensor<4>) {
        let device = Device::flex().autodiff();
        device.seed(4);
        let x = Tensor::<4>::random(shape, Distribution::Normal(0.0, 2.0), &device).require_grad();
        let weights = Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), &device);
        let (y_fused, y_burn) = (fused(x.clone()), burn(x.clone()));
        let grad_fused = x.grad(&(y_fused.clone() * weights.clone()).sum().backward()).expect("a gradient");
        let grad_burn = x.grad(&(y_burn.clone() * weights).sum().backward()).expect("a gradient");
        assert!(largest_difference(y_fused, y_burn) < 1e-5);
        let difference: f32 = (grad_fused - grad_burn).abs().max().into_scalar();
        assert!(difference < 1e-4, "{difference}");
    }

    #[test]
    fn gelu_and_softmax_equal_burn_s_with_their_gradients() {
        let gelu_layer = burn::nn::Gelu::new();
        compare([2, 3, 5, 70], |x| gelu(&gelu_layer, x), |x| gelu_layer.forward(x));
        compare([2, 4, 9, 73], softmax, |x| burn::tensor::activation::softmax(x, 3));
    }

    #[test]
    fn layer_norm_equals_burn_s_with_the_gradients_of_its_parameters() {
        let device = Device::flex().autodiff();
        device.seed(8);
        let mut norm = LayerNormConfig::new(16).init(&device);
        norm.gamma = burn::module::Param::from_tensor(Tensor::random([16], Distribution::Normal(1.0, 0.5), &device));
        norm.beta =
            Some(burn::module::Param::from_tensor(Tensor::random([16], Distribution::Normal(0.0, 0.5), &device)));
        // More rows than one parallel task takes.
        let x = Tensor::<3>::random([3, 50, 16], Distribution::Normal(1.0, 3.0), &device).require_grad();
        let weights = Tensor::<3>::random([3, 50, 16], Distribution::Normal(0.0, 1.0), &device);
        let gradients = |y: Tensor<3>| {
            let grads = (y.clone() * weights.clone()).sum().backward();
            let beta = norm.beta.as_ref().expect("a beta");
            (y, [x.grad(&grads).map(|g| g.flatten::<1>(0, 2)), norm.gamma.grad(&grads), beta.grad(&grads)])
        };
        let (fused, fused_grads) = gradients(layer_norm(&norm, 1e-5, x.clone()));
        let (burn, burn_grads) = gradients(norm.forward(x.clone()));
        assert!(largest_difference(fused, burn) < 1e-5);
        for (name, (fused, burn)) in ["input", "gamma", "beta"].iter().zip(fused_grads.into_iter().zip(burn_grads)) {
            let (fused, burn) = (fused.expect("a gradient"), burn.expect("a gradient"));
            let difference = largest_difference(fused, burn);
            assert!(difference < 1e-4, "{name}: {difference}");
        }
    }
}
