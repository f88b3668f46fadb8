//! The converted weights of the package's two taggers, and their tag names.

use burn::prelude::*;

use super::{Musicnn, MusicnnConfig, MusicnnSource};
use crate::state_dict::StateDict;

/// The tagger stored in the converted weights file `path` (the repository's
/// `weights/musicnn/<source>_musicnn.pt`, made by `weights/convert_musicnn.py`).
///
/// ```no_run
/// let device = genre_models::DeviceKind::Cpu.device()?;
/// let tagger = genre_models::musicnn::load_pretrained("weights/musicnn/msd_musicnn.pt".as_ref(), &device)?;
/// # Ok::<(), genre_models::ModelError>(())
/// ```
pub fn load_pretrained(path: &std::path::Path, device: &Device) -> crate::Result<Musicnn> {
    MusicnnConfig::new().load(&StateDict::read_pytorch(path)?, device)
}

/// The 50 tag names of `source`, in output order (`weights/musicnn/tags.json`).
pub fn tag_names(source: MusicnnSource) -> Vec<String> {
    const TAGS: &str = include_str!("../../../../weights/musicnn/tags.json");
    let all: std::collections::BTreeMap<String, Vec<String>> = serde_json::from_str(TAGS).unwrap_or_default();
    all.get(source.name()).cloned().unwrap_or_default()
}
