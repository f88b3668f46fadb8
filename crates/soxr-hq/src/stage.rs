//! One [`Stage`](crate::Stage) run block by block: a polyphase FIR.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

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
struct Clock {
    up: u64,
    down: u64,
    centre: u64,
}

impl Clock {
    /// Output `n`'s last input and phase.
    fn window_end(self, n: u64) -> (i64, usize) {
        let position = n * self.down + self.centre;
        ((position / self.up) as i64, (position % self.up) as usize)
    }
}

#[derive(Debug, Clone)]
enum Engine {
    /// `phases[p]`: phase `p`'s taps reversed (zero-padded in front), so that output
    /// `n` is a dot product with the inputs ending at `last`.
    Direct {
        phases: Vec<Vec<f32>>,
        dot: Dot,
    },
    Fft(Box<FftConvolver>),
}

impl StreamingStage {
    pub(crate) fn new(stage: &Stage) -> Self {
        let (up, len) = (stage.up, stage.taps.len());
        let phases: Vec<Vec<f32>> = (0..up).map(|p| stage.taps.iter().skip(p).step_by(up).copied().collect()).collect();
        let lengths: Vec<usize> = phases.iter().map(Vec::len).collect();
        let longest = lengths.iter().copied().max().unwrap_or(0);
        let (engine, window) = if up <= 4 && longest >= 64 {
            (Engine::Fft(Box::new(FftConvolver::new(&phases))), longest)
        } else {
            // Reversed, and zero-padded in front to a multiple of 16 taps, the width of
            // the AVX2 dot product's step (the padding reads earlier inputs times 0).
            let padded = longest.next_multiple_of(16);
            let reversed = phases
                .into_iter()
                .map(|taps| {
                    let mut row = vec![0.0; padded - taps.len()];
                    row.extend(taps.iter().rev());
                    row
                })
                .collect();
            (Engine::Direct { phases: reversed, dot: fastest_dot() }, padded)
        };
        StreamingStage {
            clock: Clock { up: up as u64, down: stage.down as u64, centre: ((len - 1) / 2) as u64 },
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

    /// Declares the input complete and appends every remaining output that reads any
    /// of it (later ones would be zero).
    pub(crate) fn finish(&mut self, out: &mut Vec<f32>) {
        self.finished = true;
        self.run(out);
    }

    fn run(&mut self, out: &mut Vec<f32>) {
        loop {
            let (last, phase) = self.clock.window_end(self.next);
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
            match &mut self.engine {
                Engine::Direct { phases, dot, .. } => {
                    let taps = &phases[phase];
                    let from = (last - taps.len() as i64 + 1 - self.first) as usize;
                    out.push(dot(taps, &self.history[from..from + taps.len()]));
                    self.next += 1;
                }
                Engine::Fft(fft) => {
                    if !fft.holds(last) {
                        let from = (last - fft.taps as i64 + 1 - self.first) as usize;
                        fft.compute(last, &self.history[from..from + fft.size]);
                    }
                    // Every output the block holds, in one go.
                    let (mut last, mut phase) = (last, phase);
                    while fft.holds(last) && !reads_nothing(self.finished, self.received, &self.lengths, last, phase) {
                        out.push(fft.value(phase, last));
                        self.next += 1;
                        (last, phase) = self.clock.window_end(self.next);
                    }
                }
            }
        }
        self.compact();
    }

    /// Drops inputs no later output reads.
    fn compact(&mut self) {
        let needed_from = self.clock.window_end(self.next).0 - self.window as i64 + 1;
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

/// Overlap-save convolution of the input with each phase's filter, a block of `hop`
/// positions at a time, with real-input FFTs: one forward transform per block, one
/// inverse per phase.
#[derive(Clone)]
struct FftConvolver {
    size: usize,
    hop: usize,
    /// The longest phase (the block's overlap is one less).
    taps: usize,
    /// Each phase's half spectrum, scaled by `1 / size`.
    spectra: Vec<Vec<Complex<f32>>>,
    forward: Arc<dyn RealToComplex<f32>>,
    inverse: Arc<dyn ComplexToReal<f32>>,
    input: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    product: Vec<Complex<f32>>,
    output: Vec<f32>,
    scratch: Vec<Complex<f32>>,
    /// `block[p][i]`: phase `p`'s convolution at `block_start + i`.
    block: Vec<Vec<f32>>,
    block_start: i64,
}

impl std::fmt::Debug for FftConvolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FftConvolver").field("size", &self.size).field("phases", &self.block.len()).finish()
    }
}

impl FftConvolver {
    fn new(phases: &[Vec<f32>]) -> Self {
        let taps = phases.iter().map(Vec::len).max().unwrap_or(1);
        let size = (4 * taps).next_power_of_two();
        let mut planner = RealFftPlanner::<f32>::new();
        let (forward, inverse) = (planner.plan_fft_forward(size), planner.plan_fft_inverse(size));
        let scale = 1.0 / size as f32;
        let mut scratch = forward.make_scratch_vec();
        let spectra = phases
            .iter()
            .map(|phase| {
                let mut padded = vec![0.0; size];
                for (p, &t) in padded.iter_mut().zip(phase) {
                    *p = t * scale;
                }
                let mut half = forward.make_output_vec();
                forward.process_with_scratch(&mut padded, &mut half, &mut scratch).expect("buffers made by the plan");
                half
            })
            .collect();
        let scratch_len = scratch.len().max(inverse.get_scratch_len());
        FftConvolver {
            size,
            hop: size - taps + 1,
            taps,
            spectra,
            input: forward.make_input_vec(),
            spectrum: forward.make_output_vec(),
            product: inverse.make_input_vec(),
            output: inverse.make_output_vec(),
            scratch: vec![Complex::new(0.0, 0.0); scratch_len],
            forward,
            inverse,
            block: vec![Vec::new(); phases.len()],
            block_start: i64::MIN / 2,
        }
    }

    /// Whether the current block has position `k`.
    fn holds(&self, k: i64) -> bool {
        (self.block_start..self.block_start + self.hop as i64).contains(&k)
    }

    /// Convolves the block starting at position `start`, from the `size` inputs
    /// `start - taps + 1 ..= start + hop - 1`.
    fn compute(&mut self, start: i64, input: &[f32]) {
        self.input.copy_from_slice(input);
        // Buffer lengths come from the plans themselves, so these cannot fail.
        self.forward
            .process_with_scratch(&mut self.input, &mut self.spectrum, &mut self.scratch)
            .expect("buffers made by the plan");
        for (filter, block) in self.spectra.iter().zip(&mut self.block) {
            for ((w, x), f) in self.product.iter_mut().zip(&self.spectrum).zip(filter) {
                *w = x * f;
            }
            // A real signal's spectrum is real at 0 and at Nyquist; rounding may say otherwise.
            let last = self.product.len() - 1;
            self.product[0].im = 0.0;
            self.product[last].im = 0.0;
            self.inverse
                .process_with_scratch(&mut self.product, &mut self.output, &mut self.scratch)
                .expect("buffers made by the plan, real at 0 and Nyquist");
            block.clear();
            block.extend_from_slice(&self.output[self.taps - 1..]);
        }
        self.block_start = start;
    }

    fn value(&self, phase: usize, k: i64) -> f32 {
        self.block[phase][(k - self.block_start) as usize]
    }
}

/// A dot product of two slices of the same length.
type Dot = fn(&[f32], &[f32]) -> f32;

/// The fastest [`Dot`] this CPU runs: fused multiply-adds on 8 lanes where it has
/// AVX2 and FMA, else the portable one.
fn fastest_dot() -> Dot {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        return |a, b| {
            // SAFETY: the CPU has AVX2 and FMA, checked above.
            unsafe { dot_fma(a, b) }
        };
    }
    dot
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

/// [`dot`] with AVX2 fused multiply-adds, two 8-lane accumulators.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn dot_fma(a: &[f32], b: &[f32]) -> f32 {
    use std::arch::x86_64::*;
    let n = a.len().min(b.len());
    let (mut acc0, mut acc1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
    let mut i = 0;
    while i + 16 <= n {
        // SAFETY: i + 16 <= n, so both 8-float loads at i and i + 8 are inside both slices.
        unsafe {
            acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a.as_ptr().add(i)), _mm256_loadu_ps(b.as_ptr().add(i)), acc0);
            acc1 =
                _mm256_fmadd_ps(_mm256_loadu_ps(a.as_ptr().add(i + 8)), _mm256_loadu_ps(b.as_ptr().add(i + 8)), acc1);
        }
        i += 16;
    }
    let mut lanes = [0.0f32; 8];
    // SAFETY: `lanes` holds 8 floats.
    unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), _mm256_add_ps(acc0, acc1)) };
    lanes.iter().sum::<f32>() + a[i..n].iter().zip(&b[i..n]).map(|(x, y)| x * y).sum::<f32>()
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
        for (up, down, len) in [(3, 2, 23), (2, 1, 301), (1, 2, 257), (1, 1, 129), (2, 3, 400)] {
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

    #[test]
    fn the_fastest_dot_product_equals_the_portable_one() {
        for len in [0, 5, 8, 16, 23, 409] {
            let a: Vec<f32> = (0..len).map(|i| (i as f32 * 0.71).sin()).collect();
            let b: Vec<f32> = (0..len).map(|i| (i as f32 * 0.13).cos()).collect();
            let exact: f64 = a.iter().zip(&b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum();
            for f in [dot as Dot, fastest_dot()] {
                assert!((f64::from(f(&a, &b)) - exact).abs() < 1e-4, "length {len}");
            }
        }
    }
}
