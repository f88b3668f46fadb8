//! Features computed once per track and kept on disk.
//!
//! Layout: `<dir>/<config key>/config.json` and `<dir>/<config key>/<hh>/<hash>-<coverage>.feat`,
//! where the config key is a hash of the [`FeatureConfig`] and of
//! [`genre_dsp::FEATURE_CODE_VERSION`] and the build's [`genre_dsp::Resampler`] (a changed config, or code that computes other
//! numbers, is a different cache) and `<hash>` the BLAKE3 of the audio file's bytes (a renamed file
//! is still a hit, an edited one a miss). An entry is a small header (magic, shape),
//! the `f32` values, and a BLAKE3 checksum of both; it is written to a temporary file
//! and renamed, so a killed run leaves no half entry, and a damaged entry fails its
//! checksum and is recomputed. Reading is one `read` of the whole entry.

use std::io::Write;
use std::path::{Path, PathBuf};

use genre_dsp::{Coverage, FeatureConfig, FeatureExtractor, FeatureScale, Features};

use crate::error::{DatasetError, Result};
use crate::index::TrackIndex;

const MAGIC: &[u8; 8] = b"GENRFEAT";

/// What a lookup did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Read from disk.
    Hit,
    /// Not there: computed and stored.
    Computed,
    /// There but damaged: recomputed and stored again.
    Repaired,
}

/// A feature cache for one [`FeatureConfig`].
///
/// ```no_run
/// use genre_dataset::cache::FeatureCache;
/// let cache = FeatureCache::open("cache", genre_dsp::FeatureConfig::default())?;
/// let (features, _) = cache.get("song.wav", genre_dsp::Coverage::Clip)?;
/// # Ok::<(), genre_dataset::DatasetError>(())
/// ```
#[derive(Debug)]
pub struct FeatureCache {
    dir: PathBuf,
    extractor: FeatureExtractor,
}

/// Counts of a [`FeatureCache::build`] run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildSummary {
    /// Entries already on disk.
    pub hits: usize,
    /// Entries computed.
    pub computed: usize,
    /// Damaged entries recomputed.
    pub repaired: usize,
    /// Tracks that failed, with their one-line errors.
    pub failed: Vec<(String, String)>,
}

impl FeatureCache {
    /// Opens (creating if needed) the cache for `config` under `dir`.
    pub fn open(dir: impl AsRef<Path>, config: FeatureConfig) -> Result<Self> {
        let extractor = FeatureExtractor::new(config)?;
        let json = serde_json::to_string(extractor.config())
            .map_err(|e| DatasetError::Cache { path: dir.as_ref().into(), reason: e.to_string() })?;
        // The resampler is part of the key: builds with and without `genre-dsp/soxr`
        // compute other numbers for audio that is not at the feature rate.
        let resampler = genre_dsp::Resampler::of_this_build();
        let key = blake3::hash(format!("{}:{resampler}:{json}", genre_dsp::FEATURE_CODE_VERSION).as_bytes()).to_hex();
        let dir = dir.as_ref().join(&key.as_str()[..16]);
        let io = |source| DatasetError::Io { path: dir.clone(), source };
        std::fs::create_dir_all(&dir).map_err(io)?;
        std::fs::write(dir.join("config.json"), json).map_err(io)?;
        Ok(FeatureCache { dir, extractor })
    }

    /// The folder of this configuration's entries.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The standardised features of `audio`, from disk or computed and stored.
    pub fn get(&self, audio: impl AsRef<Path>, coverage: Coverage) -> Result<(Features, CacheOutcome)> {
        let audio = audio.as_ref();
        let bytes = std::fs::read(audio).map_err(|source| DatasetError::Io { path: audio.into(), source })?;
        let hash = blake3::hash(&bytes).to_hex();
        let tag = match coverage {
            Coverage::Clip => "clip",
            Coverage::WholeTrack => "whole",
        };
        let entry = self.dir.join(&hash.as_str()[..2]).join(format!("{hash}-{tag}.feat"));
        let damaged = match std::fs::read(&entry) {
            Ok(data) => match decode_entry(&data) {
                Some(features) => return Ok((features, CacheOutcome::Hit)),
                None => true,
            },
            Err(_) => false,
        };
        let features = self.extractor.extract_with(audio, coverage, FeatureScale::Standardized)?;
        write_entry(&entry, &features)?;
        Ok((features, if damaged { CacheOutcome::Repaired } else { CacheOutcome::Computed }))
    }

    /// Fills the cache for every track of `index` on `threads` threads, calling
    /// `progress` after each track. A failed track is reported, never fatal.
    pub fn build(
        &self,
        index: &TrackIndex,
        coverage: Coverage,
        threads: usize,
        progress: &(dyn Fn() + Sync),
    ) -> BuildSummary {
        let tracks = index.tracks();
        let results = crate::parallel::map_indexed(
            tracks.len(),
            threads,
            &|i| self.get(&tracks[i].path, coverage).map(|(_, outcome)| outcome),
            progress,
        );
        let mut summary = BuildSummary::default();
        for (i, result) in results.into_iter().enumerate() {
            match result {
                Ok(CacheOutcome::Hit) => summary.hits += 1,
                Ok(CacheOutcome::Computed) => summary.computed += 1,
                Ok(CacheOutcome::Repaired) => summary.repaired += 1,
                Err(e) => summary.failed.push((index.tracks()[i].id.clone(), e.to_string())),
            }
        }
        summary.failed.sort();
        summary
    }
}

/// `MAGIC, [segments, mels, frames] as u32 LE, values as f32 LE, BLAKE3 of all before`.
fn write_entry(path: &Path, features: &Features) -> Result<()> {
    let io = |source| DatasetError::Io { path: path.into(), source };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut data = Vec::with_capacity(8 + 12 + features.as_slice().len() * 4 + 32);
    data.extend_from_slice(MAGIC);
    for d in features.shape() {
        data.extend_from_slice(&(d as u32).to_le_bytes());
    }
    for v in features.as_slice() {
        data.extend_from_slice(&v.to_le_bytes());
    }
    let checksum = blake3::hash(&data);
    data.extend_from_slice(checksum.as_bytes());
    // Atomically: a `tempfile` beside it, synced, then renamed over it.
    let result = (|| {
        let mut file = tempfile::Builder::new().prefix(".").suffix(".tmp").tempfile_in(dir)?;
        file.write_all(&data)?;
        file.as_file().sync_all()?;
        file.persist(path).map_err(|e| e.error)?;
        Ok(())
    })();
    result.map_err(io)
}

/// The features of an entry, or `None` if it is damaged in any way.
fn decode_entry(data: &[u8]) -> Option<Features> {
    let body_len = data.len().checked_sub(32)?;
    let (body, checksum) = data.split_at(body_len);
    if body.len() < 20 || &body[..8] != MAGIC || blake3::hash(body).as_bytes() != checksum {
        return None;
    }
    let dim =
        |i: usize| u32::from_le_bytes([body[8 + 4 * i], body[9 + 4 * i], body[10 + 4 * i], body[11 + 4 * i]]) as usize;
    let shape = [dim(0), dim(1), dim(2)];
    let values = &body[20..];
    if values.len() != shape.iter().product::<usize>() * 4 {
        return None;
    }
    let values = values.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    Features::from_vec(values, shape)
}
