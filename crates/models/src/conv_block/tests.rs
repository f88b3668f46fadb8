use burn::module::{Param, RunningState};
use burn::nn::BatchNormConfig;
use burn::nn::conv::Conv2dConfig;
use burn::nn::pool::MaxPool2dConfig;
use burn::tensor::Distribution;

use super::*;

fn largest_difference<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> f32 {
    assert_eq!(a.dims(), b.dims());
    let scale = b.clone().abs().max().into_scalar::<f32>().max(1.0);
    (a - b).abs().max().into_scalar::<f32>() / scale
}

/// The block's pooled output, its gradients and the norm's running statistics, fused
/// and through Burn's layers, for one input shape.
fn compare(input: [usize; 4], outputs: usize, padding: PaddingConfig2d, input_grad: bool) {
    let device = Device::flex().autodiff();
    device.seed(11);
    let conv = Conv2dConfig::new([input[1], outputs], [3, 3]).with_padding(padding).init(&device);
    let mut norm = BatchNormConfig::new(outputs).init(&device);
    let random = |low: f64, high: f64| Tensor::<1>::random([outputs], Distribution::Uniform(low, high), &device);
    // Some negative scales, so that a pool's winner is not always its largest input.
    norm.gamma = Param::from_tensor(random(-1.5, 1.5));
    norm.beta = Param::from_tensor(random(-0.5, 0.5));
    norm.running_mean = RunningState::new(random(-0.3, 0.3));
    norm.running_var = RunningState::new(random(0.5, 2.0));
    let pool = MaxPool2dConfig::new([2, 2]).init();
    let x = Tensor::<4>::random(input, Distribution::Normal(0.5, 1.0), &device);
    let (burn_conv, mut burn_norm) = (conv.clone(), norm.clone());
    // A clone shares its running statistics: give Burn's norm its own.
    burn_norm.running_mean = RunningState::new(norm.running_mean.value());
    burn_norm.running_var = RunningState::new(norm.running_var.value());
    // A random upstream gradient.
    let dims = pool.forward(conv.forward(x.clone())).dims();
    let weights = Tensor::<4>::random(dims, Distribution::Normal(0.0, 1.0), &device);

    let run = |fused: bool| {
        let (conv, norm) = if fused { (&conv, &norm) } else { (&burn_conv, &burn_norm) };
        let x = if input_grad { x.clone().require_grad() } else { x.clone() };
        let y = if fused {
            conv_norm_relu_pool_train(conv, norm, &pool, &x).expect("the fused block applies")
        } else {
            pool.forward(burn::tensor::activation::relu(norm.forward(conv.forward(x.clone()))))
        };
        let grads = (y.clone() * weights.clone()).sum().backward();
        let gradients = [
            conv.weight.grad(&grads).map(|g| g.flatten::<1>(0, 3)),
            conv.bias.as_ref().and_then(|b| b.grad(&grads)),
            norm.gamma.grad(&grads),
            norm.beta.grad(&grads),
            x.grad(&grads).map(|g| g.flatten::<1>(0, 3)),
        ];
        (y.inner(), gradients, norm.running_mean.value(), norm.running_var.value())
    };
    let (expected, expected_grads, expected_mean, expected_var) = run(false);
    let (fused, fused_grads, mean, var) = run(true);
    let difference = largest_difference(fused, expected);
    assert!(difference < 1e-5, "{input:?} output: {difference}");
    for (name, (fused, expected)) in
        ["weight", "bias", "gamma", "beta", "input"].iter().zip(fused_grads.into_iter().zip(expected_grads))
    {
        match (fused, expected) {
            (Some(fused), Some(expected)) => {
                let difference = largest_difference(fused.inner(), expected.inner());
                assert!(difference < 1e-4, "{input:?} gradient of the {name}: {difference}");
            }
            (None, None) => assert!(*name == "input" && !input_grad),
            (fused, expected) => panic!("{name}: fused {:?}, Burn's {:?}", fused.is_some(), expected.is_some()),
        }
    }
    let (mean, var) = (largest_difference(mean, expected_mean), largest_difference(var, expected_var));
    assert!(mean < 1e-6 && var < 1e-6, "{input:?} running statistics: {mean}, {var}");
}

#[test]
fn the_fused_block_equals_burn_s_layers_with_their_gradients() {
    // A later block (the input's gradient wanted), odd sizes (the last row and column
    // are dropped by the pool); the first block (one channel, no input gradient); and
    // an unpadded convolution.
    compare([3, 4, 9, 11], 6, PaddingConfig2d::Explicit(1, 1, 1, 1), true);
    compare([2, 1, 12, 10], 5, PaddingConfig2d::Explicit(1, 1, 1, 1), false);
    compare([2, 3, 8, 9], 4, PaddingConfig2d::Valid, true);
}

#[test]
fn inference_and_frozen_norms_do_not_take_the_fused_block() {
    let conv = Conv2dConfig::new([1, 2], [3, 3]).init(&Device::flex());
    let norm = BatchNormConfig::new(2).init(&Device::flex());
    let pool = MaxPool2dConfig::new([2, 2]).init();
    let x = Tensor::<4>::ones([1, 1, 6, 6], &Device::flex());
    assert!(conv_norm_relu_pool_train(&conv, &norm, &pool, &x).is_none());
    let device = Device::flex().autodiff();
    let (conv, norm) = (conv.to_device(&device), norm.to_device(&device).freeze());
    assert!(conv_norm_relu_pool_train(&conv, &norm, &pool, &x.to_device(&device)).is_none());
}
