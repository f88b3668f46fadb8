use genre_dataset::TrackIndex;
use genre_dataset::validate::validate;

use crate::collection;

#[test]
fn broken_files_are_reported_and_duplicates_found_across_containers() {
    let root = collection::scratch("validate");
    collection::wav(&root.path().join("blues/a.wav"), 1);
    collection::au(&root.path().join("blues/a_again.au"), 1); // the same samples in another container
    collection::wav(&root.path().join("blues/b.wav"), 2);
    collection::wav(&root.path().join("rock/c.wav"), 3);
    std::fs::write(root.path().join("rock/broken.wav"), b"RIFF....WAVEjunk").unwrap();
    std::fs::write(root.path().join("rock/empty.mp3"), b"").unwrap();
    let index = TrackIndex::open(root.path()).unwrap();
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let report = validate(&index, 2, &|| {
        calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    });
    assert_eq!(calls.into_inner(), 6);
    let unreadable: Vec<(&str, &str)> = report.unreadable().collect();
    assert_eq!(unreadable.len(), 2, "{unreadable:?}");
    assert!(unreadable.iter().all(|(id, e)| e.contains(id.rsplit('/').next().unwrap())));
    assert_eq!(report.duplicates, vec![vec!["blues/a.wav".to_string(), "blues/a_again.au".to_string()]]);
    assert_eq!(report.duplicate_pairs(&index), vec![(0, 1)]);
    let rock = &report.genres[1];
    assert_eq!((rock.files, rock.unreadable), (3, 2));
    assert_eq!(report.genres[0].sample_rates.get(&22_050), Some(&3));
    assert!((report.genres[0].duration_s[1] - 0.1).abs() < 1e-9);
    let json = serde_json::to_string(&report).unwrap();
    assert!(json.contains("\"layout\":\"folder-per-genre\""));
}
