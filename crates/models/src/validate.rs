//! Checks of a model configuration read from a file, before any module is built: a
//! checkpoint may hold anything, and Burn's layers assert on what they are given
//! (dropout >= 1, zero attention heads, ...). Each failure names the field.

use crate::arch::ModelConfig;
use crate::crnn::CrnnConfig;
use crate::error::{ModelError, Result};
use crate::musicnn::{MusicnnConfig, MusicnnTransferConfig, TransferHeadConfig};
use crate::transformer::SpecTransformerConfig;

/// Widths above this are no model of ours (the largest layer of any is 3,012 wide), and
/// a model built with them would only exhaust memory.
const LARGEST_WIDTH: usize = 4096;

fn fail(field: &str, reason: impl Into<String>) -> ModelError {
    ModelError::Config { field: field.to_string(), reason: reason.into() }
}

fn size(field: &str, value: usize) -> Result<()> {
    if value == 0 || value > LARGEST_WIDTH {
        return Err(fail(field, format!("{value} is outside 1..={LARGEST_WIDTH}")));
    }
    Ok(())
}

fn probability(field: &str, value: f64) -> Result<()> {
    if !(0.0..1.0).contains(&value) {
        return Err(fail(field, format!("{value} is not a dropout probability in [0, 1)")));
    }
    Ok(())
}

impl ModelConfig {
    /// Checks every field a module is built from, and that the model has `labels`
    /// outputs.
    pub fn validate(&self, labels: usize) -> Result<()> {
        match self {
            ModelConfig::Crnn(c) => crnn(c)?,
            ModelConfig::Transformer(c) => transformer(c)?,
            ModelConfig::MusicnnTransfer(c) => musicnn_transfer(c)?,
            ModelConfig::TransferHead(c) => head(c)?,
        }
        if self.n_classes() != labels {
            return Err(fail("labels", format!("{labels} labels for a model of {} classes", self.n_classes())));
        }
        Ok(())
    }

    /// Checks that the model reads the features `features` makes: a model is only ever
    /// run on its checkpoint's features, whose shape it must take.
    pub fn validate_input(&self, features: &genre_dsp::FeatureConfig) -> Result<()> {
        let (mels, frames) = (features.n_mels, features.n_frames());
        let (model_mels, model_frames) = match self {
            ModelConfig::Crnn(c) => (c.n_mels, frames),
            ModelConfig::Transformer(c) => (c.n_mels, c.n_frames),
            ModelConfig::MusicnnTransfer(c) => (c.backbone.n_mels, frames),
            ModelConfig::TransferHead(_) => {
                return Err(fail("kind", "a bare genre head reads embeddings, not audio features"));
            }
        };
        if (model_mels, model_frames) != (mels, frames) {
            return Err(fail(
                "features",
                format!("the model reads {model_mels} x {model_frames} features, its features are {mels} x {frames}"),
            ));
        }
        Ok(())
    }
}

fn crnn(c: &CrnnConfig) -> Result<()> {
    size("n_classes", c.n_classes)?;
    size("hidden", c.hidden)?;
    // Three 2 x 2 poolings leave n_mels / 8 rows for the recurrent layer.
    if c.n_mels < 8 || c.n_mels > 1024 {
        return Err(fail("n_mels", format!("{} is outside 8..=1024", c.n_mels)));
    }
    for p in c.conv_dropout {
        probability("conv_dropout", p)?;
    }
    probability("head_dropout", c.head_dropout)
}

fn transformer(c: &SpecTransformerConfig) -> Result<()> {
    size("n_classes", c.n_classes)?;
    size("dim", c.dim)?;
    size("ff", c.ff)?;
    size("heads", c.heads)?;
    size("patch", c.patch)?;
    if c.layers > 64 {
        return Err(fail("layers", format!("{} is more than 64", c.layers)));
    }
    if !c.dim.is_multiple_of(c.heads) {
        return Err(fail("heads", format!("dim {} is not a multiple of {} heads", c.dim, c.heads)));
    }
    if c.n_mels < c.patch || c.n_frames < c.patch || c.n_mels > 1024 || c.n_frames > LARGEST_WIDTH {
        return Err(fail("patch", format!("{0} x {0} patches do not fit {1} x {2}", c.patch, c.n_mels, c.n_frames)));
    }
    probability("dropout", c.dropout)
}

fn backbone(c: &MusicnnConfig) -> Result<()> {
    size("n_tags", c.n_tags)?;
    size("timbral_filters", c.timbral_filters)?;
    size("temporal_filters", c.temporal_filters)?;
    size("midend_filters", c.midend_filters)?;
    size("backend_units", c.backend_units)?;
    // The timbral filters span 90 % of the mel bands, the smallest 40 %.
    if c.n_mels < 8 || c.n_mels > 1024 {
        return Err(fail("n_mels", format!("{} is outside 8..=1024", c.n_mels)));
    }
    Ok(())
}

fn head(c: &TransferHeadConfig) -> Result<()> {
    size("n_classes", c.n_classes)?;
    size("n_inputs", c.n_inputs)?;
    // 0: a linear head.
    if c.hidden > 0 {
        size("hidden", c.hidden)?;
    }
    probability("dropout", c.dropout)
}

fn musicnn_transfer(c: &MusicnnTransferConfig) -> Result<()> {
    backbone(&c.backbone)?;
    head(&c.head)
}
