//! `cargo xtask embed --data DIR [--model msd|mtt] [--layer pools|penultimate|taggram]
//! [--whole-track] --out DIR`
//!
//! Runs every segment of a collection through the frozen pretrained musicnn tagger and
//! writes `DIR/embeddings.npy` (f32 `[segments, E]`) and `DIR/segments.csv` (one line
//! per row: `row,track,genre,segment,start_s`), for a classifier of your own. The
//! embeddings are cached like the transfer models' (`--cache-dir`).

use std::process::ExitCode;

use anyhow::Context;
use dataset::TrackIndex;
use dataset::cache::FeatureCache;
use dataset::segments::SegmentSet;
use dsp::Coverage;
use models::DeviceKind;
use models::musicnn::{EmbeddingCache, EmbeddingLayer, MusicnnSource, embed_set};

use crate::cli::EmbedArgs;

pub fn run(args: EmbedArgs) -> anyhow::Result<ExitCode> {
    let source: MusicnnSource = args.model.parse().map_err(anyhow::Error::msg)?;
    let layer: EmbeddingLayer = args.layer.parse().map_err(anyhow::Error::msg)?;
    let device = DeviceKind::Cpu.device()?;
    let index = TrackIndex::open(&args.data)?;
    let config = dsp::FeatureConfig::musicnn();
    let segment_seconds = config.segment_seconds();
    let cache = FeatureCache::open(&args.cache_dir, config)?;
    let coverage = if args.whole_track { Coverage::WholeTrack } else { Coverage::Clip };
    let all: Vec<usize> = (0..index.tracks().len()).collect();
    let started = std::time::Instant::now();
    let set = SegmentSet::load(&cache, &index, &all, coverage)?;
    let tagger = models::musicnn::load_pretrained(source, &device)?;
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
            rows.extend_from_slice(features.segment(s));
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
