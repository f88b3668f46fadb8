//! The Burn dataset and batcher over segment sets: what training consumes.

use std::sync::Arc;

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use burn::prelude::*;
use genre_dataset::segments::SegmentSet;
use genre_models::data::{SegmentBatcher, SegmentDataset};

#[test]
fn batches_keep_labels_and_tracks() {
    let features = |value: f32, segments: usize| {
        genre_dsp::Features::from_vec(vec![value; segments * 128 * 130], [segments, 128, 130]).unwrap()
    };
    // Track 7 (label 2) has 10 segments, track 3 (label 0) has 4.
    let set = SegmentSet::from_features(vec![(7, 2, features(0.5, 10)), (3, 0, features(-1.0, 4))]);
    let data = SegmentDataset::new(Arc::new(set));
    assert_eq!(data.len(), 14);
    let items: Vec<_> = [0, 9, 10, 13].iter().map(|&i| data.get(i).unwrap()).collect();
    assert_eq!(
        items.iter().map(|e| (e.track, e.segment, e.label)).collect::<Vec<_>>(),
        [(7, 0, 2), (7, 9, 2), (3, 0, 0), (3, 3, 0)]
    );
    assert!(data.get(14).is_err());
    let device = Device::flex();
    let batch = SegmentBatcher { n_mels: 128, n_frames: 130 }.batch(items, &device);
    assert_eq!(batch.features.dims(), [4, 128, 130]);
    assert_eq!(batch.labels.into_data().try_into_vec_as::<i64>().unwrap(), [2, 2, 0, 0]);
    assert_eq!(batch.tracks, [7, 7, 3, 3]);
    let values = batch.features.into_data().try_into_vec_as::<f32>().unwrap();
    assert_eq!((values[0], values[3 * 128 * 130]), (0.5, -1.0));
}
