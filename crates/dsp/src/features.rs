//! The original's features: ten standardised 128 x 130 log-mel segments per 30 s clip.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::decode::AudioDecoder;
use crate::error::{DspError, Result};
use crate::mel::{LogMelSpectrogram, MelFilterbank, standardize};
use crate::stream::AudioStream;

/// Every number that defines the features. The default is the Python original's:
/// 22,050 Hz, 10 segments of 66,150 samples (30 s), `n_fft` 2048, hop 512, 128 Slaney
/// mels from 0 Hz to Nyquist, `power_to_db(ref=max, amin=1e-10, top_db=80)`, then
/// per-segment standardisation with `eps = 1e-8`.
///
/// It is part of every model checkpoint and of the feature cache's key, so a model is
/// always fed the features it was trained on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureConfig {
    /// Rate the audio is resampled to, in Hz.
    pub sample_rate: u32,
    /// Samples per segment (66,150 = 3 s at 22,050 Hz).
    pub segment_samples: usize,
    /// Segments per clip in the default (clip) mode; the clip is zero-padded or cut
    /// to `segments_per_clip * segment_samples` samples.
    pub segments_per_clip: usize,
    /// FFT size (and window length).
    pub n_fft: usize,
    /// Hop between frames.
    pub hop_length: usize,
    /// Number of mel bands.
    pub n_mels: usize,
    /// Lowest filter edge, Hz.
    pub fmin: f64,
    /// Highest filter edge, Hz; `None` is Nyquist.
    pub fmax: Option<f64>,
    /// Floor of the power before the logarithm.
    pub amin: f32,
    /// Dynamic range kept below the segment's maximum, dB; `None` keeps all.
    pub top_db: Option<f32>,
    /// Added to the standard deviation when standardising each segment.
    pub standardize_eps: f32,
    /// How the mel power is framed, scaled and cut; absent in older checkpoints, where
    /// it means the original's.
    #[serde(default)]
    pub kind: FeatureKind,
}

/// The two feature recipes: the original's standardised dB log-mel, and musicnn's
/// compressed log-mel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FeatureKind {
    /// The original's: each segment framed on its own (centred, zero-padded), then
    /// `power_to_db(ref=max, amin, top_db)` and, in [`FeatureScale::Standardized`],
    /// `(L - mean) / (std + eps)`. `1 + segment_samples / hop_length` frames.
    #[default]
    #[serde(alias = "seed-log-mel")]
    OriginalLogMel,
    /// musicnn's (`musicnn.extractor.batch_data`): the clip is framed as a whole
    /// (centred, zero-padded at its start) and cut into patches of
    /// `segment_samples / hop_length` frames; each mel power is rounded to float16 and
    /// mapped to `log10(10000 x + 1)` with float16 rounding at every step, as numpy
    /// does on musicnn's float16 array. Unlike numpy, `10000 x` does not overflow to
    /// infinity above float16's 65,504 (loud bins, a few in 100,000 on real music, which
    /// turn whole patches of musicnn's output into NaN): there it keeps float16's
    /// 11-bit precision without its range. Both scales give the same numbers.
    Musicnn,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        FeatureConfig {
            sample_rate: 22_050,
            segment_samples: 66_150,
            segments_per_clip: 10,
            n_fft: 2048,
            hop_length: 512,
            n_mels: 128,
            fmin: 0.0,
            fmax: None,
            amin: 1e-10,
            top_db: Some(80.0),
            standardize_eps: 1e-8,
            kind: FeatureKind::OriginalLogMel,
        }
    }
}

impl FeatureConfig {
    /// musicnn's features (`musicnn` 0.1.0, `input_length=3`, no overlap): 16 kHz,
    /// `n_fft` 512, hop 256, 96 Slaney mels, patches of 187 frames (47,872 samples,
    /// about 3 s), ten per clip. See [`FeatureKind::Musicnn`].
    pub fn musicnn() -> Self {
        FeatureConfig {
            sample_rate: 16_000,
            segment_samples: 187 * 256,
            segments_per_clip: 10,
            n_fft: 512,
            hop_length: 256,
            n_mels: 96,
            fmin: 0.0,
            fmax: None,
            amin: 1e-10,
            top_db: None,
            standardize_eps: 0.0,
            kind: FeatureKind::Musicnn,
        }
    }

    /// Frames per segment: `1 + segment_samples / hop_length` for the original's centred
    /// segments, `segment_samples / hop_length` for musicnn's patches.
    pub fn n_frames(&self) -> usize {
        match self.kind {
            FeatureKind::OriginalLogMel => 1 + self.segment_samples / self.hop_length,
            FeatureKind::Musicnn => self.segment_samples / self.hop_length,
        }
    }

    /// Duration of one segment in seconds.
    pub fn segment_seconds(&self) -> f64 {
        self.segment_samples as f64 / f64::from(self.sample_rate)
    }

    /// Checks that the numbers make a usable extractor (a configuration read from a
    /// file may hold anything): a [`DspError::Config`] saying which field is wrong.
    pub fn validate(&self) -> Result<()> {
        let fail = |m: String| Err(DspError::Config(m));
        let nyquist = f64::from(self.sample_rate) / 2.0;
        let fmax = self.fmax.unwrap_or(nyquist);
        if !crate::RESAMPLE_RATES_HZ.contains(&self.sample_rate) {
            return fail(format!(
                "sample_rate {} is outside the supported {} to {} Hz",
                self.sample_rate,
                crate::RESAMPLE_RATES_HZ.start(),
                crate::RESAMPLE_RATES_HZ.end()
            ));
        }
        if self.n_fft < 2 || self.hop_length == 0 || self.n_mels == 0 {
            return fail("n_fft must be at least 2, hop_length and n_mels positive".into());
        }
        if self.n_fft > 1 << 16 || self.hop_length > self.n_fft || self.n_mels > 1024 {
            return fail(format!(
                "n_fft {} (at most 65,536), hop_length {} (at most n_fft) or n_mels {} (at most 1,024) too large",
                self.n_fft, self.hop_length, self.n_mels
            ));
        }
        if self.segment_samples == 0 || self.segments_per_clip == 0 {
            return fail("segment_samples and segments_per_clip must be positive".into());
        }
        if self.segment_samples > 600 * self.sample_rate as usize || self.segments_per_clip > 10_000 {
            return fail("segment_samples (at most 600 s) or segments_per_clip (at most 10,000) too large".into());
        }
        if !(self.fmin >= 0.0 && self.fmin < fmax && fmax <= nyquist) {
            return fail(format!("need 0 <= fmin < fmax <= {nyquist} Hz, got fmin {} and fmax {fmax}", self.fmin));
        }
        let positive = |x: f32| x.is_finite() && x > 0.0;
        let non_negative = |x: f32| x.is_finite() && x >= 0.0;
        if !positive(self.amin) || !self.top_db.is_none_or(non_negative) || !non_negative(self.standardize_eps) {
            return fail("amin must be positive, top_db and standardize_eps non-negative".into());
        }
        if self.kind == FeatureKind::Musicnn
            && (!self.segment_samples.is_multiple_of(self.hop_length)
                || !(self.n_fft / 2).is_multiple_of(self.hop_length))
        {
            return fail("musicnn patches need segment_samples and n_fft / 2 to be multiples of hop_length".into());
        }
        Ok(())
    }
}

/// Which numbers to return: the model's input, or the log-mel before standardisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FeatureScale {
    /// `(L - mean) / (std + eps)` per segment: what the models take.
    #[default]
    Standardized,
    /// `L`, the log-mel in dB relative to the segment's maximum.
    Decibels,
}

/// How much of a file to turn into segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Coverage {
    /// The first `segments_per_clip` segments (30 s), zero-padded: the original's mode.
    /// Decoding stops once 30 s are read.
    #[default]
    Clip,
    /// Every segment of the file. A final partial segment is zero-padded and kept when
    /// it is at least half a segment long, or when it is the only one.
    WholeTrack,
}

/// Features of one file: `[segments, n_mels, n_frames]`, row-major `f32`.
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    data: Vec<f32>,
    segments: usize,
    n_mels: usize,
    n_frames: usize,
}

impl Features {
    /// Features from row-major values and their shape; `None` if they do not fit.
    pub fn from_vec(data: Vec<f32>, shape: [usize; 3]) -> Option<Self> {
        (data.len() == shape.iter().product::<usize>()).then_some(Features {
            data,
            segments: shape[0],
            n_mels: shape[1],
            n_frames: shape[2],
        })
    }

    /// `[segments, n_mels, n_frames]`.
    pub fn shape(&self) -> [usize; 3] {
        [self.segments, self.n_mels, self.n_frames]
    }

    /// Number of segments.
    pub fn n_segments(&self) -> usize {
        self.segments
    }

    /// All values, row-major.
    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }

    /// The values of segment `i`, `[n_mels, n_frames]` row-major; `None` if
    /// `i >= n_segments()`.
    pub fn segment(&self, i: usize) -> Option<&[f32]> {
        let size = self.n_mels * self.n_frames;
        self.data.get(i.checked_mul(size)?..i.checked_add(1)?.checked_mul(size)?)
    }

    /// Whether every value is the same (true for no values): what silent audio (digital
    /// zeros) gives, so a model has nothing to go on.
    ///
    /// ```
    /// let silent = genre_dsp::Features::from_vec(vec![0.0; 2 * 3 * 4], [2, 3, 4]).unwrap();
    /// assert!(silent.is_constant());
    /// let sound = genre_dsp::Features::from_vec((0..24).map(|i| i as f32).collect(), [2, 3, 4]).unwrap();
    /// assert!(!sound.is_constant());
    /// ```
    pub fn is_constant(&self) -> bool {
        self.data.windows(2).all(|pair| pair[0] == pair[1])
    }

    /// The values, consuming `self`.
    pub fn into_vec(self) -> Vec<f32> {
        self.data
    }
}

/// Turns audio files into model input.
///
/// ```no_run
/// use genre_dsp::{FeatureConfig, FeatureExtractor};
/// let extractor = FeatureExtractor::new(FeatureConfig::default())?;
/// let features = extractor.extract("song.mp3")?;
/// assert_eq!(features.shape(), [10, 128, 130]);
/// # Ok::<(), genre_dsp::DspError>(())
/// ```
#[derive(Debug, Clone)]
pub struct FeatureExtractor {
    config: FeatureConfig,
    spectrogram: LogMelSpectrogram,
}

impl FeatureExtractor {
    /// An extractor for `config`; fails if the values cannot work together.
    pub fn new(config: FeatureConfig) -> Result<Self> {
        config.validate()?;
        let fmax = config.fmax.unwrap_or(f64::from(config.sample_rate) / 2.0);
        let bank = MelFilterbank::slaney(config.sample_rate, config.n_fft, config.n_mels, config.fmin, fmax);
        let spectrogram = LogMelSpectrogram::new(config.n_fft, config.hop_length, bank, config.amin, config.top_db);
        Ok(FeatureExtractor { config, spectrogram })
    }

    /// The configuration.
    pub fn config(&self) -> &FeatureConfig {
        &self.config
    }

    /// Standardised features of the first 30 s of `path`: the models' input.
    pub fn extract(&self, path: impl AsRef<Path>) -> Result<Features> {
        self.extract_with(path, Coverage::Clip, FeatureScale::Standardized)
    }

    /// Features of `path` with a chosen coverage and scale.
    pub fn extract_with(&self, path: impl AsRef<Path>, coverage: Coverage, scale: FeatureScale) -> Result<Features> {
        self.extract_decoded(AudioDecoder::open(path)?, coverage, scale)
    }

    /// Features of the audio `decoder` reads: a file opened elsewhere, or bytes in
    /// memory.
    ///
    /// ```no_run
    /// use genre_dsp::{AudioDecoder, Coverage, FeatureConfig, FeatureExtractor, FeatureScale};
    /// let upload: Vec<u8> = std::fs::read("song.ogg")?;
    /// let decoder = AudioDecoder::from_reader("song.ogg", std::io::Cursor::new(upload))?;
    /// let extractor = FeatureExtractor::new(FeatureConfig::default())?;
    /// let features = extractor.extract_decoded(decoder, Coverage::Clip, FeatureScale::Standardized)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn extract_decoded(&self, decoder: AudioDecoder, coverage: Coverage, scale: FeatureScale) -> Result<Features> {
        let (n_mels, n_frames) = (self.config.n_mels, self.config.n_frames());
        let mut data = Vec::new();
        let mut count = 0;
        for batch in self.feature_batches(decoder, coverage, scale, self.config.segments_per_clip)? {
            let batch = batch?;
            count += batch.n_segments();
            data.extend_from_slice(batch.as_slice());
        }
        Ok(Features { data, segments: count, n_mels, n_frames })
    }

    /// Features of samples already at `config.sample_rate`, in clip mode (cut or
    /// zero-padded to `segments_per_clip` segments).
    pub fn extract_samples(&self, samples: &[f32], scale: FeatureScale) -> Features {
        let (seg, n) = (self.config.segment_samples, self.config.segments_per_clip);
        let size = self.segment_len();
        let mut data = vec![0.0; n * size];
        let mut padded = vec![0.0; seg];
        let mut previous = vec![0.0; seg];
        for i in 0..n {
            let start = (i * seg).min(samples.len());
            let available = (samples.len() - start).min(seg);
            std::mem::swap(&mut previous, &mut padded);
            padded[..available].copy_from_slice(&samples[start..start + available]);
            padded[available..].fill(0.0);
            let previous = if i == 0 { &[][..] } else { &previous[..] };
            self.segment_features_after(previous, &padded, scale, &mut data[i * size..(i + 1) * size]);
        }
        Features { data, segments: n, n_mels: self.config.n_mels, n_frames: self.config.n_frames() }
    }

    /// The features of one segment of `segment_samples` samples, written to `out`
    /// (`n_mels * n_frames` values), for the first segment of a clip. For later
    /// segments of musicnn's features, use [`FeatureExtractor::segment_features_after`].
    pub fn segment_features(&self, segment: &[f32], scale: FeatureScale, out: &mut [f32]) {
        self.segment_features_after(&[], segment, scale, out);
    }

    /// The features of `segment`, which follows the audio `previous` in the clip
    /// (empty for the first segment). musicnn frames the clip as a whole, so its
    /// first frame of a patch reaches `n_fft / 2` samples back into `previous`; the
    /// original's features frame each segment on its own and ignore `previous`.
    pub fn segment_features_after(&self, previous: &[f32], segment: &[f32], scale: FeatureScale, out: &mut [f32]) {
        match self.config.kind {
            FeatureKind::OriginalLogMel => {
                // Digital silence (the padding after a short file) is 0 in both scales,
                // as in librosa: every bin equals the reference, then standardisation
                // gives 0 / eps.
                if segment.iter().all(|&s| s == 0.0) {
                    out.fill(0.0);
                    return;
                }
                self.spectrogram.decibels(segment, out);
                if scale == FeatureScale::Standardized {
                    standardize(out, self.config.standardize_eps);
                }
            }
            FeatureKind::Musicnn => self.musicnn_patch(previous, segment, out),
        }
    }

    /// One musicnn patch: the frames centred on `segment[k * hop]`, computed from the
    /// segment with `n_fft / 2` samples of left context, then the compressed scale.
    fn musicnn_patch(&self, previous: &[f32], segment: &[f32], out: &mut [f32]) {
        let (half, hop) = (self.config.n_fft / 2, self.config.hop_length);
        let (n_mels, n_frames) = (self.config.n_mels, self.config.n_frames());
        let mut buffer = vec![0.0; half + segment.len()];
        let context = previous.len().min(half);
        buffer[half - context..half].copy_from_slice(&previous[previous.len() - context..]);
        buffer[half..].copy_from_slice(segment);
        if buffer.iter().all(|&s| s == 0.0) {
            out.fill(0.0); // log10(10000 * 0 + 1)
            return;
        }
        // Frame t of `buffer` is centred on buffer[t * hop] = segment[t * hop - half].
        let all_frames = self.spectrogram.n_frames(buffer.len());
        let mut power = vec![0.0; n_mels * all_frames];
        self.spectrogram.power(&buffer, &mut power);
        let first = half / hop;
        for (row, power_row) in out.chunks_exact_mut(n_frames).zip(power.chunks_exact(all_frames)) {
            for (o, &p) in row.iter_mut().zip(&power_row[first..first + n_frames]) {
                *o = musicnn_compress(p);
            }
        }
    }

    /// The audio segments of `path`, read lazily: memory stays bounded for any length.
    pub fn segments(&self, path: impl AsRef<Path>, coverage: Coverage) -> Result<SegmentReader> {
        self.segments_decoded(AudioDecoder::open(path)?, coverage)
    }

    /// The audio segments of what `decoder` reads, lazily.
    pub fn segments_decoded(&self, decoder: AudioDecoder, coverage: Coverage) -> Result<SegmentReader> {
        let stream = AudioStream::new(decoder, self.config.sample_rate)?;
        Ok(SegmentReader {
            stream,
            coverage,
            segment_samples: self.config.segment_samples,
            limit: self.config.segments_per_clip,
            buffer: Vec::new(),
            emitted: 0,
            ended: false,
        })
    }

    fn segment_len(&self) -> usize {
        self.config.n_mels * self.config.n_frames()
    }
}

/// `log10(10000 x + 1)` as numpy computes it on musicnn's float16 array (each
/// operation rounded to float16), except that values past float16's range keep its
/// precision instead of becoming infinite.
pub fn musicnn_compress(power: f32) -> f32 {
    let x = round_f16(power);
    let scaled = round_f16(10_000.0 * x);
    let shifted = round_f16(scaled + 1.0);
    round_f16(shifted.log10())
}

/// Rounds to the nearest float16 value (ties to even), as numpy's `astype(float16)`;
/// past float16's largest finite value, rounds to 11 significant bits instead of
/// overflowing.
fn round_f16(x: f32) -> f32 {
    const F16_MAX: f32 = 65_504.0;
    if x.abs() <= F16_MAX {
        return half::f16::from_f32(x).to_f32();
    }
    let bits = x.to_bits();
    let lsb = (bits >> 13) & 1;
    f32::from_bits((bits + 0x0fff + lsb) & !0x1fff)
}

/// An iterator over the fixed-length audio segments of one file, at the feature rate.
///
/// In [`Coverage::Clip`] mode it yields exactly `segments_per_clip` segments (zero
/// padded past the end of the file) and stops decoding after the last one.
pub struct SegmentReader {
    stream: AudioStream,
    coverage: Coverage,
    segment_samples: usize,
    limit: usize,
    buffer: Vec<f32>,
    emitted: usize,
    ended: bool,
}

impl SegmentReader {
    /// Start time, in samples at the feature rate, of the next segment.
    pub fn next_start(&self) -> usize {
        self.emitted * self.segment_samples
    }

    fn fill(&mut self) -> Result<()> {
        while !self.ended && self.buffer.len() < self.segment_samples {
            if self.stream.read(&mut self.buffer)? == 0 {
                self.ended = true;
            }
        }
        Ok(())
    }
}

impl Iterator for SegmentReader {
    type Item = Result<Vec<f32>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.coverage == Coverage::Clip && self.emitted == self.limit {
            return None;
        }
        if let Err(e) = self.fill() {
            self.ended = true;
            self.buffer.clear();
            self.emitted = self.limit;
            self.coverage = Coverage::Clip;
            return Some(Err(e));
        }
        let n = self.segment_samples;
        let available = self.buffer.len().min(n);
        let keep = match self.coverage {
            Coverage::Clip => true,
            Coverage::WholeTrack => available == n || (available > 0 && (2 * available >= n || self.emitted == 0)),
        };
        if !keep {
            return None;
        }
        let mut segment: Vec<f32> = self.buffer.drain(..available).collect();
        segment.resize(n, 0.0);
        self.emitted += 1;
        Some(Ok(segment))
    }
}
