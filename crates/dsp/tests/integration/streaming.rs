//! Clip and whole-track modes, and the fuzz test of the decoder.

use genre_dsp::{Coverage, FeatureConfig, FeatureExtractor, FeatureScale};

use crate::fixture::{self, WavFormat};
use crate::odd_input::raw_wav;

fn extractor() -> FeatureExtractor {
    FeatureExtractor::new(FeatureConfig::default()).expect("extractor")
}

#[test]
fn whole_track_keeps_a_tail_of_at_least_half_a_segment() {
    let dir = fixture::scratch("tails");
    for (seconds, expected) in [(10.0, 3), (11.0, 4), (1.0, 1), (61.0, 20)] {
        let path = dir.path().join(format!("{seconds}.wav"));
        fixture::write_wav(&path, &fixture::signal(22_050, seconds), 1, 22_050, WavFormat::Int(16));
        let f = extractor().extract_with(&path, Coverage::WholeTrack, FeatureScale::Standardized).expect("features");
        assert_eq!(f.n_segments(), expected, "{seconds} s");
    }
}

#[test]
fn whole_track_segments_equal_clip_segments() {
    let dir = fixture::scratch("whole_vs_clip");
    for rate in [22_050, 44_100] {
        let path = dir.path().join(format!("{rate}.wav"));
        fixture::write_wav(&path, &fixture::signal(rate, 40.0), 1, rate, WavFormat::Int(16));
        let clip = extractor().extract(&path).expect("clip");
        let whole = extractor().extract_with(&path, Coverage::WholeTrack, FeatureScale::Standardized).expect("whole");
        assert_eq!(whole.n_segments(), 13);
        assert_eq!(&whole.as_slice()[..clip.as_slice().len()], clip.as_slice(), "{rate} Hz");
    }
}

#[test]
fn clip_mode_stops_decoding_after_thirty_seconds() {
    // A NaN at 40 s: the clip never reaches it, the whole track does.
    let dir = fixture::scratch("stops");
    let mut samples = fixture::signal(22_050, 45.0);
    samples[22_050 * 40] = f32::NAN;
    let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    let path = dir.path().join("nan_at_40s.wav");
    std::fs::write(&path, raw_wav(3, 32, 1, 22_050, &bytes, bytes.len() as u32)).expect("write");
    extractor().extract(&path).expect("the first 30 s are fine");
    let err = extractor().extract_with(&path, Coverage::WholeTrack, FeatureScale::Standardized).expect_err("NaN");
    assert!(err.to_string().contains("non-finite"), "{err}");
}

#[test]
fn mutated_and_random_bytes_never_panic() {
    let audio = fixture::dir().join("audio");
    let seeds = [
        "music_22050_au16.au",
        "music_22050_flac.flac",
        "music_22050_ogg.ogg",
        "music_44100_mp3.mp3",
        "tones_22050_pcm16.wav",
    ];
    let dir = fixture::scratch("fuzz");
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let extractor = extractor();
    let mut outcomes = [0usize; 2];
    for seed in seeds {
        let original = std::fs::read(audio.join(seed)).expect("fixture");
        let ext = seed.rsplit('.').next().expect("extension");
        for round in 0..40 {
            let mut bytes = original.clone();
            match round % 4 {
                // Flip bytes in the header region.
                0 => (0..8).for_each(|_| {
                    let i = (next() as usize) % bytes.len().min(256);
                    bytes[i] = next() as u8;
                }),
                // Flip bytes anywhere.
                1 => (0..64).for_each(|_| {
                    let i = (next() as usize) % bytes.len();
                    bytes[i] = next() as u8;
                }),
                // Truncate.
                2 => bytes.truncate((next() as usize) % bytes.len()),
                // Random bytes after a valid header.
                _ => {
                    let keep = 64.min(bytes.len());
                    let len = bytes.len();
                    bytes[keep..].iter_mut().for_each(|b| *b = next() as u8);
                    bytes.truncate(len / 4);
                }
            }
            let path = dir.path().join(format!("{round}.{ext}"));
            std::fs::write(&path, &bytes).expect("write");
            let result = extractor.extract_with(&path, Coverage::WholeTrack, FeatureScale::Standardized);
            match result {
                Ok(f) => {
                    assert!(f.as_slice().iter().all(|v| v.is_finite()));
                    outcomes[0] += 1;
                }
                Err(e) => {
                    assert!(!e.to_string().contains('\n'));
                    outcomes[1] += 1;
                }
            }
        }
    }
    println!("fuzz: {} decoded, {} rejected", outcomes[0], outcomes[1]);
    assert!(outcomes[0] > 0 && outcomes[1] > 0, "the mutations should produce both outcomes");
}
