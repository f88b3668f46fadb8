//! The original's spectrogram transformer: 16 x 16 patches of the log-mel, a learned
//! class token and position embedding, four post-norm encoder layers, a linear head.
//!
//! ```text
//! [B, 128, 130] -> pad time to 144 -> 8 x 9 patches of 256 -> linear 256->128
//!   -> [cls; patches] + pos (73 x 128) -> 4 x encoder (4 heads, ff 256, GELU, dropout 0.1)
//!   -> LayerNorm -> class token -> dropout -> linear 128->classes
//! ```
//!
//! State-dict keys are PyTorch's `nn.TransformerEncoder` ones (`encoder.layers.i.self_attn.
//! in_proj_weight`, `linear1`, `norm1`, ...), as `torch_reference.py` defines them.

use burn::module::Param;
use burn::nn::{Gelu, Initializer, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::ops::PadMode;

use crate::dropout::FastDropout;
use crate::linear_op::linear;

mod attention_op;
mod cpu;
mod train_ops;

use crate::layers;
use crate::state_dict::{Loader, StateDict, put};

/// The transformer's hyper-parameters; the defaults are the original's.
#[derive(Config, Debug, PartialEq)]
pub struct SpecTransformerConfig {
    /// Number of genres.
    pub n_classes: usize,
    /// Mel bands of the input.
    #[config(default = 128)]
    pub n_mels: usize,
    /// Frames of the input.
    #[config(default = 130)]
    pub n_frames: usize,
    /// Patch side.
    #[config(default = 16)]
    pub patch: usize,
    /// Embedding size.
    #[config(default = 128)]
    pub dim: usize,
    /// Encoder layers.
    #[config(default = 4)]
    pub layers: usize,
    /// Attention heads.
    #[config(default = 4)]
    pub heads: usize,
    /// Feed-forward size.
    #[config(default = 256)]
    pub ff: usize,
    /// Dropout in the encoder and before the head.
    #[config(default = 0.1)]
    pub dropout: f64,
}

/// The spectrogram transformer.
#[derive(Module, Debug)]
pub struct SpecTransformer {
    projection: Linear,
    class_token: Param<Tensor<3>>,
    positions: Param<Tensor<3>>,
    encoder: Vec<EncoderLayer>,
    norm: LayerNorm,
    dropout: FastDropout,
    head: Linear,
    patch: usize,
}

impl SpecTransformerConfig {
    /// Patches along the mel axis and the time axis.
    fn grid(&self) -> (usize, usize) {
        (self.n_mels.div_ceil(self.patch), self.n_frames.div_ceil(self.patch))
    }

    fn tokens(&self) -> usize {
        let (h, w) = self.grid();
        h * w + 1
    }

    /// Fresh encoder layers drawn as PyTorch's `nn.TransformerEncoder` draws them: one
    /// layer (attention projections Xavier-uniform over the fused `[3 dim, dim]` matrix,
    /// attention biases zero, the feed-forward layers PyTorch's and Burn's common
    /// default), copied into every layer, since PyTorch clones the layer it is given.
    fn encoder(&self, device: &Device) -> Vec<EncoderLayer> {
        let d = self.dim;
        let bound = (6.0 / (d + 3 * d) as f64).sqrt();
        let attention = LinearConfig::new(d, d).with_initializer(Initializer::Uniform { min: -bound, max: bound });
        let zero_bias = |mut linear: Linear| {
            linear.bias = Some(Param::from_tensor(Tensor::zeros([linear.weight.dims()[1]], device)));
            linear
        };
        let first = EncoderLayer {
            query: zero_bias(attention.init(device)),
            key: zero_bias(attention.init(device)),
            value: zero_bias(attention.init(device)),
            out_proj: zero_bias(LinearConfig::new(d, d).init(device)),
            linear1: LinearConfig::new(d, self.ff).init(device),
            linear2: LinearConfig::new(self.ff, d).init(device),
            norm1: LayerNormConfig::new(d).with_epsilon(LAYER_NORM_EPSILON).init(device),
            norm2: LayerNormConfig::new(d).with_epsilon(LAYER_NORM_EPSILON).init(device),
            activation: Gelu::new(),
            dropout: FastDropout::new(self.dropout),
            heads: self.heads,
        };
        // Copies with parameters of their own (the optimiser keys its state by parameter).
        let copy = |linear: &Linear| Linear {
            weight: Param::from_tensor(linear.weight.val()),
            bias: linear.bias.as_ref().map(|b| Param::from_tensor(b.val())),
        };
        (0..self.layers)
            .map(|_| EncoderLayer {
                query: copy(&first.query),
                key: copy(&first.key),
                value: copy(&first.value),
                out_proj: copy(&first.out_proj),
                linear1: copy(&first.linear1),
                linear2: copy(&first.linear2),
                norm1: LayerNormConfig::new(d).with_epsilon(LAYER_NORM_EPSILON).init(device),
                norm2: LayerNormConfig::new(d).with_epsilon(LAYER_NORM_EPSILON).init(device),
                activation: Gelu::new(),
                dropout: FastDropout::new(self.dropout),
                heads: self.heads,
            })
            .collect()
    }

    /// A model with fresh random weights (embeddings drawn as PyTorch's
    /// `trunc_normal_(std=0.02)` would, near enough: normal with std 0.02).
    pub fn init(&self, device: &Device) -> SpecTransformer {
        let normal = |shape: [usize; 3]| {
            Param::from_tensor(Tensor::random(shape, burn::tensor::Distribution::Normal(0.0, 0.02), device))
        };
        SpecTransformer {
            projection: LinearConfig::new(self.patch * self.patch, self.dim).init(device),
            class_token: normal([1, 1, self.dim]),
            positions: normal([1, self.tokens(), self.dim]),
            encoder: self.encoder(device),
            norm: LayerNormConfig::new(self.dim).with_epsilon(LAYER_NORM_EPSILON).init(device),
            dropout: FastDropout::new(self.dropout),
            head: LinearConfig::new(self.dim, self.n_classes).init(device),
            patch: self.patch,
        }
    }

    /// A model with the weights of `dict` (PyTorch's key names).
    pub(crate) fn load(&self, dict: &StateDict, device: &Device) -> crate::Result<SpecTransformer> {
        let mut l = Loader::new(dict, device);
        let mut model = self.init(device);
        let d = self.dim;
        model.projection = layers::load_linear(&mut l, "proj", self.patch * self.patch, d, device);
        model.class_token = l.param("cls", [1, 1, d]);
        model.positions = l.param("pos", [1, self.tokens(), d]);
        for (i, layer) in model.encoder.iter_mut().enumerate() {
            let p = format!("encoder.layers.{i}");
            let in_proj = l.tensor(&format!("{p}.self_attn.in_proj_weight"), [3 * d, d]);
            let in_bias = l.tensor(&format!("{p}.self_attn.in_proj_bias"), [3 * d]);
            for (k, target) in [&mut layer.query, &mut layer.key, &mut layer.value].into_iter().enumerate() {
                target.weight = Param::from_tensor(in_proj.clone().narrow(0, k * d, d).transpose());
                target.bias = Some(Param::from_tensor(in_bias.clone().narrow(0, k * d, d)));
            }
            layer.out_proj = layers::load_linear(&mut l, &format!("{p}.self_attn.out_proj"), d, d, device);
            layer.linear1 = layers::load_linear(&mut l, &format!("{p}.linear1"), d, self.ff, device);
            layer.linear2 = layers::load_linear(&mut l, &format!("{p}.linear2"), self.ff, d, device);
            layer.norm1 = layers::load_layernorm(&mut l, &format!("{p}.norm1"), d, device);
            layer.norm2 = layers::load_layernorm(&mut l, &format!("{p}.norm2"), d, device);
        }
        model.norm = layers::load_layernorm(&mut l, "norm", d, device);
        model.head = layers::load_linear(&mut l, "head.1", d, self.n_classes, device);
        l.finish("transformer")?;
        Ok(model)
    }
}

impl SpecTransformer {
    /// Logits `[B, classes]` for features `[B, n_mels, frames]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<2> {
        let device = x.device();
        if !device.is_autodiff()
            && device == Device::flex()
            && let Some(logits) = cpu::forward(self, &x)
        {
            return logits;
        }
        self.forward_with_layers(x)
    }

    /// [`SpecTransformer::forward`] through Burn's operations: training, GPUs, and
    /// the reference for the CPU inference path.
    fn forward_with_layers(&self, x: Tensor<3>) -> Tensor<2> {
        let (tokens, _) = self.tokens_in(x);
        let x = self.encoder.iter().fold(tokens, |x, layer| layer.forward(x));
        self.classify(x)
    }

    /// Side of the square patches.
    pub fn patch_size(&self) -> usize {
        self.patch
    }

    /// For Grad-CAM on patch tokens: logits, and the patch tokens entering the last
    /// encoder layer as a grid `[B, dim, rows, columns]` (rows along mels, columns along
    /// time, covering the input padded to whole patches). The output tokens cannot
    /// serve: only the class token reaches the head. The grid is a leaf of the graph
    /// (its gradient is kept, nothing flows past it), so this is for explanations only.
    pub fn forward_with_tokens(&self, x: Tensor<3>) -> (Tensor<2>, Tensor<4>) {
        let (mut x, (gh, gw)) = self.tokens_in(x);
        let last = self.encoder.len().saturating_sub(1);
        for layer in &self.encoder[..last] {
            x = layer.forward(x);
        }
        let [b, n, d] = x.dims();
        let cls = x.clone().slice([0..b, 0..1, 0..d]).detach();
        // The grid is the leaf (a tensor derived from a leaf would get no gradient);
        // the patch tokens are rebuilt from it.
        let grid = x.slice([0..b, 1..n, 0..d]).reshape([b, gh, gw, d]).permute([0, 3, 1, 2]).detach().require_grad();
        let patches = grid.clone().permute([0, 2, 3, 1]).reshape([b, gh * gw, d]);
        let x = Tensor::cat(vec![cls, patches], 1);
        let x = self.encoder[last..].iter().fold(x, |x, layer| layer.forward(x));
        (self.classify(x), grid)
    }

    /// Class token plus patch tokens with positions, `[B, 1 + patches, dim]`, and the
    /// patch grid.
    fn tokens_in(&self, x: Tensor<3>) -> (Tensor<3>, (usize, usize)) {
        let [b, h, w] = x.dims();
        let p = self.patch;
        let (pad_h, pad_w) = ((p - h % p) % p, (p - w % p) % p);
        let x = x.pad([(0, pad_h), (0, pad_w)], PadMode::Constant(0.0));
        let (gh, gw) = ((h + pad_h) / p, (w + pad_w) / p);
        // [B, gh, p, gw, p] -> [B, gh, gw, p, p] -> [B, gh * gw, p * p]
        let patches: Tensor<3> = x.reshape([b, gh, p, gw, p]).permute([0, 1, 3, 2, 4]).reshape([b, gh * gw, p * p]);
        let tokens = linear(&self.projection, patches);
        let [_, _, d] = tokens.dims();
        let cls = self.class_token.val().expand([b, 1, d]);
        (Tensor::cat(vec![cls, tokens], 1) + self.positions.val().slice([0..1, 0..gh * gw + 1, 0..d]), (gh, gw))
    }

    fn classify(&self, x: Tensor<3>) -> Tensor<2> {
        let x = train_ops::layer_norm(&self.norm, LAYER_NORM_EPSILON, x);
        let [b, _, d] = x.dims();
        let cls = x.slice([0..b, 0..1, 0..d]).reshape([b, d]);
        linear(&self.head, self.dropout.forward(cls))
    }

    /// The weights under PyTorch's key names.
    pub(crate) fn state_dict(&self) -> StateDict {
        let mut dict = StateDict::new();
        layers::save_linear(&mut dict, "proj", &self.projection);
        put(&mut dict, "cls", self.class_token.val());
        put(&mut dict, "pos", self.positions.val());
        for (i, layer) in self.encoder.iter().enumerate() {
            let p = format!("encoder.layers.{i}");
            let (q, k, v) = (&layer.query, &layer.key, &layer.value);
            let weights = [q, k, v].map(|l| l.weight.val().transpose());
            put(&mut dict, &format!("{p}.self_attn.in_proj_weight"), Tensor::cat(weights.to_vec(), 0));
            let biases: Vec<Tensor<1>> = [q, k, v].iter().filter_map(|l| l.bias.as_ref().map(|b| b.val())).collect();
            put(&mut dict, &format!("{p}.self_attn.in_proj_bias"), Tensor::cat(biases, 0));
            layers::save_linear(&mut dict, &format!("{p}.self_attn.out_proj"), &layer.out_proj);
            layers::save_linear(&mut dict, &format!("{p}.linear1"), &layer.linear1);
            layers::save_linear(&mut dict, &format!("{p}.linear2"), &layer.linear2);
            layers::save_layernorm(&mut dict, &format!("{p}.norm1"), &layer.norm1);
            layers::save_layernorm(&mut dict, &format!("{p}.norm2"), &layer.norm2);
        }
        layers::save_layernorm(&mut dict, "norm", &self.norm);
        layers::save_linear(&mut dict, "head.1", &self.head);
        dict
    }
}

/// One encoder layer as PyTorch's `nn.TransformerEncoderLayer` defaults define it
/// (post-norm, GELU here, dropout on the attention weights, after the attention, inside
/// and after the feed-forward block):
///
/// ```text
/// x = norm1(x + dropout(out_proj(attention(x))))
/// x = norm2(x + dropout(linear2(dropout(gelu(linear1(x))))))
/// ```
///
/// Written out rather than taken from `burn::nn::transformer` so that its dropout is
/// [`FastDropout`]: Burn's per-element mask sampling was a quarter of a training step.
#[derive(Module, Debug)]
pub struct EncoderLayer {
    query: Linear,
    key: Linear,
    value: Linear,
    out_proj: Linear,
    linear1: Linear,
    linear2: Linear,
    norm1: LayerNorm,
    norm2: LayerNorm,
    activation: Gelu,
    dropout: FastDropout,
    heads: usize,
}

/// PyTorch's `nn.LayerNorm` default, which the original's encoder uses.
const LAYER_NORM_EPSILON: f64 = 1e-5;

impl EncoderLayer {
    /// `[B, tokens, dim]` to `[B, tokens, dim]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let attended = self.dropout.forward(self.attention(x.clone()));
        let x = train_ops::layer_norm(&self.norm1, LAYER_NORM_EPSILON, x + attended);
        let inner = self.dropout.forward(train_ops::gelu(&self.activation, linear(&self.linear1, x.clone())));
        let outer = self.dropout.forward(linear(&self.linear2, inner));
        train_ops::layer_norm(&self.norm2, LAYER_NORM_EPSILON, x + outer)
    }

    /// Multi-head scaled dot-product self-attention, `[B, N, dim]`.
    fn attention(&self, x: Tensor<3>) -> Tensor<3> {
        let [b, n, d] = x.dims();
        let (h, dh) = (self.heads, d / self.heads);
        // [B, N, d] -> [B, h, N, dh]
        let split = |t: Tensor<3>| t.reshape([b, n, h, dh]).swap_dims(1, 2);
        let (q, k, v) = (linear(&self.query, x.clone()), linear(&self.key, x.clone()), linear(&self.value, x));
        // The attention dropout's mask, drawn as `FastDropout::forward` would draw it.
        let mask = self.dropout.mask::<4>([b, h, n, n].into(), &q.device());
        let out = match attention_op::attention(&q, &k, &v, mask.as_ref(), h) {
            Some(out) => out,
            None => {
                let scores = split(q).matmul(split(k).swap_dims(2, 3)) / (dh as f64).sqrt();
                let weights = train_ops::softmax(scores);
                let weights = match mask {
                    Some(mask) => weights * mask,
                    None => weights,
                };
                weights.matmul(split(v)).swap_dims(1, 2).reshape([b, n, d])
            }
        };
        linear(&self.out_proj, out)
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::Distribution;

    use super::*;

    #[test]
    fn the_cpu_inference_path_equals_burn_s_layers() {
        let device = Device::flex();
        device.seed(11);
        let mut model = SpecTransformerConfig::new(10).init(&device);
        // Every layer different and every bias non-zero, unlike a fresh model's, so
        // that a layer read in place of another shows.
        let random = |linear: &Linear| Linear {
            weight: Param::from_tensor(Tensor::random(linear.weight.dims(), Distribution::Normal(0.0, 0.1), &device)),
            bias: linear
                .bias
                .as_ref()
                .map(|b| Param::from_tensor(Tensor::random(b.dims(), Distribution::Normal(0.0, 0.1), &device))),
        };
        for layer in &mut model.encoder {
            for linear in [
                &mut layer.query,
                &mut layer.key,
                &mut layer.value,
                &mut layer.out_proj,
                &mut layer.linear1,
                &mut layer.linear2,
            ] {
                *linear = random(linear);
            }
        }
        // Full-size input, and a smaller one whose edges need padding on both axes.
        for shape in [[3, 128, 130], [2, 40, 37]] {
            let x = Tensor::<3>::random(shape, Distribution::Normal(0.0, 1.0), &device);
            let fast = cpu::forward(&model, &x).expect("the fast path applies on flex");
            let reference = model.forward_with_layers(x);
            let difference: f32 = (fast - reference).abs().max().into_scalar();
            assert!(difference < 1e-4, "{shape:?}: {difference}");
        }
    }

    #[test]
    fn fresh_layers_start_as_copies_of_one_as_in_pytorch() {
        let device = Device::flex();
        device.seed(12);
        let model = SpecTransformerConfig::new(4).init(&device);
        let values = |linear: &Linear| linear.weight.val().into_data().try_into_vec::<f32>().expect("f32");
        let (first, second) = (&model.encoder[0], &model.encoder[1]);
        assert_eq!(values(&first.query), values(&second.query));
        assert_eq!(values(&first.linear2), values(&second.linear2));
        assert_ne!(first.query.weight.id, second.query.weight.id, "each layer has parameters of its own");
        assert_ne!(values(&first.query), values(&first.key));
        let bias: f32 = first.value.bias.as_ref().expect("a bias").val().abs().max().into_scalar();
        assert_eq!(bias, 0.0);
        let bound = (6.0f32 / 512.0).sqrt();
        assert!(values(&first.key).iter().all(|v| v.abs() <= bound));
    }
}
