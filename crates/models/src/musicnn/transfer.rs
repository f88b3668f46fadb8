//! Genre models on musicnn: one or two frozen taggers, their embeddings, a head, and an
//! optional prior from the taggers' own genre tags.

use burn::prelude::*;

use crate::state_dict::{Loader, StateDict};

use super::{EmbeddingLayer, Musicnn, MusicnnConfig, MusicnnSource, TagPriorConfig, TransferHead, TransferHeadConfig};

/// A genre model on musicnn: the pretrained tagger (frozen while its head trains), and
/// optionally a second one (the `partner`, read with the same features), with a
/// [`TransferHead`] on one of their layers (the two side by side).
#[derive(Config, Debug, PartialEq)]
pub struct MusicnnTransferConfig {
    /// Which pretrained tagger.
    pub source: MusicnnSource,
    /// Which of its layers the head reads.
    pub embedding: EmbeddingLayer,
    /// The tagger.
    pub backbone: MusicnnConfig,
    /// The head.
    pub head: TransferHeadConfig,
    /// A second pretrained tagger whose `embedding` follows the first's.
    #[config(default = "None")]
    pub partner: Option<MusicnnSource>,
    /// The taggers' own genre tags fused with the head's output ([`TagPriorConfig`]).
    #[config(default = "None")]
    pub tag_prior: Option<TagPriorConfig>,
}

impl MusicnnTransferConfig {
    /// A transfer model for `n_classes` genres on `source`'s `embedding`, default sizes.
    pub fn for_classes(n_classes: usize, source: MusicnnSource, embedding: EmbeddingLayer) -> Self {
        let backbone = MusicnnConfig::new();
        let head = TransferHeadConfig::new(n_classes, embedding.size(&backbone));
        MusicnnTransferConfig::new(source, embedding, backbone, head)
    }

    /// Both taggers (MSD, then MTT) with a linear head on their `embedding`s: the
    /// `musicnn-dual` architecture (`bench/linear_head_study.py` chose its recipe).
    pub fn dual(n_classes: usize, embedding: EmbeddingLayer) -> Self {
        let backbone = MusicnnConfig::new();
        let head = TransferHeadConfig::new(n_classes, 2 * embedding.size(&backbone)).with_hidden(0).with_dropout(0.0);
        MusicnnTransferConfig::new(MusicnnSource::Msd, embedding, backbone, head).with_partner(Some(MusicnnSource::Mtt))
    }

    /// Random weights throughout (tests; real models come from training).
    pub fn init(&self, device: &Device) -> MusicnnTransfer {
        MusicnnTransfer {
            backbone: self.backbone.init(device),
            partner: self.partner.map(|_| self.backbone.init(device)),
            head: self.head.init(device),
            embedding: self.embedding,
            tag_prior: self.tag_prior.clone(),
        }
    }

    /// The model with the weights of `dict` (`backbone.*`, `partner.*` and `head.*`).
    pub fn load(&self, dict: &StateDict, device: &Device) -> crate::Result<MusicnnTransfer> {
        if let Some(prior) = &self.tag_prior {
            let width = self.embedding.size(&self.backbone) * if self.partner.is_some() { 2 } else { 1 };
            let problems = prior.problems(self.head.n_classes, width);
            if !problems.is_empty() {
                return Err(crate::ModelError::Weights { architecture: "musicnn transfer".into(), problems });
            }
        }
        let mut loader = Loader::new(dict, device);
        let backbone = self.backbone.load_from(&mut loader, "backbone.", device);
        let partner = self.partner.map(|_| self.backbone.load_from(&mut loader, "partner.", device));
        let head = self.head.load_from(&mut loader, "head.", device);
        loader.finish("musicnn transfer")?;
        Ok(MusicnnTransfer { backbone, partner, head, embedding: self.embedding, tag_prior: self.tag_prior.clone() })
    }
}

/// musicnn with a genre head.
#[derive(Module, Debug)]
pub struct MusicnnTransfer {
    /// The pretrained tagger.
    pub backbone: Musicnn,
    /// The second tagger, if any.
    pub partner: Option<Musicnn>,
    /// The genre head.
    pub head: TransferHead,
    #[module(skip)]
    embedding: EmbeddingLayer,
    #[module(skip)]
    tag_prior: Option<TagPriorConfig>,
}

impl MusicnnTransfer {
    /// Joins taggers and a head trained on their `embedding`s.
    pub fn new(backbone: Musicnn, partner: Option<Musicnn>, head: TransferHead, embedding: EmbeddingLayer) -> Self {
        MusicnnTransfer { backbone, partner, head, embedding, tag_prior: None }
    }

    /// The same model with the taggers' genre tags fused into its output.
    pub fn with_tag_prior(self, tag_prior: Option<TagPriorConfig>) -> Self {
        MusicnnTransfer { tag_prior, ..self }
    }

    /// Genre logits `[B, classes]` for musicnn features `[B, 96, 187]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<2> {
        let embedded = match &self.partner {
            Some(partner) => {
                Tensor::cat(vec![self.backbone.embed(x.clone(), self.embedding), partner.embed(x, self.embedding)], 1)
            }
            None => self.backbone.embed(x, self.embedding),
        };
        self.logits(embedded)
    }

    /// The head's logits on `embedded`, fused with the tag prior if there is one.
    fn logits(&self, embedded: Tensor<2>) -> Tensor<2> {
        match &self.tag_prior {
            Some(prior) => prior.fuse(self.head.forward(embedded.clone()), embedded),
            None => self.head.forward(embedded),
        }
    }

    /// For Grad-CAM: genre logits and the (first) tagger's temporal maps
    /// `[B, 153, 96, 187]` as a leaf of the graph (see
    /// [`Musicnn::forward_all_with_leaf_maps`]).
    pub fn forward_with_maps(&self, x: Tensor<3>) -> (Tensor<2>, Tensor<4>) {
        let partner = self.partner.as_ref().map(|p| p.embed(x.clone(), self.embedding));
        let (out, maps) = self.backbone.forward_all_with_leaf_maps(x);
        let embedded = Musicnn::select(out, self.embedding);
        let embedded = match partner {
            Some(p) => Tensor::cat(vec![embedded, p], 1),
            None => embedded,
        };
        (self.logits(embedded), maps)
    }

    /// The weights, as `backbone.*`, `partner.*` and `head.*`.
    pub fn state_dict(&self) -> StateDict {
        let mut dict = StateDict::new();
        self.backbone.save_into(&mut dict, "backbone.");
        if let Some(partner) = &self.partner {
            partner.save_into(&mut dict, "partner.");
        }
        self.head.save_into(&mut dict, "head.");
        dict
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::Distribution;

    use super::*;

    #[test]
    fn the_dual_model_round_trips_through_its_state_dict() {
        let device = Device::flex();
        device.seed(8);
        let config = MusicnnTransferConfig::dual(4, EmbeddingLayer::PenultimateTaggram);
        assert_eq!(config.head.n_inputs, 2 * 250);
        let model = config.init(&device);
        let dict = model.state_dict();
        assert!(dict.iter().any(|(name, _)| name.starts_with("partner.")));
        assert!(!dict.iter().any(|(name, _)| name.starts_with("head.hidden")));
        let loaded = config.load(&dict, &device).expect("its own weights load");
        let x = Tensor::<3>::random([2, 96, 187], Distribution::Normal(0.0, 1.0), &device);
        let difference: f32 = (model.forward(x.clone()) - loaded.forward(x)).abs().max().into_scalar();
        assert!(difference < 1e-5, "{difference}");
        // A tag prior that does not fit the model (a damaged checkpoint) is an error, not a panic.
        let bad = config.clone().with_tag_prior(Some(TagPriorConfig::new(vec![vec![9_999]; 4], 0.5)));
        let error = bad.load(&dict, &device).expect_err("a prior past the embedding is refused").to_string();
        assert!(error.contains("column 9999"), "{error}");
    }
}
