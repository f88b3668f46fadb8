//! `cargo xtask train --data DIR --arch A --out RUN_DIR [--strategy stratified|k-fold ...]`
//!
//! Splits by track, reads features through the cache, trains with the original's
//! recipe, and writes per-epoch metrics (CSV), a checkpoint every epoch, the best
//! model, and its test accuracy (segment-level and track-level, mean aggregation).
//! `--resume` continues a stopped run from its last finished epoch (state in `RUN/state`).

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use dataset::TrackIndex;
use dataset::cache::FeatureCache;
use dataset::segments::SegmentSet;
use dsp::{Coverage, FeatureConfig};
use models::checkpoint::{Checkpoint, Precision};
use models::data::SegmentBatcher;
use models::infer::{Aggregation, argmax};
use models::train::{TrainingConfig, evaluate};
use models::{Architecture, DeviceKind};

use crate::cli::TrainArgs;

pub fn run(args: TrainArgs) -> anyhow::Result<ExitCode> {
    let arch: Architecture = args.arch.parse().map_err(anyhow::Error::msg)?;
    rayon::ThreadPoolBuilder::new().num_threads(args.threads).build_global().context("cannot size the thread pool")?;
    let kind = DeviceKind::Cpu;
    let device = kind.device()?;
    let index = TrackIndex::open(&args.data)?;
    let (sets, _missing) = super::split::make(&index, &args.split)?;
    let features = FeatureConfig::default();
    let cache = FeatureCache::open(&args.cache_dir, features.clone())?;
    let coverage = if args.whole_track { Coverage::WholeTrack } else { Coverage::Clip };
    let load = |tracks: &[usize]| SegmentSet::load(&cache, &index, tracks, coverage);
    let (train_set, valid_set, test_set) = (load(&sets.train)?, load(&sets.valid)?, load(&sets.test)?);
    println!(
        "{}: {} genres; tracks {} / {} / {} (train / valid / test), segments {} / {} / {}; {arch} on {}",
        args.data.display(),
        index.labels().len(),
        sets.train.len(),
        sets.valid.len(),
        sets.test.len(),
        train_set.len(),
        valid_set.len(),
        test_set.len(),
        kind.describe()
    );

    let mut config = TrainingConfig::original(arch, index.labels().len());
    (config.max_epochs, config.patience, config.batch_size, config.seed) =
        (args.epochs, args.patience, args.batch, args.split.seed);
    std::fs::create_dir_all(&args.out).with_context(|| format!("{}: cannot create", args.out.display()))?;
    crate::atomic::write_json(&args.out.join("config.json"), &config)?;
    let labels = index.labels().to_vec();
    let metrics_path = args.out.join("metrics.csv");
    let resuming = args.resume && metrics_path.exists();
    let mut csv = std::fs::OpenOptions::new()
        .create(true)
        .append(resuming)
        .write(true)
        .truncate(!resuming)
        .open(&metrics_path)?;
    if !resuming {
        writeln!(csv, "epoch,train_loss,train_accuracy,valid_loss,valid_accuracy,seconds")?;
    }
    let started = std::time::Instant::now();
    let mut on_epoch = |m: &models::train::EpochMetrics, model: &models::GenreModel| {
        println!(
            "epoch {:>3}: train loss {:.4} acc {:.3} | valid loss {:.4} acc {:.3} (segments) | {:.1} s",
            m.epoch, m.train_loss, m.train_accuracy, m.valid_loss, m.valid_accuracy, m.seconds
        );
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{}",
            m.epoch, m.train_loss, m.train_accuracy, m.valid_loss, m.valid_accuracy, m.seconds
        );
        let last = Checkpoint::new(model, config.model.clone(), labels.clone(), features.clone());
        if let Err(e) = last.save(&args.out.join("last.gmdl"), Precision::F32) {
            eprintln!("warning: {e}");
        }
    };
    let state_dir = args.out.join("state");
    let outcome = models::train::train(
        &config,
        &train_set,
        &valid_set,
        features.n_mels,
        features.n_frames(),
        &device,
        Some(&state_dir),
        args.resume,
        &mut on_epoch,
    )?;
    let train_seconds = started.elapsed().as_secs_f64();

    // Test: segment accuracy, and track accuracy with the original's mean aggregation.
    let batcher = SegmentBatcher { n_mels: features.n_mels, n_frames: features.n_frames() };
    let (test_loss, test_segment_accuracy) = evaluate(&outcome.model, &test_set, &batcher, &device);
    let mut checkpoint = Checkpoint::new(&outcome.model, config.model.clone(), labels.clone(), features.clone());
    let classifier = models::infer::Classifier::new(checkpoint.clone(), &device)?;
    let (mut truth, mut predicted) = (Vec::new(), Vec::new());
    for (_, label, f) in test_set.tracks() {
        let probabilities = Aggregation::Mean.aggregate(&classifier.probabilities(f, 32)?);
        truth.push(label);
        predicted.push(argmax(&probabilities));
    }
    let track_report = eval::ClassificationReport::new(&truth, &predicted, labels.len());
    let test_track_accuracy = track_report.accuracy;
    let result = serde_json::json!({
        "data": args.data.display().to_string(),
        "architecture": arch.name(),
        "device": kind.describe(),
        "split": format!("{:?}", args.split.strategy).to_lowercase(),
        "fold": args.split.fold,
        "seed": args.split.seed,
        "best_epoch": outcome.best_epoch,
        "epochs_run": outcome.history.len(),
        "train_seconds": train_seconds,
        "test_loss": test_loss,
        "test_segment_accuracy": test_segment_accuracy,
        "test_track_accuracy": test_track_accuracy,
        "test_tracks": sets.test.len(),
        "labels": labels,
        "test_track_report": track_report,
        "test_segments": test_set.len(),
    });
    checkpoint.header.notes = result.clone();
    checkpoint.save(&args.out.join("model.gmdl"), Precision::F32)?;
    crate::atomic::write_json(&args.out.join("result.json"), &result)?;
    println!(
        "best epoch {} of {}; test accuracy: segments {:.3}, tracks {:.3} (mean of segment probabilities); {:.0} s -> {}",
        outcome.best_epoch,
        outcome.history.len(),
        test_segment_accuracy,
        test_track_accuracy,
        train_seconds,
        args.out.join("model.gmdl").display()
    );
    Ok(ExitCode::SUCCESS)
}
