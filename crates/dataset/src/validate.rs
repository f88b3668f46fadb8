//! Decoding every file of a collection once: what is broken, what the audio is like,
//! and which files hold the same audio.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::index::{Layout, TrackIndex};

/// What decoding one file found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AudioFacts {
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// Channels in the file.
    pub channels: usize,
    /// Codec, as the decoder names it.
    pub codec: String,
    /// Duration in seconds.
    pub duration_s: f64,
    /// RMS level of the mono mix, dBFS (`-inf` for digital silence).
    pub rms_dbfs: f64,
    /// Largest absolute sample of the mono mix.
    pub peak: f32,
    /// BLAKE3 of the decoded mono samples (little-endian `f32`) and the sample rate:
    /// equal for the same audio in two lossless containers.
    pub audio_hash: String,
}

/// The result for one track.
#[derive(Debug, Clone, Serialize)]
pub struct TrackCheck {
    /// Track id.
    pub id: String,
    /// Genre name.
    pub genre: String,
    /// Facts, when the file decoded.
    pub facts: Option<AudioFacts>,
    /// The one-line error, when it did not.
    pub error: Option<String>,
}

/// Statistics of one genre.
#[derive(Debug, Clone, Serialize)]
pub struct GenreSummary {
    /// Genre name.
    pub genre: String,
    /// Files indexed.
    pub files: usize,
    /// Files that did not decode.
    pub unreadable: usize,
    /// Shortest, mean and longest duration in seconds (readable files).
    pub duration_s: [f64; 3],
    /// Files per sample rate.
    pub sample_rates: BTreeMap<u32, usize>,
    /// Files per channel count.
    pub channels: BTreeMap<usize, usize>,
}

impl GenreSummary {
    /// E.g. `"22050 Hz × 88, 44100 Hz × 2"`.
    pub fn sample_rates_text(&self) -> String {
        self.sample_rates.iter().map(|(r, n)| format!("{r} Hz × {n}")).collect::<Vec<_>>().join(", ")
    }

    /// E.g. `"1 × 90"` (channels × files).
    pub fn channels_text(&self) -> String {
        self.channels.iter().map(|(c, n)| format!("{c} × {n}")).collect::<Vec<_>>().join(", ")
    }
}

/// Everything [`validate`] found.
#[derive(Debug, Clone, Serialize)]
pub struct ValidationReport {
    /// The collection's folder.
    pub root: PathBuf,
    /// Its layout.
    pub layout: Layout,
    /// One entry per track, in index order.
    pub tracks: Vec<TrackCheck>,
    /// One entry per genre, in label order.
    pub genres: Vec<GenreSummary>,
    /// Groups of track ids whose decoded audio is identical.
    pub duplicates: Vec<Vec<String>>,
}

impl ValidationReport {
    /// Tracks that did not decode: `(id, error)`.
    pub fn unreadable(&self) -> impl Iterator<Item = (&str, &str)> {
        self.tracks.iter().filter_map(|t| t.error.as_deref().map(|e| (t.id.as_str(), e)))
    }

    /// Duplicate pairs as track indices of `index`, for [`crate::split::Groups::from_pairs`].
    pub fn duplicate_pairs(&self, index: &TrackIndex) -> Vec<(usize, usize)> {
        crate::split::pairs_from_id_groups(index, &self.duplicates)
    }
}

/// Decodes every track of `index` on `threads` threads, calling `progress` after each.
/// Broken files are reported, never fatal.
pub fn validate(index: &TrackIndex, threads: usize, progress: &(dyn Fn() + Sync)) -> ValidationReport {
    let tracks = index.tracks();
    let results = crate::parallel::map_indexed(tracks.len(), threads, &|i| inspect(&tracks[i].path), progress);
    let checks: Vec<TrackCheck> = results
        .into_iter()
        .enumerate()
        .map(|(i, result)| {
            let (facts, error) = match result {
                Ok(f) => (Some(f), None),
                Err(e) => (None, Some(e)),
            };
            TrackCheck { id: tracks[i].id.clone(), genre: index.label_name(i).to_string(), facts, error }
        })
        .collect();
    let genres = summarise(index, &checks);
    let duplicates = duplicates(&checks);
    ValidationReport { root: index.root().to_path_buf(), layout: index.layout(), tracks: checks, genres, duplicates }
}

/// Decodes one file and measures it.
pub fn inspect(path: &std::path::Path) -> Result<AudioFacts, String> {
    let decoder = genre_dsp::AudioDecoder::open(path).map_err(|e| e.to_string())?;
    let info = decoder.info().clone();
    let samples = decoder.read_to_end().map_err(|e| e.to_string())?;
    let mut hasher = blake3::Hasher::new();
    hasher.update(&info.sample_rate.to_le_bytes());
    for chunk in samples.chunks(4096) {
        let bytes: Vec<u8> = chunk.iter().flat_map(|s| s.to_le_bytes()).collect();
        hasher.update(&bytes);
    }
    let energy = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum::<f64>() / samples.len() as f64;
    Ok(AudioFacts {
        sample_rate: info.sample_rate,
        channels: info.channels,
        codec: info.codec,
        duration_s: samples.len() as f64 / f64::from(info.sample_rate),
        rms_dbfs: 10.0 * energy.log10(),
        peak: samples.iter().fold(0.0f32, |m, s| m.max(s.abs())),
        audio_hash: hasher.finalize().to_hex().to_string(),
    })
}

fn summarise(index: &TrackIndex, checks: &[TrackCheck]) -> Vec<GenreSummary> {
    index
        .labels()
        .iter()
        .map(|genre| {
            let of_genre: Vec<&TrackCheck> = checks.iter().filter(|c| &c.genre == genre).collect();
            let facts: Vec<&AudioFacts> = of_genre.iter().filter_map(|c| c.facts.as_ref()).collect();
            let durations: Vec<f64> = facts.iter().map(|f| f.duration_s).collect();
            let duration_s = if durations.is_empty() {
                [0.0; 3]
            } else {
                [
                    durations.iter().copied().fold(f64::INFINITY, f64::min),
                    durations.iter().sum::<f64>() / durations.len() as f64,
                    durations.iter().copied().fold(0.0, f64::max),
                ]
            };
            let mut sample_rates = BTreeMap::new();
            let mut channels = BTreeMap::new();
            for f in &facts {
                *sample_rates.entry(f.sample_rate).or_insert(0) += 1;
                *channels.entry(f.channels).or_insert(0) += 1;
            }
            GenreSummary {
                genre: genre.clone(),
                files: of_genre.len(),
                unreadable: of_genre.len() - facts.len(),
                duration_s,
                sample_rates,
                channels,
            }
        })
        .collect()
}

fn duplicates(checks: &[TrackCheck]) -> Vec<Vec<String>> {
    let mut by_hash: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for c in checks {
        if let Some(f) = &c.facts {
            by_hash.entry(f.audio_hash.as_str()).or_default().push(c.id.clone());
        }
    }
    let mut groups: Vec<Vec<String>> = by_hash.into_values().filter(|g| g.len() > 1).collect();
    groups.sort();
    groups
}
