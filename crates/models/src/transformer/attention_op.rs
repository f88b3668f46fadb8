//! The encoder's attention core in training on the CPU as one operation with its own
//! gradient: per head, `softmax(q kᵀ · scale) ∘ mask · v`, where `mask` is the attention
//! dropout's (kept weights `1 / (1 - p)`, dropped ones 0).
//!
//! Through Burn's operations the heads were split off by copies (`[B, N, d]` to
//! `[B, h, N, d/h]`, three of them forward and three backward), the scores scaled,
//! softmaxed, masked and merged back in passes of their own. Here each item is one task
//! that reads its heads in place (a head is a column block of `[N, d]`), keeps the
//! softmax in one `[N, N]` block per head for the backward pass, and writes its output
//! (and, backward, the gradients of `q`, `k` and `v`) straight into their `[B, N, d]`
//! rows. The tests hold it to Burn's operations.

use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::prelude::*;
use burn::tensor::DType;
use burn_flex::FlexTensor;
use rayon::prelude::*;

use crate::flex_values::{floats, tensor_like};
use crate::matmul::{MatrixRef, multiply};

use super::cpu::softmax_rows;

/// The operation as a backend extension.
#[backend_extension(Flex, Autodiff)]
pub trait AttentionOps: Backend {
    /// `q`, `k`, `v`: `[B, N, d]`; `mask`: `[B, heads, N, N]`. Returns `[B, N, d]`,
    /// heads side by side as `d / heads` columns each.
    fn fused_attention(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        mask: FloatTensor<Self>,
        heads: usize,
    ) -> FloatTensor<Self>;
}

/// The attention core, fused where it applies (training on `flex`, `f32`, a dropout
/// mask given); `None` otherwise, for the caller to use Burn's operations.
pub(super) fn attention(
    q: &Tensor<3>,
    k: &Tensor<3>,
    v: &Tensor<3>,
    mask: Option<&Tensor<4>>,
    heads: usize,
) -> Option<Tensor<3>> {
    let device = q.device();
    let mask = mask?;
    let [b, n, d] = q.dims();
    let applies = device.is_autodiff()
        && device.clone().inner() == Device::flex()
        && q.dtype() == DType::F32
        && heads > 0
        && d % heads == 0
        && k.dims() == [b, n, d]
        && v.dims() == [b, n, d]
        && mask.dims() == [b, heads, n, n];
    applies.then(|| {
        Tensor::from_dispatch(<Dispatch as AttentionOps>::fused_attention(
            q.clone().into_dispatch(),
            k.clone().into_dispatch(),
            v.clone().into_dispatch(),
            mask.clone().into_dispatch(),
            heads,
        ))
    })
}

/// The shape of one call: batch, tokens, width and heads.
#[derive(Clone, Copy, Debug)]
struct Shape {
    batch: usize,
    n: usize,
    d: usize,
    heads: usize,
}

impl Shape {
    fn of(q: &FlexTensor, heads: usize) -> Self {
        let dims = q.layout().shape();
        Shape { batch: dims[0], n: dims[1], d: dims[2], heads }
    }

    fn head_width(&self) -> usize {
        self.d / self.heads
    }

    fn scale(&self) -> f32 {
        1.0 / (self.head_width() as f32).sqrt()
    }

    /// Head `h`'s columns of an item's `[N, d]` rows.
    fn head<'a>(&self, item: &'a [f32], h: usize) -> MatrixRef<'a> {
        MatrixRef::strided(&item[h * self.head_width()..], self.n, self.head_width(), self.d)
    }
}

/// The forward pass: the output and, per item and head, the softmax `[N, N]`.
fn forward(q: &[f32], k: &[f32], v: &[f32], mask: &[f32], shape: Shape) -> (Vec<f32>, Vec<f32>) {
    let Shape { batch, n, d, heads } = shape;
    let mut out = vec![0.0f32; batch * n * d];
    let mut softmax = vec![0.0f32; batch * heads * n * n];
    out.par_chunks_mut(n * d).zip(softmax.par_chunks_mut(heads * n * n)).enumerate().for_each_init(
        Vec::new,
        |masked, (item, (out, softmax))| {
            let rows = item * n * d..(item + 1) * n * d;
            let (q, k, v) = (&q[rows.clone()], &k[rows.clone()], &v[rows]);
            for (h, p) in softmax.chunks_exact_mut(n * n).enumerate() {
                multiply(p, n, shape.head(q, h), shape.head(k, h).t(), shape.scale(), false);
                softmax_rows(p, n);
                let mask = &mask[(item * heads + h) * n * n..][..n * n];
                masked.clear();
                masked.extend(p.iter().zip(mask).map(|(p, m)| p * m));
                let offset = h * shape.head_width();
                multiply(&mut out[offset..], d, MatrixRef::row_major(masked, n, n), shape.head(v, h), 1.0, false);
            }
        },
    );
    (out, softmax)
}

/// The gradients of `q`, `k` and `v` from the output's.
fn backward(
    grad: &[f32],
    (q, k, v): (&[f32], &[f32], &[f32]),
    mask: &[f32],
    softmax: &[f32],
    shape: Shape,
) -> [Vec<f32>; 3] {
    let Shape { batch, n, d, heads } = shape;
    let mut gradients = [vec![0.0f32; batch * n * d], vec![0.0f32; batch * n * d], vec![0.0f32; batch * n * d]];
    let [dq, dk, dv] = &mut gradients;
    dq.par_chunks_mut(n * d).zip(dk.par_chunks_mut(n * d)).zip(dv.par_chunks_mut(n * d)).enumerate().for_each_init(
        || (Vec::new(), Vec::new()),
        |(masked, dp), (item, ((dq, dk), dv))| {
            let rows = item * n * d..(item + 1) * n * d;
            let (grad, q, k, v) = (&grad[rows.clone()], &q[rows.clone()], &k[rows.clone()], &v[rows]);
            for h in 0..heads {
                let plane = (item * heads + h) * n * n..(item * heads + h + 1) * n * n;
                let (p, mask) = (&softmax[plane.clone()], &mask[plane]);
                let offset = h * shape.head_width();
                masked.clear();
                masked.extend(p.iter().zip(mask).map(|(p, m)| p * m));
                // dv = (p ∘ mask)ᵀ · grad
                multiply(&mut dv[offset..], d, MatrixRef::row_major(masked, n, n).t(), shape.head(grad, h), 1.0, false);
                // d(p ∘ mask) = grad · vᵀ; dp = that ∘ mask; ds = p ∘ (dp - Σ dp ∘ p)
                dp.resize(n * n, 0.0);
                multiply(dp, n, shape.head(grad, h), shape.head(v, h).t(), 1.0, false);
                for ((dp, p), mask) in dp.chunks_exact_mut(n).zip(p.chunks_exact(n)).zip(mask.chunks_exact(n)) {
                    dp.iter_mut().zip(mask).for_each(|(g, m)| *g *= m);
                    let dot: f32 = dp.iter().zip(p).map(|(g, p)| g * p).sum();
                    dp.iter_mut().zip(p).for_each(|(g, &p)| *g = p * (*g - dot));
                }
                let ds = MatrixRef::row_major(dp, n, n);
                // dq = ds · k · scale, dk = dsᵀ · q · scale
                multiply(&mut dq[offset..], d, ds, shape.head(k, h), shape.scale(), false);
                multiply(&mut dk[offset..], d, ds.t(), shape.head(q, h), shape.scale(), false);
            }
        },
    );
    gradients
}

impl AttentionOps for Flex {
    fn fused_attention(q: FlexTensor, k: FlexTensor, v: FlexTensor, mask: FlexTensor, heads: usize) -> FlexTensor {
        let shape = Shape::of(&q, heads);
        let (out, _) = forward(&floats(&q), &floats(&k), &floats(&v), &floats(&mask), shape);
        tensor_like(out, &q)
    }
}

#[derive(Debug)]
struct AttentionBackward;

#[derive(Clone, Debug)]
struct AttentionState {
    q: FlexTensor,
    k: FlexTensor,
    v: FlexTensor,
    mask: FlexTensor,
    softmax: Arc<Vec<f32>>,
    shape: Shape,
}

impl Backward<Flex, 3> for AttentionBackward {
    type State = AttentionState;

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let grad = grads.consume::<Flex>(&ops.node);
        let AttentionState { q, k, v, mask, softmax, shape } = ops.state;
        let gradients =
            backward(&floats(&grad), (&floats(&q), &floats(&k), &floats(&v)), &floats(&mask), &softmax, shape);
        for (node, values) in ops.parents.into_iter().zip(gradients) {
            if let Some(node) = node {
                grads.register::<Flex>(node.id, tensor_like(values, &q));
            }
        }
    }
}

impl<C: CheckpointStrategy> AttentionOps for Autodiff<Flex, C> {
    fn fused_attention(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        mask: FloatTensor<Self>,
        heads: usize,
    ) -> FloatTensor<Self> {
        // The mask is a constant: only q, k and v are parents.
        let nodes = [q.node(), k.node(), v.node()];
        let [q, k, v, mask] = [q, k, v, mask].map(|t| t.into_primitive());
        let shape = Shape::of(&q, heads);
        let (out, softmax) = forward(&floats(&q), &floats(&k), &floats(&v), &floats(&mask), shape);
        let out = tensor_like(out, &q);
        match AttentionBackward.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                prep.finish(AttentionState { q, k, v, mask, softmax: Arc::new(softmax), shape }, out)
            }
            OpsKind::UnTracked(prep) => prep.finish(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::Distribution;

    use super::*;

    /// Burn's operations for the same attention core.
    fn reference(q: Tensor<3>, k: Tensor<3>, v: Tensor<3>, mask: Tensor<4>, heads: usize) -> Tensor<3> {
        let [b, n, d] = q.dims();
        let dh = d / heads;
        let split = |t: Tensor<3>| t.reshape([b, n, heads, dh]).swap_dims(1, 2);
        let scores = split(q).matmul(split(k).swap_dims(2, 3)) / (dh as f64).sqrt();
        let weights = burn::tensor::activation::softmax(scores, 3) * mask;
        weights.matmul(split(v)).swap_dims(1, 2).reshape([b, n, d])
    }

    #[test]
    fn the_fused_attention_equals_burn_s_with_the_gradients_of_q_k_and_v() {
        let device = Device::flex().autodiff();
        device.seed(21);
        let (b, n, d, heads) = (3, 11, 12, 3);
        let random = || Tensor::<3>::random([b, n, d], Distribution::Normal(0.0, 1.0), &device).require_grad();
        let (q, k, v) = (random(), random(), random());
        // A dropout mask: about a third dropped, the rest scaled by 1.5.
        let keep = Tensor::<4>::random([b, heads, n, n], Distribution::Uniform(0.0, 1.0), &device);
        let mask = keep.greater_elem(1.0 / 3.0).float() * 1.5;
        let weights = Tensor::<3>::random([b, n, d], Distribution::Normal(0.0, 1.0), &device);
        let run = |y: Tensor<3>| {
            let grads = (y.clone() * weights.clone()).sum().backward();
            let grad = |t: &Tensor<3>| t.grad(&grads).expect("a gradient");
            (y.inner(), [grad(&q), grad(&k), grad(&v)])
        };
        let (fused, fused_grads) = run(attention(&q, &k, &v, Some(&mask), heads).expect("applies"));
        let (burn, burn_grads) = run(reference(q.clone(), k.clone(), v.clone(), mask.clone(), heads));
        let difference: f32 = (fused - burn).abs().max().into_scalar();
        assert!(difference < 1e-5, "output: {difference}");
        for (name, (fused, burn)) in ["q", "k", "v"].iter().zip(fused_grads.into_iter().zip(burn_grads)) {
            let difference: f32 = (fused - burn).abs().max().into_scalar();
            assert!(difference < 1e-4, "gradient of {name}: {difference}");
        }
    }
}
