//! libsoxr's "HQ" resampling recipe (20-bit precision, linear phase), the one librosa
//! uses by default (`res_type="soxr_hq"`), re-implemented so that features computed
//! from resampled audio match librosa's.
//!
//! The filter design (soxr's Kaiser-window fits), its half-band filters and the stage
//! planning are ported from libsoxr 0.1.3 (`filter.c`, `half-coefs.h`, `cr.c`, by Rob
//! Sykes, LGPL-2.1-or-later), which is why this crate keeps that licence. Every
//! rational ratio soxr finds (with at most 2,048 phases) is covered: half-band
//! decimation stages, FIR stages, polyphase stages and post-stages, e.g. 4 to 192 kHz
//! into 22,050 Hz. The output equals `soxr.resample(x, from, to, "HQ")` to under 1e-6
//! (`tests/soxr_parity.rs` requires 2e-6; the largest difference it sees is 7.2e-7).
//! Ratios soxr does not find rational give [`Unsupported`]: use another resampler for
//! them. Equal rates give a resampler that copies its input.
//!
//! ```
//! let mut resampler = soxr_hq::Resampler::new(16_000, 22_050).expect("a rational ratio");
//! let mut out = Vec::new();
//! let tone: Vec<f32> = (0..16_000).map(|i| (i as f32 * 0.05).sin()).collect();
//! for block in tone.chunks(4096) {
//!     resampler.push(block, &mut out);
//! }
//! resampler.finish(&mut out);
//! assert_eq!(out.len(), 22_050); // round(16,000 * 22,050 / 16,000), as soxr
//! ```

mod banded;
mod design;
mod direct;
mod fft_convolver;
mod plan;
mod stage;

pub use plan::{Stage, Unsupported, plan};

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use stage::StreamingStage;

/// A streaming resampler running soxr HQ's stages one after the other.
#[derive(Debug, Clone)]
pub struct Resampler {
    stages: Vec<StreamingStage>,
    /// Output of the last stage not yet known to be within the final length.
    held: Vec<f32>,
    /// The last stage's output while output is held, kept between calls.
    spare: Vec<f32>,
    finished: bool,
    from_hz: u32,
    to_hz: u32,
    frames_in: u64,
    frames_out: u64,
}

impl Resampler {
    /// A resampler from `from_hz` to `to_hz`, if soxr HQ's plan for them is one this
    /// crate has (see [`plan`]).
    ///
    /// The filters are designed once per pair of rates in a process and kept: a
    /// resampler for a pair seen before starts as a copy of fresh stages. (Designing
    /// takes about 0.4 ms for 48 kHz and 1 ms for 16 kHz, which a library of short
    /// files would otherwise pay per file.)
    pub fn new(from_hz: u32, to_hz: u32) -> Result<Self, Unsupported> {
        let stages = designed_stages(from_hz, to_hz)?;
        Ok(Resampler {
            stages,
            held: Vec::new(),
            spare: Vec::new(),
            finished: false,
            from_hz,
            to_hz,
            frames_in: 0,
            frames_out: 0,
        })
    }

    /// Feeds `input` and appends the output it makes ready to `out`.
    ///
    /// # Panics
    ///
    /// After [`Resampler::finish`]: the input is complete then.
    pub fn push(&mut self, input: &[f32], out: &mut Vec<f32>) {
        assert!(!self.finished, "push after finish");
        self.frames_in += input.len() as u64;
        let count = self.stages.len();
        if count == 0 {
            // Equal rates: no stage.
            self.held.extend_from_slice(input);
            return self.release(out);
        }
        // Each stage but the last appends its output straight to the next one's inputs
        // (no copy in between).
        for i in 0..count - 1 {
            let (done, rest) = self.stages.split_at_mut(i + 1);
            let (stage, next) = (&mut done[i], &mut rest[0]);
            if i == 0 {
                next.receive(|inputs| stage.push(input, inputs));
            } else {
                next.receive(|inputs| stage.run_received(inputs));
            }
        }
        let last = &mut self.stages[count - 1];
        let feed = |stage: &mut StreamingStage, out: &mut Vec<f32>| {
            if count == 1 { stage.push(input, out) } else { stage.run_received(out) }
        };
        if !self.held.is_empty() {
            self.spare.clear();
            feed(last, &mut self.spare);
            self.held.extend_from_slice(&self.spare);
            return self.release(out);
        }
        // The last stage writes straight to `out`. The filters lag the input, so their
        // output stays within soxr's length for the input so far; held output only
        // remains if that ever changed.
        let start = out.len();
        feed(last, out);
        let sure = ((self.total_out() - self.frames_out) as usize).min(out.len() - start);
        self.held.extend_from_slice(&out[start + sure..]);
        out.truncate(start + sure);
        self.frames_out += sure as u64;
    }

    /// Appends what is held to `out`, as far as it is within soxr's length so far.
    fn release(&mut self, out: &mut Vec<f32>) {
        let sure = (self.total_out() - self.frames_out).min(self.held.len() as u64) as usize;
        out.extend(self.held.drain(..sure));
        self.frames_out += sure as u64;
    }

    /// Flushes the filters; after this `out` holds about `frames_in * to / from`
    /// samples in all, rounded as soxr rounds. A second call does nothing.
    pub fn finish(&mut self, out: &mut Vec<f32>) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        let mut block = Vec::new();
        for stage in &mut self.stages {
            let mut next = Vec::new();
            stage.push(&block, &mut next);
            stage.finish(&mut next);
            block = next;
        }
        self.held.extend_from_slice(&block);
        let total = self.total_out();
        let wanted = (total - self.frames_out) as usize;
        self.held.resize(wanted, 0.0);
        out.append(&mut self.held);
        self.frames_out = total;
    }

    /// Samples fed so far.
    pub fn frames_in(&self) -> u64 {
        self.frames_in
    }

    /// Samples handed out so far.
    pub fn frames_out(&self) -> u64 {
        self.frames_out
    }

    /// The output length soxr gives `frames_in` samples: `frames_in / (from / to)`
    /// rounded, in floating point as soxr computes it (so 6,000 samples at 24 kHz give
    /// 5,512 at 22,050 Hz, as `5512.499999999999` rounds down).
    fn total_out(&self) -> u64 {
        (self.frames_in as f64 / (f64::from(self.from_hz) / f64::from(self.to_hz)) + 0.5) as u64
    }
}

/// Fresh stages for a pair of rates, designed on first use and copied after.
fn designed_stages(from_hz: u32, to_hz: u32) -> Result<Vec<StreamingStage>, Unsupported> {
    type Designs = HashMap<(u32, u32), Vec<StreamingStage>>;
    static DESIGNS: OnceLock<Mutex<Designs>> = OnceLock::new();
    let designs = DESIGNS.get_or_init(Mutex::default);
    // A poisoned lock only means another thread panicked while inserting: the map is
    // still a map of complete designs.
    if let Some(stages) = designs.lock().unwrap_or_else(|e| e.into_inner()).get(&(from_hz, to_hz)) {
        return Ok(stages.clone());
    }
    let stages: Vec<StreamingStage> = plan(from_hz, to_hz)?.iter().map(StreamingStage::new).collect();
    designs.lock().unwrap_or_else(|e| e.into_inner()).insert((from_hz, to_hz), stages.clone());
    Ok(stages)
}

/// The crate's README, compiled as a doc test so that its example stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeExample;
