//! Batch normalisation for every model here: Burn's `BatchNorm` module holds the
//! weights and running statistics, this function applies them.
//!
//! Why not always `BatchNorm::forward`: in training its batch statistics are one
//! `mean_dim` per channel over every other axis (66,560 values for four CRNN segments),
//! and Burn 0.22's wgpu backend reduces rows longer than 65,535 wrongly (off by up to
//! 2e-2 on Mesa's lavapipe, `crates/xai/tests/wgpu.rs`; 32,768 are exact). Off the CPU,
//! each axis is reduced in turn here, so no row is longer than the longest axis; equal
//! groups make that the same mean. On the CPU (flex) Burn's fused training step runs:
//! exact there, and faster.

use burn::nn::BatchNorm;
use burn::prelude::*;

/// `norm` applied to `x` (`[batch, channels, ...]`): batch statistics when training
/// (an autodiff device and the layer not frozen), updating the running statistics as
/// Burn's module does; the running statistics otherwise.
pub fn batch_norm<const D: usize>(norm: &BatchNorm, x: Tensor<D>) -> Tensor<D> {
    let device = x.device();
    let training = device.is_autodiff() && norm.training.is_enabled();
    if !training || device == Device::flex().autodiff() {
        return norm.forward(x);
    }
    batch_norm_training(norm, x)
}

/// The training step with statistics reduced one axis at a time.
fn batch_norm_training<const D: usize>(norm: &BatchNorm, x: Tensor<D>) -> Tensor<D> {
    let channels = x.dims()[1];
    let mut per_channel = [1; D];
    per_channel[1] = channels;
    let (mean, variance) = batch_statistics(x.clone());
    update_running(norm, mean.clone().detach(), variance.clone().detach());
    let (mean, variance) = (mean.reshape(per_channel), variance.reshape(per_channel));
    let normalised = (x - mean) / (variance + norm.epsilon).sqrt();
    normalised * norm.gamma.val().reshape(per_channel) + norm.beta.val().reshape(per_channel)
}

/// Per-channel mean and biased variance of `x`, `[channels]` each, every axis but the
/// channel axis reduced one at a time.
fn batch_statistics<const D: usize>(x: Tensor<D>) -> (Tensor<1>, Tensor<1>) {
    let channels = x.dims()[1];
    let mean_over_all_but_channels = |t: Tensor<D>| {
        let mut t = t;
        for axis in (0..D).filter(|&axis| axis != 1) {
            t = t.mean_dim(axis);
        }
        t
    };
    let mean = mean_over_all_but_channels(x.clone());
    let centred = x - mean.clone();
    let variance = mean_over_all_but_channels(centred.clone() * centred);
    (mean.reshape([channels]), variance.reshape([channels]))
}

/// The module's running statistics moved towards this batch's, as Burn's `BatchNorm`
/// does (its momentum, biased variance).
fn update_running(norm: &BatchNorm, mean: Tensor<1>, variance: Tensor<1>) {
    let device = mean.device();
    let blend = |running: Tensor<1>, batch: Tensor<1>| {
        (running.to_device(&device) * (1.0 - norm.momentum) + batch * norm.momentum).detach()
    };
    norm.running_mean.update(blend(norm.running_mean.value_sync(), mean));
    norm.running_var.update(blend(norm.running_var.value_sync(), variance));
}

#[cfg(test)]
mod tests {
    use burn::nn::BatchNormConfig;
    use burn::tensor::{Distribution, TensorData};

    use super::*;

    fn max_difference<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> f32 {
        (a - b).abs().max().into_scalar()
    }

    /// A norm with non-trivial weights and running statistics.
    fn norm(channels: usize, device: &Device) -> BatchNorm {
        let mut norm = BatchNormConfig::new(channels).init(device);
        let values = |offset: f32| {
            let v: Vec<f32> = (0..channels).map(|i| offset + (i as f32 * 0.37).sin()).collect();
            Tensor::<1>::from_data(TensorData::new(v, [channels]), device)
        };
        norm.gamma = burn::module::Param::from_tensor(values(0.5));
        norm.beta = burn::module::Param::from_tensor(values(0.1));
        norm.running_mean = burn::module::RunningState::new(values(0.2));
        norm.running_var = burn::module::RunningState::new(values(1.5));
        norm
    }

    #[test]
    fn training_equals_burn_s_module_and_updates_the_running_statistics_alike() {
        let device = Device::flex().autodiff();
        let (ours, burns) = (norm(6, &device), norm(6, &device));
        let x = Tensor::<4>::random([4, 6, 9, 11], Distribution::Normal(1.0, 3.0), &device);
        let difference = max_difference(batch_norm_training(&ours, x.clone()), burns.forward(x));
        assert!(difference < 1e-5, "{difference}");
        let running = |n: &BatchNorm| (n.running_mean.value(), n.running_var.value());
        let ((m1, v1), (m2, v2)) = (running(&ours), running(&burns));
        assert!(max_difference(m1, m2) < 1e-6 && max_difference(v1, v2) < 1e-5);
    }

    #[test]
    fn training_gradients_equal_burn_s_module() {
        let device = Device::flex().autodiff();
        let (ours, burns) = (norm(3, &device), norm(3, &device));
        let x = Tensor::<3>::random([5, 3, 8], Distribution::Normal(0.0, 1.0), &device);
        let weights = Tensor::<3>::random([5, 3, 8], Distribution::Normal(0.0, 1.0), &device);
        let gradient = |forward: &dyn Fn(Tensor<3>) -> Tensor<3>| {
            let x = x.clone().require_grad();
            let grads = (forward(x.clone()) * weights.clone()).sum().backward();
            x.grad(&grads).expect("gradient")
        };
        let ours_gradient = gradient(&|x| batch_norm_training(&ours, x));
        let difference = max_difference(ours_gradient, gradient(&|x| burns.forward(x)));
        assert!(difference < 1e-5, "{difference}");
    }
}
