//! Segments as training examples: every 3 s segment of a set of tracks, each with its
//! label and the track it came from (so predictions can be aggregated per track, and
//! so no split ever separates a track's segments).

use genre_dsp::{Coverage, Features};

use crate::cache::FeatureCache;
use crate::error::Result;
use crate::index::TrackIndex;

/// One segment: `[n_mels * n_frames]` standardised values and where they came from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SegmentItem<'a> {
    /// The segment's features, row-major `[n_mels, n_frames]`.
    pub features: &'a [f32],
    /// Label index of its track.
    pub label: usize,
    /// Index of its track in the [`TrackIndex`].
    pub track: usize,
    /// Position of the segment in its track.
    pub segment: usize,
}

/// The segments of some tracks, held in memory, indexable from 0 to `len() - 1`.
#[derive(Debug, Clone)]
pub struct SegmentSet {
    tracks: Vec<(usize, usize, Features)>,
    /// `starts[t]`: the first item of `tracks[t]`.
    starts: Vec<usize>,
    len: usize,
}

impl SegmentSet {
    /// Loads (through `cache`) the features of `tracks` of `index`.
    pub fn load(cache: &FeatureCache, index: &TrackIndex, tracks: &[usize], coverage: Coverage) -> Result<Self> {
        let mut loaded = Vec::with_capacity(tracks.len());
        for &t in tracks {
            let track = &index.tracks()[t];
            let (features, _) = cache.get(&track.path, coverage)?;
            loaded.push((t, track.label, features));
        }
        Ok(Self::from_features(loaded))
    }

    /// From `(track, label, features)` triples already in memory.
    pub fn from_features(tracks: Vec<(usize, usize, Features)>) -> Self {
        let mut starts = Vec::with_capacity(tracks.len());
        let mut len = 0;
        for (_, _, f) in &tracks {
            starts.push(len);
            len += f.n_segments();
        }
        SegmentSet { tracks, starts, len }
    }

    /// Number of segments.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no segments.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Segment `i`, or `None` past the end.
    pub fn get(&self, i: usize) -> Option<SegmentItem<'_>> {
        if i >= self.len {
            return None;
        }
        let t = self.starts.partition_point(|&s| s <= i) - 1;
        let (track, label, features) = &self.tracks[t];
        let segment = i - self.starts[t];
        Some(SegmentItem { features: features.segment(segment)?, label: *label, track: *track, segment })
    }

    /// The `(track, label, features)` triples it was made of, for a set with more tracks.
    pub fn into_tracks(self) -> Vec<(usize, usize, Features)> {
        self.tracks
    }

    /// The tracks, with their labels and features.
    pub fn tracks(&self) -> impl Iterator<Item = (usize, usize, &Features)> {
        self.tracks.iter().map(|(t, l, f)| (*t, *l, f))
    }
}
