//! Features a few segments at a time: a file of any length goes through decoding,
//! features and a model with memory bounded by one batch, never by the file.

use crate::decode::AudioDecoder;
use crate::error::Result;
use crate::features::{Coverage, FeatureExtractor, FeatureScale, Features, SegmentReader};

/// An iterator over a file's features, at most `per_batch` segments per item, in
/// order: together, exactly what [`FeatureExtractor::extract_decoded`] returns.
///
/// ```no_run
/// use genre_dsp::{AudioDecoder, Coverage, FeatureConfig, FeatureExtractor, FeatureScale};
/// let extractor = FeatureExtractor::new(FeatureConfig::default())?;
/// let decoder = AudioDecoder::open("a-long-concert.flac")?;
/// let mut segments = 0;
/// for batch in extractor.feature_batches(decoder, Coverage::WholeTrack, FeatureScale::Standardized, 10)? {
///     segments += batch?.n_segments(); // hand each batch to a model, keep only its answer
/// }
/// # Ok::<(), genre_dsp::DspError>(())
/// ```
pub struct FeatureBatches<'a> {
    extractor: &'a FeatureExtractor,
    segments: SegmentReader,
    scale: FeatureScale,
    per_batch: usize,
    /// The audio of the last segment of the previous batch (musicnn frames reach into it).
    previous: Vec<f32>,
    done: bool,
}

impl FeatureExtractor {
    /// The features of what `decoder` reads, `per_batch` segments (at least one) at a time.
    pub fn feature_batches(
        &self,
        decoder: AudioDecoder,
        coverage: Coverage,
        scale: FeatureScale,
        per_batch: usize,
    ) -> Result<FeatureBatches<'_>> {
        Ok(FeatureBatches {
            extractor: self,
            segments: self.segments_decoded(decoder, coverage)?,
            scale,
            per_batch: per_batch.max(1),
            previous: Vec::new(),
            done: false,
        })
    }
}

impl Iterator for FeatureBatches<'_> {
    type Item = Result<Features>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let config = self.extractor.config();
        let size = config.n_mels * config.n_frames();
        let mut data = Vec::with_capacity(self.per_batch * size);
        let mut count = 0;
        while count < self.per_batch {
            let audio = match self.segments.next() {
                Some(Ok(audio)) => audio,
                Some(Err(e)) => {
                    self.done = true;
                    return Some(Err(e));
                }
                None => {
                    self.done = true;
                    break;
                }
            };
            data.resize(data.len() + size, 0.0);
            let start = data.len() - size;
            self.extractor.segment_features_after(&self.previous, &audio, self.scale, &mut data[start..]);
            self.previous = audio;
            count += 1;
        }
        if count == 0 {
            return None;
        }
        Features::from_vec(data, [count, config.n_mels, config.n_frames()]).map(Ok)
    }
}
