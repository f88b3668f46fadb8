//! Audio in, log-mel features out: the signal-processing half of the genre classifier.
//!
//! This crate knows nothing of machine learning. It decodes audio files, mixes them
//! to mono, resamples them to 22,050 Hz and computes the Python original's features,
//! equal to librosa 0.11's numbers:
//!
//! | step | what | librosa equivalent |
//! |---|---|---|
//! | [`AudioDecoder`] | WAV, AU, FLAC, MP3, Ogg Vorbis, MP4/AAC to mono `f32`, from a file or bytes | `librosa.load(mono=True)` |
//! | [`AudioStream`], [`resample`] | resampling to 22,050 Hz, block by block | `soxr_hq` resampling |
//! | [`LogMelSpectrogram`] | STFT, Slaney mel bank, dB | `melspectrogram` + `power_to_db(ref=np.max)` |
//! | [`FeatureExtractor`] | 10 x 3 s segments, standardised | the original's `extract_features` |
//!
//! Three lines give a model's input:
//!
//! ```no_run
//! let extractor = genre_dsp::FeatureExtractor::new(genre_dsp::FeatureConfig::default())?;
//! let features = extractor.extract("song.wav")?;          // [10, 128, 130]
//! println!("{:?}", features.shape());
//! # Ok::<(), genre_dsp::DspError>(())
//! ```
//!
//! Audio that is not in a file (an upload in memory) goes in through
//! [`AudioDecoder::from_reader`] and [`FeatureExtractor::extract_decoded`]; samples
//! already decoded, at any rate, through [`resample`] and
//! [`FeatureExtractor::extract_samples`].
//!
//! Every error is a [`DspError`] that names the file and the cause; no input makes
//! this crate panic. See `examples/extract_mel.rs` for a runnable tutorial.
//!
//! ## Cargo features and licences
//!
//! `soxr` (default) resamples as librosa does, through `soxr-hq`, a port of libsoxr that
//! keeps its LGPL-2.1-or-later licence: a binary that links it must let its users relink
//! it with a modified `soxr-hq`. With `default-features = false` every dependency is
//! under MIT or Apache-2.0 (or as permissive): rubato resamples down and our own
//! Kaiser-windowed sinc with soxr HQ's bands up, within the looser resampled-audio
//! bounds of `docs/parity.md`; 22,050 Hz audio is not resampled and gives the same
//! features either way.

#![deny(missing_docs)]

mod batches;
mod decode;
pub mod descriptors;
mod error;
mod features;
pub mod mel;
mod pcm;
mod polyphase;
mod resample;
mod source;
mod stream;

pub use batches::FeatureBatches;
pub use decode::{AUDIO_EXTENSIONS, AudioDecoder, AudioInfo, is_audio_path};
pub use error::{DspError, Result};
pub use features::{
    Coverage, FeatureConfig, FeatureExtractor, FeatureKind, FeatureScale, Features, SegmentReader, musicnn_compress,
};
pub use mel::{LogMelSpectrogram, MelFilterbank};
pub use resample::{RESAMPLE_RATES_HZ, Resampler, resample};
pub use source::AudioSource;
pub use stream::{AudioStream, load_mono};

/// The version of the numbers this crate computes: raised whenever a change to the code
/// alters the features of some input under the same [`FeatureConfig`], so that caches
/// keyed on it (`genre_dataset::cache`) miss instead of serving features the current code
/// would not compute. 2: resampling through `soxr-hq` from 8 to 48 kHz; 3: also its
/// half-band and post-stages (88.2 kHz and up, 5.5 kHz and down).
pub const FEATURE_CODE_VERSION: u32 = 3;

/// The crate's README, compiled as a doc test so that its example stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeExample;
