//! One [`Stage`](crate::Stage) run block by block: a polyphase FIR.

use crate::banded::Banded;
use crate::direct::{direct_outputs, direct_window, dot_on, has_fma};
use crate::fft_convolver::FftConvolver;
use crate::plan::Stage;

/// History is compacted once this many samples before the window are no longer needed.
const COMPACT_AFTER: usize = 1 << 14;

/// A [`Stage`](crate::Stage) fed block by block. Input before the first sample and
/// after the last is zero; output `n` is ready once the inputs it reads have arrived.
///
/// With phase `p = (n down + centre) mod up` and `last = (n down + centre) div up`,
/// output `n` is `sum_j taps[p + j up] x[last - j]`: the convolution of the input with
/// phase `p`'s filter, at `last`. Stages with few long phases (at most 4 phases, one
/// of them 64 taps or more: soxr's FIR stages) are convolved block-wise by real-input
/// FFTs; the others (polyphase stages of hundreds of phases of about 15 taps, half-band
/// stages of 31 or 35 taps, short post-stages) directly.
#[derive(Debug, Clone)]
pub(crate) struct StreamingStage {
    clock: Clock,
    /// Each phase's number of taps.
    lengths: Vec<usize>,
    /// How many inputs up to `last` an output may read: the longest phase, padded to
    /// the dot product's step on the direct engine.
    window: usize,
    engine: Engine,
    /// Inputs from global index `first` on (negative: the zeros before the start).
    history: Vec<f32>,
    first: i64,
    /// Real inputs received so far.
    received: i64,
    /// The next output's index.
    next: u64,
    finished: bool,
}

/// Where output `n` sits: on the up-sampled grid at `n down + centre`, so its last input
/// is that position divided by `up`, and its phase the remainder.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    pub up: u64,
    pub down: u64,
    centre: u64,
    /// `down / up` and `down % up`: how far the last input and the phase move per output.
    step_last: i64,
    step_phase: usize,
}

/// An output's last input and phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cursor {
    pub last: i64,
    pub phase: usize,
}

impl Clock {
    /// Output `n`'s last input and phase.
    pub(crate) fn window_end(self, n: u64) -> Cursor {
        let position = n * self.down + self.centre;
        Cursor { last: (position / self.up) as i64, phase: (position % self.up) as usize }
    }

    /// The next output's, from this one's: the position moves by `down`, without the
    /// division of [`Clock::window_end`].
    #[inline(always)]
    pub(crate) fn advance(self, Cursor { last, phase }: Cursor) -> Cursor {
        let (mut last, mut phase) = (last + self.step_last, phase + self.step_phase);
        if phase >= self.up as usize {
            phase -= self.up as usize;
            last += 1;
        }
        Cursor { last, phase }
    }
}

#[derive(Debug, Clone)]
enum Engine {
    /// `phases[p]`: phase `p`'s taps reversed (zero-padded in front), so that output
    /// `n` is a dot product with the inputs ending at `last`.
    Direct {
        phases: Vec<Vec<f32>>,
        /// Whether this CPU runs [`dot_fma`].
        fma: bool,
        /// Polyphase stages: eight outputs at a time where the CPU allows.
        banded: Option<Banded>,
    },
    Fft(Box<FftConvolver>),
}

impl StreamingStage {
    pub(crate) fn new(stage: &Stage) -> Self {
        let (up, len) = (stage.up, stage.taps.len());
        let clock = Clock {
            up: up as u64,
            down: stage.down as u64,
            centre: ((len - 1) / 2) as u64,
            step_last: (stage.down / up) as i64,
            step_phase: stage.down % up,
        };
        let phases: Vec<Vec<f32>> = (0..up).map(|p| stage.taps.iter().skip(p).step_by(up).copied().collect()).collect();
        let lengths: Vec<usize> = phases.iter().map(Vec::len).collect();
        let longest = lengths.iter().copied().max().unwrap_or(0);
        let (engine, window) = if up <= 4 && longest >= 64 {
            // Down by two (44.1 to 22.05 kHz) only needs every other position.
            let fft = FftConvolver::new(&phases, up == 1 && stage.down == 2);
            let taps = fft.taps;
            (Engine::Fft(Box::new(fft)), taps)
        } else {
            // Reversed, and zero-padded in front to a multiple of 16 taps, the width of
            // the AVX2 dot product's step (the padding reads earlier inputs times 0).
            let padded = longest.next_multiple_of(16);
            let reversed: Vec<Vec<f32>> = phases
                .into_iter()
                .map(|taps| {
                    let mut row = vec![0.0; padded - taps.len()];
                    row.extend(taps.iter().rev());
                    row
                })
                .collect();
            let banded = if up > 1 { Banded::new(&reversed, clock) } else { None };
            (Engine::Direct { phases: reversed, fma: has_fma(), banded }, padded)
        };
        StreamingStage {
            clock,
            lengths,
            window,
            engine,
            history: vec![0.0; window],
            first: -(window as i64),
            received: 0,
            next: 0,
            finished: false,
        }
    }

    /// Feeds `input` and appends the outputs it makes ready to `out`.
    pub(crate) fn push(&mut self, input: &[f32], out: &mut Vec<f32>) {
        debug_assert!(!self.finished);
        self.history.extend_from_slice(input);
        self.received += input.len() as i64;
        self.run(out);
    }

    /// Lets `fill` append inputs (the stage before writing its output here) without
    /// running: [`StreamingStage::run_received`] does that.
    pub(crate) fn receive(&mut self, fill: impl FnOnce(&mut Vec<f32>)) {
        debug_assert!(!self.finished);
        let before = self.history.len();
        fill(&mut self.history);
        self.received += (self.history.len() - before) as i64;
    }

    /// Appends the outputs the inputs received so far make ready to `out`.
    pub(crate) fn run_received(&mut self, out: &mut Vec<f32>) {
        self.run(out);
    }

    /// Declares the input complete and appends every remaining output that reads any
    /// of it (later ones would be zero).
    pub(crate) fn finish(&mut self, out: &mut Vec<f32>) {
        self.finished = true;
        self.run(out);
    }

    fn run(&mut self, out: &mut Vec<f32>) {
        let mut cursor = self.clock.window_end(self.next);
        loop {
            let Cursor { last, phase } = cursor;
            if reads_nothing(self.finished, self.received, &self.lengths, last, phase) {
                break;
            }
            // The last input this output needs (the FFT works a block ahead).
            let needed = match &self.engine {
                Engine::Direct { .. } => last,
                Engine::Fft(fft) if fft.holds(last) => i64::MIN,
                Engine::Fft(fft) => last + fft.hop as i64 - 1,
            };
            if needed >= self.received {
                if !self.finished {
                    break;
                }
                // Zeros after the end, as far as this output reads.
                let end = (needed + 1 - self.first) as usize;
                if self.history.len() < end {
                    self.history.resize(end, 0.0);
                }
            }
            let before = out.len();
            match &mut self.engine {
                Engine::Direct { phases, fma, banded } => {
                    let inputs = Inputs { history: &self.history, first: self.first, received: self.received };
                    if let Some(banded) = banded {
                        // One at a time up to a group's start, then whole groups.
                        let mut n = self.next;
                        for _ in 0..banded.to_group_start(n) {
                            if cursor.last >= inputs.received {
                                break;
                            }
                            let (taps, window) = direct_window(phases, inputs, cursor);
                            out.push(dot_on(*fma, taps, window));
                            cursor = self.clock.advance(cursor);
                            n += 1;
                        }
                        if banded.to_group_start(n) == 0 {
                            banded.outputs(&mut n, inputs, self.clock, &mut cursor, out);
                        }
                    }
                    direct_outputs(phases, *fma, inputs, self.clock, &mut cursor, out);
                    if out.len() == before {
                        // Past the end of the input, on the zeros appended above.
                        let taps = &phases[phase];
                        let from = (last - taps.len() as i64 + 1 - self.first) as usize;
                        out.push(dot_on(*fma, taps, &self.history[from..from + taps.len()]));
                        cursor = self.clock.advance(cursor);
                    }
                }
                Engine::Fft(fft) => {
                    if !fft.holds(last) {
                        let from = (last - fft.taps as i64 + 1 - self.first) as usize;
                        fft.compute(last, &self.history[from..from + fft.span]);
                    }
                    // Every output the block holds, in one go.
                    if self.clock.up == 1 {
                        // One phase: every `down`-th position up to the block's end, or
                        // to the last that reads any input.
                        let end = fft.block_start + fft.hop as i64;
                        let end = if self.finished { end.min(self.received + self.lengths[0] as i64 - 1) } else { end };
                        let down = self.clock.down as usize;
                        let count = ((end - cursor.last).max(0) as usize).div_ceil(down);
                        let from = fft.index(cursor.last);
                        let stride = if fft.decimated { 1 } else { down };
                        let block = &fft.block[0][fft.offset..];
                        if stride == 1 {
                            out.extend_from_slice(&block[from..from + count]);
                        } else {
                            out.extend(block[from..].iter().step_by(stride).take(count));
                        }
                        cursor.last += (down * count) as i64;
                    }
                    while fft.holds(cursor.last)
                        && !reads_nothing(self.finished, self.received, &self.lengths, cursor.last, cursor.phase)
                    {
                        out.push(fft.value(cursor.phase, cursor.last));
                        cursor = self.clock.advance(cursor);
                    }
                }
            }
            self.next += (out.len() - before) as u64;
        }
        self.compact();
    }

    /// Drops inputs no later output reads.
    fn compact(&mut self) {
        let needed_from = self.clock.window_end(self.next).last - self.window as i64 + 1;
        let unneeded = (needed_from - self.first).max(0) as usize;
        if unneeded >= COMPACT_AFTER {
            self.history.drain(..unneeded);
            self.first += unneeded as i64;
        }
    }
}

/// Whether the input is complete (`finished`, `received` samples) and an output whose
/// last input is `last`, in a phase of `lengths[phase]` taps, reads none of it.
fn reads_nothing(finished: bool, received: i64, lengths: &[usize], last: i64, phase: usize) -> bool {
    finished && last - lengths[phase] as i64 + 1 >= received
}

/// The inputs a stage holds: `history[i]` is input `first + i`, and inputs before
/// `received` have arrived.
#[derive(Clone, Copy)]
pub(crate) struct Inputs<'a> {
    pub history: &'a [f32],
    pub first: i64,
    pub received: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stage's definition, evaluated directly in f64.
    fn direct(stage: &Stage, x: &[f32], n_out: usize) -> Vec<f64> {
        let centre = (stage.taps.len() - 1) / 2;
        (0..n_out)
            .map(|n| {
                let position = (n * stage.down + centre) as i64;
                (0..x.len() as i64)
                    .filter_map(|k| {
                        let t = position - k * stage.up as i64;
                        (0..stage.taps.len() as i64)
                            .contains(&t)
                            .then(|| f64::from(x[k as usize]) * f64::from(stage.taps[t as usize]))
                    })
                    .sum()
            })
            .collect()
    }

    #[test]
    fn streaming_equals_the_definition_for_any_block_size() {
        // Short phases (direct) and long ones (FFT), up- and down-sampling.
        for (up, down, len) in [(3, 2, 23), (2, 1, 301), (1, 2, 257), (1, 2, 256), (1, 1, 129), (2, 3, 400)] {
            let stage = Stage {
                up,
                down,
                taps: (0..len).map(|i| ((i as f32) * 0.37).sin() / (1.0 + i as f32 * 0.01)).collect(),
                cutoff: 0.0,
                beta: 0.0,
            };
            let x: Vec<f32> = (0..3000).map(|i| ((i * i) as f32 * 0.013).cos()).collect();
            for block in [1, 7, 640, 3000] {
                let mut s = StreamingStage::new(&stage);
                let mut out = Vec::new();
                for chunk in x.chunks(block) {
                    s.push(chunk, &mut out);
                }
                s.finish(&mut out);
                let expected = direct(&stage, &x, out.len() + 3);
                for (n, (a, b)) in out.iter().zip(&expected).enumerate() {
                    assert!(
                        (f64::from(*a) - b).abs() < 2e-5,
                        "{up}/{down}, {len} taps, block {block}, output {n}: {a} against {b}"
                    );
                }
                assert!(expected[out.len()..].iter().all(|v| *v == 0.0), "outputs after the last are zero");
            }
        }
    }
}
