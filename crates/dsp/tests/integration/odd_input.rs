//! Odd but valid input decodes and gives finite features.

use std::path::Path;

use genre_dsp::{Coverage, FeatureConfig, FeatureExtractor, FeatureScale};

use crate::fixture::{self, WavFormat};

fn extract(path: &Path) -> genre_dsp::Features {
    let extractor = FeatureExtractor::new(FeatureConfig::default()).expect("extractor");
    let features = extractor.extract(path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(features.shape(), [10, 128, 130]);
    assert!(features.as_slice().iter().all(|v| v.is_finite()), "{}: non-finite features", path.display());
    features
}

/// A WAV file written byte by byte, for encodings and headers hound cannot write.
pub fn raw_wav(format_tag: u16, bits: u16, channels: u16, rate: u32, data: &[u8], claimed_data_len: u32) -> Vec<u8> {
    let block_align = channels * bits / 8;
    let mut v = Vec::new();
    v.extend_from_slice(b"RIFF");
    v.extend_from_slice(&(36 + claimed_data_len).to_le_bytes());
    v.extend_from_slice(b"WAVEfmt ");
    v.extend_from_slice(&16u32.to_le_bytes());
    v.extend_from_slice(&format_tag.to_le_bytes());
    v.extend_from_slice(&channels.to_le_bytes());
    v.extend_from_slice(&rate.to_le_bytes());
    v.extend_from_slice(&rate.wrapping_mul(u32::from(block_align)).to_le_bytes());
    v.extend_from_slice(&block_align.to_le_bytes());
    v.extend_from_slice(&bits.to_le_bytes());
    v.extend_from_slice(b"data");
    v.extend_from_slice(&claimed_data_len.to_le_bytes());
    v.extend_from_slice(data);
    v
}

/// A big-endian AU file with an annotation field.
pub fn raw_au(encoding: u32, channels: u32, rate: u32, data: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    for word in [0x2e73_6e64u32, 32, data.len() as u32, encoding, rate, channels] {
        v.extend_from_slice(&word.to_be_bytes());
    }
    v.extend_from_slice(b"GTZAN!\0\0");
    v.extend_from_slice(data);
    v
}

#[test]
fn wav_sample_formats_give_the_same_features() {
    let dir = fixture::scratch("wav_formats");
    let mono = fixture::signal(22_050, 4.0);
    let reference = {
        let path = dir.path().join("float.wav");
        fixture::write_wav(&path, &mono, 1, 22_050, WavFormat::Float);
        extract(&path)
    };
    // 8-bit quantisation noise (-48 dB) is inside the 80 dB range, so only the mean stays close.
    for (name, format, max_tolerance, mean_tolerance) in [
        ("pcm8.wav", WavFormat::Int(8), 2.0, 0.1),
        ("pcm16.wav", WavFormat::Int(16), 0.01, 1e-3),
        ("pcm24.wav", WavFormat::Int(24), 1e-3, 1e-4),
        ("pcm32.wav", WavFormat::Int(32), 1e-3, 1e-4),
    ] {
        let path = dir.path().join(name);
        fixture::write_wav(&path, &mono, 1, 22_050, format);
        let f = extract(&path);
        let diffs: Vec<f32> = f.as_slice().iter().zip(reference.as_slice()).map(|(a, b)| (a - b).abs()).collect();
        let max = diffs.iter().copied().fold(0.0, f32::max);
        let mean = diffs.iter().sum::<f32>() / diffs.len() as f32;
        assert!(max <= max_tolerance && mean <= mean_tolerance, "{name}: max {max}, mean {mean} from float");
    }
    // 64-bit float, which hound cannot write.
    let bytes: Vec<u8> = mono.iter().flat_map(|&s| f64::from(s).to_le_bytes()).collect();
    let path = dir.path().join("float64.wav");
    std::fs::write(&path, raw_wav(3, 64, 1, 22_050, &bytes, bytes.len() as u32)).expect("write");
    assert_eq!(extract(&path), reference);
}

#[test]
fn silence_short_files_rates_and_channels_work() {
    let dir = fixture::scratch("odd");
    let silence = dir.path().join("silence.wav");
    fixture::write_wav(&silence, &vec![0.0; 22_050 * 30], 1, 22_050, WavFormat::Int(16));
    assert!(extract(&silence).as_slice().iter().all(|&v| v == 0.0));

    let short = dir.path().join("short.wav");
    fixture::write_wav(&short, &fixture::signal(22_050, 0.5), 1, 22_050, WavFormat::Int(16));
    let f = extract(&short);
    assert!(f.segment(0).unwrap().iter().any(|&v| v != 0.0) && f.segment(1).unwrap().iter().all(|&v| v == 0.0));
    assert!(f.segment(10).is_none() && f.segment(usize::MAX).is_none());

    let one_sample = dir.path().join("one_sample.wav");
    fixture::write_wav(&one_sample, &[0.5], 1, 22_050, WavFormat::Int(16));
    extract(&one_sample);

    for rate in [8_000, 11_025, 16_000, 44_100, 48_000, 96_000, 44_101] {
        let path = dir.path().join(format!("rate_{rate}.wav"));
        fixture::write_wav(&path, &fixture::signal(rate, 3.5), 1, rate, WavFormat::Int(16));
        extract(&path);
    }

    let six: Vec<f32> = fixture::signal(22_050, 3.0).iter().flat_map(|&s| [s, -s, 0.5 * s, 0.0, s, 0.25]).collect();
    let path = dir.path().join("six_channels.wav");
    fixture::write_wav(&path, &six, 6, 22_050, WavFormat::Int(16));
    extract(&path);
}

#[test]
fn a_five_minute_file_gives_ten_clip_segments_or_a_hundred_whole_track_segments() {
    let dir = fixture::scratch("long");
    let path = dir.path().join("five_minutes.wav");
    fixture::write_wav(&path, &fixture::signal(22_050, 300.0), 1, 22_050, WavFormat::Int(16));
    extract(&path);
    let extractor = FeatureExtractor::new(FeatureConfig::default()).expect("extractor");
    let whole = extractor.extract_with(&path, Coverage::WholeTrack, FeatureScale::Standardized).expect("whole track");
    assert_eq!(whole.n_segments(), 100);
}

#[test]
fn a_wav_with_a_short_data_chunk_decodes_what_is_there() {
    let dir = fixture::scratch("short_chunk");
    let samples = fixture::signal(22_050, 2.0);
    let bytes: Vec<u8> = samples.iter().flat_map(|&s| ((s * 32767.0) as i16).to_le_bytes()).collect();
    // The header claims 10 s; the file holds 2 s and half a sample.
    let mut file = raw_wav(1, 16, 1, 22_050, &bytes, 22_050 * 2 * 10);
    file.push(0x7f);
    let path = dir.path().join("truncated.wav");
    std::fs::write(&path, file).expect("write");
    let decoded = genre_dsp::load_mono(&path, 22_050).expect("decode");
    assert_eq!(decoded.len(), samples.len());
    extract(&path);
}

#[test]
fn au_files_in_every_encoding_decode() {
    let dir = fixture::scratch("au");
    let s = fixture::signal(22_050, 3.2);
    let encodings: [(u32, Vec<u8>); 6] = [
        (2, s.iter().map(|&x| ((x * 127.0) as i8) as u8).collect()),
        (3, s.iter().flat_map(|&x| ((x * 32767.0) as i16).to_be_bytes()).collect()),
        (4, s.iter().flat_map(|&x| (((x * 8_388_607.0) as i32) << 8).to_be_bytes()[..3].to_vec()).collect()),
        (5, s.iter().flat_map(|&x| ((f64::from(x) * 2_147_483_647.0) as i32).to_be_bytes()).collect()),
        (6, s.iter().flat_map(|&x| x.to_be_bytes()).collect()),
        (7, s.iter().flat_map(|&x| f64::from(x).to_be_bytes()).collect()),
    ];
    let reference = FeatureExtractor::new(FeatureConfig::default())
        .expect("extractor")
        .extract_samples(&s, FeatureScale::Standardized);
    for (encoding, data) in encodings {
        let path = dir.path().join(format!("enc{encoding}.au"));
        std::fs::write(&path, raw_au(encoding, 1, 22_050, &data)).expect("write");
        let f = extract(&path);
        let diffs: Vec<f32> = f.as_slice().iter().zip(reference.as_slice()).map(|(a, b)| (a - b).abs()).collect();
        let mean = diffs.iter().sum::<f32>() / diffs.len() as f32;
        assert!(mean < 0.1, "AU encoding {encoding}: mean difference {mean}");
    }
    // Stereo mu-law and A-law.
    for encoding in [1, 27] {
        let path = dir.path().join(format!("enc{encoding}.au"));
        std::fs::write(&path, raw_au(encoding, 2, 22_050, &vec![0x3c; 22_050 * 2])).expect("write");
        extract(&path);
    }
}
