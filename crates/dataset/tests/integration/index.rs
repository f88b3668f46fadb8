use genre_dataset::{Layout, TrackIndex};

use crate::collection::{self, GENRES};

#[test]
fn gtzan_original_layout() {
    let root = collection::scratch("original");
    for genre in GENRES {
        for n in 0..3 {
            collection::au(&root.path().join("genres").join(genre).join(format!("{genre}.{n:05}.au")), n);
        }
    }
    let index = TrackIndex::open(root.path()).unwrap();
    assert_eq!(index.layout(), Layout::GtzanOriginal);
    assert_eq!(index.labels(), ["blues", "jazz", "rock"]);
    assert_eq!(index.tracks().len(), 9);
    assert_eq!(index.tracks()[0].id, "blues/blues.00000.au");
    // A list written for the Kaggle copy finds the .au file.
    assert_eq!(index.find("jazz/jazz.00001.wav"), Some(4));
}

#[test]
fn gtzan_kaggle_layout_and_its_genre_folders() {
    let root = collection::scratch("kaggle");
    collection::gtzan_like(&root.path().join("genres_original"), 2);
    std::fs::write(root.path().join("genres_original/blues/notes.txt"), "not audio").unwrap();
    let index = TrackIndex::open(root.path()).unwrap();
    assert_eq!(index.layout(), Layout::GtzanKaggle);
    assert_eq!(index.tracks().len(), 6);
    let direct = TrackIndex::open(root.path().join("genres_original")).unwrap();
    assert_eq!(direct.layout(), Layout::GtzanKaggle);
    assert_eq!(
        direct.tracks().iter().map(|t| &t.id).collect::<Vec<_>>(),
        index.tracks().iter().map(|t| &t.id).collect::<Vec<_>>()
    );
}

#[test]
fn any_folder_per_genre_collection() {
    let root = collection::scratch("folders");
    collection::wav(&root.path().join("zydeco/b.wav"), 1);
    collection::wav(&root.path().join("zydeco/a.wav"), 2);
    collection::au(&root.path().join("ambient/x.au"), 3);
    std::fs::create_dir_all(root.path().join("empty_genre")).unwrap();
    std::fs::create_dir_all(root.path().join(".hidden")).unwrap();
    collection::wav(&root.path().join(".hidden/h.wav"), 4);
    let index = TrackIndex::open(root.path()).unwrap();
    assert_eq!(index.layout(), Layout::FolderPerGenre);
    assert_eq!(index.labels(), ["ambient", "zydeco"]);
    assert_eq!(
        index.tracks().iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
        ["ambient/x.au", "zydeco/a.wav", "zydeco/b.wav"]
    );
    assert_eq!(index.counts(), [1, 2]);
}

#[test]
fn an_empty_or_missing_folder_is_a_clear_error() {
    let root = collection::scratch("empty");
    let err = TrackIndex::open(root.path()).unwrap_err().to_string();
    assert!(err.contains("no genre folders"), "{err}");
    let err = TrackIndex::open(root.path().join("nope")).unwrap_err().to_string();
    assert!(err.contains("nope") && err.contains("cannot read"), "{err}");
}
