//! Overlap-save convolution by FFT, for stages with a few long phases (soxr's FIR
//! stages).

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

use crate::direct::has_fma;

/// Overlap-save convolution of the input with each phase's filter, a block of `hop`
/// positions at a time, with real-input FFTs: one forward transform per block, one
/// inverse per phase.
///
/// A stage that keeps every other position of one phase (`decimated`: down by two)
/// folds the spectrum before the inverse transform, which then is half as long: the
/// even samples of a length-`size` signal are the inverse transform of length `size / 2`
/// of `Y[k] + Y[k + size / 2]`.
#[derive(Clone)]
pub(crate) struct FftConvolver {
    pub size: usize,
    /// Positions per block: `size - taps + 1`, twice that when `paired`.
    pub hop: usize,
    /// Inputs per block: `size`, plus one hop when `paired`.
    pub span: usize,
    /// The longest phase, made odd when `decimated` so that the kept positions are
    /// the even samples of the circular convolution (the block's overlap is one less).
    pub taps: usize,
    pub decimated: bool,
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
    pub block: Vec<Vec<f32>>,
    pub offset: usize,
    pub block_start: i64,
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
    pub(crate) fn new(phases: &[Vec<f32>], decimated: bool) -> Self {
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
    #[inline]
    pub(crate) fn holds(&self, k: i64) -> bool {
        (self.block_start..self.block_start + self.hop as i64).contains(&k)
    }

    /// Convolves the block starting at position `start`, from the `span` inputs
    /// `start - taps + 1 ..= start + hop - 1`.
    pub(crate) fn compute(&mut self, start: i64, input: &[f32]) {
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
    #[inline]
    pub(crate) fn index(&self, k: i64) -> usize {
        let distance = (k - self.block_start) as usize;
        if self.decimated { distance / 2 } else { distance }
    }

    #[inline]
    pub(crate) fn value(&self, phase: usize, k: i64) -> f32 {
        self.block[phase][self.offset + self.index(k)]
    }
}
