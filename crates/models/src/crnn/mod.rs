//! The original's CRNNs: a three-block CNN front, a bidirectional GRU or LSTM over the
//! 16 time steps it leaves, and a small classifier on the last step.
//!
//! ```text
//! [B, 128, 130] -> unsqueeze -> 3 x (conv 3x3 -> BN -> ReLU -> maxpool 2x2 -> dropout)
//!   -> [B, 128, 16, 16] -> permute (B, W, C, H) -> [B, 16, 2048]
//!   -> BiGRU / BiLSTM (hidden 128) -> last step [B, 256]
//!   -> dropout 0.5 -> linear 256->128 -> ReLU -> dropout 0.5 -> linear 128->classes
//! ```
//!
//! State-dict keys are the original's: `cnn.0` ... `cnn.14` (conv at 0/5/10, BN at
//! 1/6/11), `gru.*` or `lstm.*`, `classifier.1` and `classifier.4`.

mod recurrent;

use burn::nn::conv::Conv2d;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, Relu};
use burn::prelude::*;

use crate::dropout::FastDropout;
use crate::{conv_block, fast_conv};

use recurrent::Recurrent;
pub use recurrent::RecurrentKind;

use crate::layers;
use crate::state_dict::{Loader, StateDict};

/// Channels of the three conv blocks.
const CHANNELS: [usize; 3] = [32, 64, 128];

/// The CRNN's hyper-parameters; the defaults are the original's.
#[derive(Config, Debug, PartialEq)]
pub struct CrnnConfig {
    /// Number of genres.
    pub n_classes: usize,
    /// GRU or LSTM.
    pub recurrent: RecurrentKind,
    /// Mel bands of the input.
    #[config(default = 128)]
    pub n_mels: usize,
    /// Hidden size of each direction of the recurrent layer.
    #[config(default = 128)]
    pub hidden: usize,
    /// Dropout after each conv block.
    #[config(default = "[0.25, 0.30, 0.35]")]
    pub conv_dropout: [f64; 3],
    /// Dropout in the classifier.
    #[config(default = 0.5)]
    pub head_dropout: f64,
}

/// One conv block: conv 3x3 -> BatchNorm -> ReLU -> max-pool 2x2 -> dropout.
#[derive(Module, Debug)]
pub struct ConvBlock {
    conv: Conv2d,
    norm: BatchNorm,
    pool: MaxPool2d,
    dropout: FastDropout,
}

impl ConvBlock {
    fn new(conv: Conv2d, norm: BatchNorm, dropout: f64) -> Self {
        ConvBlock { conv, norm, pool: MaxPool2dConfig::new([2, 2]).init(), dropout: FastDropout::new(dropout) }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let pooled = match conv_block::conv_norm_relu_pool_train(&self.conv, &self.norm, &self.pool, &x) {
            Some(pooled) => pooled,
            None => fast_conv::conv2d_norm_relu_pool(&self.conv, &self.norm, &self.pool, x),
        };
        self.dropout.forward(pooled)
    }

    /// The output of the block's ReLU, before pooling: what Grad-CAM weighs. (In CPU
    /// inference the convolution, batch norm and ReLU run as one folded step.)
    pub fn activation(&self, x: Tensor<4>) -> Tensor<4> {
        fast_conv::conv2d_norm_relu(&self.conv, &self.norm, x)
    }

    /// The rest of the block after its ReLU: pooling and dropout.
    pub fn after_activation(&self, activation: Tensor<4>) -> Tensor<4> {
        self.dropout.forward(self.pool.forward(activation))
    }
}

/// CRNN-BiGRU or CRNN-BiLSTM.
#[derive(Module, Debug)]
pub struct Crnn {
    blocks: Vec<ConvBlock>,
    recurrent: Recurrent,
    head_dropout: FastDropout,
    hidden: Linear,
    head_activation: Relu,
    output: Linear,
}

impl CrnnConfig {
    /// A model with fresh random weights.
    pub fn init(&self, device: &Device) -> Crnn {
        let mut c_in = 1;
        let blocks = CHANNELS
            .iter()
            .zip(self.conv_dropout)
            .map(|(&c_out, p)| {
                let block = ConvBlock::new(
                    layers::conv3x3(c_in, c_out).init(device),
                    BatchNormConfig::new(c_out).init(device),
                    p,
                );
                c_in = c_out;
                block
            })
            .collect();
        Crnn {
            blocks,
            recurrent: Recurrent::init(self.recurrent, self.sequence_features(), self.hidden, device),
            head_dropout: FastDropout::new(self.head_dropout),
            hidden: LinearConfig::new(2 * self.hidden, 128).init(device),
            head_activation: Relu::new(),
            output: LinearConfig::new(128, self.n_classes).init(device),
        }
    }

    /// Features per time step after the CNN: 128 channels x (n_mels / 8) bands.
    fn sequence_features(&self) -> usize {
        CHANNELS[2] * (self.n_mels / 8)
    }

    /// A model with the weights of `dict` (the original's key names).
    pub(crate) fn load(&self, dict: &StateDict, device: &Device) -> crate::Result<Crnn> {
        let mut l = Loader::new(dict, device);
        let mut c_in = 1;
        let mut blocks = Vec::new();
        for (i, (&c_out, p)) in CHANNELS.iter().zip(self.conv_dropout).enumerate() {
            let conv = layers::load_conv3x3(&mut l, &format!("cnn.{}", 5 * i), c_in, c_out, device);
            let norm = layers::load_batchnorm(&mut l, &format!("cnn.{}", 5 * i + 1), c_out, device);
            blocks.push(ConvBlock::new(conv, norm, p));
            c_in = c_out;
        }
        let recurrent = Recurrent::load(&mut l, self.recurrent, self.sequence_features(), self.hidden, device);
        let model = Crnn {
            blocks,
            recurrent,
            head_dropout: FastDropout::new(self.head_dropout),
            hidden: layers::load_linear(&mut l, "classifier.1", 2 * self.hidden, 128, device),
            head_activation: Relu::new(),
            output: layers::load_linear(&mut l, "classifier.4", 128, self.n_classes, device),
        };
        l.finish(self.recurrent.architecture_name())?;
        Ok(model)
    }
}

impl Crnn {
    /// Logits `[B, classes]` for features `[B, n_mels, frames]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<2> {
        let mut x: Tensor<4> = x.unsqueeze_dim(1);
        for block in &self.blocks {
            x = block.forward(x);
        }
        self.head(x)
    }

    /// For Grad-CAM: logits, and the last conv block's ReLU output `[B, 128, H, W]`
    /// (before its pooling) as a leaf of the graph, so that its gradient is kept (and
    /// nothing flows past it): for explanations only.
    pub fn forward_with_last_activation(&self, x: Tensor<3>) -> (Tensor<2>, Tensor<4>) {
        let mut x: Tensor<4> = x.unsqueeze_dim(1);
        let last = self.blocks.len() - 1;
        for block in &self.blocks[..last] {
            x = block.forward(x);
        }
        let activation = self.blocks[last].activation(x).detach().require_grad();
        let x = self.blocks[last].after_activation(activation.clone());
        (self.head(x), activation)
    }

    fn head(&self, x: Tensor<4>) -> Tensor<2> {
        let [b, c, h, w] = x.dims();
        // (B, C, H, W) -> (B, W, C, H): W is time.
        let sequence = x.permute([0, 3, 1, 2]).reshape([b, w, c * h]);
        let last = self.recurrent.last_step(sequence);
        let x = self.hidden.forward(self.head_dropout.forward(last));
        self.output.forward(self.head_dropout.forward(self.head_activation.forward(x)))
    }

    /// The weights under the original's key names.
    pub(crate) fn state_dict(&self) -> StateDict {
        let mut dict = StateDict::new();
        for (i, block) in self.blocks.iter().enumerate() {
            layers::save_conv(&mut dict, &format!("cnn.{}", 5 * i), &block.conv);
            layers::save_batchnorm(&mut dict, &format!("cnn.{}", 5 * i + 1), &block.norm);
        }
        self.recurrent.save(&mut dict);
        layers::save_linear(&mut dict, "classifier.1", &self.hidden);
        layers::save_linear(&mut dict, "classifier.4", &self.output);
        dict
    }
}
