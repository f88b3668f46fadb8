//! A prior from the taggers' own genre tags, fused with a genre head's probabilities.
//!
//! The pretrained taggers learnt tags such as `blues`, `jazz` or `metal` from hundreds of
//! thousands of songs, while a head trained on a small collection learns its few artists.
//! On artist-disjoint folds of the GTZAN excerpts the fusion
//! `p ∝ head^(1 - alpha) · tags^alpha` classifies more clips of unseen artists than the
//! head alone (`docs/gtzan.md`). In logits, `(1 - alpha) · z + alpha · ln(t)`, with `t` the
//! genre's tag score over the sum of all genres' scores.
//!
//! ```
//! use genre_models::musicnn::{EmbeddingLayer, TagPriorConfig};
//! let labels: Vec<String> = ["blues", "jazz", "reggae"].map(String::from).to_vec();
//! let prior = TagPriorConfig::for_labels(&labels, EmbeddingLayer::PenultimateTaggram, 0.5).unwrap();
//! assert!(prior.columns[2].is_empty()); // no tag names reggae: it gets the mean score
//! ```

use burn::prelude::*;

use super::pretrained::tag_names;
use super::{EmbeddingLayer, MusicnnConfig, MusicnnSource};

/// The tags that name (or nearly name) a genre, as `tagger:tag`: GTZAN's genres by the
/// names its folders use. Both taggers' embeddings are laid out MSD first, then MTT.
const GENRE_TAGS: [(&str, &[&str]); 9] = [
    ("blues", &["msd:blues"]),
    ("classical", &["mtt:classical"]),
    ("country", &["msd:country"]),
    ("disco", &["msd:dance", "msd:funk"]),
    ("hiphop", &["msd:Hip-Hop"]),
    ("jazz", &["msd:jazz"]),
    ("metal", &["msd:metal", "msd:heavy metal"]),
    ("pop", &["msd:pop"]),
    ("rock", &["msd:rock", "msd:classic rock"]),
];

/// Which embedding columns score each class, and how much the prior weighs.
#[derive(Config, Debug, PartialEq)]
pub struct TagPriorConfig {
    /// Per class, the embedding columns (tag probabilities) whose highest is its score;
    /// empty when no tag names the class (it then gets the mean of the others' scores).
    pub columns: Vec<Vec<usize>>,
    /// Weight of the prior, in `[0, 1)`: 0 is the head alone.
    pub alpha: f64,
}

impl TagPriorConfig {
    /// The prior for `labels` on the dual model's embedding (MSD then MTT, each
    /// `layer`), or `None` when `layer` holds no tag probabilities or no label is named
    /// by a tag.
    pub fn for_labels(labels: &[String], layer: EmbeddingLayer, alpha: f64) -> Option<Self> {
        let backbone = MusicnnConfig::new();
        let per_tagger = layer.size(&backbone);
        let taggram_start = match layer {
            EmbeddingLayer::Taggram => 0,
            EmbeddingLayer::PenultimateTaggram => backbone.backend_units,
            EmbeddingLayer::Penultimate | EmbeddingLayer::Pools => return None,
        };
        let column = |tag: &str| -> Option<usize> {
            let (tagger, name) = tag.split_once(':')?;
            let (source, offset) = match tagger {
                "msd" => (MusicnnSource::Msd, 0),
                _ => (MusicnnSource::Mtt, per_tagger),
            };
            let index = tag_names(source).iter().position(|t| t == name)?;
            Some(offset + taggram_start + index)
        };
        let columns: Vec<Vec<usize>> = labels
            .iter()
            .map(|label| {
                GENRE_TAGS
                    .iter()
                    .find(|(genre, _)| genre == label)
                    .map_or_else(Vec::new, |(_, tags)| tags.iter().filter_map(|t| column(t)).collect())
            })
            .collect();
        columns.iter().any(|c| !c.is_empty()).then(|| TagPriorConfig::new(columns, alpha))
    }

    /// What does not fit a model of `n_classes` classes on embeddings `width` wide (a
    /// damaged or foreign checkpoint): one entry per problem, none when it fits.
    pub fn problems(&self, n_classes: usize, width: usize) -> Vec<String> {
        let mut problems = Vec::new();
        if self.columns.len() != n_classes {
            problems.push(format!("tag prior: {} classes, the head has {n_classes}", self.columns.len()));
        }
        if let Some(&c) = self.columns.iter().flatten().find(|&&c| c >= width) {
            problems.push(format!("tag prior: column {c} of an embedding {width} wide"));
        }
        if !(0.0..1.0).contains(&self.alpha) {
            problems.push(format!("tag prior: weight {} outside [0, 1)", self.alpha));
        }
        problems
    }

    /// `(1 - alpha) · logits + alpha · ln(t)` for head `logits` `[B, classes]` and the raw
    /// (unstandardised) embedding `[B, E]` they came from.
    pub fn fuse(&self, logits: Tensor<2>, embedded: Tensor<2>) -> Tensor<2> {
        let [batch, _] = embedded.dims();
        let device = embedded.device();
        let scores: Vec<Option<Tensor<2>>> = self
            .columns
            .iter()
            .map(|columns| {
                (!columns.is_empty()).then(|| {
                    let index = Tensor::<1, Int>::from_data(
                        TensorData::new(columns.iter().map(|&c| c as i64).collect(), [columns.len()]),
                        &device,
                    );
                    embedded.clone().select(1, index).max_dim(1)
                })
            })
            .collect();
        let named: Vec<Tensor<2>> = scores.iter().flatten().cloned().collect();
        if named.is_empty() {
            return logits;
        }
        let count = named.len() as f64;
        let mean = Tensor::cat(named, 1).sum_dim(1) / count;
        let scores: Vec<Tensor<2>> = scores.into_iter().map(|s| s.unwrap_or_else(|| mean.clone())).collect();
        let scores = Tensor::cat(scores, 1);
        debug_assert_eq!(scores.dims(), [batch, self.columns.len()]);
        // The floor keeps a row whose tags are all 0 finite: it then adds the same to every class.
        let share = scores.clone() / (scores.sum_dim(1) + 1e-12);
        logits * (1.0 - self.alpha) + (share + 1e-6).log() * self.alpha
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gtzan_labels_find_their_tags_and_the_fusion_is_the_product_of_probabilities() {
        let labels: Vec<String> = ["blues", "classical", "reggae"].map(String::from).to_vec();
        let prior = TagPriorConfig::for_labels(&labels, EmbeddingLayer::PenultimateTaggram, 0.5).unwrap();
        // MSD's `blues` is its 27th tag, after MSD's 200 penultimate units; MTT's
        // `classical` its 2nd, after MSD's 250 values and MTT's 200.
        assert_eq!(prior.columns, vec![vec![200 + 26], vec![250 + 200 + 1], vec![]]);
        assert!(TagPriorConfig::for_labels(&labels, EmbeddingLayer::Pools, 0.5).is_none());
        let emotify: Vec<String> = ["electronic"].map(String::from).to_vec();
        assert!(TagPriorConfig::for_labels(&emotify, EmbeddingLayer::Taggram, 0.5).is_none());
        assert!(prior.problems(3, 500).is_empty());
        assert_eq!(prior.problems(4, 300).len(), 2, "{:?}", prior.problems(4, 300));
        assert_eq!(TagPriorConfig::new(vec![vec![0]], 1.5).problems(1, 10).len(), 1);

        let device = Device::flex();
        let mut row = vec![0.0f32; 500];
        (row[226], row[451]) = (0.6, 0.2); // blues 0.6, classical 0.2, reggae their mean 0.4
        let embedded = Tensor::<2>::from_data(TensorData::new(row, [1, 500]), &device);
        let head = [0.7f32, 0.2, 0.1];
        let logits = Tensor::<2>::from_data(TensorData::new(head.map(f32::ln).to_vec(), [1, 3]), &device);
        let fused: Vec<f32> =
            burn::tensor::activation::softmax(prior.fuse(logits, embedded), 1).into_data().iter::<f32>().collect();
        let tags = [0.6f32 / 1.2, 0.2 / 1.2, 0.4 / 1.2];
        let product: Vec<f32> = head.iter().zip(tags).map(|(h, t)| (h * t).sqrt()).collect();
        let total: f32 = product.iter().sum();
        for (f, p) in fused.iter().zip(&product) {
            assert!((f - p / total).abs() < 1e-4, "{fused:?} vs {product:?}");
        }
    }
}
