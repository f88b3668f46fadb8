//! One uploaded file, analysed once and kept for a while, so that the page can change
//! its view (aggregation, top-K, pictures, explanations) without uploading again.

use std::collections::VecDeque;

use std::sync::{Arc, Mutex};

use genre_dsp::{AudioDecoder, Coverage, FeatureExtractor, FeatureScale, Features};

/// Audio kept for playback: at most this many seconds (the rest of a long file is
/// still analysed, just not played back).
pub const PLAYBACK_SECONDS: usize = 600;

/// Waveform points per segment.
pub const ENVELOPE_POINTS_PER_SEGMENT: usize = 64;

/// What the server keeps of one upload.
pub struct Analysis {
    /// Random hexadecimal key.
    pub id: String,
    /// Index of the served model that made it.
    pub model: usize,
    /// The upload's name, as the client gave it.
    pub name: String,
    /// Clip (first 30 s) or whole track.
    pub coverage: Coverage,
    /// The model's input, `[segments, n_mels, n_frames]`.
    pub features: Features,
    /// The same segments before standardisation (what the mel picture shows).
    pub decibels: Features,
    /// Each segment's class probabilities.
    pub probabilities: Vec<Vec<f32>>,
    /// The analysed audio (zero padding included) at the feature rate, as 16-bit PCM,
    /// up to `PLAYBACK_SECONDS`.
    pub playback: Vec<i16>,
    /// Sample rate of `playback`.
    pub sample_rate: u32,
    /// Lowest and highest sample of each waveform point.
    pub envelope: Envelope,
}

/// A waveform drawn as one vertical line per point, from `min[i]` to `max[i]`.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Envelope {
    /// Lowest sample per point.
    pub min: Vec<f32>,
    /// Highest sample per point.
    pub max: Vec<f32>,
}

impl Envelope {
    fn push_segment(&mut self, audio: &[f32]) {
        let n = audio.len();
        for i in 0..ENVELOPE_POINTS_PER_SEGMENT {
            let part = &audio[i * n / ENVELOPE_POINTS_PER_SEGMENT..(i + 1) * n / ENVELOPE_POINTS_PER_SEGMENT];
            self.min.push(part.iter().copied().fold(0.0, f32::min));
            self.max.push(part.iter().copied().fold(0.0, f32::max));
        }
    }
}

/// Decodes the audio once and computes the model input, the log-mel, the waveform and
/// the playback audio, segment by segment (memory grows with the features, not with
/// a decoded copy of the whole file).
pub fn features_of(
    extractor: &FeatureExtractor,
    decoder: AudioDecoder,
    coverage: Coverage,
) -> genre_dsp::Result<(Features, Features, Vec<i16>, Envelope)> {
    let path = decoder.path().to_path_buf();
    let config = extractor.config();
    let size = config.n_mels * config.n_frames();
    let playback_limit = PLAYBACK_SECONDS * config.sample_rate as usize;
    let (mut standardized, mut decibels) = (Vec::new(), Vec::new());
    let (mut playback, mut envelope) = (Vec::new(), Envelope::default());
    let mut previous = Vec::new();
    let mut count = 0;
    for segment in extractor.segments_decoded(decoder, coverage)? {
        let audio = segment?;
        for (data, scale) in [(&mut standardized, FeatureScale::Standardized), (&mut decibels, FeatureScale::Decibels)]
        {
            data.resize(data.len() + size, 0.0);
            let start = data.len() - size;
            extractor.segment_features_after(&previous, &audio, scale, &mut data[start..]);
        }
        envelope.push_segment(&audio);
        let room = playback_limit.saturating_sub(playback.len());
        playback.extend(audio.iter().take(room).map(|&s| (s.clamp(-1.0, 1.0) * 32_767.0).round() as i16));
        previous = audio;
        count += 1;
    }
    let shape = [count, config.n_mels, config.n_frames()];
    let features =
        Features::from_vec(standardized, shape).ok_or_else(|| genre_dsp::DspError::Empty { path: path.clone() })?;
    let decibels = Features::from_vec(decibels, shape).ok_or(genre_dsp::DspError::Empty { path })?;
    Ok((features, decibels, playback, envelope))
}

/// `samples` as a 16-bit mono WAV file.
pub fn wav_bytes(samples: &[i16], sample_rate: u32) -> Result<Vec<u8>, hound::Error> {
    let spec =
        hound::WavSpec { channels: 1, sample_rate, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut bytes = std::io::Cursor::new(Vec::with_capacity(44 + 2 * samples.len()));
    let mut writer = hound::WavWriter::new(&mut bytes, spec)?;
    let mut samples_out = writer.get_i16_writer(samples.len() as u32);
    for &s in samples {
        samples_out.write_sample(s);
    }
    samples_out.flush()?;
    writer.finalize()?;
    Ok(bytes.into_inner())
}

/// The most recent analyses, oldest dropped first.
pub struct AnalysisStore {
    capacity: usize,
    entries: Mutex<VecDeque<Arc<Analysis>>>,
}

impl AnalysisStore {
    /// Keeps at most `capacity` analyses (at least one).
    pub fn new(capacity: usize) -> Self {
        AnalysisStore { capacity: capacity.max(1), entries: Mutex::new(VecDeque::new()) }
    }

    /// Adds `analysis`, dropping the oldest past the capacity.
    pub fn insert(&self, analysis: Arc<Analysis>) {
        let mut entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        entries.push_back(analysis);
        while entries.len() > self.capacity {
            entries.pop_front();
        }
    }

    /// The analysis with this id, if it is still kept.
    pub fn get(&self, id: &str) -> Option<Arc<Analysis>> {
        let entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        entries.iter().find(|a| a.id == id).cloned()
    }
}

/// A fresh random id: 128 bits as 32 hexadecimal digits.
pub fn new_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_drops_the_oldest_past_its_capacity() {
        let store = AnalysisStore::new(2);
        let analysis = |id: &str| {
            let features = Features::from_vec(vec![0.0; 4], [1, 2, 2]).unwrap();
            Arc::new(Analysis {
                id: id.into(),
                model: 0,
                name: "x.wav".into(),
                coverage: Coverage::Clip,
                features: features.clone(),
                decibels: features,
                probabilities: vec![vec![1.0]],
                playback: Vec::new(),
                sample_rate: 16_000,
                envelope: Envelope::default(),
            })
        };
        for id in ["a", "b", "c"] {
            store.insert(analysis(id));
        }
        assert!(store.get("a").is_none());
        assert_eq!(store.get("c").map(|a| a.id.clone()), Some("c".to_string()));
        assert!(store.get("b").is_some());
    }

    #[test]
    fn wav_bytes_read_back_as_written() {
        let samples = [0i16, 1000, -1000, i16::MAX, i16::MIN];
        let bytes = wav_bytes(&samples, 16_000).unwrap();
        let reader = hound::WavReader::new(std::io::Cursor::new(bytes)).unwrap();
        assert_eq!(reader.spec().sample_rate, 16_000);
        let back: Vec<i16> = reader.into_samples::<i16>().map(Result::unwrap).collect();
        assert_eq!(back, samples);
    }

    #[test]
    fn the_envelope_has_fixed_points_per_segment_and_spans_the_samples() {
        let mut envelope = Envelope::default();
        let audio: Vec<f32> = (0..1000).map(|i| (i as f32 / 10.0).sin()).collect();
        envelope.push_segment(&audio);
        assert_eq!(envelope.min.len(), ENVELOPE_POINTS_PER_SEGMENT);
        let low = envelope.min.iter().copied().fold(f32::MAX, f32::min);
        let high = envelope.max.iter().copied().fold(f32::MIN, f32::max);
        assert!(low < -0.99 && high > 0.99, "{low} {high}");
    }
}
