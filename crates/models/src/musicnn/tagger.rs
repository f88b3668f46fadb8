//! The pretrained tagger itself: front-end, mid-end and back-end, as the package builds
//! them (see the module diagram in `musicnn`).

use burn::nn::conv::{Conv1d, Conv1dConfig, Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, PaddingConfig1d, PaddingConfig2d, Relu};
use burn::prelude::*;

use crate::dropout::FastDropout;
use crate::fast_conv;

use crate::layers;
use crate::state_dict::{Loader, StateDict, put};

use super::EmbeddingLayer;

/// TensorFlow's default batch-norm epsilon.
const TF_EPSILON: f64 = 1e-3;

/// musicnn's hyper-parameters; the defaults are `MSD_musicnn` and `MTT_musicnn`.
#[derive(Config, Debug, PartialEq)]
pub struct MusicnnConfig {
    /// Output tags.
    #[config(default = 50)]
    pub n_tags: usize,
    /// Mel bands of the input.
    #[config(default = 96)]
    pub n_mels: usize,
    /// Filters of each timbral block (`int(1.6 * 128)`).
    #[config(default = 204)]
    pub timbral_filters: usize,
    /// Filters of each temporal block (`int(1.6 * 32)`).
    #[config(default = 51)]
    pub temporal_filters: usize,
    /// Filters of each mid-end layer.
    #[config(default = 64)]
    pub midend_filters: usize,
    /// Units of the penultimate dense layer.
    #[config(default = 200)]
    pub backend_units: usize,
}

/// Time extents of the temporal blocks.
const TEMPORAL_KERNELS: [usize; 3] = [128, 64, 32];
/// Mel extents of the timbral blocks, as fractions of the mel bands.
const TIMBRAL_FRACTIONS: [(f64, &str); 2] = [(0.4, "timbral_74"), (0.7, "timbral_77")];

/// conv -> ReLU -> BN -> max over the mel axis: one front-end block.
#[derive(Module, Debug)]
pub struct FrontendBlock {
    conv: Conv2d,
    norm: BatchNorm,
    activation: Relu,
}

impl FrontendBlock {
    /// `[B, 1, T, M]` to `[B, filters, T]`.
    fn forward(&self, x: Tensor<4>) -> Tensor<3> {
        // The activation is ReLU, as `relu_map` applies it.
        fast_conv::conv2d_relu_norm_max(&self.conv, &self.norm, x)
    }

    /// The block's ReLU output (before its batch norm), `[B, filters, T, M']`.
    fn relu_map(&self, x: Tensor<4>) -> Tensor<4> {
        self.activation.forward(fast_conv::conv2d(&self.conv, x))
    }

    fn pool(y: Tensor<4>) -> Tensor<3> {
        let [b, c, t, _] = y.dims();
        y.max_dim(3).reshape([b, c, t])
    }
}

/// conv1d k7 -> ReLU -> BN: one mid-end layer.
#[derive(Module, Debug)]
pub struct MidendLayer {
    conv: Conv1d,
    norm: BatchNorm,
    activation: Relu,
}

impl MidendLayer {
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        self.norm.forward(self.activation.forward(self.conv.forward(x)))
    }
}

/// The pretrained tagger.
#[derive(Module, Debug)]
pub struct Musicnn {
    input_norm: BatchNorm,
    timbral: Vec<FrontendBlock>,
    temporal: Vec<FrontendBlock>,
    midend: Vec<MidendLayer>,
    pool_norm: BatchNorm,
    dense: Linear,
    dense_activation: Relu,
    dense_norm: BatchNorm,
    /// Present in the package's graph (rate 0.5) and inactive at inference.
    dropout: FastDropout,
    output: Linear,
}

/// Everything the Python package's extractor can return, batch first. Time-major
/// layouts (`[B, T, C]`) as TensorFlow has them.
#[derive(Debug, Clone)]
pub struct MusicnnOutputs {
    /// Both timbral blocks, `[B, T, 2 * 204]`.
    pub timbral: Tensor<3>,
    /// The three temporal blocks, `[B, T, 3 * 51]`.
    pub temporal: Tensor<3>,
    /// Mid-end layers, `[B, T, 64]` each.
    pub cnn1: Tensor<3>,
    /// Second mid-end layer (with its residual).
    pub cnn2: Tensor<3>,
    /// Third mid-end layer (with its residual).
    pub cnn3: Tensor<3>,
    /// Mean over time of front- and mid-end features, `[B, 753]`.
    pub mean_pool: Tensor<2>,
    /// Max over time of front- and mid-end features, `[B, 753]`.
    pub max_pool: Tensor<2>,
    /// The 200-unit penultimate layer (after its batch norm), `[B, 200]`.
    pub penultimate: Tensor<2>,
    /// Tag logits, `[B, 50]`; the taggram is their sigmoid.
    pub logits: Tensor<2>,
}

impl MusicnnConfig {
    fn timbral_width(&self, fraction: f64) -> usize {
        (fraction * self.n_mels as f64) as usize
    }

    fn frontend_channels(&self) -> usize {
        2 * self.timbral_filters + TEMPORAL_KERNELS.len() * self.temporal_filters
    }

    fn midend_channels(&self) -> usize {
        self.frontend_channels() + 3 * self.midend_filters
    }

    /// Length of the mean and max pools together (`2 * 753`).
    pub fn pool_features(&self) -> usize {
        2 * self.midend_channels()
    }

    fn timbral_conv(&self, width: usize) -> Conv2dConfig {
        Conv2dConfig::new([1, self.timbral_filters], [7, width]).with_padding(PaddingConfig2d::Explicit(3, 0, 3, 0))
    }

    fn temporal_conv(&self, height: usize) -> Conv2dConfig {
        // TensorFlow's "same": the odd extra row of padding goes after the input.
        let (before, after) = ((height - 1) / 2, height / 2);
        Conv2dConfig::new([1, self.temporal_filters], [height, 1])
            .with_padding(PaddingConfig2d::Explicit(before, 0, after, 0))
    }

    fn midend_conv(&self, c_in: usize) -> Conv1dConfig {
        Conv1dConfig::new(c_in, self.midend_filters, 7).with_padding(PaddingConfig1d::Explicit(3, 3))
    }

    fn norm(c: usize) -> BatchNormConfig {
        BatchNormConfig::new(c).with_epsilon(TF_EPSILON)
    }

    /// A model with fresh random weights (the real ones come from [`MusicnnConfig::load`]).
    pub fn init(&self, device: &Device) -> Musicnn {
        let block = |conv: Conv2dConfig, c: usize| FrontendBlock {
            conv: conv.init(device),
            norm: Self::norm(c).init(device),
            activation: Relu::new(),
        };
        let midend = |c_in: usize| MidendLayer {
            conv: self.midend_conv(c_in).init(device),
            norm: Self::norm(self.midend_filters).init(device),
            activation: Relu::new(),
        };
        Musicnn {
            input_norm: Self::norm(1).init(device),
            timbral: TIMBRAL_FRACTIONS
                .iter()
                .map(|&(f, _)| block(self.timbral_conv(self.timbral_width(f)), self.timbral_filters))
                .collect(),
            temporal: TEMPORAL_KERNELS.iter().map(|&k| block(self.temporal_conv(k), self.temporal_filters)).collect(),
            midend: vec![midend(self.frontend_channels()), midend(self.midend_filters), midend(self.midend_filters)],
            pool_norm: Self::norm(self.pool_features()).init(device),
            dense: LinearConfig::new(self.pool_features(), self.backend_units).init(device),
            dense_activation: Relu::new(),
            dense_norm: Self::norm(self.backend_units).init(device),
            dropout: FastDropout::new(0.5),
            output: LinearConfig::new(self.backend_units, self.n_tags).init(device),
        }
    }

    /// The tagger with the weights of `dict` (names of `weights/convert_musicnn.py`,
    /// PyTorch layouts); every missing, extra or mis-shaped tensor is named in the error.
    pub fn load(&self, dict: &StateDict, device: &Device) -> crate::Result<Musicnn> {
        let mut loader = Loader::new(dict, device);
        let model = self.load_from(&mut loader, "", device);
        loader.finish("musicnn")?;
        Ok(model)
    }

    pub(crate) fn load_from(&self, l: &mut Loader<'_>, prefix: &str, device: &Device) -> Musicnn {
        let mut model = self.init(device);
        let norm = |l: &mut Loader<'_>, name: &str, c: usize| {
            let mut bn = layers::load_batchnorm(l, &format!("{prefix}{name}"), c, device);
            bn.epsilon = TF_EPSILON;
            bn
        };
        model.input_norm = norm(l, "input_bn", 1);
        for (block, &(fraction, name)) in model.timbral.iter_mut().zip(&TIMBRAL_FRACTIONS) {
            let shape = [self.timbral_filters, 1, 7, self.timbral_width(fraction)];
            block.conv.weight = l.param(&format!("{prefix}{name}.conv.weight"), shape);
            block.conv.bias = Some(l.param(&format!("{prefix}{name}.conv.bias"), [self.timbral_filters]));
            block.norm = norm(l, &format!("{name}.bn"), self.timbral_filters);
        }
        for (block, &k) in model.temporal.iter_mut().zip(&TEMPORAL_KERNELS) {
            let name = format!("temporal_{k}");
            block.conv.weight = l.param(&format!("{prefix}{name}.conv.weight"), [self.temporal_filters, 1, k, 1]);
            block.conv.bias = Some(l.param(&format!("{prefix}{name}.conv.bias"), [self.temporal_filters]));
            block.norm = norm(l, &format!("{name}.bn"), self.temporal_filters);
        }
        let f = self.midend_filters;
        for (i, layer) in model.midend.iter_mut().enumerate() {
            let c_in = if i == 0 { self.frontend_channels() } else { f };
            let name = format!("midend_{}", i + 1);
            // TensorFlow's kernel spans the whole feature axis: [f, 1, 7, c_in] -> conv1d [f, c_in, 7].
            let weight = l.tensor(&format!("{prefix}{name}.conv.weight"), [f, 1, 7, c_in]);
            layer.conv.weight = burn::module::Param::from_tensor(weight.reshape([f, 7, c_in]).swap_dims(1, 2));
            layer.conv.bias = Some(l.param(&format!("{prefix}{name}.conv.bias"), [f]));
            layer.norm = norm(l, &format!("{name}.bn"), f);
        }
        model.pool_norm = norm(l, "backend.pool_bn", self.pool_features());
        model.dense =
            layers::load_linear(l, &format!("{prefix}backend.dense"), self.pool_features(), self.backend_units, device);
        model.dense_norm = norm(l, "backend.dense_bn", self.backend_units);
        model.output =
            layers::load_linear(l, &format!("{prefix}backend.output"), self.backend_units, self.n_tags, device);
        model
    }
}

impl Musicnn {
    /// Tag logits `[B, 50]` for musicnn features `[B, 96, 187]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<2> {
        self.forward_all(x).logits
    }

    /// Every intermediate output for musicnn features `[B, n_mels, frames]`.
    pub fn forward_all(&self, x: Tensor<3>) -> MusicnnOutputs {
        let [b, _, t] = x.dims();
        let x = self.input_norm.forward(x.swap_dims(1, 2).unsqueeze_dim::<4>(1)); // [B, 1, T, M]
        let timbral: Vec<Tensor<3>> = self.timbral.iter().map(|blk| blk.forward(x.clone())).collect();
        let temporal: Vec<Tensor<3>> = self.temporal.iter().map(|blk| blk.forward(x.clone())).collect();
        self.forward_from(timbral, temporal, b, t)
    }

    /// For Grad-CAM: logits-side outputs, and the temporal blocks' ReLU outputs
    /// `[B, 153, M, T]` (before their batch norm, so non-negative, as Grad-CAM expects
    /// of a ReLU layer) as a leaf of the graph (their gradient is kept, nothing flows
    /// past them).
    pub fn forward_all_with_leaf_maps(&self, x: Tensor<3>) -> (MusicnnOutputs, Tensor<4>) {
        let [b, _, t] = x.dims();
        let x = self.input_norm.forward(x.swap_dims(1, 2).unsqueeze_dim::<4>(1)); // [B, 1, T, M]
        let timbral: Vec<Tensor<3>> = self.timbral.iter().map(|blk| blk.forward(x.clone())).collect();
        let maps: Vec<Tensor<4>> = self.temporal.iter().map(|blk| blk.relu_map(x.clone())).collect();
        // The leaf itself is returned (a tensor derived from it would get no gradient).
        let leaf = Tensor::cat(maps, 1).swap_dims(2, 3).detach().require_grad(); // [B, C, M, T]
        let time_major = leaf.clone().swap_dims(2, 3);
        let channels = leaf.dims()[1] / self.temporal.len().max(1);
        let temporal: Vec<Tensor<3>> = self
            .temporal
            .iter()
            .enumerate()
            .map(|(i, blk)| FrontendBlock::pool(blk.norm.forward(time_major.clone().narrow(1, i * channels, channels))))
            .collect();
        (self.forward_from(timbral, temporal, b, t), leaf)
    }

    fn forward_from(&self, timbral: Vec<Tensor<3>>, temporal: Vec<Tensor<3>>, b: usize, t: usize) -> MusicnnOutputs {
        let front = Tensor::cat([timbral.clone(), temporal.clone()].concat(), 1); // [B, 561, T]
        let cnn1 = self.midend[0].forward(front.clone());
        let cnn2 = self.midend[1].forward(cnn1.clone()) + cnn1.clone();
        let cnn3 = self.midend[2].forward(cnn2.clone()) + cnn2.clone();
        let features = Tensor::cat(vec![front, cnn1.clone(), cnn2.clone(), cnn3.clone()], 1); // [B, 753, T]
        let channels = features.dims()[1];
        let max_pool = features.clone().max_dim(2).reshape([b, channels]);
        let mean_pool = features.mean_dim(2).reshape([b, channels]);
        // TensorFlow concatenates [B, C, 1] pools on the last axis and flattens:
        // max and mean interleave per channel.
        let pooled = Tensor::stack::<3>(vec![max_pool.clone(), mean_pool.clone()], 2).reshape([b, 2 * channels]);
        let pooled = self.dropout.forward(self.pool_norm.forward(pooled));
        let penultimate = self.dense_norm.forward(self.dense_activation.forward(self.dense.forward(pooled)));
        let logits = self.output.forward(self.dropout.forward(penultimate.clone()));
        let time_major = |x: Tensor<3>| x.swap_dims(1, 2);
        debug_assert_eq!(cnn1.dims()[2], t);
        MusicnnOutputs {
            timbral: time_major(Tensor::cat(timbral, 1)),
            temporal: time_major(Tensor::cat(temporal, 1)),
            cnn1: time_major(cnn1),
            cnn2: time_major(cnn2),
            cnn3: time_major(cnn3),
            mean_pool,
            max_pool,
            penultimate,
            logits,
        }
    }

    /// The embedding `layer` for musicnn features `[B, n_mels, frames]`.
    pub fn embed(&self, x: Tensor<3>, layer: EmbeddingLayer) -> Tensor<2> {
        Self::select(self.forward_all(x), layer)
    }

    pub(super) fn select(out: MusicnnOutputs, layer: EmbeddingLayer) -> Tensor<2> {
        match layer {
            EmbeddingLayer::Penultimate => out.penultimate,
            EmbeddingLayer::Pools => Tensor::cat(vec![out.mean_pool, out.max_pool], 1),
            EmbeddingLayer::Taggram => burn::tensor::activation::sigmoid(out.logits),
            EmbeddingLayer::PenultimateTaggram => {
                Tensor::cat(vec![out.penultimate, burn::tensor::activation::sigmoid(out.logits)], 1)
            }
        }
    }

    /// The weights under the conversion script's names.
    pub fn state_dict(&self) -> StateDict {
        let mut dict = StateDict::new();
        self.save_into(&mut dict, "");
        dict
    }

    pub(crate) fn save_into(&self, dict: &mut StateDict, prefix: &str) {
        layers::save_batchnorm(dict, &format!("{prefix}input_bn"), &self.input_norm);
        let blocks = self.timbral.iter().zip(TIMBRAL_FRACTIONS.iter().map(|&(_, n)| n.to_string()));
        let temporal = self.temporal.iter().zip(TEMPORAL_KERNELS.iter().map(|k| format!("temporal_{k}")));
        for (block, name) in blocks.chain(temporal) {
            layers::save_conv(dict, &format!("{prefix}{name}.conv"), &block.conv);
            layers::save_batchnorm(dict, &format!("{prefix}{name}.bn"), &block.norm);
        }
        for (i, layer) in self.midend.iter().enumerate() {
            let name = format!("{prefix}midend_{}", i + 1);
            let [f, c_in, k] = layer.conv.weight.dims();
            put(dict, &format!("{name}.conv.weight"), layer.conv.weight.val().swap_dims(1, 2).reshape([f, 1, k, c_in]));
            if let Some(bias) = &layer.conv.bias {
                put(dict, &format!("{name}.conv.bias"), bias.val());
            }
            layers::save_batchnorm(dict, &format!("{name}.bn"), &layer.norm);
        }
        layers::save_batchnorm(dict, &format!("{prefix}backend.pool_bn"), &self.pool_norm);
        layers::save_linear(dict, &format!("{prefix}backend.dense"), &self.dense);
        layers::save_batchnorm(dict, &format!("{prefix}backend.dense_bn"), &self.dense_norm);
        layers::save_linear(dict, &format!("{prefix}backend.output"), &self.output);
    }
}
