//! One [`Stage`](crate::Stage) run block by block: a polyphase FIR.

use crate::plan::Stage;

/// History is compacted once this many samples before the window are no longer needed.
const COMPACT_AFTER: usize = 1 << 14;

/// A [`Stage`](crate::Stage) fed block by block. Input before the first sample and
/// after the last is zero; output `n` is ready once the inputs it reads have arrived.
#[derive(Debug, Clone)]
pub(crate) struct StreamingStage {
    up: u64,
    down: u64,
    centre: u64,
    /// `phases[p]`: the taps `p, p + up, p + 2 up, ...`, reversed, so that output `n`
    /// is a dot product with consecutive inputs ending at `(n down + centre) / up`.
    phases: Vec<Vec<f32>>,
    /// Inputs from global index `first` on (negative: the zeros before the start).
    history: Vec<f32>,
    first: i64,
    /// Real inputs received so far.
    received: i64,
    /// The next output's index.
    next: u64,
    finished: bool,
}

impl StreamingStage {
    pub(crate) fn new(stage: &Stage) -> Self {
        let (up, len) = (stage.up, stage.taps.len());
        let phases: Vec<Vec<f32>> = (0..up)
            .map(|p| {
                let mut taps: Vec<f32> = stage.taps.iter().skip(p).step_by(up).copied().collect();
                taps.reverse();
                taps
            })
            .collect();
        let longest = phases.iter().map(Vec::len).max().unwrap_or(0);
        StreamingStage {
            up: up as u64,
            down: stage.down as u64,
            centre: ((len - 1) / 2) as u64,
            history: vec![0.0; longest],
            first: -(longest as i64),
            phases,
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

    /// Declares the input complete and appends every remaining output that reads any
    /// of it (later ones would be zero).
    pub(crate) fn finish(&mut self, out: &mut Vec<f32>) {
        self.finished = true;
        self.run(out);
    }

    fn run(&mut self, out: &mut Vec<f32>) {
        loop {
            let position = self.next * self.down + self.centre;
            let last = (position / self.up) as i64;
            let taps = &self.phases[(position % self.up) as usize];
            let start = last - taps.len() as i64 + 1;
            if self.finished {
                if start >= self.received {
                    break;
                }
                // Zeros after the end, as far as this window reads.
                let end = (last + 1 - self.first) as usize;
                if self.history.len() < end {
                    self.history.resize(end, 0.0);
                }
            } else if last >= self.received {
                break;
            }
            let from = (start - self.first) as usize;
            out.push(dot(taps, &self.history[from..from + taps.len()]));
            self.next += 1;
        }
        self.compact();
    }

    /// Drops inputs no later output reads.
    fn compact(&mut self) {
        let position = self.next * self.down + self.centre;
        let longest = self.phases.iter().map(Vec::len).max().unwrap_or(0) as i64;
        let needed_from = (position / self.up) as i64 - longest + 1;
        let unneeded = (needed_from - self.first).max(0) as usize;
        if unneeded >= COMPACT_AFTER {
            self.history.drain(..unneeded);
            self.first += unneeded as i64;
        }
    }
}

/// `sum a[i] b[i]` in eight lanes, which the compiler turns into vector code.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let (a_chunks, b_chunks) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a_chunks.remainder().iter().zip(b_chunks.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in a_chunks.zip(b_chunks) {
        for i in 0..8 {
            lanes[i] += x[i] * y[i];
        }
    }
    lanes.iter().sum::<f32>() + tail
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
        let stage = Stage {
            up: 3,
            down: 2,
            taps: (0..23).map(|i| ((i as f32) * 0.37).sin() + 0.1).collect(),
            cutoff: 0.0,
            beta: 0.0,
        };
        let x: Vec<f32> = (0..200).map(|i| ((i * i) as f32 * 0.013).cos()).collect();
        for block in [1, 7, 64, 200] {
            let mut s = StreamingStage::new(&stage);
            let mut out = Vec::new();
            for chunk in x.chunks(block) {
                s.push(chunk, &mut out);
            }
            s.finish(&mut out);
            // The last output that reads any input: (n down + centre) / up - (taps per phase - 1) < len.
            let expected = direct(&stage, &x, out.len() + 3);
            for (n, (a, b)) in out.iter().zip(&expected).enumerate() {
                assert!((f64::from(*a) - b).abs() < 1e-5, "block {block}, output {n}: {a} against {b}");
            }
            assert!(expected[out.len()..].iter().all(|v| *v == 0.0), "outputs after the last are zero");
        }
    }
}
