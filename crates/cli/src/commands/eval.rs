//! `genre eval --model MODEL --data DIR [split options] --out DIR [--whole-track] [--device D]`
//!
//! Segment-level and track-level accuracy (always labelled which is which), per-class
//! precision / recall / F1 and the confusion matrix (tracks, mean aggregation), track
//! accuracy under every aggregation, and expected calibration error, as Markdown, JSON
//! and CSV.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use genre_dataset::TrackIndex;
use genre_dataset::cache::FeatureCache;
use genre_dataset::segments::SegmentSet;
use genre_dsp::Coverage;
use genre_eval::{ClassificationReport, expected_calibration_error};
use genre_models::DeviceKind;
use genre_models::infer::{Aggregation, Classifier, argmax};

use crate::args::{SplitOptions, default_threads, use_threads};
use crate::bundled::ModelChoice;

/// `genre eval`'s arguments.
#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// A bundled model (`gtzan`, `emotify`) or a model file.
    #[arg(long, value_name = "NAME|FILE")]
    pub model: ModelChoice,
    /// The collection.
    #[arg(long)]
    pub data: PathBuf,
    /// Which tracks to evaluate (the split's test set).
    #[command(flatten)]
    pub split: SplitOptions,
    /// Output folder: report.md, report.html, report.json, confusion.csv, confusion.png, reliability.png.
    #[arg(long, default_value = "out/eval")]
    pub out: PathBuf,
    /// The feature cache folder.
    #[arg(long, default_value = "cache")]
    pub cache_dir: PathBuf,
    /// Classify every 3 s segment of each track instead of the first 30 s.
    #[arg(long)]
    pub whole_track: bool,
    /// Where the model runs (wgpu and cuda need the binary built with their cargo
    /// feature).
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    pub device: DeviceKind,
    /// CPU threads.
    #[arg(long, default_value_t = default_threads())]
    pub threads: usize,
}

/// Runs `genre eval`.
pub fn run(args: EvalArgs) -> anyhow::Result<ExitCode> {
    use_threads(args.threads)?;
    let kind = args.device;
    let device = kind.device()?;
    let classifier = Classifier::new(args.model.load()?, &device)?;
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
    let coverage = if args.whole_track { Coverage::WholeTrack } else { Coverage::Clip };
    let test = SegmentSet::load(&cache, &index, &sets.test, coverage)?;

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
    let _ = writeln!(md, "# Evaluation of {}\n", args.model);
    let _ = writeln!(
        md,
        "Data {} ({} test tracks, {} segments: {}), device {}.\n",
        args.data.display(),
        sets.test.len(),
        test.len(),
        if args.whole_track { "every 3 s segment of each track" } else { "the first 30 s of each track" },
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
    crate::atomic::write(&args.out.join("report.md"), |w| Ok(w.write_all(md.as_bytes())?))?;
    crate::atomic::write(&args.out.join("confusion.csv"), |csv| {
        writeln!(csv, "true\\predicted,{}", labels.join(","))?;
        for (c, row) in tracks.confusion.iter().enumerate() {
            writeln!(csv, "{},{}", labels[c], row.iter().map(usize::to_string).collect::<Vec<_>>().join(","))?;
        }
        Ok(())
    })?;
    let json = serde_json::json!({
        "model": args.model.to_string(),
        "device": kind.describe(),
        "labels": labels,
        "whole_track": args.whole_track,
        "segment_level": segments,
        "track_level_by_aggregation": by_aggregation.iter().map(|(a, r)| (a.name(), r)).collect::<std::collections::BTreeMap<_, _>>(),
        "expected_calibration_error": ece,
        "reliability": reliability,
    });
    crate::atomic::write_json(&args.out.join("report.json"), &json)?;
    draw_confusion(&args.out.join("confusion.png"), &tracks.confusion, &labels)?;
    draw_reliability(&args.out.join("reliability.png"), &reliability, ece)?;
    crate::atomic::write(&args.out.join("report.html"), |w| Ok(w.write_all(html(&md).as_bytes())?))?;
    print!("{md}");
    println!(
        "\nwrote report.md, report.html, report.json, confusion.csv, confusion.png, reliability.png to {}",
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// The track-level confusion matrix, each row (true genre) as shares of its tracks.
fn draw_confusion(path: &std::path::Path, confusion: &[Vec<usize>], labels: &[String]) -> anyhow::Result<()> {
    let k = labels.len();
    // Row 0 is drawn at the bottom: put the first genre at the top, as tables read.
    let mut values = Vec::with_capacity(k * k);
    for row in confusion.iter().rev() {
        let total = row.iter().sum::<usize>().max(1) as f32;
        values.extend(row.iter().map(|&n| n as f32 / total));
    }
    let rows: Vec<String> = labels.iter().rev().cloned().collect();
    let map = genre_figures::Heatmap::new("confusion (tracks, share of each true genre)", values, k, k)
        .with_column_labels(labels.to_vec(), "predicted")
        .with_row_labels(rows, k, "true")
        .with_range(0.0, 1.0)
        .with_colour_bar("share of the true genre's tracks");
    genre_figures::save_png(path, &[map], 1)?;
    Ok(())
}

/// Accuracy against confidence per bin, with the diagonal of perfect calibration.
fn draw_reliability(path: &std::path::Path, table: &[(f64, f64, usize)], ece: f64) -> anyhow::Result<()> {
    let points: Vec<(f64, f64)> = table.iter().filter(|b| b.2 > 0).map(|&(conf, acc, _)| (conf, acc)).collect();
    let chart = genre_figures::LineChart::new(format!("reliability (segments), ECE {ece:.3}"), (0.0, 1.0), (0.0, 1.0))
        .with_labels("mean confidence in bin", "accuracy in bin")
        .with_series("model", points, false)
        .with_series("perfect calibration", vec![(0.0, 0.0), (1.0, 1.0)], true);
    genre_figures::save_line_charts_png(path, &[chart])?;
    Ok(())
}

/// The Markdown report as one HTML page (headings, lists and tables), with the pictures.
fn html(md: &str) -> String {
    let escape = |t: &str| t.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let inline = |t: &str| {
        let mut out = String::new();
        for (i, part) in escape(t).split("**").enumerate() {
            if i % 2 == 1 {
                out += &format!("<b>{part}</b>");
            } else {
                out += part;
            }
        }
        out
    };
    let mut body = String::new();
    let mut in_table = false;
    for line in md.lines() {
        let is_row = line.starts_with('|');
        if in_table && !is_row {
            body += "</table>\n";
            in_table = false;
        }
        if let Some(h) = line.strip_prefix("# ") {
            body += &format!("<h1>{}</h1>\n", inline(h));
        } else if let Some(item) = line.strip_prefix("- ") {
            body += &format!("<li>{}</li>\n", inline(item));
        } else if is_row {
            if line.contains("---") {
                continue;
            }
            let cells: Vec<String> = line.trim_matches('|').split('|').map(|c| inline(c.trim())).collect();
            let tag = if in_table { "td" } else { "th" };
            if !in_table {
                body += "<table>\n";
                in_table = true;
            }
            body += &format!("<tr>{}</tr>\n", cells.iter().map(|c| format!("<{tag}>{c}</{tag}>")).collect::<String>());
        } else if !line.trim().is_empty() {
            body += &format!("<p>{}</p>\n", inline(line));
        }
    }
    if in_table {
        body += "</table>\n";
    }
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Evaluation</title><style>\
         body{{font-family:sans-serif;max-width:70em;margin:2em auto}}table{{border-collapse:collapse;margin:1em 0}}\
         td,th{{border:1px solid #ccc;padding:.3em .7em;text-align:right}}img{{max-width:48%;margin-right:1%}}\
         </style></head><body>\n{body}<p><img src=\"confusion.png\" alt=\"confusion matrix\">\
         <img src=\"reliability.png\" alt=\"reliability diagram\"></p>\n</body></html>\n"
    )
}
