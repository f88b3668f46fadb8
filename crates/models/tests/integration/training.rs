//! Training: a killed run resumed reaches the same weights as one never stopped.

use burn::prelude::*;
use genre_dataset::segments::SegmentSet;
use genre_models::Architecture;
use genre_models::train::{TrainingConfig, train};

fn tiny_set(seed: u32, tracks: usize) -> SegmentSet {
    let mut state = seed.wrapping_mul(2_654_435_761).max(1);
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state as f32 / u32::MAX as f32 - 0.5
    };
    let items = (0..tracks)
        .map(|t| {
            let label = t % 2;
            let values: Vec<f32> = (0..2 * 128 * 130).map(|_| next() + label as f32 * 0.5).collect();
            (t, label, genre_dsp::Features::from_vec(values, [2, 128, 130]).unwrap())
        })
        .collect();
    SegmentSet::from_features(items)
}

#[test]
fn a_resumed_run_ends_where_an_uninterrupted_one_does() {
    let device = Device::flex();
    let (train_set, valid_set) = (tiny_set(1, 8), tiny_set(2, 4));
    let mut config = TrainingConfig::original(Architecture::CrnnBigru, 2);
    (config.batch_size, config.max_epochs, config.patience) = (8, 3, 10);
    let run = |dir: &std::path::Path, epochs: usize, resume: bool| {
        let mut c = config.clone();
        c.max_epochs = epochs;
        train(&c, &train_set, &valid_set, 128, 130, &device, Some(dir), resume, &mut |_, _| {}).unwrap()
    };
    let straight_dir = crate::scratch("straight");
    let straight = run(straight_dir.path(), 3, false);
    let killed_dir = crate::scratch("killed");
    let first = run(killed_dir.path(), 2, false); // "killed" after epoch 2
    assert_eq!(first.history.len(), 2);
    let resumed = run(killed_dir.path(), 3, true);
    assert_eq!(resumed.history.len(), 3, "the history carries over");
    // Burn's CPU kernels reduce in parallel, so two runs agree to rounding, not to the bit
    // (two fresh runs of epoch 1 already differ in the 16th digit of the loss).
    for (r, s) in resumed.history.iter().zip(&straight.history) {
        assert_eq!((r.epoch, r.train_accuracy, r.valid_accuracy), (s.epoch, s.train_accuracy, s.valid_accuracy));
        assert!(
            (r.train_loss - s.train_loss).abs() < 1e-5 && (r.valid_loss - s.valid_loss).abs() < 1e-5,
            "{r:?} vs {s:?}"
        );
    }
    assert_eq!(resumed.best_epoch, straight.best_epoch);
    let (a, b) = (resumed.model.state_dict(), straight.model.state_dict());
    let mut worst = 0.0f32;
    for (name, t) in a.iter() {
        let u = b.get(name).unwrap();
        worst = t.values.iter().zip(&u.values).map(|(x, y)| (x - y).abs()).fold(worst, f32::max);
    }
    println!("resumed vs uninterrupted: max weight difference {worst:e}");
    assert!(worst < 1e-4, "{worst}");
    // The history is not a stub: the loss went down.
    assert!(straight.history[2].train_loss < straight.history[0].train_loss);
}
