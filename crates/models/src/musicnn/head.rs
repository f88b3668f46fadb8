//! The genre head that learns on musicnn embeddings: a linear layer, or one hidden
//! layer with dropout, and the folding of a standardisation into its weights.

use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, Relu};
use burn::prelude::*;

use crate::dropout::FastDropout;

use crate::layers;
use crate::state_dict::{Loader, StateDict};

/// A small classifier on embeddings: BN -> dropout -> dense -> ReLU -> dropout -> dense;
/// with `hidden = 0`, a linear one: dropout -> dense (its inputs standardised
/// beforehand, the standardisation folded into the dense layer afterwards:
/// [`TransferHead::fold_standardization`]).
#[derive(Config, Debug, PartialEq)]
pub struct TransferHeadConfig {
    /// Number of genres.
    pub n_classes: usize,
    /// Length of the input embedding.
    pub n_inputs: usize,
    /// Hidden units; 0 for a linear head.
    #[config(default = 128)]
    pub hidden: usize,
    /// Dropout before each dense layer.
    #[config(default = 0.5)]
    pub dropout: f64,
}

/// The genre head of a transfer model.
#[derive(Module, Debug)]
pub struct TransferHead {
    /// The batch norm and hidden layer; `None` in a linear head.
    norm: Option<BatchNorm>,
    dropout: FastDropout,
    hidden: Option<Linear>,
    activation: Relu,
    output: Linear,
}

impl TransferHeadConfig {
    /// A head with fresh random weights.
    pub fn init(&self, device: &Device) -> TransferHead {
        let deep = self.hidden > 0;
        let output_inputs = if deep { self.hidden } else { self.n_inputs };
        TransferHead {
            norm: deep.then(|| BatchNormConfig::new(self.n_inputs).init(device)),
            dropout: FastDropout::new(self.dropout),
            hidden: deep.then(|| LinearConfig::new(self.n_inputs, self.hidden).init(device)),
            activation: Relu::new(),
            output: LinearConfig::new(output_inputs, self.n_classes).init(device),
        }
    }

    pub(crate) fn load_from(&self, l: &mut Loader<'_>, prefix: &str, device: &Device) -> TransferHead {
        let deep = self.hidden > 0;
        let output_inputs = if deep { self.hidden } else { self.n_inputs };
        TransferHead {
            norm: deep.then(|| layers::load_batchnorm(l, &format!("{prefix}norm"), self.n_inputs, device)),
            dropout: FastDropout::new(self.dropout),
            hidden: deep
                .then(|| layers::load_linear(l, &format!("{prefix}hidden"), self.n_inputs, self.hidden, device)),
            activation: Relu::new(),
            output: layers::load_linear(l, &format!("{prefix}output"), output_inputs, self.n_classes, device),
        }
    }

    /// The head with the weights of `dict`.
    pub fn load(&self, dict: &StateDict, device: &Device) -> crate::Result<TransferHead> {
        let mut loader = Loader::new(dict, device);
        let head = self.load_from(&mut loader, "", device);
        loader.finish("transfer head")?;
        Ok(head)
    }
}

impl TransferHead {
    /// Logits `[B, classes]` for embeddings `[B, E]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let x = match &self.norm {
            Some(norm) => norm.forward(x),
            None => x,
        };
        let x = self.dropout.forward(x);
        let x = match &self.hidden {
            Some(hidden) => self.dropout.forward(self.activation.forward(hidden.forward(x))),
            None => x,
        };
        self.output.forward(x)
    }

    /// A linear head trained on standardised inputs `(x - mean) / scale`, as the
    /// same head on raw inputs: `W' = W / scale` (per input row), `b' = b - mean · W'`.
    /// `None` for a head with a hidden layer, or lengths that do not match.
    pub fn fold_standardization(&self, mean: &[f32], scale: &[f32]) -> Option<TransferHead> {
        if self.hidden.is_some() {
            return None;
        }
        let [inputs, outputs] = self.output.weight.dims();
        if mean.len() != inputs || scale.len() != inputs {
            return None;
        }
        let device = self.output.weight.device();
        let weight = self.output.weight.val().into_data().try_into_vec::<f32>().ok()?;
        let bias = match &self.output.bias {
            Some(b) => b.val().into_data().try_into_vec::<f32>().ok()?,
            None => vec![0.0; outputs],
        };
        let mut folded = weight;
        for (row, &s) in folded.chunks_exact_mut(outputs).zip(scale) {
            row.iter_mut().for_each(|w| *w /= s);
        }
        let mut shifted = bias;
        for (row, &m) in folded.chunks_exact(outputs).zip(mean) {
            shifted.iter_mut().zip(row).for_each(|(b, &w)| *b -= m * w);
        }
        let mut head = self.clone();
        head.output.weight =
            burn::module::Param::from_tensor(Tensor::from_data(TensorData::new(folded, [inputs, outputs]), &device));
        head.output.bias =
            Some(burn::module::Param::from_tensor(Tensor::from_data(TensorData::new(shifted, [outputs]), &device)));
        Some(head)
    }

    /// Logits for embeddings stored as one-row "spectrograms", `[B, 1, E]`: how the
    /// training loop feeds precomputed embeddings.
    pub fn forward_rows(&self, x: Tensor<3>) -> Tensor<2> {
        let [b, _, e] = x.dims();
        self.forward(x.reshape([b, e]))
    }

    /// The weights, under `norm`, `hidden` and `output`.
    pub fn state_dict(&self) -> StateDict {
        let mut dict = StateDict::new();
        self.save_into(&mut dict, "");
        dict
    }

    pub(crate) fn save_into(&self, dict: &mut StateDict, prefix: &str) {
        if let Some(norm) = &self.norm {
            layers::save_batchnorm(dict, &format!("{prefix}norm"), norm);
        }
        if let Some(hidden) = &self.hidden {
            layers::save_linear(dict, &format!("{prefix}hidden"), hidden);
        }
        layers::save_linear(dict, &format!("{prefix}output"), &self.output);
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::Distribution;

    use super::*;

    #[test]
    fn a_folded_standardisation_gives_the_same_logits_on_raw_inputs() {
        let device = Device::flex();
        device.seed(7);
        let head = TransferHeadConfig::new(3, 5).with_hidden(0).with_dropout(0.0).init(&device);
        let (mean, scale) = ([0.5f32, -1.0, 2.0, 0.0, 3.0], [2.0f32, 0.5, 1.0, 4.0, 0.25]);
        let raw = Tensor::<2>::random([4, 5], Distribution::Normal(0.0, 3.0), &device);
        let standardised = (raw.clone() - Tensor::<1>::from_floats(mean, &device).unsqueeze())
            / Tensor::<1>::from_floats(scale, &device).unsqueeze();
        let folded = head.fold_standardization(&mean, &scale).expect("a linear head folds");
        let difference: f32 = (head.forward(standardised) - folded.forward(raw)).abs().max().into_scalar();
        assert!(difference < 1e-5, "{difference}");
        // A head with a hidden layer cannot be folded, nor can wrong lengths.
        assert!(TransferHeadConfig::new(3, 5).init(&device).fold_standardization(&mean, &scale).is_none());
        assert!(head.fold_standardization(&mean[..4], &scale[..4]).is_none());
    }
}
