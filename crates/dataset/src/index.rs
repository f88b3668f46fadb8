//! Finding the tracks and labels of a collection.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{DatasetError, Result};

/// The folder layouts [`TrackIndex::open`] recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layout {
    /// GTZAN as distributed: `genres/<g>/<g>.000NN.au`.
    GtzanOriginal,
    /// GTZAN's Kaggle copy: `genres_original/<g>/<g>.000NN.wav`, or the genre folders
    /// themselves.
    GtzanKaggle,
    /// Any `<root>/<genre>/<audio file>` collection.
    FolderPerGenre,
}

/// One audio file and its label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Track {
    /// Stable id: `<genre>/<file name>`, e.g. `blues/blues.00000.wav`.
    pub id: String,
    /// Where the file is.
    pub path: PathBuf,
    /// Index into [`TrackIndex::labels`].
    pub label: usize,
}

/// All tracks of a collection, labels sorted by name, tracks sorted by id.
///
/// ```no_run
/// let index = genre_dataset::TrackIndex::open("data/gtzan")?;
/// println!("{} tracks in {} genres", index.tracks().len(), index.labels().len());
/// # Ok::<(), genre_dataset::DatasetError>(())
/// ```
#[derive(Debug, Clone, Serialize)]
pub struct TrackIndex {
    root: PathBuf,
    layout: Layout,
    labels: Vec<String>,
    tracks: Vec<Track>,
}

impl TrackIndex {
    /// Indexes the collection at `root`: a GTZAN copy (either layout, or its genre
    /// folders directly) or any folder of genre folders of audio files.
    pub fn open(root: impl AsRef<Path>) -> Result<Self> {
        let root = root.as_ref();
        let (genre_root, layout) = if root.join("genres").is_dir() {
            (root.join("genres"), Some(Layout::GtzanOriginal))
        } else if root.join("genres_original").is_dir() {
            (root.join("genres_original"), Some(Layout::GtzanKaggle))
        } else {
            (root.to_path_buf(), None)
        };
        let mut labels = Vec::new();
        let mut tracks = Vec::new();
        for genre_dir in sorted_entries(&genre_root)? {
            let Some(genre) = visible_name(&genre_dir) else { continue };
            if !genre_dir.is_dir() {
                continue;
            }
            let files: Vec<PathBuf> = sorted_entries(&genre_dir)?
                .into_iter()
                .filter(|p| p.is_file() && genre_dsp::is_audio_path(p))
                .collect();
            if files.is_empty() {
                continue;
            }
            let label = labels.len();
            labels.push(genre.to_string());
            for path in files {
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                tracks.push(Track { id: format!("{genre}/{name}"), path, label });
            }
        }
        if tracks.is_empty() {
            return Err(DatasetError::Layout {
                path: root.to_path_buf(),
                reason:
                    "no genre folders with audio files (expected <root>/<genre>/<audio>, genres/ or genres_original/)"
                        .into(),
            });
        }
        let layout = layout.unwrap_or_else(|| {
            let gtzan_names = tracks.iter().all(|t| is_gtzan_name(&t.id));
            if gtzan_names { Layout::GtzanKaggle } else { Layout::FolderPerGenre }
        });
        Ok(TrackIndex { root: root.to_path_buf(), layout, labels, tracks })
    }

    /// The folder given to [`open`](Self::open).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Which layout was found.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// Genre names, sorted.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// Tracks, sorted by id.
    pub fn tracks(&self) -> &[Track] {
        &self.tracks
    }

    /// The genre name of track `i`.
    pub fn label_name(&self, i: usize) -> &str {
        &self.labels[self.tracks[i].label]
    }

    /// The track whose id is `id`, or, failing that, whose id has the same genre and
    /// file stem (so `blues/blues.00000.wav` in a list finds `blues/blues.00000.au`).
    pub fn find(&self, id: &str) -> Option<usize> {
        if let Ok(i) = self.tracks.binary_search_by(|t| t.id.as_str().cmp(id)) {
            return Some(i);
        }
        let stem = strip_extension(id);
        self.tracks.iter().position(|t| strip_extension(&t.id) == stem)
    }

    /// Number of tracks per label.
    pub fn counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.labels.len()];
        for t in &self.tracks {
            counts[t.label] += 1;
        }
        counts
    }
}

fn strip_extension(id: &str) -> &str {
    match id.rfind('.') {
        Some(dot) if dot > id.rfind('/').map_or(0, |s| s + 1) => &id[..dot],
        _ => id,
    }
}

/// `<genre>/<genre>.000NN.<ext>`
fn is_gtzan_name(id: &str) -> bool {
    let Some((genre, file)) = id.split_once('/') else { return false };
    let Some(rest) = file.strip_prefix(genre).and_then(|r| r.strip_prefix('.')) else { return false };
    let number = rest.split('.').next().unwrap_or("");
    number.len() == 5 && number.bytes().all(|b| b.is_ascii_digit())
}

fn visible_name(path: &Path) -> Option<&str> {
    path.file_name().and_then(|n| n.to_str()).filter(|n| !n.starts_with('.'))
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let io = |source| DatasetError::Io { path: dir.to_path_buf(), source };
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        entries.push(entry.map_err(io)?.path());
    }
    entries.sort();
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gtzan_names_and_extensions() {
        assert!(is_gtzan_name("blues/blues.00000.wav"));
        assert!(is_gtzan_name("hiphop/hiphop.00099.au"));
        assert!(!is_gtzan_name("rock/1.ogg"));
        assert!(!is_gtzan_name("rock/pop.00001.wav"));
        assert_eq!(strip_extension("a/b.c.wav"), "a/b.c");
        assert_eq!(strip_extension("a.b/c"), "a.b/c");
    }
}
