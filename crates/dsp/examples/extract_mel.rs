//! Tutorial: the genre classifier's features in your own crate.
//!
//! ```text
//! cargo run --release -p genre-dsp --example extract_mel -- fixtures/audio/music_22050_flac.flac
//! ```
//!
//! Add `genre-dsp` to your `Cargo.toml` and the model input is three lines away:
//! a [`genre_dsp::FeatureConfig`] (the Python original's values by default), a
//! [`genre_dsp::FeatureExtractor`], and `extract`. Every error names the file and the cause.

use genre_dsp::{Coverage, FeatureConfig, FeatureExtractor, FeatureScale};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: extract_mel AUDIO_FILE")?;

    // 1. The original's features: 30 s, 10 segments of 3 s, standardised 128 x 130 log-mel.
    let extractor = FeatureExtractor::new(FeatureConfig::default())?;
    let features = extractor.extract(&path)?;
    println!("{path}: features {:?}", features.shape());

    // 2. Per segment: the mean and range of the standardised values.
    for (i, segment) in (0..features.n_segments()).filter_map(|i| features.segment(i)).enumerate() {
        let (lo, hi) = segment.iter().fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        println!("  segment {i}: min {lo:+.2} max {hi:+.2}");
    }

    // 3. Other views of the same file: every 3 s segment, or the log-mel in dB.
    let whole = extractor.extract_with(&path, Coverage::WholeTrack, FeatureScale::Decibels)?;
    println!("whole track: {} segments of log-mel dB", whole.n_segments());

    // 4. The configuration travels with models and caches as JSON.
    println!("config: {}", serde_json::to_string(extractor.config())?);
    Ok(())
}
