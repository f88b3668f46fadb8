//! Audio that is not in a file: bytes in memory, and samples already decoded.

use std::io::Cursor;

use genre_dsp::{AudioDecoder, Coverage, FeatureConfig, FeatureExtractor, FeatureScale, load_mono, resample};

use crate::fixture;

#[test]
fn bytes_in_memory_give_the_features_of_the_file() {
    let extractor = FeatureExtractor::new(FeatureConfig::default()).expect("extractor");
    for name in ["music_22050_au16.au", "music_22050_ogg.ogg", "music_44100_mp3.mp3", "music_44100_pcm16.wav"] {
        let path = fixture::dir().join("audio").join(name);
        let from_file = extractor.extract_with(&path, Coverage::WholeTrack, FeatureScale::Decibels).expect("file");
        let bytes = std::fs::read(&path).expect("fixture");
        // No extension hint: the content decides.
        let decoder = AudioDecoder::from_reader("upload", Cursor::new(bytes)).expect("decoder");
        let from_memory =
            extractor.extract_decoded(decoder, Coverage::WholeTrack, FeatureScale::Decibels).expect("bytes");
        assert_eq!(from_file.shape(), from_memory.shape(), "{name}");
        assert_eq!(from_file.as_slice(), from_memory.as_slice(), "{name}");
    }
}

#[test]
fn broken_bytes_are_an_error_naming_the_upload() {
    for bytes in [Vec::new(), b"RIFF\x10\x00\x00\x00WAVEfmt ".to_vec(), vec![0x55; 4096]] {
        let error = match AudioDecoder::from_reader("my song.mp3", Cursor::new(bytes)) {
            Err(error) => error,
            Ok(decoder) => decoder.read_to_end().expect_err("broken audio must not decode"),
        };
        assert!(error.to_string().starts_with("my song.mp3: "), "{error}");
    }
}

#[test]
fn samples_at_any_rate_resample_as_a_file_does() {
    let path = fixture::dir().join("audio/music_44100_pcm16.wav");
    let native = AudioDecoder::open(&path).expect("decoder").read_to_end().expect("samples");
    let resampled = resample(&native, 44_100, 22_050).expect("resample");
    assert_eq!(resampled, load_mono(&path, 22_050).expect("load"));
    assert_eq!(resample(&native, 44_100, 44_100).expect("same rate"), native);
    assert!(resample(&native, 44_100, 0).is_err());
}
