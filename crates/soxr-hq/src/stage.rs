//! One [`Stage`](crate::Stage) run block by block: a polyphase FIR.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

use crate::banded::Banded;
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

/// Overlap-save convolution of the input with each phase's filter, a block of `hop`
/// positions at a time, with real-input FFTs: one forward transform per block, one
/// inverse per phase.
///
/// A stage that keeps every other position of one phase (`decimated`: down by two)
/// folds the spectrum before the inverse transform, which then is half as long: the
/// even samples of a length-`size` signal are the inverse transform of length `size / 2`
/// of `Y[k] + Y[k + size / 2]`.
#[derive(Clone)]
struct FftConvolver {
    size: usize,
    /// Positions per block: `size - taps + 1`, twice that when `paired`.
    hop: usize,
    /// Inputs per block: `size`, plus one hop when `paired`.
    span: usize,
    /// The longest phase, made odd when `decimated` so that the kept positions are
    /// the even samples of the circular convolution (the block's overlap is one less).
    taps: usize,
    decimated: bool,
    /// Each phase's half spectrum, scaled by `1 / size`.
    spectra: Vec<Vec<Complex<f32>>>,
    forward: Arc<dyn RealToComplex<f32>>,
    inverse: Arc<dyn ComplexToReal<f32>>,
    input: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    product: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
    /// `block[p][offset + i]`: phase `p`'s convolution at `block_start + i` (at
    /// `block_start + 2 i` when `decimated`); before `offset`, the wrapped-around part.
    block: Vec<Vec<f32>>,
    offset: usize,
    block_start: i64,
    /// One phase, every position: two real blocks as one complex transform.
    paired: Option<Paired>,
}

/// Two consecutive real blocks convolved by one complex transform of `size` points:
/// the first block as the real part, the second as the imaginary part. The filter is
/// real, so the inverse transform's real and imaginary parts are the two blocks'
/// convolutions. A complex transform of `size` points costs less than two real ones
/// (`realfft` pre- and post-processes each: 9.3 against 14.7 µs for two 4,096-point
/// blocks in a scratch timing): soxr HQ's 48 kHz FIR stage runs about a fifth faster.
#[derive(Clone)]
struct Paired {
    forward: Arc<dyn rustfft::Fft<f32>>,
    inverse: Arc<dyn rustfft::Fft<f32>>,
    /// The filter's whole spectrum, scaled by `1 / size`.
    spectrum: Vec<Complex<f32>>,
    buffer: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
}

impl Paired {
    fn new(taps: &[f32], size: usize) -> Self {
        let mut planner = rustfft::FftPlanner::<f32>::new();
        let (forward, inverse) = (planner.plan_fft_forward(size), planner.plan_fft_inverse(size));
        let scale = 1.0 / size as f32;
        let mut spectrum = vec![Complex::new(0.0, 0.0); size];
        for (s, &t) in spectrum.iter_mut().zip(taps) {
            s.re = t * scale;
        }
        let scratch_len = forward.get_inplace_scratch_len().max(inverse.get_inplace_scratch_len());
        let mut scratch = vec![Complex::new(0.0, 0.0); scratch_len];
        forward.process_with_scratch(&mut spectrum, &mut scratch);
        Paired { forward, inverse, spectrum, buffer: vec![Complex::new(0.0, 0.0); size], scratch }
    }

    /// The convolutions of `first` and `second` (each `size` inputs) into `out`, the
    /// first's valid positions (from `taps - 1` on), then the second's.
    fn convolve(&mut self, first: &[f32], second: &[f32], taps: usize, out: &mut [f32]) {
        let avx2 = has_fma();
        on_avx2(avx2, || {
            for ((z, &re), &im) in self.buffer.iter_mut().zip(first).zip(second) {
                *z = Complex::new(re, im);
            }
        });
        self.forward.process_with_scratch(&mut self.buffer, &mut self.scratch);
        on_avx2(avx2, || {
            for (z, f) in self.buffer.iter_mut().zip(&self.spectrum) {
                *z *= f;
            }
        });
        self.inverse.process_with_scratch(&mut self.buffer, &mut self.scratch);
        let valid = &self.buffer[taps - 1..];
        let (low, high) = out.split_at_mut(valid.len());
        on_avx2(avx2, || {
            for ((l, h), z) in low.iter_mut().zip(high).zip(valid) {
                (*l, *h) = (z.re, z.im);
            }
        });
    }
}

/// Runs `f` compiled for AVX2 where `avx2` (the CPU has it): twice the lanes in these
/// element-wise loops, and the same numbers (Rust never fuses a multiply and an add
/// unasked).
#[inline(always)]
fn on_avx2(avx2: bool, f: impl FnOnce()) {
    #[cfg(target_arch = "x86_64")]
    if avx2 {
        #[target_feature(enable = "avx2")]
        fn with_avx2(f: impl FnOnce()) {
            f()
        }
        // SAFETY: `avx2` is set only where the CPU has AVX2 (`has_fma`).
        return unsafe { with_avx2(f) };
    }
    let _ = avx2;
    f()
}

impl std::fmt::Debug for FftConvolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FftConvolver")
            .field("size", &self.size)
            .field("phases", &self.block.len())
            .field("decimated", &self.decimated)
            .finish()
    }
}

impl FftConvolver {
    /// A convolver for `phases`; `decimated` (one phase only) keeps every other position.
    fn new(phases: &[Vec<f32>], decimated: bool) -> Self {
        debug_assert!(!decimated || phases.len() == 1);
        let longest = phases.iter().map(Vec::len).max().unwrap_or(1);
        // A zero tap more changes no output.
        let taps = if decimated { longest | 1 } else { longest };
        // Longer blocks waste less on the overlap but cost more per sample; these
        // sizes were the fastest in `cargo bench -p soxr-hq` (one phase: 4,096 points
        // for soxr HQ's 389- and 445-tap filters, two phases of 205: 1,024).
        let size = (if phases.len() == 1 { 8 } else { 4 } * taps).next_power_of_two();
        let mut planner = RealFftPlanner::<f32>::new();
        let forward = planner.plan_fft_forward(size);
        let inverse = planner.plan_fft_inverse(if decimated { size / 2 } else { size });
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
        let paired = (phases.len() == 1 && !decimated).then(|| Paired::new(&phases[0], size));
        let hop = size - taps + 1;
        let (hop, span) = if paired.is_some() { (2 * hop, size + hop) } else { (hop, size) };
        FftConvolver {
            size,
            hop,
            span,
            taps,
            decimated,
            spectra,
            input: forward.make_input_vec(),
            spectrum: forward.make_output_vec(),
            product: forward.make_output_vec(),
            scratch: vec![Complex::new(0.0, 0.0); scratch_len],
            block: if paired.is_some() { vec![vec![0.0; hop]] } else { vec![inverse.make_output_vec(); phases.len()] },
            offset: if paired.is_some() {
                0
            } else if decimated {
                (taps - 1) / 2
            } else {
                taps - 1
            },
            paired,
            forward,
            inverse,
            block_start: i64::MIN / 2,
        }
    }

    /// Whether the current block has position `k`.
    fn holds(&self, k: i64) -> bool {
        (self.block_start..self.block_start + self.hop as i64).contains(&k)
    }

    /// Convolves the block starting at position `start`, from the `span` inputs
    /// `start - taps + 1 ..= start + hop - 1`.
    fn compute(&mut self, start: i64, input: &[f32]) {
        self.block_start = start;
        if let Some(paired) = &mut self.paired {
            let single = self.hop / 2;
            paired.convolve(&input[..self.size], &input[single..single + self.size], self.taps, &mut self.block[0]);
            return;
        }
        self.input.copy_from_slice(input);
        // Buffer lengths come from the plans themselves, so these cannot fail.
        self.forward
            .process_with_scratch(&mut self.input, &mut self.spectrum, &mut self.scratch)
            .expect("buffers made by the plan");
        for (filter, block) in self.spectra.iter().zip(&mut self.block) {
            for ((w, x), f) in self.product.iter_mut().zip(&self.spectrum).zip(filter) {
                *w = x * f;
            }
            let spectrum = if self.decimated {
                // Y[k] + Y[k + size / 2] for the half spectrum of size / 2, the second
                // term by symmetry: Y[k + size / 2] = conj(Y[size / 2 - k]).
                let half = self.size / 2;
                for k in 0..=half / 2 {
                    let (low, high) = (self.product[k], self.product[half - k]);
                    self.product[k] = low + high.conj();
                    self.product[half - k] = high + low.conj();
                }
                &mut self.product[..=half / 2]
            } else {
                &mut self.product[..]
            };
            // A real signal's spectrum is real at 0 and at Nyquist; rounding may say otherwise.
            let last = spectrum.len() - 1;
            spectrum[0].im = 0.0;
            spectrum[last].im = 0.0;
            self.inverse
                .process_with_scratch(spectrum, block, &mut self.scratch)
                .expect("buffers made by the plan, real at 0 and Nyquist");
        }
    }

    /// Where position `k` of the current block is stored, counted from `offset`.
    fn index(&self, k: i64) -> usize {
        let distance = (k - self.block_start) as usize;
        if self.decimated { distance / 2 } else { distance }
    }

    fn value(&self, phase: usize, k: i64) -> f32 {
        self.block[phase][self.offset + self.index(k)]
    }
}

/// The inputs a stage holds: `history[i]` is input `first + i`, and inputs before
/// `received` have arrived.
#[derive(Clone, Copy)]
pub(crate) struct Inputs<'a> {
    pub history: &'a [f32],
    pub first: i64,
    pub received: i64,
}

/// The output at `cursor`'s phase (taps reversed) and the inputs it reads.
#[inline(always)]
fn direct_window<'a>(phases: &'a [Vec<f32>], inputs: Inputs<'a>, cursor: Cursor) -> (&'a [f32], &'a [f32]) {
    let taps = &phases[cursor.phase];
    let from = (cursor.last - taps.len() as i64 + 1 - inputs.first) as usize;
    (&taps[..], &inputs.history[from..from + taps.len()])
}

/// Appends every output of a direct stage whose inputs have all arrived, from
/// `cursor` on, and moves `cursor` past them.
fn direct_outputs(
    phases: &[Vec<f32>],
    fma: bool,
    inputs: Inputs<'_>,
    clock: Clock,
    cursor: &mut Cursor,
    out: &mut Vec<f32>,
) {
    #[cfg(target_arch = "x86_64")]
    if fma {
        // SAFETY: `fma` is set only where the CPU has AVX2 and FMA (`has_fma`).
        return unsafe { direct_outputs_fma(phases, inputs, clock, cursor, out) };
    }
    direct_outputs_with::<false>(phases, inputs, clock, cursor, out);
}

/// [`direct_outputs`] compiled for AVX2 and FMA, so that [`dot_fma`] is inlined.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn direct_outputs_fma(phases: &[Vec<f32>], inputs: Inputs<'_>, clock: Clock, cursor: &mut Cursor, out: &mut Vec<f32>) {
    direct_outputs_with::<true>(phases, inputs, clock, cursor, out);
}

#[inline(always)]
fn direct_outputs_with<const FMA: bool>(
    phases: &[Vec<f32>],
    inputs: Inputs<'_>,
    clock: Clock,
    cursor: &mut Cursor,
    out: &mut Vec<f32>,
) {
    let ready = (inputs.received - cursor.last).max(0) as u64;
    out.reserve((ready * clock.up / clock.down + 1) as usize);
    let window = |cursor: Cursor| direct_window(phases, inputs, cursor);
    #[cfg(target_arch = "x86_64")]
    if FMA {
        // Four outputs at a time, their sums reduced together.
        loop {
            let c1 = clock.advance(*cursor);
            let c2 = clock.advance(c1);
            let c3 = clock.advance(c2);
            if c3.last >= inputs.received {
                break;
            }
            // SAFETY: only `direct_outputs_fma`, compiled for AVX2 and FMA, asks for FMA.
            let values = unsafe { dot4_fma([window(*cursor), window(c1), window(c2), window(c3)]) };
            out.extend_from_slice(&values);
            *cursor = clock.advance(c3);
        }
    }
    while cursor.last < inputs.received {
        let (taps, window) = window(*cursor);
        out.push(dot_on(FMA, taps, window));
        *cursor = clock.advance(*cursor);
    }
}

/// Four dot products `a . b` with AVX2 fused multiply-adds, for slices whose lengths
/// are multiples of 16 (a direct stage's padded phases); the four sums are reduced
/// together.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn dot4_fma(pairs: [(&[f32], &[f32]); 4]) -> [f32; 4] {
    use std::arch::x86_64::*;
    let mut sums = [_mm256_setzero_ps(); 4];
    for (sum, (a, b)) in sums.iter_mut().zip(pairs) {
        debug_assert_eq!(a.len().min(b.len()) % 16, 0);
        *sum = fma_lanes(a, b).0;
    }
    // Pairwise sums of lanes: [s0 s1 s2 s3] in each half, then the halves added.
    let h01 = _mm256_hadd_ps(sums[0], sums[1]);
    let h23 = _mm256_hadd_ps(sums[2], sums[3]);
    let h = _mm256_hadd_ps(h01, h23);
    let four = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps::<1>(h));
    let mut values = [0.0f32; 4];
    // SAFETY: `values` holds 4 floats.
    unsafe { _mm_storeu_ps(values.as_mut_ptr(), four) };
    values
}

/// Whether this CPU has AVX2 and FMA, for [`dot_fma`].
pub(crate) fn has_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// [`dot_fma`] if `fma` (the CPU has it), else [`dot`].
#[inline(always)]
fn dot_on(fma: bool, a: &[f32], b: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if fma {
        // SAFETY: `fma` is set only where the CPU has AVX2 and FMA (`has_fma`).
        return unsafe { dot_fma(a, b) };
    }
    let _ = fma;
    dot(a, b)
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

/// The products `a[i] b[i]` of the longest prefix whose length is a multiple of 16,
/// summed in eight lanes (two accumulators of fused multiply-adds, then added), and
/// that prefix's length.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
fn fma_lanes(a: &[f32], b: &[f32]) -> (std::arch::x86_64::__m256, usize) {
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
    (_mm256_add_ps(acc0, acc1), i)
}

/// [`dot`] with AVX2 fused multiply-adds, two 8-lane accumulators.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn dot_fma(a: &[f32], b: &[f32]) -> f32 {
    use std::arch::x86_64::*;
    let n = a.len().min(b.len());
    let (lanes, i) = fma_lanes(a, b);
    // The eight lanes summed as a tree: halves, quarters, then the last two.
    let four = _mm_add_ps(_mm256_castps256_ps128(lanes), _mm256_extractf128_ps::<1>(lanes));
    let two = _mm_add_ps(four, _mm_movehl_ps(four, four));
    let one = _mm_add_ss(two, _mm_movehdup_ps(two));
    _mm_cvtss_f32(one) + a[i..n].iter().zip(&b[i..n]).map(|(x, y)| x * y).sum::<f32>()
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

    #[test]
    fn the_fastest_dot_product_equals_the_portable_one() {
        for len in [0, 5, 8, 16, 23, 48, 409] {
            let a: Vec<f32> = (0..len).map(|i| (i as f32 * 0.71).sin()).collect();
            let b: Vec<f32> = (0..len).map(|i| (i as f32 * 0.13).cos()).collect();
            let exact: f64 = a.iter().zip(&b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum();
            assert!((f64::from(dot(&a, &b)) - exact).abs() < 1e-4, "length {len}");
            #[cfg(target_arch = "x86_64")]
            if has_fma() {
                // SAFETY: the CPU has AVX2 and FMA.
                let fused = unsafe { dot_fma(&a, &b) };
                assert!((f64::from(fused) - exact).abs() < 1e-4, "length {len}");
                if len % 16 == 0 {
                    let shifted: Vec<f32> = b.iter().map(|x| x + 0.5).collect();
                    // SAFETY: the CPU has AVX2 and FMA.
                    let four = unsafe { dot4_fma([(&a, &b), (&b, &a), (&a, &shifted), (&shifted, &shifted)]) };
                    for (value, (x, y)) in four.iter().zip([(&a, &b), (&b, &a), (&a, &shifted), (&shifted, &shifted)]) {
                        let exact: f64 = x.iter().zip(y).map(|(p, q)| f64::from(*p) * f64::from(*q)).sum();
                        assert!((f64::from(*value) - exact).abs() < 1e-4, "length {len}, four at once");
                    }
                }
            }
        }
    }
}
