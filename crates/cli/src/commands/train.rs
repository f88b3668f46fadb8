//! `genre train --data DIR --arch A --out RUN_DIR [--strategy stratified|k-fold ...] [--device D]`
//!
//! Splits by track, reads features through the cache, trains with the original's
//! recipe, and writes per-epoch metrics (CSV), a checkpoint every epoch, the best
//! model, and its test accuracy (segment-level and track-level, mean aggregation).
//! `--resume` continues a stopped run from its last finished epoch (state in `RUN/state`).
//!
//! The musicnn architectures train their head only: every segment goes through the
//! frozen pretrained tagger once, and the head learns on those embeddings with the
//! same loop, early stopping and checkpoints; the saved model is tagger plus head.
//! `musicnn-dual` reads both taggers; its linear head learns on standardised
//! embeddings, and the standardisation is folded into the head's weights on saving.
//! `--refit` trains on train + valid for a fixed number of epochs.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use genre_dataset::TrackIndex;
use genre_dataset::cache::FeatureCache;
use genre_dataset::segments::SegmentSet;
use genre_dsp::Coverage;
use genre_models::checkpoint::{Checkpoint, Precision};
use genre_models::data::SegmentBatcher;
use genre_models::infer::{Aggregation, argmax};
use genre_models::musicnn::{
    EmbeddingCache, EmbeddingLayer, EmbeddingStandardization, Musicnn, MusicnnTransfer, MusicnnTransferConfig,
    TagPriorConfig, embed_set, embeddings_side_by_side,
};
use genre_models::train::{TrainingConfig, evaluate};
use genre_models::{Architecture, DeviceKind, GenreModel, ModelConfig};

use crate::args::{SplitOptions, SplitStrategy, default_threads, use_threads};

/// `genre train`'s arguments.
#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// The collection.
    #[arg(long)]
    pub data: PathBuf,
    /// The architecture: one of the original's three, or a genre head on pretrained
    /// musicnn (musicnn-dual reads both taggers, as the bundled models do).
    #[arg(long, value_enum, default_value_t = Architecture::CrnnBigru)]
    pub arch: Architecture,
    /// For musicnn-*: the layer the head learns from; default pools, and
    /// penultimate-taggram for musicnn-dual.
    #[arg(long, value_enum)]
    pub embedding: Option<EmbeddingLayer>,
    /// Train on the train and validation tracks together for exactly --epochs epochs,
    /// without early stopping (the recipe of musicnn-dual: `docs/musicnn.md`).
    #[arg(long)]
    pub refit: bool,
    /// Another folder-per-genre collection whose tracks join the training set only (never
    /// validation or test), under the genres of --data that they share; tracks of other
    /// genres are left out. Repeat for more than one.
    #[arg(long, value_name = "DIR")]
    pub extra_train: Vec<PathBuf>,
    /// The run folder: metrics.csv, last.gmdl (every epoch), state/ (for --resume),
    /// model.gmdl (best), result.json.
    #[arg(long)]
    pub out: PathBuf,
    /// How to split (its --seed also seeds the weights and the shuffles).
    #[command(flatten)]
    pub split: SplitOptions,
    /// At most this many epochs.
    #[arg(long, default_value_t = 60)]
    pub epochs: usize,
    /// Early-stopping patience in epochs.
    #[arg(long, default_value_t = 7)]
    pub patience: usize,
    /// Segments per batch.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Train on every 3 s segment of each track instead of the first 30 s.
    #[arg(long)]
    pub whole_track: bool,
    /// Test on every 3 s segment of each track too (the test set reads the first 30 s
    /// otherwise, so runs with and without --whole-track compare directly).
    #[arg(long)]
    pub test_whole_track: bool,
    /// Halve the learning rate after 3 epochs without a better validation loss
    /// (PyTorch's ReduceLROnPlateau).
    #[arg(long)]
    pub reduce_lr_on_plateau: bool,
    /// SpecAugment-style masking of training segments: two time masks of up to 13
    /// frames and two frequency masks of up to 12 mel bins (spectrogram models only).
    #[arg(long)]
    pub spec_augment: bool,
    /// Weigh each training track equally in the loss, however many segments it has (a
    /// 2 s excerpt as much as a 30 s clip); by default each segment counts once.
    #[arg(long)]
    pub weight_tracks_equally: bool,
    /// musicnn-dual: fuse the taggers' own genre tags into the saved model's output with
    /// this weight (probabilities ∝ head^(1-w) · tags^w; `docs/gtzan.md`). Genres are
    /// matched to tags by GTZAN's names; a genre no tag names gets the mean tag score.
    #[arg(long, value_name = "WEIGHT")]
    pub tag_prior: Option<f64>,
    /// Continue a stopped run in --out from its last finished epoch.
    #[arg(long)]
    pub resume: bool,
    /// The feature cache folder.
    #[arg(long, default_value = "cache")]
    pub cache_dir: PathBuf,
    /// CPU threads.
    #[arg(long, default_value_t = default_threads())]
    pub threads: usize,
    /// Where the model trains (wgpu and cuda need the binary built with their cargo
    /// feature).
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    pub device: DeviceKind,
}

/// Runs `genre train`.
pub fn run(args: TrainArgs) -> anyhow::Result<ExitCode> {
    let arch = args.arch;
    use_threads(args.threads)?;
    anyhow::ensure!(
        args.tag_prior.is_none() || arch.musicnn_partner().is_some(),
        "--tag-prior fuses the musicnn taggers' tags: it takes the musicnn-dual architecture"
    );
    let kind = args.device;
    let device = kind.device()?;
    let index = TrackIndex::open(&args.data)?;
    let (mut sets, _missing) = super::split::make(&index, &args.split)?;
    if args.refit {
        let valid = std::mem::take(&mut sets.valid);
        sets.train.extend(valid);
    }
    let features = arch.feature_config();
    let cache = FeatureCache::open(&args.cache_dir, features.clone())?;
    // --whole-track trains (and validates) on every segment; the test set is the first
    // 30 s of each track, so runs with and without it compare directly, unless
    // --test-whole-track asks for every segment there too.
    let coverage = if args.whole_track { Coverage::WholeTrack } else { Coverage::Clip };
    let test_coverage = if args.test_whole_track { Coverage::WholeTrack } else { Coverage::Clip };
    let load = |tracks: &[usize], coverage| SegmentSet::load(&cache, &index, tracks, coverage);
    let (mut train_set, mut valid_set, mut test_set) =
        (load(&sets.train, coverage)?, load(&sets.valid, coverage)?, load(&sets.test, test_coverage)?);
    if !args.extra_train.is_empty() {
        train_set = with_extra_tracks(train_set, &index, &args.extra_train, &cache, coverage)?;
    }
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
    config.reduce_lr_on_plateau = args.reduce_lr_on_plateau.then(genre_models::train::ReduceLrOnPlateau::default);
    config.spec_augment = args.spec_augment.then(genre_models::train::SpecAugment::default);
    config.weight_tracks_equally = args.weight_tracks_equally;
    anyhow::ensure!(
        !(args.spec_augment && arch.musicnn_source().is_some()),
        "--spec-augment masks spectrograms; the musicnn heads train on embeddings"
    );
    // What is saved: the trained model itself, or for transfer, the tagger with the head.
    let mut saved_config = config.model.clone();
    let mut tagger: Option<FrozenTaggers> = None;
    let mut raw_test_set: Option<(TagPriorConfig, SegmentSet)> = None;
    if let Some(source) = arch.musicnn_source() {
        let layer = args.embedding.unwrap_or(arch.default_embedding());
        let labels = index.labels().len();
        let mut transfer = match arch.musicnn_partner() {
            Some(_) => MusicnnTransferConfig::dual(labels, layer),
            None => MusicnnTransferConfig::for_classes(labels, source, layer),
        };
        if let Some(alpha) = args.tag_prior {
            anyhow::ensure!((0.0..1.0).contains(&alpha), "--tag-prior takes a weight in [0, 1), got {alpha}");
            transfer.tag_prior = Some(TagPriorConfig::for_labels(index.labels(), layer, alpha).with_context(|| {
                format!(
                    "--tag-prior: no genre of {} is named by a tag, or the {} layer holds no tags",
                    args.data.display(),
                    layer.name()
                )
            })?);
        }
        config.model = ModelConfig::TransferHead(transfer.head.clone());
        let tag_prior = transfer.tag_prior.clone();
        saved_config = ModelConfig::MusicnnTransfer(transfer);
        let mut taggers = Vec::new();
        let started = std::time::Instant::now();
        // Each tagger embeds the feature sets; a second tagger's rows go beside the first's.
        let mut embedded: Option<[SegmentSet; 3]> = None;
        for source in std::iter::once(source).chain(arch.musicnn_partner()) {
            let frozen = crate::pretrained::tagger(source, &device)?;
            let cache = EmbeddingCache::new(args.cache_dir.join(format!("musicnn-{}", source.name())), &frozen);
            let parts = [&train_set, &valid_set, &test_set]
                .map(|set| embed_set(&frozen, set, layer, 32, &device, Some(&cache)));
            embedded = Some(match embedded {
                None => parts,
                Some([train, valid, test]) => {
                    let [t, v, e] = parts;
                    [
                        embeddings_side_by_side(&train, &t),
                        embeddings_side_by_side(&valid, &v),
                        embeddings_side_by_side(&test, &e),
                    ]
                }
            });
            taggers.push((source, frozen));
        }
        [train_set, valid_set, test_set] = embedded.context("no tagger")?;
        // The tag prior reads the raw tag probabilities of the test segments.
        raw_test_set = tag_prior.as_ref().map(|p| (p.clone(), test_set.clone()));
        let segments = train_set.len() + valid_set.len() + test_set.len();
        let seconds = started.elapsed().as_secs_f64();
        let names: Vec<String> = taggers.iter().map(|(s, _)| format!("musicnn-{}", s.name())).collect();
        println!(
            "embedded {segments} segments with frozen {} ({}) in {seconds:.1} s ({:.1} segments/s)",
            names.join(" + "),
            layer.name(),
            segments as f64 / seconds
        );
        // A linear head learns on standardised embeddings (statistics of the training
        // segments); the standardisation is folded into its weights when saved.
        let standardization = match &config.model {
            ModelConfig::TransferHead(head) if head.hidden == 0 => {
                let s = EmbeddingStandardization::of(&train_set);
                for set in [&mut train_set, &mut valid_set, &mut test_set] {
                    *set = s.apply(set);
                }
                Some(s)
            }
            _ => None,
        };
        let mut taggers = taggers.into_iter().map(|(_, t)| t);
        let first = taggers.next().context("no tagger")?;
        tagger = Some(FrozenTaggers { first, partner: taggers.next(), layer, standardization, tag_prior });
    }
    let (input_rows, input_columns) = match &config.model {
        ModelConfig::TransferHead(head) => (1, head.n_inputs),
        _ => (features.n_mels, features.n_frames()),
    };
    let complete = |trained: &GenreModel| -> GenreModel {
        match (trained, &tagger) {
            (GenreModel::TransferHead(head), Some(t)) => {
                let head = match &t.standardization {
                    Some(s) => head.fold_standardization(&s.mean, &s.scale).unwrap_or_else(|| head.clone()),
                    None => head.clone(),
                };
                let model = MusicnnTransfer::new(t.first.clone(), t.partner.clone(), head, t.layer);
                GenreModel::MusicnnTransfer(model.with_tag_prior(t.tag_prior.clone()))
            }
            _ => trained.clone(),
        }
    };
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
    let mut on_epoch = |m: &genre_models::train::EpochMetrics, model: &genre_models::GenreModel| {
        println!(
            "epoch {:>3}: train loss {:.4} acc {:.3} | valid loss {:.4} acc {:.3} (segments) | {:.1} s",
            m.epoch, m.train_loss, m.train_accuracy, m.valid_loss, m.valid_accuracy, m.seconds
        );
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{}",
            m.epoch, m.train_loss, m.train_accuracy, m.valid_loss, m.valid_accuracy, m.seconds
        );
        let mut last = Checkpoint::new(&complete(model), saved_config.clone(), labels.clone(), features.clone());
        last.header.whole_track = args.whole_track;
        if let Err(e) = last.save(&args.out.join("last.gmdl"), Precision::F32) {
            eprintln!("warning: {e}");
        }
    };
    let state_dir = args.out.join("state");
    let outcome = genre_models::train::train(
        &config,
        &train_set,
        &valid_set,
        input_rows,
        input_columns,
        &device,
        Some(&state_dir),
        args.resume,
        &mut on_epoch,
    )?;
    // Summed over epochs, so a resumed run reports its whole training time.
    let train_seconds: f64 = outcome.history.iter().map(|m| m.seconds).sum();

    // Test: segment accuracy, and track accuracy with the original's mean aggregation.
    let batcher = SegmentBatcher { n_mels: input_rows, n_frames: input_columns };
    let (test_loss, head_segment_accuracy) = evaluate(&outcome.model, &test_set, &batcher, &device)?;
    let mut checkpoint = Checkpoint::new(&complete(&outcome.model), saved_config, labels.clone(), features.clone());
    checkpoint.header.whole_track = args.whole_track;
    let prior = raw_test_set.as_ref().map(|(p, raw)| (p, raw));
    let (truth, predicted, segments_correct) = track_predictions(&outcome.model, &test_set, &device, prior);
    // With a tag prior, segments are scored as the saved model scores them (the loss is the head's).
    let test_segment_accuracy =
        if prior.is_some() { segments_correct as f64 / test_set.len().max(1) as f64 } else { head_segment_accuracy };
    let track_report = genre_eval::ClassificationReport::new(&truth, &predicted, labels.len());
    let test_track_accuracy = track_report.accuracy;
    let (k_fold, lists) = (args.split.strategy == SplitStrategy::KFold, args.split.strategy == SplitStrategy::Lists);
    let result = serde_json::json!({
        "data": args.data.display().to_string(),
        "architecture": arch.name(),
        "device": kind.describe(),
        "split": format!("{:?}", args.split.strategy).to_lowercase(),
        // Which split, in the terms of its strategy: the k-fold's fold, or the list files' kind.
        "fold": k_fold.then_some(args.split.fold),
        "folds": k_fold.then_some(args.split.folds),
        "lists": args.split.lists.as_ref().filter(|_| lists).map(|p| p.display().to_string()),
        "list_kind": lists.then_some(&args.split.list_kind),
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
        "embedding": tagger.as_ref().map(|t| t.layer.name()),
        "refit": args.refit,
        "weight_tracks_equally": args.weight_tracks_equally,
        "tag_prior": args.tag_prior,
        "extra_train": args.extra_train.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        "whole_track": args.whole_track,
        "test_whole_track": args.test_whole_track,
    });
    draw_learning_curves(&args.out.join("learning_curve.png"), &outcome.history)?;
    checkpoint.header.notes = result.clone();
    checkpoint.save(&args.out.join("model.gmdl"), Precision::F32)?;
    crate::atomic::write_json(&args.out.join("result.json"), &result)?;
    let test = if test_set.is_empty() {
        "no test set".to_string()
    } else {
        format!(
            "test accuracy: segments {test_segment_accuracy:.3}, tracks {test_track_accuracy:.3} (mean of segment probabilities)"
        )
    };
    println!(
        "best epoch {} of {}; {test}; {:.0} s -> {}",
        outcome.best_epoch,
        outcome.history.len(),
        train_seconds,
        args.out.join("model.gmdl").display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `set` with the tracks of other collections (`--extra-train`) whose genres `index`
/// has, labelled as `index` labels them; tracks of other genres are left out. Their
/// track numbers follow `index`'s, so they never name a track of the split.
fn with_extra_tracks(
    set: SegmentSet,
    index: &TrackIndex,
    folders: &[std::path::PathBuf],
    cache: &FeatureCache,
    coverage: Coverage,
) -> anyhow::Result<SegmentSet> {
    let mut tracks = set.into_tracks();
    let mut next = index.tracks().len();
    for folder in folders {
        let extra = TrackIndex::open(folder)?;
        let (mut added, mut left_out) = (0, 0);
        for track in extra.tracks() {
            let genre = &extra.labels()[track.label];
            let Some(label) = index.labels().iter().position(|l| l == genre) else {
                left_out += 1;
                continue;
            };
            tracks.push((next, label, cache.get(&track.path, coverage)?.0));
            next += 1;
            added += 1;
        }
        println!(
            "--extra-train {}: {added} tracks added to the training set, {left_out} of other genres left out",
            folder.display()
        );
    }
    Ok(SegmentSet::from_features(tracks))
}

/// Track-level truth and prediction (mean of segment probabilities, the original's
/// aggregation) of `model` on every track of `set`, and how many segments it classified
/// correctly. With a tag prior, the head's logits are fused with it as the saved model
/// does, reading the tag probabilities from the raw (unstandardised) rows of the set.
fn track_predictions(
    model: &GenreModel,
    set: &SegmentSet,
    device: &burn::prelude::Device,
    prior: Option<(&TagPriorConfig, &SegmentSet)>,
) -> (Vec<usize>, Vec<usize>, usize) {
    let tensor = |features: &genre_dsp::Features| {
        let [n, rows, columns] = features.shape();
        burn::prelude::Tensor::<3>::from_data(
            burn::prelude::TensorData::new(features.as_slice().to_vec(), [n, rows, columns]),
            device,
        )
    };
    let raw_tracks: Vec<&genre_dsp::Features> =
        prior.map(|(_, raw)| raw.tracks().map(|(_, _, f)| f).collect()).unwrap_or_default();
    let (mut truth, mut predicted, mut correct) = (Vec::new(), Vec::new(), 0);
    for (t, (_, label, features)) in set.tracks().enumerate() {
        let n = features.n_segments();
        let mut logits = model.forward(tensor(features));
        if let (Some((prior, _)), Some(raw)) = (prior, raw_tracks.get(t)) {
            logits = prior.fuse(logits, tensor(raw).flatten::<2>(1, 2));
        }
        let probabilities: Vec<f32> = burn::tensor::activation::softmax(logits, 1).into_data().iter::<f32>().collect();
        let segments: Vec<Vec<f32>> =
            probabilities.chunks(probabilities.len() / n.max(1)).map(<[f32]>::to_vec).collect();
        correct += segments.iter().filter(|p| argmax(p) == label).count();
        truth.push(label);
        predicted.push(argmax(&Aggregation::Mean.aggregate(&segments)));
    }
    (truth, predicted, correct)
}

/// Loss and segment accuracy per epoch, training and validation: `learning_curve.png`.
fn draw_learning_curves(path: &std::path::Path, history: &[genre_models::train::EpochMetrics]) -> anyhow::Result<()> {
    let epochs = history.len().max(2) as f64;
    let series = |f: &dyn Fn(&genre_models::train::EpochMetrics) -> f64| -> Vec<(f64, f64)> {
        history.iter().map(|m| (m.epoch as f64, f(m))).collect()
    };
    let top_loss = history.iter().flat_map(|m| [m.train_loss, m.valid_loss]).fold(0.0, f64::max).max(1e-3) * 1.05;
    let loss = genre_figures::LineChart::new("loss", (1.0, epochs), (0.0, top_loss))
        .with_labels("epoch", "cross-entropy")
        .with_series("train", series(&|m| m.train_loss), false)
        .with_series("validation", series(&|m| m.valid_loss), false);
    let accuracy = genre_figures::LineChart::new("accuracy (segments)", (1.0, epochs), (0.0, 1.0))
        .with_labels("epoch", "accuracy")
        .with_series("train", series(&|m| m.train_accuracy), false)
        .with_series("validation", series(&|m| m.valid_accuracy), false);
    genre_figures::save_line_charts_png(path, &[loss, accuracy])?;
    Ok(())
}

/// The frozen tagger(s) of a transfer model, the layer its head reads, and the
/// standardisation a linear head was trained with.
struct FrozenTaggers {
    first: Musicnn,
    partner: Option<Musicnn>,
    layer: EmbeddingLayer,
    standardization: Option<EmbeddingStandardization>,
    tag_prior: Option<TagPriorConfig>,
}
