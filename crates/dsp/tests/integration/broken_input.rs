//! Broken input gives a one-line error naming the file, never a panic.

use std::path::Path;

use genre_dsp::{DspError, FeatureConfig, FeatureExtractor};

use crate::fixture;
use crate::odd_input::{raw_au, raw_wav};

fn expect_error(path: &Path) -> DspError {
    let extractor = FeatureExtractor::new(FeatureConfig::default()).expect("extractor");
    let err = match extractor.extract(path) {
        Ok(_) => panic!("{}: broken input was accepted", path.display()),
        Err(e) => e,
    };
    let text = err.to_string();
    assert!(!text.contains('\n'), "multi-line error: {text}");
    let name = path.file_name().expect("name").to_string_lossy();
    assert!(text.contains(name.as_ref()), "error does not name the file: {text}");
    assert_eq!(err.path(), Some(path));
    err
}

#[test]
fn broken_files_are_clear_errors() {
    let dir = fixture::scratch("broken");
    let good: Vec<u8> =
        fixture::signal(22_050, 1.0).iter().flat_map(|&s| ((s * 32767.0) as i16).to_le_bytes()).collect();
    let wav = raw_wav(1, 16, 1, 22_050, &good, good.len() as u32);
    let mut nan = raw_wav(3, 32, 1, 22_050, &[0; 4000], 4000);
    nan.extend_from_slice(&f32::NAN.to_le_bytes());
    let nan_len = (nan.len() - 44) as u32;
    nan[40..44].copy_from_slice(&nan_len.to_le_bytes());
    let mut inf = raw_wav(3, 32, 1, 22_050, &f32::INFINITY.to_le_bytes(), 4);
    inf.extend_from_slice(&[0; 8]);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty.wav", vec![]),
        ("text.wav", b"this is not audio, just some words in a file\n".to_vec()),
        ("truncated_header.wav", wav[..20].to_vec()),
        ("header_only.wav", wav[..44].to_vec()),
        ("zero_rate.wav", raw_wav(1, 16, 1, 0, &good, good.len() as u32)),
        ("zero_channels.wav", raw_wav(1, 16, 0, 22_050, &good, good.len() as u32)),
        ("nan.wav", nan),
        ("inf.wav", inf),
        // Rates no audio is recorded at: resampling from them would need gigabytes.
        ("rate_4_ghz.wav", raw_wav(1, 16, 1, 4_000_000_000, &good, good.len() as u32)),
        ("rate_1_hz.wav", raw_wav(1, 16, 1, 1, &good, good.len() as u32)),
        ("rate_1_hz.au", raw_au(3, 1, 1, &good)),
        ("zero_rate.au", raw_au(3, 1, 0, &good)),
        ("zero_channels.au", raw_au(3, 0, 22_050, &good)),
        ("truncated.au", raw_au(3, 1, 22_050, &good)[..10].to_vec()),
        ("header_only.au", raw_au(3, 1, 22_050, &[])),
        ("unknown_encoding.au", raw_au(99, 1, 22_050, &good)),
    ];
    for (name, bytes) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("write");
        let err = expect_error(&path);
        println!("{name}: {err}");
        if name.starts_with("rate_") {
            assert!(matches!(err, DspError::Resample { .. }), "{name}: {err}");
        }
    }
    let missing = dir.path().join("does_not_exist.flac");
    assert!(matches!(expect_error(&missing), DspError::Io { .. }));
}

#[test]
fn random_bytes_with_audio_extensions_are_errors() {
    let dir = fixture::scratch("random");
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    for ext in ["wav", "mp3", "ogg", "flac", "au", "m4a"] {
        let bytes: Vec<u8> = (0..5000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        let path = dir.path().join(format!("random.{ext}"));
        std::fs::write(&path, bytes).expect("write");
        expect_error(&path);
    }
}
