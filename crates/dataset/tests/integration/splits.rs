use std::collections::HashSet;

use genre_dataset::TrackIndex;
use genre_dataset::split::{self, Fractions, Groups, Part, TrackSplit};

use crate::collection;

fn index(per_genre: u32) -> TrackIndex {
    let root = collection::scratch(&format!("split{per_genre}"));
    collection::gtzan_like(root.path(), per_genre);
    TrackIndex::open(root.path()).unwrap()
}

/// Every track in at most one set, and every group entirely in one set.
fn assert_no_leak(split: &TrackSplit, n: usize, groups: &Groups) {
    let mut seen = HashSet::new();
    for part in [Part::Train, Part::Valid, Part::Test] {
        for &i in split.part(part) {
            assert!(seen.insert(i), "track {i} is in two sets");
        }
    }
    let assignment = split.assignment(n);
    for a in 0..n {
        for b in 0..n {
            if groups.of(a) == groups.of(b) {
                assert_eq!(assignment[a], assignment[b], "tracks {a} and {b} are one group but in different sets");
            }
        }
    }
}

#[test]
fn stratified_is_70_15_15_per_genre_and_reproducible() {
    let index = index(20);
    let groups = Groups::singletons(60);
    let a = split::stratified(&index, Fractions::default(), 42, &groups).unwrap();
    assert_eq!(a.counts(&index), vec![[14, 3, 3]; 3]);
    assert_no_leak(&a, 60, &groups);
    assert_eq!(a, split::stratified(&index, Fractions::default(), 42, &groups).unwrap());
    assert_ne!(a, split::stratified(&index, Fractions::default(), 7, &groups).unwrap());
}

#[test]
fn duplicates_and_artists_stay_together() {
    let index = index(20);
    let duplicates = Groups::from_pairs(60, &[(0, 21), (21, 45), (3, 4)]);
    let artists =
        Groups::from_keys(&(0..60).map(|i| (i % 7 == 0).then(|| "same artist".to_string())).collect::<Vec<_>>());
    let groups = duplicates.merge(&artists);
    for seed in 0..20 {
        let s = split::stratified(&index, Fractions::default(), seed, &groups).unwrap();
        assert_no_leak(&s, 60, &groups);
        assert_eq!(s.train.len() + s.valid.len() + s.test.len(), 60);
        for fold in 0..5 {
            let k = split::k_fold(&index, 5, fold, 0.15, seed, &groups).unwrap();
            assert_no_leak(&k, 60, &groups);
        }
    }
}

#[test]
fn k_fold_test_sets_partition_the_collection() {
    let index = index(10);
    let groups = Groups::singletons(30);
    let mut tested = Vec::new();
    for fold in 0..5 {
        let s = split::k_fold(&index, 5, fold, 0.15, 42, &groups).unwrap();
        assert_no_leak(&s, 30, &groups);
        assert_eq!(s.counts(&index).iter().map(|c| c[2]).collect::<Vec<_>>(), [2, 2, 2], "fold {fold}");
        assert_eq!(s.train.len() + s.valid.len() + s.test.len(), 30);
        tested.extend(s.test);
    }
    tested.sort();
    assert_eq!(tested, (0..30).collect::<Vec<_>>());
    assert!(split::k_fold(&index, 5, 5, 0.15, 42, &groups).is_err());
    assert!(split::k_fold(&index, 1, 0, 0.15, 42, &groups).is_err());
}

#[test]
fn list_files_report_missing_entries() {
    let index = index(3);
    let dir = collection::scratch("lists");
    let train = dir.path().join("train.txt");
    let valid = dir.path().join("valid.txt");
    let test = dir.path().join("test.txt");
    std::fs::write(&train, "blues/blues.00000.wav\njazz/jazz.00000.wav\nrock/rock.00077.wav\n").unwrap();
    std::fs::write(&valid, "blues/blues.00001.wav\n\n").unwrap();
    std::fs::write(&test, "rock/rock.00002.wav\npop/pop.00000.wav\n").unwrap();
    let err = split::from_lists(&index, [&train, &valid, &test], false).unwrap_err();
    assert!(err.to_string().contains("2 listed files are not in the collection"), "{err}");
    let listed = split::from_lists(&index, [&train, &valid, &test], true).unwrap();
    assert_eq!(listed.missing, ["rock/rock.00077.wav", "pop/pop.00000.wav"]);
    assert_eq!(listed.split.train, [0, 3]);
    assert_eq!(listed.split.valid, [1]);
    assert_eq!(listed.split.test, [8]);
    std::fs::write(&test, "blues/blues.00000.wav\n").unwrap();
    let err = split::from_lists(&index, [&train, &valid, &test], true).unwrap_err().to_string();
    assert!(err.contains("test.txt:1") && err.contains("also listed"), "{err}");
}

#[test]
fn artist_index_groups_tracks_by_artist() {
    let index = index(4);
    let dir = collection::scratch("artists");
    let path = dir.path().join("GTZANindex.txt");
    std::fs::write(&path, "## Sturm\n## comment\nblues.00000.wav ::: Robert Johnson ::: A\nblues.00002.wav ::: robert johnson ::: B\njazz.00003.wav ::: ::: C\nrock.00099.wav ::: Queen ::: D\n").unwrap();
    let groups = split::artist_groups(&index, &path).unwrap();
    assert_eq!(groups.of(0), groups.of(2));
    assert_ne!(groups.of(0), groups.of(1));
    // Unnamed tracks of one genre share a group; of another genre, they do not.
    assert_ne!(groups.of(3), groups.of(1));
    std::fs::write(&path, "blues.00000.wav only one field\n").unwrap();
    assert!(split::artist_groups(&index, &path).unwrap_err().to_string().contains("GTZANindex.txt:1"));
}

/// An index of 20 tracks per genre: runs of named artists, one artist in two genres,
/// unnamed tracks scattered through every genre, and a few tracks it does not list.
fn sturm_like_index(dir: &std::path::Path) -> std::path::PathBuf {
    let mut text = String::from("## Sturm\n");
    for genre in collection::GENRES {
        for n in 0..20u32 {
            let artist = match n {
                0..=6 => format!("{genre} artist A"),
                7 | 11 | 15 => String::new(),
                8..=10 => "Shared Artist".to_string(),
                12..=14 => format!("{genre} artist B"),
                18 | 19 => continue,
                _ => format!("{genre} artist {n}"),
            };
            text.push_str(&format!("{genre}.{n:05}.wav ::: {artist} ::: title {n}\n"));
        }
    }
    let path = dir.join("GTZANindex.txt");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn artist_disjoint_k_fold_never_puts_an_artist_or_an_unknown_group_in_two_sets() {
    let index = index(20);
    let dir = collection::scratch("artist-folds");
    let groups = split::artist_groups(&index, &sturm_like_index(dir.path())).unwrap();
    let id = |genre: &str, n: u32| index.find(&format!("{genre}/{genre}.{n:05}.wav")).unwrap();
    // The rule: a named artist is one group across genres; unnamed tracks of a genre are one group.
    assert_eq!(groups.of(id("blues", 8)), groups.of(id("rock", 10)));
    assert_eq!(groups.of(id("jazz", 7)), groups.of(id("jazz", 15)));
    assert_ne!(groups.of(id("jazz", 7)), groups.of(id("rock", 7)));
    assert_ne!(groups.of(id("jazz", 18)), groups.of(id("jazz", 19)), "unlisted tracks stay alone");
    for seed in [1, 42, 1234] {
        let mut tested = vec![0; 60];
        for fold in 0..5 {
            let split = split::k_fold(&index, 5, fold, 0.15, seed, &groups).unwrap();
            assert_no_leak(&split, 60, &groups);
            assert_eq!(split.train.len() + split.valid.len() + split.test.len(), 60);
            for &i in &split.test {
                tested[i] += 1;
            }
        }
        assert_eq!(tested, vec![1; 60], "every track is tested exactly once over the folds (seed {seed})");
    }
    let split = split::stratified(&index, Fractions::default(), 42, &groups).unwrap();
    assert_no_leak(&split, 60, &groups);
}
