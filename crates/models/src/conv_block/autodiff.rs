//! [`ConvBlockOps`] on `Autodiff<Flex>`: the forward pass of [`kernels::forward`],
//! recorded with a backward step that calls [`kernels::backward`].

use std::sync::Arc;

use burn::backend::Autodiff;
use burn::backend::Flex;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn_flex::FlexTensor;

use super::kernels::{self, BlockShape, Parameters, Saved};
use super::{ConvBlockOps, pooled_tensor, vector};
use crate::flex_values::{floats, tensor_like};

/// The backward step of one block.
#[derive(Debug)]
struct ConvBlockBackward;

/// What the backward step keeps: the input and parameters (cheap handles on their
/// storage) and the forward pass's intermediates.
#[derive(Clone, Debug)]
struct BlockState {
    x: FlexTensor,
    weight: FlexTensor,
    bias: FlexTensor,
    gamma: FlexTensor,
    beta: FlexTensor,
    shape: BlockShape,
    saved: Arc<Saved>,
}

impl Backward<Flex, 5> for ConvBlockBackward {
    type State = BlockState;

    fn backward(self, ops: Ops<Self::State, 5>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [node_x, node_weight, node_bias, node_gamma, node_beta] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let BlockState { x, weight, bias, gamma, beta, shape, saved } = ops.state;
        let gradients = kernels::backward(
            &floats(&grad),
            &floats(&x),
            Parameters { weight: &floats(&weight), bias: &floats(&bias), gamma: &floats(&gamma), beta: &floats(&beta) },
            &saved,
            &shape,
            node_x.is_some(),
        );
        if let (Some(node), Some(input)) = (node_x, gradients.input) {
            grads.register::<Flex>(node.id, tensor_like(input, &x));
        }
        for (node, values, like) in [
            (node_weight, gradients.weight, &weight),
            (node_bias, gradients.bias, &bias),
            (node_gamma, gradients.gamma, &gamma),
            (node_beta, gradients.beta, &beta),
        ] {
            if let Some(node) = node {
                grads.register::<Flex>(node.id, tensor_like(values, like));
            }
        }
    }
}

impl<C: CheckpointStrategy> ConvBlockOps for Autodiff<Flex, C> {
    fn conv_norm_relu_pool(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        padding: [usize; 4],
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let nodes = [x.node(), weight.node(), bias.node(), gamma.node(), beta.node()];
        let [x, weight, bias, gamma, beta] = [x, weight, bias, gamma, beta].map(|t| t.into_primitive());
        let (shape, forward) = super::forward(&x, [&weight, &bias, &gamma, &beta], padding, epsilon);
        let pooled = pooled_tensor(forward.pooled, &shape);
        // The statistics are constants for the graph (Burn's batch norm detaches them too).
        let statistics =
            (<FloatTensor<Self>>::new(vector(forward.mean)), <FloatTensor<Self>>::new(vector(forward.variance)));
        let pooled = match ConvBlockBackward.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let state = BlockState { x, weight, bias, gamma, beta, shape, saved: Arc::new(forward.saved) };
                prep.finish(state, pooled)
            }
            OpsKind::UnTracked(prep) => prep.finish(pooled),
        };
        (pooled, statistics.0, statistics.1)
    }
}
