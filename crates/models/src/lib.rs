//! The genre classifier's models, in Burn 0.22.
//!
//! The Python original's three architectures, exact enough that its PyTorch weights
//! run here with the same outputs:
//!
//! | architecture | module | key names |
//! |---|---|---|
//! | CRNN-BiGRU | [`crnn::Crnn`] with a GRU | `cnn.*`, `gru.*`, `classifier.*` (the original's) |
//! | CRNN-BiLSTM | [`crnn::Crnn`] with an LSTM | `cnn.*`, `lstm.*`, `classifier.*` |
//! | spectrogram transformer | [`transformer::SpecTransformer`] | PyTorch's `nn.TransformerEncoder` |
//!
//! Models are converted to and from a [`StateDict`] under those key names, which is
//! also what a [`checkpoint`] stores, so importing PyTorch weights and loading our own
//! checkpoints are the same code. CPU (Burn's `flex`) is the default backend; `wgpu`
//! and `cuda` are cargo features.
//!
//! ```no_run
//! use genre_models::{Architecture, DeviceKind};
//! let device = DeviceKind::Cpu.device()?;
//! let model = Architecture::CrnnBigru.default_config(10).init(&device);
//! let x = burn::prelude::Tensor::<3>::zeros([2, 128, 130], &device);
//! let logits = model.forward(x); // [2, 10]
//! # Ok::<(), genre_models::ModelError>(())
//! ```

#![deny(missing_docs)]

mod arch;
mod atomic;
pub mod checkpoint;
mod conv_block;
pub mod crnn;
pub mod data;
mod device;
mod dropout;
mod error;
mod fast_conv;
mod flex_values;
mod im2col;
pub mod infer;
mod layers;
mod linear_op;
mod matmul;
pub mod musicnn;
pub mod musicnn_vgg;
mod state_dict;
pub mod train;
pub mod transformer;
mod validate;

pub use arch::{Architecture, CamForward, GPU_BUFFER_BYTES, GenreModel, ModelConfig};
pub use device::DeviceKind;
pub use dropout::FastDropout;
pub use error::{ModelError, Result};
pub use state_dict::{NamedTensor, StateDict};
