//! The CRNN's bidirectional recurrent layer, GRU or LSTM.

use burn::nn::{BiGru, BiGruConfig, BiLstm, BiLstmConfig, Initializer, Lstm};
use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::layers::StackedGates;
use crate::state_dict::{Loader, StateDict};

/// Which recurrent layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecurrentKind {
    /// Bidirectional GRU (state-dict prefix `gru`).
    Gru,
    /// Bidirectional LSTM (state-dict prefix `lstm`).
    Lstm,
}

impl RecurrentKind {
    fn prefix(self) -> &'static str {
        match self {
            RecurrentKind::Gru => "gru",
            RecurrentKind::Lstm => "lstm",
        }
    }

    pub(crate) fn architecture_name(self) -> &'static str {
        match self {
            RecurrentKind::Gru => "crnn-bigru",
            RecurrentKind::Lstm => "crnn-bilstm",
        }
    }
}

// Built once, then only borrowed; boxing the variants would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub(crate) enum Recurrent {
    Gru(BiGru),
    Lstm(BiLstm),
}

/// PyTorch's gate order in its stacked matrices.
const GRU_GATES: usize = 3; // r, z, n
const LSTM_GATES: usize = 4; // i, f, g, o

impl Recurrent {
    /// Fresh weights drawn as PyTorch's `nn.GRU` / `nn.LSTM` draw them: every weight
    /// and bias uniform in `±1 / sqrt(hidden)` (Burn's default is Xavier-normal, which
    /// gives the input weights about 0.6 times and the recurrent ones 1.7 times
    /// PyTorch's spread).
    pub(crate) fn init(kind: RecurrentKind, d_in: usize, d_hidden: usize, device: &Device) -> Self {
        let bound = 1.0 / (d_hidden as f64).sqrt();
        let pytorch = Initializer::Uniform { min: -bound, max: bound };
        match kind {
            RecurrentKind::Gru => {
                Recurrent::Gru(BiGruConfig::new(d_in, d_hidden, true).with_initializer(pytorch).init(device))
            }
            RecurrentKind::Lstm => {
                Recurrent::Lstm(BiLstmConfig::new(d_in, d_hidden, true).with_initializer(pytorch).init(device))
            }
        }
    }

    /// The output at the last time step, both directions: `[B, 2 * hidden]`
    /// (PyTorch's `out[:, -1, :]`).
    pub(crate) fn last_step(&self, sequence: Tensor<3>) -> Tensor<2> {
        let output = match self {
            Recurrent::Gru(gru) => gru.forward(sequence, None).0,
            Recurrent::Lstm(lstm) => lstm.forward(sequence, None).0,
        };
        let [b, t, d] = output.dims();
        output.slice([0..b, t - 1..t, 0..d]).reshape([b, d])
    }

    pub(crate) fn load(l: &mut Loader<'_>, kind: RecurrentKind, d_in: usize, d_hidden: usize, device: &Device) -> Self {
        let mut layer = Self::init(kind, d_in, d_hidden, device);
        let prefix = kind.prefix();
        for (suffix, reverse) in [("", false), ("_reverse", true)] {
            match &mut layer {
                Recurrent::Gru(gru) => {
                    let stacked = StackedGates::load(l, prefix, suffix, GRU_GATES, d_in, d_hidden);
                    let cell = if reverse { &mut gru.reverse } else { &mut gru.forward };
                    stacked.gate(0, d_hidden, &mut cell.reset_gate);
                    stacked.gate(1, d_hidden, &mut cell.update_gate);
                    stacked.gate(2, d_hidden, &mut cell.new_gate);
                }
                Recurrent::Lstm(lstm) => {
                    let stacked = StackedGates::load(l, prefix, suffix, LSTM_GATES, d_in, d_hidden);
                    let cell = if reverse { &mut lstm.reverse } else { &mut lstm.forward };
                    load_lstm_gates(&stacked, d_hidden, cell);
                }
            }
        }
        layer
    }

    pub(crate) fn save(&self, dict: &mut StateDict) {
        match self {
            Recurrent::Gru(gru) => {
                for (suffix, cell) in [("", &gru.forward), ("_reverse", &gru.reverse)] {
                    StackedGates::save(dict, "gru", suffix, &[&cell.reset_gate, &cell.update_gate, &cell.new_gate]);
                }
            }
            Recurrent::Lstm(lstm) => {
                for (suffix, cell) in [("", &lstm.forward), ("_reverse", &lstm.reverse)] {
                    if let Some(forget) = &cell.forget_gate {
                        StackedGates::save(
                            dict,
                            "lstm",
                            suffix,
                            &[&cell.input_gate, forget, &cell.cell_gate, &cell.output_gate],
                        );
                    }
                }
            }
        }
    }
}

fn load_lstm_gates(stacked: &StackedGates, d_hidden: usize, cell: &mut Lstm) {
    stacked.gate(0, d_hidden, &mut cell.input_gate);
    if let Some(forget) = cell.forget_gate.as_mut() {
        stacked.gate(1, d_hidden, forget);
    }
    stacked.gate(2, d_hidden, &mut cell.cell_gate);
    stacked.gate(3, d_hidden, &mut cell.output_gate);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_weights_are_drawn_as_pytorch_draws_them() {
        let device = Device::flex();
        device.seed(13);
        let Recurrent::Gru(gru) = Recurrent::init(RecurrentKind::Gru, 64, 16, &device) else { unreachable!() };
        let weights =
            gru.forward.update_gate.input_transform.weight.val().into_data().try_into_vec::<f32>().expect("f32");
        let bound = 0.25f32; // 1 / sqrt(16)
        assert!(weights.iter().all(|v| v.abs() <= bound));
        // Uniform on ±0.25 has a standard deviation of 0.144; Xavier-normal here would give 0.158.
        let sd = (weights.iter().map(|v| v * v).sum::<f32>() / weights.len() as f32).sqrt();
        assert!((sd - 0.144).abs() < 0.01, "{sd}");
    }
}
