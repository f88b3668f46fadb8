use genre_dataset::TrackIndex;
use genre_dataset::cache::{CacheOutcome, FeatureCache};
use genre_dataset::segments::SegmentSet;
use genre_dsp::{Coverage, FeatureConfig, FeatureExtractor};

use crate::collection;

#[test]
fn entries_are_computed_once_then_read_back_equal() {
    let root = collection::scratch("cache-data");
    collection::gtzan_like(root.path(), 2);
    let dir = collection::scratch("cache");
    let index = TrackIndex::open(root.path()).unwrap();
    let cache = FeatureCache::open(dir.path(), FeatureConfig::default()).unwrap();
    let cold = cache.build(&index, Coverage::Clip, 2, &|| {});
    assert_eq!((cold.hits, cold.computed, cold.repaired, cold.failed.len()), (0, 6, 0, 0));
    let warm = cache.build(&index, Coverage::Clip, 2, &|| {});
    assert_eq!((warm.hits, warm.computed), (6, 0));
    let path = &index.tracks()[3].path;
    let (cached, outcome) = cache.get(path, Coverage::Clip).unwrap();
    assert_eq!(outcome, CacheOutcome::Hit);
    assert_eq!(cached, FeatureExtractor::new(FeatureConfig::default()).unwrap().extract(path).unwrap());
    // Whole-track entries are separate.
    assert_eq!(cache.get(path, Coverage::WholeTrack).unwrap().1, CacheOutcome::Computed);
}

#[test]
fn a_changed_config_is_a_different_cache() {
    let dir = collection::scratch("cache-config");
    let a = FeatureCache::open(dir.path(), FeatureConfig::default()).unwrap();
    let b = FeatureCache::open(dir.path(), FeatureConfig { n_mels: 64, ..FeatureConfig::default() }).unwrap();
    assert_ne!(a.dir(), b.dir());
    assert!(b.dir().join("config.json").exists());
}

#[test]
fn damaged_entries_are_recomputed_and_leftovers_of_a_killed_run_ignored() {
    let root = collection::scratch("cache-damage");
    collection::wav(&root.path().join("rock/a.wav"), 5);
    let dir = collection::scratch("cache-damage-dir");
    let cache = FeatureCache::open(dir.path(), FeatureConfig::default()).unwrap();
    let audio = root.path().join("rock/a.wav");
    let (original, _) = cache.get(&audio, Coverage::Clip).unwrap();
    let entry = walk(cache.dir()).into_iter().find(|p| p.extension().is_some_and(|e| e == "feat")).unwrap();
    // A half-written temporary file, as a killed run leaves it.
    std::fs::write(entry.with_file_name(".leftover.tmp"), b"GENRFEAT partial").unwrap();
    for damage in [Damage::Flip(100), Damage::Truncate(50), Damage::Flip(3)] {
        let mut bytes = std::fs::read(&entry).unwrap();
        match damage {
            Damage::Flip(at) => bytes[at] ^= 0x55,
            Damage::Truncate(to) => bytes.truncate(to),
        }
        std::fs::write(&entry, bytes).unwrap();
        let (again, outcome) = cache.get(&audio, Coverage::Clip).unwrap();
        assert_eq!(outcome, CacheOutcome::Repaired);
        assert_eq!(again, original);
        assert_eq!(cache.get(&audio, Coverage::Clip).unwrap().1, CacheOutcome::Hit);
    }
}

#[test]
fn segment_sets_carry_their_tracks() {
    let root = collection::scratch("segments");
    collection::gtzan_like(root.path(), 2);
    let index = TrackIndex::open(root.path()).unwrap();
    let dir = collection::scratch("segments-cache");
    let cache = FeatureCache::open(dir.path(), FeatureConfig::default()).unwrap();
    let set = SegmentSet::load(&cache, &index, &[1, 4], Coverage::Clip).unwrap();
    assert_eq!(set.len(), 20);
    let item = set.get(13).unwrap();
    assert_eq!((item.track, item.segment, item.label), (4, 3, 2));
    assert_eq!(item.features.len(), 128 * 130);
    assert!(set.get(20).is_none());
}

enum Damage {
    Flip(usize),
    Truncate(usize),
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
    }
    out
}
