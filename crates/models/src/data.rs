//! Burn's view of the training data: a `Dataset` of segments and the `Batcher` that
//! stacks them. Segments keep their track id, so evaluation can aggregate per track.

use std::sync::Arc;

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::{Dataset, DatasetError};
use burn::prelude::*;
use genre_dataset::segments::SegmentSet;

/// One training example.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentExample {
    /// Standardised log-mel, `[n_mels * n_frames]` row-major.
    pub features: Vec<f32>,
    /// Label index.
    pub label: usize,
    /// Track index in the collection.
    pub track: usize,
    /// Segment position in its track.
    pub segment: usize,
}

/// The segments of a [`SegmentSet`] as a Burn dataset.
#[derive(Debug, Clone)]
pub struct SegmentDataset {
    set: Arc<SegmentSet>,
}

impl SegmentDataset {
    /// Wraps a segment set.
    pub fn new(set: Arc<SegmentSet>) -> Self {
        SegmentDataset { set }
    }
}

impl Dataset<SegmentExample> for SegmentDataset {
    fn get(&self, index: usize) -> Result<SegmentExample, DatasetError> {
        let item = self
            .set
            .get(index)
            .ok_or_else(|| DatasetError::new(std::io::Error::other(format!("segment {index} out of range"))))?;
        Ok(SegmentExample {
            features: item.features.to_vec(),
            label: item.label,
            track: item.track,
            segment: item.segment,
        })
    }

    fn len(&self) -> usize {
        self.set.len()
    }
}

/// A batch: features `[B, n_mels, n_frames]`, labels `[B]`, and where each came from.
#[derive(Debug, Clone)]
pub struct SegmentBatch {
    /// Model input.
    pub features: Tensor<3>,
    /// Target classes.
    pub labels: Tensor<1, Int>,
    /// Track of each segment.
    pub tracks: Vec<usize>,
}

/// Stacks [`SegmentExample`]s of `[n_mels, n_frames]` into a [`SegmentBatch`].
#[derive(Debug, Clone, Copy)]
pub struct SegmentBatcher {
    /// Mel bands.
    pub n_mels: usize,
    /// Frames.
    pub n_frames: usize,
}

impl Batcher<SegmentExample, SegmentBatch> for SegmentBatcher {
    fn batch(&self, items: Vec<SegmentExample>, device: &Device) -> SegmentBatch {
        let b = items.len();
        let mut values = Vec::with_capacity(b * self.n_mels * self.n_frames);
        let mut labels = Vec::with_capacity(b);
        let mut tracks = Vec::with_capacity(b);
        for item in items {
            values.extend_from_slice(&item.features);
            labels.push(item.label as i64);
            tracks.push(item.track);
        }
        SegmentBatch {
            features: Tensor::from_data(TensorData::new(values, [b, self.n_mels, self.n_frames]), device),
            labels: Tensor::from_data(TensorData::new(labels, [b]), device),
            tracks,
        }
    }
}
