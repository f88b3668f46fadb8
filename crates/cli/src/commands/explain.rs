//! `genre explain AUDIO [--model MODEL] [--method M,...] [--segment I|all]
//! [--target GENRE|predicted] [--whole-track | --first-30s] [--device D] --out DIR`
//!
//! Writes `DIR/<method>.npy` (f32 `[n_mels, n_frames]` for one segment, `[N, ...]` for
//! all), `DIR/<method>.png` (the map over the spectrogram), `DIR/explain.png` (input
//! and every method side by side) and `DIR/deletion.csv` (the deletion curve of each
//! method: target probability as the most-attributed cells are removed), and prints
//! the time each method took and its deletion area.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use genre_dsp::{AudioDecoder, FeatureExtractor, FeatureScale};
use genre_models::DeviceKind;
use genre_xai::{Attribution, Explainer, Method};

use crate::args::{ReadsArgs, default_threads, use_threads};
use crate::bundled::ModelChoice;

/// `genre explain`'s arguments.
#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// The audio file.
    pub audio: PathBuf,
    /// What of the file the model reads.
    #[command(flatten)]
    pub reads: ReadsArgs,
    /// A bundled model, `gtzan` (GTZAN's ten genres, the default) or `emotify` (four
    /// genres), or a model file (from `train`, `import-torch` or `bundle`).
    #[arg(long, default_value = "gtzan", value_name = "NAME|FILE")]
    pub model: ModelChoice,
    /// The methods, comma-separated (default: all three).
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = Method::ALL)]
    pub method: Vec<Method>,
    /// Which 3 s segment (0-based), or `all`.
    #[arg(long, default_value = "0")]
    pub segment: String,
    /// The genre to explain, or `predicted` (per segment).
    #[arg(long, default_value = "predicted")]
    pub target: String,
    /// Output folder: `<method>.npy` ([n_mels, n_frames], or [N, n_mels, n_frames] for
    /// all segments), `<method>.png`, explain.png (side by side), deletion.csv.
    #[arg(long)]
    pub out: PathBuf,
    /// Steps of the deletion curve (0 skips it).
    #[arg(long, default_value_t = 20)]
    pub deletion_steps: usize,
    /// Where the model runs (wgpu and cuda need the binary built with their cargo
    /// feature).
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    pub device: DeviceKind,
    /// CPU threads.
    #[arg(long, default_value_t = default_threads())]
    pub threads: usize,
}

/// Runs `genre explain`.
pub fn run(args: ExplainArgs) -> anyhow::Result<ExitCode> {
    use_threads(args.threads)?;
    let kind = args.device;
    let device = kind.device()?;
    let checkpoint = args.model.load()?;
    let config = checkpoint.header.features.clone();
    let explainer = Explainer::new(&checkpoint, &device)?;
    let mut methods = args.method.clone();
    methods.dedup();
    let coverage = checkpoint.header.coverage(args.reads.whole_track());
    let wanted: Option<usize> = match args.segment.as_str() {
        "all" => None,
        i => Some(i.parse().with_context(|| format!("--segment {i:?}: a number or `all`"))?),
    };
    // Features stream ten segments at a time; only the segments to explain are kept.
    let extractor = FeatureExtractor::new(config.clone())?;
    let decoder = AudioDecoder::open(&args.audio)?;
    let mut kept: BTreeMap<usize, Vec<f32>> = BTreeMap::new();
    let mut count = 0;
    for batch in extractor.feature_batches(decoder, coverage, FeatureScale::Standardized, 10)? {
        let batch = batch?;
        for j in 0..batch.n_segments() {
            if let Some(values) = batch.segment(j).filter(|_| wanted.is_none_or(|w| w == count + j)) {
                kept.insert(count + j, values.to_vec());
            }
        }
        count += batch.n_segments();
    }
    if let Some(i) = wanted {
        anyhow::ensure!(i < count, "--segment {i}: the clip has {count} segments");
    }
    let segments: Vec<usize> = kept.keys().copied().collect();
    let labels = explainer.labels().to_vec();
    let fixed_target =
        match args.target.as_str() {
            "predicted" => None,
            genre => Some(labels.iter().position(|l| l == genre).with_context(|| {
                format!("--target {genre:?} is not one of the model's genres ({})", labels.join(", "))
            })?),
        };
    std::fs::create_dir_all(&args.out).with_context(|| format!("{}: cannot create", args.out.display()))?;
    println!(
        "{}: model {} ({}), device {}, segments {:?}",
        args.audio.display(),
        checkpoint.header.model.name(),
        labels.join(", "),
        kind.describe(),
        segments
    );

    let [rows, columns] = explainer.segment_shape();
    let mut maps: Vec<(Method, Vec<f32>)> = methods.iter().map(|&m| (m, Vec::new())).collect();
    let mut deletion = Vec::new();
    for &s in &segments {
        let input = kept.get(&s).context("segment out of range")?;
        let target = fixed_target.unwrap_or_else(|| explainer.predicted(input));
        let mut attributions: Vec<Attribution> = Vec::new();
        for (method, values) in maps.iter_mut() {
            let started = std::time::Instant::now();
            let attribution = explainer.explain(*method, input, target)?;
            let seconds = started.elapsed().as_secs_f64();
            let mut line = format!(
                "segment {s} ({}): {:<21} target {:<12} {seconds:.2} s",
                time_range(s, config.segment_seconds()),
                method.name(),
                labels[target]
            );
            if let Some(error) = attribution.completeness_error {
                line += &format!(", completeness error {error:.2e}");
            }
            if args.deletion_steps > 0 {
                let curve = explainer.deletion_curve(input, &attribution, args.deletion_steps, 0.0);
                line += &format!(", deletion area {:.3}", curve.area);
                deletion.push((s, *method, labels[target].clone(), curve));
            }
            println!("{line}");
            values.extend_from_slice(&attribution.values);
            attributions.push(attribution);
        }
        if segments.len() == 1 {
            let start = s as f64 * config.segment_seconds();
            for a in &attributions {
                let png = args.out.join(format!("{}.png", a.method.name()));
                genre_xai::draw_explanations(
                    &png,
                    input,
                    std::slice::from_ref(a),
                    &config,
                    start,
                    &caption(&args, &labels[target]),
                )?;
            }
            genre_xai::draw_explanations(
                args.out.join("explain.png"),
                input,
                &attributions,
                &config,
                start,
                &caption(&args, &labels[target]),
            )?;
        }
    }
    for (method, values) in maps {
        let path = args.out.join(format!("{}.npy", method.name()));
        if segments.len() == 1 {
            crate::npy::write_any(&path, &ndarray::Array2::from_shape_vec((rows, columns), values)?)?;
        } else {
            crate::npy::write_any(&path, &ndarray::Array3::from_shape_vec((segments.len(), rows, columns), values)?)?;
        }
    }
    if !deletion.is_empty() {
        crate::atomic::write(&args.out.join("deletion.csv"), |w| {
            writeln!(w, "segment,method,target,fraction_removed,probability")?;
            for (s, method, target, curve) in &deletion {
                for (f, p) in curve.fractions.iter().zip(&curve.probabilities) {
                    writeln!(w, "{s},{},{target},{f:.4},{p:.6}", method.name())?;
                }
            }
            Ok(())
        })?;
    }
    println!("wrote {}", args.out.display());
    Ok(ExitCode::SUCCESS)
}

fn caption(args: &ExplainArgs, target: &str) -> String {
    let name = args.audio.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    format!("{name} -> {target}")
}

fn time_range(segment: usize, seconds: f64) -> String {
    format!("{:.1}-{:.1} s", segment as f64 * seconds, (segment + 1) as f64 * seconds)
}
