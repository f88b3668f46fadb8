//! Track-level splits: never a segment of one track in two sets.
//!
//! Every strategy works on *groups* of tracks that must stay together: duplicates found
//! by validation, or all tracks of one artist. With no constraints each track is its
//! own group ([`Groups::singletons`]). Groups are stratified by label, shuffled with a
//! seeded ChaCha8 generator, and dealt to the sets, so a split is reproducible from
//! its seed on any machine.

use std::collections::HashMap;
use std::path::Path;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::error::{DatasetError, Result};
use crate::index::TrackIndex;

/// Which set a track is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Part {
    /// Training set.
    Train,
    /// Validation set (early stopping, model choice).
    Valid,
    /// Test set (reported figures).
    Test,
}

/// Indices into [`TrackIndex::tracks`] for each set, each sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TrackSplit {
    /// Training tracks.
    pub train: Vec<usize>,
    /// Validation tracks.
    pub valid: Vec<usize>,
    /// Test tracks.
    pub test: Vec<usize>,
}

impl TrackSplit {
    /// The tracks of one set.
    pub fn part(&self, part: Part) -> &[usize] {
        match part {
            Part::Train => &self.train,
            Part::Valid => &self.valid,
            Part::Test => &self.test,
        }
    }

    /// The set of each of `n` tracks (`None`: in no set).
    pub fn assignment(&self, n: usize) -> Vec<Option<Part>> {
        let mut out = vec![None; n];
        for part in [Part::Train, Part::Valid, Part::Test] {
            for &i in self.part(part) {
                out[i] = Some(part);
            }
        }
        out
    }

    /// Tracks per label in each set: `[train, valid, test]` per label.
    pub fn counts(&self, index: &TrackIndex) -> Vec<[usize; 3]> {
        let mut counts = vec![[0; 3]; index.labels().len()];
        for (p, part) in [Part::Train, Part::Valid, Part::Test].into_iter().enumerate() {
            for &i in self.part(part) {
                counts[index.tracks()[i].label][p] += 1;
            }
        }
        counts
    }

    fn sorted(mut self) -> Self {
        self.train.sort_unstable();
        self.valid.sort_unstable();
        self.test.sort_unstable();
        self
    }
}

/// Fractions of each label's tracks in the train, validation and test sets.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Fractions {
    /// Training share.
    pub train: f64,
    /// Validation share.
    pub valid: f64,
    /// Test share.
    pub test: f64,
}

impl Default for Fractions {
    /// The original's 70 / 15 / 15.
    fn default() -> Self {
        Fractions { train: 0.70, valid: 0.15, test: 0.15 }
    }
}

/// A partition of the tracks into groups that must land in the same set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Groups {
    /// `group[i]` is the group of track `i`; groups are numbered from 0.
    group: Vec<usize>,
}

impl Groups {
    /// Every track alone.
    pub fn singletons(n: usize) -> Self {
        Groups { group: (0..n).collect() }
    }

    /// Tracks joined by any chain of `pairs` share a group (duplicates).
    pub fn from_pairs(n: usize, pairs: &[(usize, usize)]) -> Self {
        let mut parent: Vec<usize> = (0..n).collect();
        fn root(parent: &mut [usize], mut i: usize) -> usize {
            while parent[i] != i {
                parent[i] = parent[parent[i]];
                i = parent[i];
            }
            i
        }
        for &(a, b) in pairs {
            let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
            parent[ra.max(rb)] = ra.min(rb);
        }
        let roots: Vec<usize> = (0..n).map(|i| root(&mut parent, i)).collect();
        Self::renumber(&roots)
    }

    /// Tracks with the same key share a group (an artist); tracks without a key are alone.
    pub fn from_keys(keys: &[Option<String>]) -> Self {
        let mut first: HashMap<&str, usize> = HashMap::new();
        let roots: Vec<usize> =
            keys.iter().enumerate().map(|(i, k)| k.as_deref().map_or(i, |k| *first.entry(k).or_insert(i))).collect();
        Self::renumber(&roots)
    }

    /// Both constraints at once: tracks together in either stay together.
    pub fn merge(&self, other: &Groups) -> Groups {
        let n = self.group.len();
        let mut pairs = Vec::new();
        for g in [self, other] {
            let mut first = HashMap::new();
            for i in 0..n {
                let f = *first.entry(g.group[i]).or_insert(i);
                if f != i {
                    pairs.push((f, i));
                }
            }
        }
        Groups::from_pairs(n, &pairs)
    }

    /// The group of each track.
    pub fn of(&self, track: usize) -> usize {
        self.group[track]
    }

    fn renumber(roots: &[usize]) -> Self {
        let mut ids = HashMap::new();
        let group = roots
            .iter()
            .map(|r| {
                let next = ids.len();
                *ids.entry(*r).or_insert(next)
            })
            .collect();
        Groups { group }
    }

    /// Members of each group, groups in order of their first track.
    fn members(&self) -> Vec<Vec<usize>> {
        let count = self.group.iter().copied().max().map_or(0, |m| m + 1);
        let mut members = vec![Vec::new(); count];
        for (i, &g) in self.group.iter().enumerate() {
            members[g].push(i);
        }
        members
    }
}

/// Groups per label (a group's label is that of its first track), each list shuffled.
fn shuffled_groups_by_label(index: &TrackIndex, groups: &Groups, seed: u64) -> Result<Vec<Vec<Vec<usize>>>> {
    if groups.group.len() != index.tracks().len() {
        return Err(DatasetError::Split(format!(
            "groups cover {} tracks, the index has {}",
            groups.group.len(),
            index.tracks().len()
        )));
    }
    let mut by_label = vec![Vec::new(); index.labels().len()];
    for members in groups.members() {
        by_label[index.tracks()[members[0]].label].push(members);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for list in &mut by_label {
        list.shuffle(&mut rng);
    }
    Ok(by_label)
}

/// Deals shuffled groups to sets until each reaches its target number of tracks.
fn deal(groups: Vec<Vec<usize>>, targets: [usize; 3], split: &mut TrackSplit) {
    let mut filled = [0usize; 3];
    for members in groups {
        let part = (0..3).find(|&p| filled[p] < targets[p]).unwrap_or(2);
        filled[part] += members.len();
        let dest = match part {
            0 => &mut split.train,
            1 => &mut split.valid,
            _ => &mut split.test,
        };
        dest.extend(members);
    }
}

fn targets(n: usize, fractions: &Fractions) -> [usize; 3] {
    let total = fractions.train + fractions.valid + fractions.test;
    let train = (n as f64 * fractions.train / total).round() as usize;
    let valid = ((n as f64 * fractions.valid / total).round() as usize).min(n - train.min(n));
    [train.min(n), valid, n - train.min(n) - valid]
}

/// Stratified train / validation / test split (default 70 / 15 / 15, seed 42).
pub fn stratified(index: &TrackIndex, fractions: Fractions, seed: u64, groups: &Groups) -> Result<TrackSplit> {
    if [fractions.train, fractions.valid, fractions.test].iter().any(|f| !(f.is_finite() && *f >= 0.0))
        || fractions.train + fractions.valid + fractions.test <= 0.0
    {
        return Err(DatasetError::Split(format!("fractions must be non-negative and not all zero: {fractions:?}")));
    }
    let mut split = TrackSplit::default();
    for label_groups in shuffled_groups_by_label(index, groups, seed)? {
        let n = label_groups.iter().map(Vec::len).sum();
        deal(label_groups, targets(n, &fractions), &mut split);
    }
    Ok(split.sorted())
}

/// Stratified k-fold: fold `fold` (0-based) of `k` is the test set; the validation set
/// is a stratified `valid_fraction` of the rest.
pub fn k_fold(
    index: &TrackIndex,
    k: usize,
    fold: usize,
    valid_fraction: f64,
    seed: u64,
    groups: &Groups,
) -> Result<TrackSplit> {
    if k < 2 || fold >= k {
        return Err(DatasetError::Split(format!("need k >= 2 and fold < k, got k = {k}, fold = {fold}")));
    }
    if !(0.0..1.0).contains(&valid_fraction) {
        return Err(DatasetError::Split(format!("valid_fraction must be in [0, 1), got {valid_fraction}")));
    }
    let mut split = TrackSplit::default();
    for label_groups in shuffled_groups_by_label(index, groups, seed)? {
        // Deal groups to the fold with the fewest tracks so far: folds differ by at most
        // one group's size.
        let mut folds: Vec<Vec<Vec<usize>>> = vec![Vec::new(); k];
        let mut sizes = vec![0usize; k];
        for members in label_groups {
            let f = (0..k).min_by_key(|&f| (sizes[f], f)).unwrap_or(0);
            sizes[f] += members.len();
            folds[f].push(members);
        }
        let test = std::mem::take(&mut folds[fold]);
        split.test.extend(test.into_iter().flatten());
        let rest: Vec<Vec<usize>> = folds.into_iter().flatten().collect();
        let n: usize = rest.iter().map(Vec::len).sum();
        let n_valid = (n as f64 * valid_fraction).round() as usize;
        let mut part = TrackSplit::default();
        deal(rest, [n - n_valid, n_valid, 0], &mut part);
        split.train.extend(part.train);
        split.valid.extend(part.valid);
    }
    Ok(split.sorted())
}

/// A split read from list files, and the listed entries that are not in the collection.
#[derive(Debug, Clone)]
pub struct ListSplit {
    /// The tracks found.
    pub split: TrackSplit,
    /// Entries listed but absent, as written in the lists.
    pub missing: Vec<String>,
}

/// Reads three list files (one `genre/file` a line, as the fault-filtered GTZAN lists).
/// Listed files that are missing are an error unless `allow_missing`, in which case
/// they are reported in [`ListSplit::missing`] and the split goes on with the rest.
pub fn from_lists(index: &TrackIndex, lists: [&Path; 3], allow_missing: bool) -> Result<ListSplit> {
    let mut split = TrackSplit::default();
    let mut missing = Vec::new();
    let mut seen: HashMap<usize, &Path> = HashMap::new();
    for (part, list) in [Part::Train, Part::Valid, Part::Test].into_iter().zip(lists) {
        let text = std::fs::read_to_string(list).map_err(|source| DatasetError::Io { path: list.into(), source })?;
        for (n, line) in text.lines().enumerate() {
            let entry = line.trim();
            if entry.is_empty() || entry.starts_with('#') {
                continue;
            }
            let Some(i) = index.find(entry) else {
                missing.push(entry.to_string());
                continue;
            };
            if let Some(other) = seen.insert(i, list) {
                return Err(DatasetError::ListLine {
                    path: list.into(),
                    line: n + 1,
                    reason: format!("{entry} is also listed in {}", other.display()),
                });
            }
            match part {
                Part::Train => split.train.push(i),
                Part::Valid => split.valid.push(i),
                Part::Test => split.test.push(i),
            }
        }
    }
    if !missing.is_empty() && !allow_missing {
        return Err(DatasetError::MissingListed { count: missing.len(), first: missing[0].clone(), missing });
    }
    Ok(ListSplit { split: split.sorted(), missing })
}

/// Pairs of track indices from groups of track ids (duplicates in a validation report),
/// for [`Groups::from_pairs`]. Ids not in the index are skipped.
pub fn pairs_from_id_groups(index: &TrackIndex, id_groups: &[Vec<String>]) -> Vec<(usize, usize)> {
    id_groups.iter().flat_map(|g| g.windows(2).filter_map(|w| Some((index.find(&w[0])?, index.find(&w[1])?)))).collect()
}

/// The artist of each track from Sturm's GTZAN index (`genre.000NN.wav ::: artist ::: title`),
/// as groups for an artist-disjoint split.
///
/// A track the index lists with no artist joins every other such track of its genre:
/// their artists are unknown, and GTZAN holds runs of one artist under consecutive ids,
/// so two unnamed clips of a genre may well share one. Pooling them per genre is the
/// one rule that can never put an unknown artist in two sets (the price: a large group).
/// Tracks the index does not list at all (not GTZAN's numbering) stay alone.
pub fn artist_groups(index: &TrackIndex, artist_index: &Path) -> Result<Groups> {
    let bytes = std::fs::read(artist_index).map_err(|source| DatasetError::Io { path: artist_index.into(), source })?;
    // Sturm's index is Latin-1 in places; artist names only need to compare equal.
    let text = String::from_utf8_lossy(&bytes);
    let mut artists: Vec<Option<String>> = vec![None; index.tracks().len()];
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split(":::").map(str::trim).collect();
        let [file, artist, ..] = fields[..] else {
            return Err(DatasetError::ListLine {
                path: artist_index.into(),
                line: n + 1,
                reason: "expected `file ::: artist ::: title`".into(),
            });
        };
        let genre = file.split('.').next().unwrap_or("");
        if let Some(i) = index.find(&format!("{genre}/{file}")) {
            artists[i] = Some(if artist.is_empty() {
                // No artist name can contain ":::", so this key is no real artist's.
                format!(":::unknown artist of {genre}")
            } else {
                artist.to_lowercase()
            });
        }
    }
    Ok(Groups::from_keys(&artists))
}
