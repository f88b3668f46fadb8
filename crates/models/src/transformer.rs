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
use burn::nn::{Gelu, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::softmax;
use burn::tensor::ops::PadMode;

use crate::dropout::FastDropout;

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

    fn encoder(&self, device: &Device) -> Vec<EncoderLayer> {
        (0..self.layers)
            .map(|_| EncoderLayer {
                query: LinearConfig::new(self.dim, self.dim).init(device),
                key: LinearConfig::new(self.dim, self.dim).init(device),
                value: LinearConfig::new(self.dim, self.dim).init(device),
                out_proj: LinearConfig::new(self.dim, self.dim).init(device),
                linear1: LinearConfig::new(self.dim, self.ff).init(device),
                linear2: LinearConfig::new(self.ff, self.dim).init(device),
                norm1: LayerNormConfig::new(self.dim).with_epsilon(LAYER_NORM_EPSILON).init(device),
                norm2: LayerNormConfig::new(self.dim).with_epsilon(LAYER_NORM_EPSILON).init(device),
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
            norm: LayerNormConfig::new(self.dim).init(device),
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
        let tokens = self.projection.forward(patches);
        let [_, _, d] = tokens.dims();
        let cls = self.class_token.val().expand([b, 1, d]);
        (Tensor::cat(vec![cls, tokens], 1) + self.positions.val().slice([0..1, 0..gh * gw + 1, 0..d]), (gh, gw))
    }

    fn classify(&self, x: Tensor<3>) -> Tensor<2> {
        let x = self.norm.forward(x);
        let [b, _, d] = x.dims();
        let cls = x.slice([0..b, 0..1, 0..d]).reshape([b, d]);
        self.head.forward(self.dropout.forward(cls))
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
        let device = x.device();
        if !device.is_autodiff()
            && device == Device::flex()
            && let Some(y) = self.forward_cpu_inference(&x)
        {
            return y;
        }
        let attended = self.dropout.forward(self.attention(x.clone()));
        let x = self.norm1.forward(x + attended);
        let inner = self.dropout.forward(self.activation.forward(self.linear1.forward(x.clone())));
        let outer = self.dropout.forward(self.linear2.forward(inner));
        self.norm2.forward(x + outer)
    }

    /// Multi-head scaled dot-product self-attention, `[B, N, dim]`.
    fn attention(&self, x: Tensor<3>) -> Tensor<3> {
        let [b, n, d] = x.dims();
        let (h, dh) = (self.heads, d / self.heads);
        // [B, N, d] -> [B, h, N, dh]
        let split = |t: Tensor<3>| t.reshape([b, n, h, dh]).swap_dims(1, 2);
        let q = split(self.query.forward(x.clone()));
        let k = split(self.key.forward(x.clone()));
        let v = split(self.value.forward(x));
        let scores = q.matmul(k.swap_dims(2, 3)) / (dh as f64).sqrt();
        let weights = self.dropout.forward(softmax(scores, 3));
        let out = weights.matmul(v).swap_dims(1, 2).reshape([b, n, d]);
        self.out_proj.forward(out)
    }
}

/// A linear layer's weights as plain numbers: `[d_in, d_out]` row-major and the bias.
struct DenseWeights {
    weight: Vec<f32>,
    bias: Vec<f32>,
    d_in: usize,
    d_out: usize,
}

impl DenseWeights {
    fn of(linear: &Linear) -> Option<Self> {
        let [d_in, d_out] = linear.weight.dims();
        let weight = linear.weight.val().into_data().try_into_vec::<f32>().ok()?;
        let bias = match &linear.bias {
            Some(b) => b.val().into_data().try_into_vec::<f32>().ok()?,
            None => vec![0.0; d_out],
        };
        Some(DenseWeights { weight, bias, d_in, d_out })
    }

    /// `x [n, d_in] -> [n, d_out]`.
    fn apply(&self, x: &[f32], n: usize) -> Option<Vec<f32>> {
        use ndarray::{ArrayView2, ArrayViewMut2, linalg::general_mat_mul};
        let mut out: Vec<f32> = (0..n).flat_map(|_| self.bias.iter().copied()).collect();
        let a = ArrayView2::from_shape((n, self.d_in), x).ok()?;
        let w = ArrayView2::from_shape((self.d_in, self.d_out), &self.weight).ok()?;
        let mut o = ArrayViewMut2::from_shape((n, self.d_out), &mut out).ok()?;
        general_mat_mul(1.0, &a, &w, 1.0, &mut o);
        Some(out)
    }
}

/// Columns `head * dh .. (head + 1) * dh` of the `[n, d]` matrix `m`: one head's part.
fn head_columns(m: &[f32], n: usize, d: usize, head: usize, dh: usize) -> Option<ndarray::ArrayView2<'_, f32>> {
    let all = ndarray::ArrayView2::from_shape((n, d), m).ok()?;
    Some(all.slice_move(ndarray::s![.., head * dh..(head + 1) * dh]))
}

/// `gamma * (x - mean) / sqrt(var + eps) + beta` over each row of `x` (`[n, d]`), in place.
fn layer_norm_rows(x: &mut [f32], gamma: &[f32], beta: &[f32], epsilon: f64) {
    let d = gamma.len();
    for row in x.chunks_exact_mut(d) {
        let mean = row.iter().map(|&v| f64::from(v)).sum::<f64>() / d as f64;
        let var = row.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / d as f64;
        let inv = 1.0 / (var + epsilon).sqrt();
        for ((v, &g), &b) in row.iter_mut().zip(gamma).zip(beta) {
            *v = ((f64::from(*v) - mean) * inv) as f32 * g + b;
        }
    }
}

impl EncoderLayer {
    /// The layer in evaluation on the CPU, each item's matrices multiplied with
    /// `matrixmultiply` (items in parallel) instead of as many small Burn operations:
    /// the same arithmetic as [`EncoderLayer::forward`] without dropout. `None` if the
    /// weights cannot be read as `f32`.
    fn forward_cpu_inference(&self, x: &Tensor<3>) -> Option<Tensor<3>> {
        use ndarray::{ArrayView2, ArrayViewMut2, linalg::general_mat_mul};
        use rayon::prelude::*;
        let [b, n, d] = x.dims();
        let (h, dh) = (self.heads, d / self.heads.max(1));
        let [q, k, v, o, l1, l2] =
            [&self.query, &self.key, &self.value, &self.out_proj, &self.linear1, &self.linear2].map(DenseWeights::of);
        let (q, k, v, o, l1, l2) = (q?, k?, v?, o?, l1?, l2?);
        let read = |t: Tensor<1>| t.into_data().try_into_vec::<f32>().ok();
        let vector = |norm: &LayerNorm| -> Option<(Vec<f32>, Vec<f32>)> {
            let gamma = read(norm.gamma.val())?;
            let beta = match &norm.beta {
                Some(beta) => read(beta.val())?,
                None => vec![0.0; gamma.len()],
            };
            Some((gamma, beta))
        };
        let ((g1, b1), (g2, b2)) = (vector(&self.norm1)?, vector(&self.norm2)?);
        let input = x.clone().into_data().try_into_vec::<f32>().ok()?;
        let scale = 1.0 / (dh as f32).sqrt();
        let mut out = vec![0.0f32; b * n * d];
        let all_ok = out.par_chunks_mut(n * d).zip(input.par_chunks(n * d)).all(|(out, x)| {
            let mut item = || -> Option<()> {
                let (qs, ks, vs) = (q.apply(x, n)?, k.apply(x, n)?, v.apply(x, n)?);
                let mut heads = vec![0.0f32; n * d];
                let mut scores = vec![0.0f32; n * n];
                for head in 0..h {
                    // Columns head*dh..(head+1)*dh of each token's projection.
                    let view = |m| head_columns(m, n, d, head, dh);
                    let (qh, kh, vh) = (view(&qs)?, view(&ks)?, view(&vs)?);
                    let mut s = ArrayViewMut2::from_shape((n, n), &mut scores).ok()?;
                    general_mat_mul(scale, &qh, &kh.t(), 0.0, &mut s);
                    for row in scores.chunks_exact_mut(n) {
                        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                        let mut sum = 0.0;
                        for value in row.iter_mut() {
                            *value = (*value - max).exp();
                            sum += *value;
                        }
                        row.iter_mut().for_each(|value| *value /= sum);
                    }
                    let weights = ArrayView2::from_shape((n, n), &scores).ok()?;
                    let mut target = ArrayViewMut2::from_shape((n, d), &mut heads).ok()?;
                    let mut target = target.slice_mut(ndarray::s![.., head * dh..(head + 1) * dh]);
                    general_mat_mul(1.0, &weights, &vh, 0.0, &mut target);
                }
                let attended = o.apply(&heads, n)?;
                let mut x1: Vec<f32> = x.iter().zip(&attended).map(|(a, b)| a + b).collect();
                layer_norm_rows(&mut x1, &g1, &b1, LAYER_NORM_EPSILON);
                let mut inner = l1.apply(&x1, n)?;
                // GELU with the exact error function, as PyTorch's default and Burn's.
                inner.iter_mut().for_each(|v| *v = 0.5 * *v * (1.0 + libm::erff(*v / std::f32::consts::SQRT_2)));
                let outer = l2.apply(&inner, n)?;
                for ((o, a), f) in out.iter_mut().zip(&x1).zip(&outer) {
                    *o = a + f;
                }
                layer_norm_rows(out, &g2, &b2, LAYER_NORM_EPSILON);
                Some(())
            };
            item().is_some()
        });
        all_ok.then(|| Tensor::from_data(TensorData::new(out, [b, n, d]), &x.device()))
    }
}
