//! Moving Burn layers' weights to and from PyTorch's names and layouts.
//!
//! PyTorch stores a linear layer's weight as `[out, in]`, Burn as `[in, out]`; norms'
//! scale and shift are `weight`/`bias` in PyTorch and `gamma`/`beta` in Burn; GRU and
//! LSTM weights are one matrix per direction with the gates stacked (`[r, z, n]` and
//! `[i, f, g, o]`), and Burn has one linear map per gate.

use burn::module::Param;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{
    BatchNorm, BatchNormConfig, GateController, LayerNorm, LayerNormConfig, Linear, LinearConfig, PaddingConfig2d,
};
use burn::prelude::*;

use crate::state_dict::{Loader, StateDict, put};

/// `nn.Linear(d_in, d_out)` at `prefix`.
pub(crate) fn load_linear(l: &mut Loader<'_>, prefix: &str, d_in: usize, d_out: usize, device: &Device) -> Linear {
    let mut linear = LinearConfig::new(d_in, d_out).init(device);
    linear.weight = Param::from_tensor(l.tensor(&format!("{prefix}.weight"), [d_out, d_in]).transpose());
    linear.bias = Some(l.param(&format!("{prefix}.bias"), [d_out]));
    linear
}

pub(crate) fn save_linear(dict: &mut StateDict, prefix: &str, linear: &Linear) {
    put(dict, &format!("{prefix}.weight"), linear.weight.val().transpose());
    if let Some(bias) = &linear.bias {
        put(dict, &format!("{prefix}.bias"), bias.val());
    }
}

/// `nn.Conv2d(c_in, c_out, 3, padding=1)` at `prefix`.
pub(crate) fn load_conv3x3(l: &mut Loader<'_>, prefix: &str, c_in: usize, c_out: usize, device: &Device) -> Conv2d {
    let mut conv = conv3x3(c_in, c_out).init(device);
    conv.weight = l.param(&format!("{prefix}.weight"), [c_out, c_in, 3, 3]);
    conv.bias = Some(l.param(&format!("{prefix}.bias"), [c_out]));
    conv
}

pub(crate) fn conv3x3(c_in: usize, c_out: usize) -> Conv2dConfig {
    Conv2dConfig::new([c_in, c_out], [3, 3]).with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
}

pub(crate) fn save_conv(dict: &mut StateDict, prefix: &str, conv: &Conv2d) {
    put(dict, &format!("{prefix}.weight"), conv.weight.val());
    if let Some(bias) = &conv.bias {
        put(dict, &format!("{prefix}.bias"), bias.val());
    }
}

/// `nn.BatchNorm2d(c)` at `prefix`, running statistics included.
pub(crate) fn load_batchnorm(l: &mut Loader<'_>, prefix: &str, c: usize, device: &Device) -> BatchNorm {
    let mut bn = BatchNormConfig::new(c).init(device);
    bn.gamma = l.param(&format!("{prefix}.weight"), [c]);
    bn.beta = l.param(&format!("{prefix}.bias"), [c]);
    bn.running_mean = l.running(&format!("{prefix}.running_mean"), c);
    bn.running_var = l.running(&format!("{prefix}.running_var"), c);
    l.ignore(&format!("{prefix}.num_batches_tracked"));
    bn
}

pub(crate) fn save_batchnorm(dict: &mut StateDict, prefix: &str, bn: &BatchNorm) {
    put(dict, &format!("{prefix}.weight"), bn.gamma.val());
    put(dict, &format!("{prefix}.bias"), bn.beta.val());
    put(dict, &format!("{prefix}.running_mean"), bn.running_mean.value_sync());
    put(dict, &format!("{prefix}.running_var"), bn.running_var.value_sync());
}

/// `nn.LayerNorm(d)` at `prefix`.
pub(crate) fn load_layernorm(l: &mut Loader<'_>, prefix: &str, d: usize, device: &Device) -> LayerNorm {
    let mut norm = LayerNormConfig::new(d).init(device);
    norm.gamma = l.param(&format!("{prefix}.weight"), [d]);
    norm.beta = Some(l.param(&format!("{prefix}.bias"), [d]));
    norm
}

pub(crate) fn save_layernorm(dict: &mut StateDict, prefix: &str, norm: &LayerNorm) {
    put(dict, &format!("{prefix}.weight"), norm.gamma.val());
    if let Some(beta) = &norm.beta {
        put(dict, &format!("{prefix}.bias"), beta.val());
    }
}

/// PyTorch's stacked recurrent weights of one direction: `weight_ih [G*H, In]`,
/// `weight_hh [G*H, H]`, `bias_ih [G*H]`, `bias_hh [G*H]`.
pub(crate) struct StackedGates {
    pub weight_ih: Tensor<2>,
    pub weight_hh: Tensor<2>,
    pub bias_ih: Tensor<1>,
    pub bias_hh: Tensor<1>,
}

impl StackedGates {
    pub(crate) fn load(
        l: &mut Loader<'_>,
        prefix: &str,
        suffix: &str,
        gates: usize,
        d_in: usize,
        d_hidden: usize,
    ) -> Self {
        let g = gates * d_hidden;
        StackedGates {
            weight_ih: l.tensor(&format!("{prefix}.weight_ih_l0{suffix}"), [g, d_in]),
            weight_hh: l.tensor(&format!("{prefix}.weight_hh_l0{suffix}"), [g, d_hidden]),
            bias_ih: l.tensor(&format!("{prefix}.bias_ih_l0{suffix}"), [g]),
            bias_hh: l.tensor(&format!("{prefix}.bias_hh_l0{suffix}"), [g]),
        }
    }

    /// Gate `index` (in PyTorch's order) as Burn's pair of linear maps.
    pub(crate) fn gate(&self, index: usize, d_hidden: usize, into: &mut GateController) {
        let start = index * d_hidden;
        let linear = |w: &Tensor<2>, b: &Tensor<1>, target: &mut Linear| {
            target.weight = Param::from_tensor(w.clone().narrow(0, start, d_hidden).transpose());
            target.bias = Some(Param::from_tensor(b.clone().narrow(0, start, d_hidden)));
        };
        linear(&self.weight_ih, &self.bias_ih, &mut into.input_transform);
        linear(&self.weight_hh, &self.bias_hh, &mut into.hidden_transform);
    }

    /// Stacks Burn's gates back into PyTorch's layout and stores them.
    pub(crate) fn save(dict: &mut StateDict, prefix: &str, suffix: &str, gates: &[&GateController]) {
        let weights = |pick: fn(&GateController) -> &Linear| {
            Tensor::cat(gates.iter().map(|g| pick(g).weight.val().transpose()).collect(), 0)
        };
        let biases = |pick: fn(&GateController) -> &Linear| {
            Tensor::cat(gates.iter().filter_map(|g| pick(g).bias.as_ref().map(|b| b.val())).collect(), 0)
        };
        put(dict, &format!("{prefix}.weight_ih_l0{suffix}"), weights(|g| &g.input_transform));
        put(dict, &format!("{prefix}.weight_hh_l0{suffix}"), weights(|g| &g.hidden_transform));
        put(dict, &format!("{prefix}.bias_ih_l0{suffix}"), biases(|g| &g.input_transform));
        put(dict, &format!("{prefix}.bias_hh_l0{suffix}"), biases(|g| &g.hidden_transform));
    }
}
