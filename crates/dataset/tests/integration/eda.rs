use genre_dataset::TrackIndex;
use genre_dataset::eda::{describe, render_html};
use genre_dataset::validate::validate;
use genre_dsp::FeatureConfig;

use crate::collection;

#[test]
fn the_report_has_every_section_and_chart() {
    let root = collection::scratch("eda");
    collection::gtzan_like(root.path(), 2);
    std::fs::write(root.path().join("jazz/broken.wav"), b"RIFF").unwrap();
    let index = TrackIndex::open(root.path()).unwrap();
    let validation = validate(&index, 2, &|| {});
    let description = describe(&index, &FeatureConfig::default(), 2, &|| {});
    assert_eq!(description.tracks.iter().filter(|t| t.is_none()).count(), 1);
    assert!(description.examples.iter().all(Option::is_some));
    let html = render_html(&index, &validation, &description);
    for section in [
        "Tracks per genre",
        "Duration",
        "RMS loudness",
        "Spectral centroid",
        "Zero-crossing rate",
        "Sample rates and channels",
        "Waveform",
        "Log-mel",
        "1 unreadable files",
        "broken.wav",
    ] {
        assert!(html.contains(section), "missing {section}");
    }
    // 1 bar chart + 4 box plots + a waveform and a heat map per genre, all inline SVG.
    assert_eq!(html.matches("<svg").count(), 1 + 4 + 2 * 3);
    assert!(!html.contains("chart failed"));
}
