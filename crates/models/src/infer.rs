//! From features to genre probabilities: per segment, then per track.

use std::str::FromStr;

use burn::prelude::*;
use burn::tensor::activation::softmax;
use genre_dsp::Features;

use crate::arch::GenreModel;
use crate::checkpoint::Checkpoint;
use crate::error::{ModelError, Result};

/// How per-segment probabilities become one answer per track.
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Aggregation {
    /// Mean of the segments' probabilities (the original's).
    #[default]
    Mean,
    /// Per-class median, renormalised to sum to 1.
    Median,
    /// Per-class maximum, renormalised to sum to 1.
    Max,
    /// Share of segments whose top class is each class (majority vote).
    Vote,
}

impl FromStr for Aggregation {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "mean" => Ok(Aggregation::Mean),
            "median" => Ok(Aggregation::Median),
            "max" => Ok(Aggregation::Max),
            "vote" => Ok(Aggregation::Vote),
            other => Err(format!("unknown aggregation {other:?} (mean, median, max, vote)")),
        }
    }
}

impl Aggregation {
    /// `mean`, `median`, `max` or `vote`.
    pub fn name(self) -> &'static str {
        match self {
            Aggregation::Mean => "mean",
            Aggregation::Median => "median",
            Aggregation::Max => "max",
            Aggregation::Vote => "vote",
        }
    }

    /// One probability per class from per-segment probabilities (`segments[s][c]`).
    pub fn aggregate(self, segments: &[Vec<f32>]) -> Vec<f32> {
        let classes = segments.first().map_or(0, Vec::len);
        if segments.is_empty() {
            return Vec::new();
        }
        let column = |c: usize| segments.iter().map(move |s| s[c]);
        let raw: Vec<f32> = match self {
            Aggregation::Mean => (0..classes).map(|c| column(c).sum::<f32>() / segments.len() as f32).collect(),
            Aggregation::Max => (0..classes).map(|c| column(c).fold(0.0, f32::max)).collect(),
            Aggregation::Median => (0..classes)
                .map(|c| {
                    let mut v: Vec<f32> = column(c).collect();
                    v.sort_by(f32::total_cmp);
                    let n = v.len();
                    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
                })
                .collect(),
            Aggregation::Vote => {
                let mut votes = vec![0.0; classes];
                for s in segments {
                    votes[argmax(s)] += 1.0;
                }
                votes
            }
        };
        let total: f32 = raw.iter().sum();
        if total > 0.0 { raw.iter().map(|v| v / total).collect() } else { raw }
    }
}

/// Index of the largest value (the first, on ties).
pub fn argmax(values: &[f32]) -> usize {
    values.iter().enumerate().fold(0, |best, (i, &v)| if v > values[best] { i } else { best })
}

/// A model ready to classify: weights on a device, labels and feature configuration.
#[derive(Debug)]
pub struct Classifier {
    model: GenreModel,
    checkpoint: Checkpoint,
    device: Device,
}

impl Classifier {
    /// Loads `checkpoint`'s model onto `device`.
    pub fn new(checkpoint: Checkpoint, device: &Device) -> Result<Self> {
        let model = checkpoint.model(device)?;
        Ok(Classifier { model, checkpoint, device: device.clone() })
    }

    /// Genre names, in output order.
    pub fn labels(&self) -> &[String] {
        &self.checkpoint.header.labels
    }

    /// The checkpoint (architecture, feature configuration, notes).
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// Logits `[segments][classes]`, in batches of at most `batch` segments.
    pub fn logits(&self, features: &Features, batch: usize) -> Result<Vec<Vec<f32>>> {
        self.run(features, batch, |x| x)
    }

    /// Softmax probabilities `[segments][classes]`.
    pub fn probabilities(&self, features: &Features, batch: usize) -> Result<Vec<Vec<f32>>> {
        self.run(features, batch, |x| softmax(x, 1))
    }

    /// Softmax probabilities of a file's features handed over batch by batch
    /// ([`genre_dsp::FeatureBatches`]), so that memory stays bounded by one batch for a
    /// file of any length; and whether every batch was constant (silence, whose
    /// predictions mean nothing).
    ///
    /// ```no_run
    /// # fn run(classifier: &genre_models::infer::Classifier) -> genre_models::Result<()> {
    /// use genre_dsp::{AudioDecoder, Coverage, FeatureExtractor, FeatureScale};
    /// let extractor = FeatureExtractor::new(classifier.checkpoint().header.features.clone())?;
    /// let batches = extractor.feature_batches(AudioDecoder::open("set.flac")?, Coverage::WholeTrack, FeatureScale::Standardized, 10)?;
    /// let (segments, _silent) = classifier.probabilities_streamed(batches, 10)?;
    /// # Ok(()) }
    /// ```
    pub fn probabilities_streamed(
        &self,
        batches: genre_dsp::FeatureBatches<'_>,
        batch: usize,
    ) -> Result<(Vec<Vec<f32>>, bool)> {
        let (mut segments, mut constant) = (Vec::new(), true);
        for features in batches {
            let features = features?;
            constant &= features.is_constant();
            segments.extend(self.probabilities(&features, batch)?);
        }
        Ok((segments, constant))
    }

    fn run(&self, features: &Features, batch: usize, finish: impl Fn(Tensor<2>) -> Tensor<2>) -> Result<Vec<Vec<f32>>> {
        let [n, mels, frames] = features.shape();
        let expected = &self.checkpoint.header.features;
        if mels != expected.n_mels || frames != expected.n_frames() {
            return Err(ModelError::Input {
                n_mels: expected.n_mels,
                n_frames: expected.n_frames(),
                got: features.shape().to_vec(),
            });
        }
        let classes = self.labels().len();
        let mut out = Vec::with_capacity(n);
        for start in (0..n).step_by(batch.max(1)) {
            let end = (start + batch.max(1)).min(n);
            let values = features.as_slice()[start * mels * frames..end * mels * frames].to_vec();
            let x = Tensor::<3>::from_data(TensorData::new(values, [end - start, mels, frames]), &self.device);
            let y = crate::error::read_f32(finish(self.model.forward(x)))?;
            out.extend(y.chunks(classes).map(<[f32]>::to_vec));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregations() {
        let s = vec![vec![0.7, 0.2, 0.1], vec![0.1, 0.8, 0.1], vec![0.6, 0.3, 0.1]];
        let close = |a: Vec<f32>, b: [f32; 3]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-6);
        assert!(close(Aggregation::Mean.aggregate(&s), [1.4 / 3.0, 1.3 / 3.0, 0.1]));
        assert!(close(Aggregation::Vote.aggregate(&s), [2.0 / 3.0, 1.0 / 3.0, 0.0]));
        assert!(close(Aggregation::Median.aggregate(&s), [0.6 / 1.0, 0.3 / 1.0, 0.1 / 1.0]));
        let max = Aggregation::Max.aggregate(&s);
        assert!(close(max, [0.7 / 1.6, 0.8 / 1.6, 0.1 / 1.6]));
        assert_eq!(argmax(&[0.1, 0.5, 0.5]), 1);
    }
}

/// One file's answer, as `predict --format json` prints it and the web API returns it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Prediction {
    /// The file (or upload) name.
    pub file: String,
    /// The device that ran the model.
    pub device: String,
    /// The model's genres, in output order.
    pub labels: Vec<String>,
    /// The top genre.
    pub prediction: String,
    /// How segment probabilities were combined.
    pub aggregate: String,
    /// Aggregated probability of each genre.
    pub probabilities: Vec<f32>,
    /// The `k` most probable genres, best first.
    pub top_k: Vec<TopK>,
    /// Every segment's probabilities and time range.
    pub segments: Vec<SegmentPrediction>,
}

/// A genre and its probability.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TopK {
    /// The genre.
    pub genre: String,
    /// Its aggregated probability.
    pub probability: f32,
}

/// One segment's probabilities.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SegmentPrediction {
    /// Start, seconds.
    pub start_s: f64,
    /// End, seconds.
    pub end_s: f64,
    /// Probability of each genre.
    pub probabilities: Vec<f32>,
}

impl Prediction {
    /// Combines per-segment probabilities (segments `segment_seconds` long) into an answer.
    pub fn new(
        file: String,
        device: &str,
        labels: &[String],
        segments: &[Vec<f32>],
        aggregation: Aggregation,
        top_k: usize,
        segment_seconds: f64,
    ) -> Self {
        let probabilities = aggregation.aggregate(segments);
        let mut order: Vec<usize> = (0..labels.len()).collect();
        order.sort_by(|&a, &b| probabilities[b].total_cmp(&probabilities[a]));
        Prediction {
            file,
            device: device.to_string(),
            labels: labels.to_vec(),
            prediction: labels.get(argmax(&probabilities)).cloned().unwrap_or_default(),
            aggregate: aggregation.name().to_string(),
            top_k: order
                .iter()
                .take(top_k)
                .map(|&i| TopK { genre: labels[i].clone(), probability: probabilities[i] })
                .collect(),
            segments: segments
                .iter()
                .enumerate()
                .map(|(i, p)| SegmentPrediction {
                    start_s: i as f64 * segment_seconds,
                    end_s: (i + 1) as f64 * segment_seconds,
                    probabilities: p.clone(),
                })
                .collect(),
            probabilities,
        }
    }
}
