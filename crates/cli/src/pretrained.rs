//! The pretrained musicnn weights that `tags`, `embed` and `train --arch musicnn-*`
//! start from. They are inside the binary (the converted files of the repository's
//! `weights/musicnn`, ISC licence, 11 MB), so an installed `genre` needs no clone and no
//! download; `GENRE_MUSICNN_WEIGHTS=DIR` reads `DIR/<name>.pt` instead (say, weights
//! converted again with `weights/convert_musicnn.py`).

use std::path::PathBuf;

use anyhow::Context;
use burn::prelude::Device;
use genre_models::StateDict;
use genre_models::musicnn::{Musicnn, MusicnnConfig, MusicnnSource};
use genre_models::musicnn_vgg::{Vgg, VggConfig};

/// The environment variable naming a folder of converted weights.
pub const WEIGHTS_ENV: &str = "GENRE_MUSICNN_WEIGHTS";

/// The pretrained musicnn tagger of `source`.
pub fn tagger(source: MusicnnSource, device: &Device) -> anyhow::Result<Musicnn> {
    let dict = state_dict(&format!("{}_musicnn.pt", source.name()), musicnn_bytes(source))?;
    Ok(MusicnnConfig::new().load(&dict, device)?)
}

/// The musicnn package's pretrained VGG baseline of `source`.
pub fn vgg(source: MusicnnSource, device: &Device) -> anyhow::Result<Vgg> {
    let dict = state_dict(&format!("{}_vgg.pt", source.name()), vgg_bytes(source))?;
    Ok(VggConfig::new().load(&dict, device)?)
}

fn state_dict(name: &str, embedded: &[u8]) -> anyhow::Result<StateDict> {
    match std::env::var_os(WEIGHTS_ENV) {
        Some(dir) => {
            let path = PathBuf::from(dir).join(name);
            anyhow::ensure!(path.is_file(), "{}: no such file ({WEIGHTS_ENV} names its folder)", path.display());
            Ok(StateDict::read_pytorch(&path)?)
        }
        None => StateDict::read_pytorch_bytes(embedded, &PathBuf::from(format!("<bundled weights {name}>")))
            .context("the weights inside the binary"),
    }
}

fn musicnn_bytes(source: MusicnnSource) -> &'static [u8] {
    match source {
        MusicnnSource::Msd => include_bytes!("../../../weights/musicnn/msd_musicnn.pt"),
        MusicnnSource::Mtt => include_bytes!("../../../weights/musicnn/mtt_musicnn.pt"),
    }
}

fn vgg_bytes(source: MusicnnSource) -> &'static [u8] {
    match source {
        MusicnnSource::Msd => include_bytes!("../../../weights/musicnn/msd_vgg.pt"),
        MusicnnSource::Mtt => include_bytes!("../../../weights/musicnn/mtt_vgg.pt"),
    }
}
