//! Embeddings of frozen taggers as training sets for a [`TransferHead`](super::TransferHead):
//! computing them (with a cache), putting two taggers' side by side, and standardising them.

use burn::prelude::*;
use genre_dataset::segments::SegmentSet;

use super::{EmbeddingLayer, Musicnn, MusicnnConfig};

/// The `layer` embedding of every segment of `set`, as a set of one-row "spectrograms"
/// `[segments, 1, E]` with the same labels and tracks: what a [`super::TransferHead`] trains
/// on while the tagger stays frozen. Runs `batch` patches at a time on `device`; with
/// a `cache`, each track's embeddings are computed once for every layer.
pub fn embed_set(
    tagger: &Musicnn,
    set: &SegmentSet,
    layer: EmbeddingLayer,
    batch: usize,
    device: &Device,
    cache: Option<&EmbeddingCache>,
) -> SegmentSet {
    let config = MusicnnConfig::new();
    let width: usize = LAYERS.iter().map(|l| l.size(&config)).sum();
    // Where `layer` sits in the cached rows: penultimate-taggram is the last two side by side.
    let first = match layer {
        EmbeddingLayer::PenultimateTaggram => EmbeddingLayer::Penultimate,
        other => other,
    };
    let position = LAYERS.iter().position(|&l| l == first).unwrap_or(0);
    let offset: usize = LAYERS[..position].iter().map(|l| l.size(&config)).sum();
    let size = layer.size(&config);
    let mut tracks = Vec::new();
    for (track, label, features) in set.tracks() {
        let n = features.n_segments();
        let all = match cache.and_then(|c| c.load(features, width)) {
            Some(all) => all,
            None => {
                let all = embed_all_layers(tagger, features, batch, device);
                if let Some(c) = cache {
                    c.store(features, &all);
                }
                all
            }
        };
        let values: Vec<f32> = all.chunks_exact(width).flat_map(|row| &row[offset..offset + size]).copied().collect();
        if let Some(embedded) = genre_dsp::Features::from_vec(values, [n, 1, size]) {
            tracks.push((track, label, embedded));
        }
    }
    SegmentSet::from_features(tracks)
}

/// The layers in the order [`EmbeddingCache`] stores them.
const LAYERS: [EmbeddingLayer; 3] = [EmbeddingLayer::Pools, EmbeddingLayer::Penultimate, EmbeddingLayer::Taggram];

/// Every segment's embeddings, all layers side by side, `[segments, sum of sizes]`.
fn embed_all_layers(tagger: &Musicnn, features: &genre_dsp::Features, batch: usize, device: &Device) -> Vec<f32> {
    let [n, mels, frames] = features.shape();
    let mut rows = Vec::new();
    for start in (0..n).step_by(batch.max(1)) {
        let end = (start + batch.max(1)).min(n);
        let chunk = features.as_slice()[start * mels * frames..end * mels * frames].to_vec();
        let out = tagger.forward_all(Tensor::from_data(TensorData::new(chunk, [end - start, mels, frames]), device));
        let pools = Tensor::cat(vec![out.mean_pool, out.max_pool], 1);
        let taggram = burn::tensor::activation::sigmoid(out.logits);
        let all = Tensor::cat(vec![pools, out.penultimate, taggram], 1);
        rows.extend(all.into_data().iter::<f32>());
    }
    rows
}

/// A folder of musicnn embeddings, keyed by the features they were computed from (so
/// a changed audio file or feature config misses) and the tagger's weights.
#[derive(Debug, Clone)]
pub struct EmbeddingCache {
    dir: std::path::PathBuf,
    weights_key: blake3::Hash,
}

impl EmbeddingCache {
    /// A cache in `dir` for the tagger `tagger` (its weights are part of every key).
    pub fn new(dir: impl Into<std::path::PathBuf>, tagger: &Musicnn) -> Self {
        let mut hasher = blake3::Hasher::new();
        for (name, tensor) in tagger.state_dict().iter() {
            hasher.update(name.as_bytes());
            for v in &tensor.values {
                hasher.update(&v.to_le_bytes());
            }
        }
        EmbeddingCache { dir: dir.into(), weights_key: hasher.finalize() }
    }

    fn path(&self, features: &genre_dsp::Features) -> std::path::PathBuf {
        let mut hasher = blake3::Hasher::new();
        hasher.update(self.weights_key.as_bytes());
        for d in features.shape() {
            hasher.update(&(d as u64).to_le_bytes());
        }
        for v in features.as_slice() {
            hasher.update(&v.to_le_bytes());
        }
        self.dir.join(format!("{}.emb", hasher.finalize().to_hex()))
    }

    /// The stored rows, if present, intact and `width` wide.
    fn load(&self, features: &genre_dsp::Features, width: usize) -> Option<Vec<f32>> {
        let bytes = std::fs::read(self.path(features)).ok()?;
        let (body, checksum) = bytes.split_at_checked(bytes.len().checked_sub(32)?)?;
        if blake3::hash(body).as_bytes() != checksum || body.len() != 4 * width * features.n_segments() {
            return None;
        }
        Some(body.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
    }

    /// Stores rows; a failure only costs a recomputation later.
    fn store(&self, features: &genre_dsp::Features, rows: &[f32]) {
        let body: Vec<u8> = rows.iter().flat_map(|v| v.to_le_bytes()).collect();
        let path = self.path(features);
        let _ = std::fs::create_dir_all(&self.dir)
            .and_then(|_| crate::atomic::write(&path, &[&body[..], blake3::hash(&body).as_bytes()].concat()));
    }
}

/// Per-dimension mean and standard deviation of a set's embeddings: what a linear head
/// learns on (`musicnn-dual`), and what [`TransferHead::fold_standardization`](super::TransferHead::fold_standardization)
/// folds into its weights afterwards.
///
/// ```
/// use genre_dataset::segments::SegmentSet;
/// use genre_models::musicnn::EmbeddingStandardization;
///
/// // One track of two segments, two dimensions each: [2, 1, 2].
/// let rows = genre_dsp::Features::from_vec(vec![1.0, 10.0, 3.0, 10.0], [2, 1, 2]).unwrap();
/// let set = SegmentSet::from_features(vec![(0, 0, rows)]);
/// let statistics = EmbeddingStandardization::of(&set);
/// assert_eq!(statistics.mean, [2.0, 10.0]);
/// assert_eq!(statistics.scale, [1.0, 1.0]); // the constant dimension keeps a scale of 1
/// let standardised = statistics.apply(&set);
/// assert_eq!(standardised.tracks().next().unwrap().2.as_slice(), [-1.0, 0.0, 1.0, 0.0]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingStandardization {
    /// Mean of each dimension.
    pub mean: Vec<f32>,
    /// Standard deviation of each dimension (1 where it is constant).
    pub scale: Vec<f32>,
}

impl EmbeddingStandardization {
    /// The statistics of every segment of `set` (population standard deviation; 1
    /// where a dimension is constant).
    pub fn of(set: &SegmentSet) -> Self {
        let width = set.tracks().next().map_or(0, |(_, _, f)| f.shape()[2]);
        let (mut sum, mut squares, mut n) = (vec![0.0f64; width], vec![0.0f64; width], 0usize);
        for (_, _, features) in set.tracks() {
            for row in features.as_slice().chunks_exact(width.max(1)) {
                for ((s, q), &v) in sum.iter_mut().zip(squares.iter_mut()).zip(row) {
                    *s += f64::from(v);
                    *q += f64::from(v) * f64::from(v);
                }
                n += 1;
            }
        }
        let n = n.max(1) as f64;
        let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
        let scale = squares
            .iter()
            .zip(&mean)
            .map(|(q, m)| {
                let sd = (q / n - m * m).max(0.0).sqrt();
                if sd > 1e-6 { sd as f32 } else { 1.0 }
            })
            .collect();
        EmbeddingStandardization { mean: mean.iter().map(|&m| m as f32).collect(), scale }
    }

    /// `set` with every row standardised: `(value - mean) / scale`.
    pub fn apply(&self, set: &SegmentSet) -> SegmentSet {
        let width = self.mean.len().max(1);
        let tracks = set
            .tracks()
            .filter_map(|(track, label, features)| {
                let values: Vec<f32> = features
                    .as_slice()
                    .chunks_exact(width)
                    .flat_map(|row| row.iter().zip(&self.mean).zip(&self.scale).map(|((v, m), s)| (v - m) / s))
                    .collect();
                genre_dsp::Features::from_vec(values, features.shape()).map(|f| (track, label, f))
            })
            .collect();
        SegmentSet::from_features(tracks)
    }
}

/// Two embedding sets of the same tracks (`[n, 1, E1]`, `[n, 1, E2]`) as one of
/// `[n, 1, E1 + E2]`: each segment's first embedding, then its second (two taggers'
/// embeddings for `musicnn-dual`).
///
/// ```
/// use genre_dataset::segments::SegmentSet;
/// use genre_models::musicnn::embeddings_side_by_side;
///
/// let first = genre_dsp::Features::from_vec(vec![1.0, 2.0], [2, 1, 1]).unwrap();
/// let second = genre_dsp::Features::from_vec(vec![3.0, 4.0, 5.0, 6.0], [2, 1, 2]).unwrap();
/// let joined = embeddings_side_by_side(
///     &SegmentSet::from_features(vec![(0, 1, first)]),
///     &SegmentSet::from_features(vec![(0, 1, second)]),
/// );
/// let (track, label, rows) = joined.tracks().next().unwrap();
/// assert_eq!((track, label, rows.shape()), (0, 1, [2, 1, 3]));
/// assert_eq!(rows.as_slice(), [1.0, 3.0, 4.0, 2.0, 5.0, 6.0]);
/// ```
pub fn embeddings_side_by_side(first: &SegmentSet, second: &SegmentSet) -> SegmentSet {
    let tracks = first
        .tracks()
        .zip(second.tracks())
        .filter_map(|((track, label, a), (_, _, b))| {
            let ([n, _, wa], [_, _, wb]) = (a.shape(), b.shape());
            let values: Vec<f32> = a
                .as_slice()
                .chunks_exact(wa.max(1))
                .zip(b.as_slice().chunks_exact(wb.max(1)))
                .flat_map(|(x, y)| x.iter().chain(y).copied())
                .collect();
            genre_dsp::Features::from_vec(values, [n, 1, wa + wb]).map(|f| (track, label, f))
        })
        .collect();
    SegmentSet::from_features(tracks)
}
