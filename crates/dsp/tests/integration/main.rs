//! Integration tests of the dsp crate, one binary (see STYLE: `autotests = false`).

mod broken_input;
mod fixture;
mod librosa_parity;
mod memory_input;
mod odd_input;
mod streaming;
