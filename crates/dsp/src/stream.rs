//! Decoded, down-mixed and resampled audio, pulled block by block.

use std::path::Path;

use crate::decode::{AudioDecoder, AudioInfo};
use crate::error::{DspError, Result};
use crate::resample::StreamResampler;

/// Mono audio at a fixed target rate, decoded and resampled incrementally.
///
/// Memory stays bounded by one decoded block plus the resampler's state, whatever
/// the length of the file.
pub struct AudioStream {
    decoder: AudioDecoder,
    resampler: Option<StreamResampler>,
    block: Vec<f32>,
    target_hz: u32,
    finished: bool,
    produced: u64,
}

impl AudioStream {
    /// Opens `path` for reading at `target_hz`. No resampling happens when the file
    /// already has that rate.
    pub fn open(path: impl AsRef<Path>, target_hz: u32) -> Result<Self> {
        Self::new(AudioDecoder::open(path)?, target_hz)
    }

    /// Reads what `decoder` decodes, at `target_hz` (for audio that is not in a file:
    /// [`AudioDecoder::from_reader`]).
    pub fn new(decoder: AudioDecoder, target_hz: u32) -> Result<Self> {
        let from_hz = decoder.info().sample_rate;
        let resampler = if from_hz == target_hz {
            None
        } else {
            Some(StreamResampler::new(from_hz, target_hz).map_err(|reason| DspError::Resample {
                path: decoder.path().to_path_buf(),
                from_hz,
                to_hz: target_hz,
                reason,
            })?)
        };
        Ok(AudioStream { decoder, resampler, block: Vec::new(), target_hz, finished: false, produced: 0 })
    }

    /// What the file's header says.
    pub fn info(&self) -> &AudioInfo {
        self.decoder.info()
    }

    /// The file being read.
    pub fn path(&self) -> &Path {
        self.decoder.path()
    }

    /// Appends the next samples at the target rate to `out`; returns how many.
    /// `0` means the end of the file. A file with no samples at all is an error.
    pub fn read(&mut self, out: &mut Vec<f32>) -> Result<usize> {
        let before = out.len();
        while !self.finished && out.len() == before {
            self.block.clear();
            let n = self.decoder.read_mono(&mut self.block)?;
            let path = self.decoder.path().to_path_buf();
            let from_hz = self.decoder.info().sample_rate;
            let resample_error =
                |reason: String| DspError::Resample { path: path.clone(), from_hz, to_hz: self.target_hz, reason };
            if n == 0 {
                self.finished = true;
                if let Some(r) = self.resampler.as_mut() {
                    r.finish(out).map_err(resample_error)?;
                }
            } else {
                match self.resampler.as_mut() {
                    Some(r) => r.push(&self.block, out).map_err(resample_error)?,
                    None => out.extend_from_slice(&self.block),
                }
            }
        }
        let n = out.len() - before;
        self.produced += n as u64;
        if self.finished && self.produced == 0 {
            return Err(DspError::Empty { path: self.decoder.path().to_path_buf() });
        }
        Ok(n)
    }

    /// Reads at most `max_samples` samples (all when `None`), stopping the decoder
    /// as soon as it has produced enough.
    pub fn read_up_to(&mut self, max_samples: Option<usize>) -> Result<Vec<f32>> {
        let mut out = Vec::new();
        while max_samples.is_none_or(|m| out.len() < m) {
            if self.read(&mut out)? == 0 {
                break;
            }
        }
        if let Some(m) = max_samples {
            out.truncate(m);
        }
        Ok(out)
    }
}

/// Decodes a whole file to mono at `target_hz` (like `librosa.load(path, sr=target_hz)`).
///
/// ```no_run
/// let samples = genre_dsp::load_mono("track.wav", 22_050)?;
/// # Ok::<(), genre_dsp::DspError>(())
/// ```
pub fn load_mono(path: impl AsRef<Path>, target_hz: u32) -> Result<Vec<f32>> {
    AudioStream::open(path, target_hz)?.read_up_to(None)
}
