//! `genre tags AUDIO [--model msd|mtt|msd-vgg|mtt-vgg] [--top K] [--out DIR] [--device D]`
//!
//! Zero-shot tagging with pretrained musicnn (or the package's VGG baseline) over the whole file, one 3 s patch at a
//! time: the top tags on average, the top three of every patch, and optionally the
//! taggram as a picture (top tags x time) and a CSV of every tag.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use burn::prelude::*;
use genre_dsp::{Coverage, FeatureConfig, FeatureExtractor, FeatureScale};
use genre_models::DeviceKind;
use genre_models::musicnn::{MusicnnSource, tag_names};

use crate::args::{default_threads, use_threads};

/// The pretrained taggers `tags` offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Tagger {
    /// musicnn trained on the Million Song Dataset's 50 most common tags.
    Msd,
    /// musicnn trained on MagnaTagATune's 50 most common tags.
    Mtt,
    /// The musicnn package's VGG baseline, Million Song Dataset tags.
    MsdVgg,
    /// The musicnn package's VGG baseline, MagnaTagATune tags.
    MttVgg,
}

impl Tagger {
    /// Whose tags, and whether the VGG baseline.
    fn source(self) -> (MusicnnSource, bool) {
        match self {
            Tagger::Msd => (MusicnnSource::Msd, false),
            Tagger::Mtt => (MusicnnSource::Mtt, false),
            Tagger::MsdVgg => (MusicnnSource::Msd, true),
            Tagger::MttVgg => (MusicnnSource::Mtt, true),
        }
    }
}

/// `genre tags`'s arguments.
#[derive(Debug, clap::Args)]
pub struct TagsArgs {
    /// The audio file.
    pub audio: PathBuf,
    /// Which pretrained tagger.
    #[arg(long, value_enum, default_value_t = Tagger::Msd)]
    pub model: Tagger,
    /// How many tags to print and draw.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Folder for taggram.png and taggram.csv (every tag, every 3 s patch).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Where the tagger runs (wgpu and cuda need the binary built with their cargo
    /// feature).
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    pub device: DeviceKind,
    /// CPU threads.
    #[arg(long, default_value_t = default_threads())]
    pub threads: usize,
}

/// Runs `genre tags`.
pub fn run(args: TagsArgs) -> anyhow::Result<ExitCode> {
    use_threads(args.threads)?;
    let (source, vgg) = args.model.source();
    let kind = args.device;
    let device = kind.device()?;
    let tagger: Box<dyn Fn(Tensor<3>) -> Tensor<2>> = if vgg {
        let model = crate::pretrained::vgg(source, &device)?;
        Box::new(move |x| model.forward(x))
    } else {
        let model = crate::pretrained::tagger(source, &device)?;
        Box::new(move |x| model.forward(x))
    };
    let label = format!("{}{}", if vgg { "vgg-" } else { "musicnn-" }, source.name());
    let tags = tag_names(source);
    let config = FeatureConfig::musicnn();
    let patch_seconds = config.segment_seconds();
    // Ten patches at a time through features and the tagger: memory bounded by one
    // batch, whatever the file's length; only the taggram is kept.
    let extractor = FeatureExtractor::new(config)?;
    let decoder = genre_dsp::AudioDecoder::open(&args.audio)?;
    let mut taggram: Vec<f32> = Vec::new();
    let mut patches = 0;
    for batch in extractor.feature_batches(decoder, Coverage::WholeTrack, FeatureScale::Standardized, 10)? {
        let batch = batch?;
        let shape = batch.shape();
        patches += shape[0];
        let x = Tensor::from_data(TensorData::new(batch.into_vec(), shape), &device);
        taggram.extend(burn::tensor::activation::sigmoid(tagger(x)).into_data().iter::<f32>());
    }
    let n_tags = tags.len();
    anyhow::ensure!(n_tags > 0 && taggram.len() == patches * n_tags, "tag list does not fit the model");

    let mean: Vec<f32> =
        (0..n_tags).map(|t| (0..patches).map(|p| taggram[p * n_tags + t]).sum::<f32>() / patches as f32).collect();
    let mut order: Vec<usize> = (0..n_tags).collect();
    order.sort_by(|&a, &b| mean[b].total_cmp(&mean[a]));
    let top = &order[..args.top.clamp(1, n_tags)];
    println!("{}: {label} on {} ({patches} patches of {patch_seconds:.2} s)", args.audio.display(), kind.describe());
    println!("top tags (mean over patches):");
    for &t in top {
        println!("  {:<18} {:.3}", tags[t], mean[t]);
    }
    println!("over time (top 3 per patch):");
    for p in 0..patches {
        let row = &taggram[p * n_tags..(p + 1) * n_tags];
        let mut best: Vec<usize> = (0..n_tags).collect();
        best.sort_by(|&a, &b| row[b].total_cmp(&row[a]));
        let text: Vec<String> = best[..3].iter().map(|&t| format!("{} {:.2}", tags[t], row[t])).collect();
        println!("  {:>6.1}-{:<6.1} s  {}", p as f64 * patch_seconds, (p + 1) as f64 * patch_seconds, text.join(", "));
    }

    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
        // Rows: the top tags, the most probable at the top of the picture.
        let rows: Vec<usize> = top.iter().rev().copied().collect();
        let taggram = &taggram;
        let values: Vec<f32> = rows.iter().flat_map(|&t| (0..patches).map(move |p| taggram[p * n_tags + t])).collect();
        let names: Vec<String> = rows.iter().map(|&t| tags[t].clone()).collect();
        let n_rows = rows.len();
        let map = genre_figures::Heatmap::new(
            format!("{label} taggram: {}", file_name(&args.audio)),
            values,
            n_rows,
            patches,
        )
        .with_x_range(0.0, patches as f64 * patch_seconds, "time (s)")
        .with_row_labels(names, n_rows, "")
        .with_range(0.0, 1.0)
        .with_colour_bar("tag probability");
        let png = dir.join("taggram.png");
        genre_figures::save_png(&png, &[map], 1)?;
        crate::atomic::write(&dir.join("taggram.csv"), |w| {
            writeln!(w, "start_s,end_s,{}", tags.join(","))?;
            for p in 0..patches {
                let row: Vec<String> =
                    taggram[p * n_tags..(p + 1) * n_tags].iter().map(|v| format!("{v:.6}")).collect();
                writeln!(w, "{:.3},{:.3},{}", p as f64 * patch_seconds, (p + 1) as f64 * patch_seconds, row.join(","))?;
            }
            Ok(())
        })?;
        println!("wrote {} and taggram.csv", png.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn file_name(path: &std::path::Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}
