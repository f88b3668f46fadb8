//! `cargo xtask eval --model MODEL --data DIR [split options] --out DIR`
//!
//! Segment-level and track-level accuracy (always labelled which is which), per-class
//! precision / recall / F1 and the confusion matrix (tracks, mean aggregation), track
//! accuracy under every aggregation, and expected calibration error, as Markdown, JSON
//! and CSV.

use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;

use dataset::TrackIndex;
use dataset::cache::FeatureCache;
use dataset::segments::SegmentSet;
use dsp::Coverage;
use eval::{ClassificationReport, expected_calibration_error};
use models::DeviceKind;
use models::checkpoint::Checkpoint;
use models::infer::{Aggregation, Classifier, argmax};

use crate::cli::EvalArgs;

pub fn run(args: EvalArgs) -> anyhow::Result<ExitCode> {
    let kind = DeviceKind::Cpu;
    let device = kind.device()?;
    let classifier = Classifier::new(Checkpoint::load(&args.model)?, &device)?;
    let labels = classifier.labels().to_vec();
    let index = TrackIndex::open(&args.data)?;
    anyhow::ensure!(
        index.labels() == labels.as_slice(),
        "the model's labels {:?} are not the collection's {:?}",
        labels,
        index.labels()
    );
    let (sets, _) = super::split::make(&index, &args.split)?;
    let cache = FeatureCache::open(&args.cache_dir, classifier.checkpoint().header.features.clone())?;
    let test = SegmentSet::load(&cache, &index, &sets.test, Coverage::Clip)?;

    let (mut seg_truth, mut seg_pred, mut seg_probs) = (Vec::new(), Vec::new(), Vec::new());
    let mut per_track = Vec::new();
    for (_, label, features) in test.tracks() {
        let probabilities = classifier.probabilities(features, 32)?;
        for p in &probabilities {
            seg_truth.push(label);
            seg_pred.push(argmax(p));
            seg_probs.push(p.clone());
        }
        per_track.push((label, probabilities));
    }
    let segments = ClassificationReport::new(&seg_truth, &seg_pred, labels.len());
    let aggregations = [Aggregation::Mean, Aggregation::Median, Aggregation::Max, Aggregation::Vote];
    let mut by_aggregation = Vec::new();
    for a in aggregations {
        let truth: Vec<usize> = per_track.iter().map(|(l, _)| *l).collect();
        let predicted: Vec<usize> = per_track.iter().map(|(_, p)| argmax(&a.aggregate(p))).collect();
        by_aggregation.push((a, ClassificationReport::new(&truth, &predicted, labels.len())));
    }
    let tracks = &by_aggregation[0].1;
    let (ece, reliability) = expected_calibration_error(&seg_probs, &seg_truth, 10);

    std::fs::create_dir_all(&args.out)?;
    let mut md = String::new();
    let _ = writeln!(md, "# Evaluation of {}\n", args.model.display());
    let _ = writeln!(
        md,
        "Data {} ({} test tracks, {} segments), device {}.\n",
        args.data.display(),
        sets.test.len(),
        test.len(),
        kind.describe()
    );
    let _ = writeln!(md, "- **Segment-level accuracy**: {:.4}", segments.accuracy);
    let _ = writeln!(md, "- **Track-level accuracy** (mean of segment probabilities): {:.4}", tracks.accuracy);
    let _ = writeln!(md, "- Expected calibration error (segments, 10 bins): {ece:.4}\n");
    let _ = writeln!(md, "| aggregation | track accuracy | macro F1 |\n|---|---|---|");
    for (a, r) in &by_aggregation {
        let _ = writeln!(md, "| {} | {:.4} | {:.4} |", a.name(), r.accuracy, r.macro_avg.f1);
    }
    let _ = writeln!(
        md,
        "\nPer class (tracks, mean aggregation):\n\n| genre | precision | recall | F1 | support |\n|---|---|---|---|---|"
    );
    for (c, s) in tracks.per_class.iter().enumerate() {
        let _ = writeln!(
            md,
            "| {} | {:.3} | {:.3} | {:.3} | {} |",
            labels[c], s.precision, s.recall, s.f1, tracks.support[c]
        );
    }
    std::fs::write(args.out.join("report.md"), &md)?;
    let mut csv = std::fs::File::create(args.out.join("confusion.csv"))?;
    writeln!(csv, "true\\predicted,{}", labels.join(","))?;
    for (c, row) in tracks.confusion.iter().enumerate() {
        writeln!(csv, "{},{}", labels[c], row.iter().map(usize::to_string).collect::<Vec<_>>().join(","))?;
    }
    let json = serde_json::json!({
        "model": args.model.display().to_string(),
        "device": kind.describe(),
        "labels": labels,
        "segment_level": segments,
        "track_level_by_aggregation": by_aggregation.iter().map(|(a, r)| (a.name(), r)).collect::<std::collections::BTreeMap<_, _>>(),
        "expected_calibration_error": ece,
        "reliability": reliability,
    });
    crate::atomic::write_json(&args.out.join("report.json"), &json)?;
    print!("{md}");
    Ok(ExitCode::SUCCESS)
}
