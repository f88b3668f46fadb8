//! The converted weights of the package's two taggers, and their tag names.

use burn::prelude::*;

use super::{Musicnn, MusicnnConfig, MusicnnSource};
use crate::state_dict::StateDict;

/// Where `weights/convert_musicnn.py` puts the converted tagger weights in this
/// repository: `weights/musicnn/<source>_musicnn.pt`.
pub fn pretrained_weights_path(source: MusicnnSource) -> std::path::PathBuf {
    converted_weights_file(&format!("{}_musicnn.pt", source.name()))
}

/// The converted weights file `name`, from the first folder that has it: the one named
/// by the `GENRE_MUSICNN_WEIGHTS` environment variable, this repository's
/// `weights/musicnn` (where the build found it), then `weights/musicnn` under the
/// current folder (a runner built in another checkout of the repository). When none
/// has it, the repository's path, so that the error names where it was expected.
pub(crate) fn converted_weights_file(name: &str) -> std::path::PathBuf {
    let built = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../weights/musicnn");
    let folders = [
        std::env::var_os("GENRE_MUSICNN_WEIGHTS").map(Into::into),
        Some(built.clone()),
        Some("weights/musicnn".into()),
    ];
    folders
        .into_iter()
        .flatten()
        .map(|folder: std::path::PathBuf| folder.join(name))
        .find(|file| file.is_file())
        .unwrap_or_else(|| built.join(name))
}

/// The pretrained tagger of `source`, read from [`pretrained_weights_path`].
pub fn load_pretrained(source: MusicnnSource, device: &Device) -> crate::Result<Musicnn> {
    let dict = StateDict::read_pytorch(&pretrained_weights_path(source))?;
    MusicnnConfig::new().load(&dict, device)
}

/// The 50 tag names of `source`, in output order (`weights/musicnn/tags.json`).
pub fn tag_names(source: MusicnnSource) -> Vec<String> {
    const TAGS: &str = include_str!("../../../../weights/musicnn/tags.json");
    let all: std::collections::BTreeMap<String, Vec<String>> = serde_json::from_str(TAGS).unwrap_or_default();
    all.get(source.name()).cloned().unwrap_or_default()
}
