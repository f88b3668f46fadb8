//! `genre embed --data DIR [--model msd|mtt] [--layer pools|penultimate|taggram]
//! [--whole-track] [--device D] --out DIR`
//!
//! Runs every segment of a collection through the frozen pretrained musicnn tagger and
//! writes `DIR/embeddings.npy` (f32 `[segments, E]`) and `DIR/segments.csv` (one line
//! per row: `row,track,genre,segment,start_s`), for a classifier of your own. The
//! embeddings are cached like the transfer models' (`--cache-dir`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use genre_dataset::TrackIndex;
use genre_dataset::cache::FeatureCache;
use genre_dataset::segments::SegmentSet;
use genre_dsp::Coverage;
use genre_models::DeviceKind;
use genre_models::musicnn::{EmbeddingCache, EmbeddingLayer, MusicnnSource, embed_set};

use crate::args::{default_threads, use_threads};

/// `genre embed`'s arguments.
#[derive(Debug, clap::Args)]
pub struct EmbedArgs {
    /// The collection (folder-per-genre or GTZAN layout).
    #[arg(long)]
    pub data: PathBuf,
    /// The pretrained tagger.
    #[arg(long, value_enum, default_value_t = MusicnnSource::Msd)]
    pub model: MusicnnSource,
    /// The layer whose values become the embedding.
    #[arg(long, value_enum, default_value_t = EmbeddingLayer::Pools)]
    pub layer: EmbeddingLayer,
    /// Every 3 s segment of each track instead of the first 30 s.
    #[arg(long)]
    pub whole_track: bool,
    /// Output folder.
    #[arg(long, default_value = "out/embed")]
    pub out: PathBuf,
    /// The feature (and embedding) cache folder.
    #[arg(long, default_value = "cache")]
    pub cache_dir: PathBuf,
    /// Where the tagger runs (wgpu and cuda need the binary built with their cargo
    /// feature).
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    pub device: DeviceKind,
    /// CPU threads.
    #[arg(long, default_value_t = default_threads())]
    pub threads: usize,
}

/// Runs `genre embed`.
pub fn run(args: EmbedArgs) -> anyhow::Result<ExitCode> {
    use_threads(args.threads)?;
    let (source, layer) = (args.model, args.layer);
    let device = args.device.device()?;
    let index = TrackIndex::open(&args.data)?;
    let config = genre_dsp::FeatureConfig::musicnn();
    let segment_seconds = config.segment_seconds();
    let cache = FeatureCache::open(&args.cache_dir, config)?;
    let coverage = if args.whole_track { Coverage::WholeTrack } else { Coverage::Clip };
    let all: Vec<usize> = (0..index.tracks().len()).collect();
    let started = std::time::Instant::now();
    let set = SegmentSet::load(&cache, &index, &all, coverage)?;
    let tagger = crate::pretrained::tagger(source, &device)?;
    let embeddings = EmbeddingCache::new(args.cache_dir.join(format!("musicnn-{}", source.name())), &tagger);
    let embedded = embed_set(&tagger, &set, layer, 32, &device, Some(&embeddings));

    std::fs::create_dir_all(&args.out).with_context(|| format!("{}: cannot create", args.out.display()))?;
    let mut rows = Vec::new();
    let mut csv = String::from("row,track,genre,segment,start_s\n");
    let mut width = 0;
    for (track, label, features) in embedded.tracks() {
        width = features.shape()[2];
        for s in 0..features.n_segments() {
            csv.push_str(&format!(
                "{},{},{},{s},{:.3}\n",
                rows.len() / width.max(1),
                index.tracks()[track].id,
                index.labels()[label],
                s as f64 * segment_seconds
            ));
            rows.extend_from_slice(features.segment(s).unwrap_or_default());
        }
    }
    let n = rows.len() / width.max(1);
    let array = ndarray::Array2::from_shape_vec((n, width), rows)?;
    crate::npy::write_any(&args.out.join("embeddings.npy"), &array)?;
    crate::atomic::write(&args.out.join("segments.csv"), |w| Ok(w.write_all(csv.as_bytes())?))?;
    println!(
        "{}: {} tracks, {n} segments x {width} ({} of musicnn-{}) in {:.1} s -> {}",
        args.data.display(),
        index.tracks().len(),
        layer.name(),
        source.name(),
        started.elapsed().as_secs_f64(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
