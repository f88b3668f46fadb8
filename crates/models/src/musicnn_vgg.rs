//! The `musicnn` package's VGG baseline (`MSD_vgg`, `MTT_vgg`): five 3 x 3 conv blocks
//! over musicnn's features, a dense layer to 50 tags.
//!
//! ```text
//! [B, 96 mels, 187 frames] -> [B, 1, 187, 96] -> BN
//!   5 x (conv 3x3 "same", 128 -> ReLU -> BN -> max-pool)   pools (4,1)/(2,2), then (2,2)/(2,2) x 3, then (4,4)/(4,4)
//!   -> [B, 128, 2, 1] -> flatten in TensorFlow's order (time, then channel) -> dense 50 (logits)
//! ```
//!
//! Weight names as `weights/convert_musicnn.py` writes them: `input_bn`, `conv1` ...
//! `conv5`, `bn1` ... `bn5`, `output` (see `weights/musicnn/ARCHITECTURE.md`).

use burn::nn::conv::Conv2d;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, Relu};
use burn::prelude::*;

use crate::layers;
use crate::state_dict::{Loader, StateDict};

/// TensorFlow's default batch-norm epsilon.
const TF_EPSILON: f64 = 1e-3;
/// Pool kernel and stride of each block.
const POOLS: [([usize; 2], [usize; 2]); 5] =
    [([4, 1], [2, 2]), ([2, 2], [2, 2]), ([2, 2], [2, 2]), ([2, 2], [2, 2]), ([4, 4], [4, 4])];

/// The VGG baseline's hyper-parameters; the defaults are the package's.
#[derive(Config, Debug, PartialEq)]
pub struct VggConfig {
    /// Output tags.
    #[config(default = 50)]
    pub n_tags: usize,
    /// Filters of every conv layer.
    #[config(default = 128)]
    pub filters: usize,
    /// Values after the last pool (`2 * 1 * 128` for 187 x 96 input).
    #[config(default = 256)]
    pub flat: usize,
}

/// conv 3x3 -> ReLU -> BN -> max-pool.
#[derive(Module, Debug)]
pub struct VggBlock {
    conv: Conv2d,
    activation: Relu,
    norm: BatchNorm,
    pool: MaxPool2d,
}

/// The VGG tagger.
#[derive(Module, Debug)]
pub struct Vgg {
    input_norm: BatchNorm,
    blocks: Vec<VggBlock>,
    output: Linear,
}

/// The VGG's outputs: the five pools (`[B, 128, H, W]`, H along time) and the logits.
#[derive(Debug, Clone)]
pub struct VggOutputs {
    /// Each block's pooled output.
    pub pools: Vec<Tensor<4>>,
    /// Tag logits `[B, 50]`; the taggram is their sigmoid.
    pub logits: Tensor<2>,
}

impl VggConfig {
    /// Random weights (the real ones come from [`VggConfig::load`]).
    pub fn init(&self, device: &Device) -> Vgg {
        let mut c_in = 1;
        let blocks = POOLS
            .iter()
            .map(|&(kernel, stride)| {
                let block = VggBlock {
                    conv: layers::conv3x3(c_in, self.filters).init(device),
                    activation: Relu::new(),
                    norm: BatchNormConfig::new(self.filters).with_epsilon(TF_EPSILON).init(device),
                    pool: MaxPool2dConfig::new(kernel).with_strides(stride).init(),
                };
                c_in = self.filters;
                block
            })
            .collect();
        Vgg {
            input_norm: BatchNormConfig::new(1).with_epsilon(TF_EPSILON).init(device),
            blocks,
            output: LinearConfig::new(self.flat, self.n_tags).init(device),
        }
    }

    /// The tagger with the weights of `dict`; every missing, extra or mis-shaped tensor
    /// is named in the error.
    pub fn load(&self, dict: &StateDict, device: &Device) -> crate::Result<Vgg> {
        let mut l = Loader::new(dict, device);
        let mut model = self.init(device);
        let norm = |l: &mut Loader<'_>, name: &str, c: usize| {
            let mut bn = layers::load_batchnorm(l, name, c, device);
            bn.epsilon = TF_EPSILON;
            bn
        };
        model.input_norm = norm(&mut l, "input_bn", 1);
        let mut c_in = 1;
        for (i, block) in model.blocks.iter_mut().enumerate() {
            block.conv = layers::load_conv3x3(&mut l, &format!("conv{}", i + 1), c_in, self.filters, device);
            block.norm = norm(&mut l, &format!("bn{}", i + 1), self.filters);
            c_in = self.filters;
        }
        model.output = layers::load_linear(&mut l, "output", self.flat, self.n_tags, device);
        l.finish("musicnn vgg")?;
        Ok(model)
    }
}

impl Vgg {
    /// Tag logits `[B, 50]` for musicnn features `[B, 96, 187]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<2> {
        self.forward_all(x).logits
    }

    /// The pools and the logits.
    pub fn forward_all(&self, x: Tensor<3>) -> VggOutputs {
        let mut x = self.input_norm.forward(x.swap_dims(1, 2).unsqueeze_dim::<4>(1)); // [B, 1, T, M]
        let mut pools = Vec::with_capacity(self.blocks.len());
        for block in &self.blocks {
            x = block.pool.forward(block.norm.forward(block.activation.forward(block.conv.forward(x))));
            pools.push(x.clone());
        }
        // TensorFlow flattens NHWC: time row first, then width, then channel.
        let [b, c, h, w] = x.dims();
        let flat = x.permute([0, 2, 3, 1]).reshape([b, h * w * c]);
        VggOutputs { pools, logits: self.output.forward(flat) }
    }
}

/// The pretrained VGG stored in the converted weights file `path` (the repository's
/// `weights/musicnn/<source>_vgg.pt`).
pub fn load_pretrained_vgg(path: &std::path::Path, device: &Device) -> crate::Result<Vgg> {
    VggConfig::new().load(&StateDict::read_pytorch(path)?, device)
}
