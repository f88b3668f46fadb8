//! What Python hands over as audio: a path, or `f32` samples (bytes) at some rate,
//! turned into a `genre_dsp::AudioDecoder`. Samples go in as a 32-bit float WAV held
//! in memory, which decodes to the very same values, so that arrays and files take
//! one path through resampling, segmenting and features.

use std::io::Cursor;
use std::path::PathBuf;

use genre_dsp::{AudioDecoder, DspError};

/// One input.
#[derive(Debug, Clone)]
pub enum AudioInput {
    /// A file.
    File(PathBuf),
    /// Mono `f32` samples at `rate` Hz, named `name` in results and errors.
    Samples {
        /// Native-endian `f32` values.
        bytes: Vec<u8>,
        /// Sample rate, Hz.
        rate: u32,
        /// The name that stands for the array.
        name: String,
    },
}

impl AudioInput {
    /// The name results and errors give it.
    pub fn name(&self) -> String {
        match self {
            AudioInput::File(path) => path.display().to_string(),
            AudioInput::Samples { name, .. } => name.clone(),
        }
    }

    /// A decoder for it.
    pub fn decoder(&self) -> Result<AudioDecoder, DspError> {
        match self {
            AudioInput::File(path) => AudioDecoder::open(path),
            AudioInput::Samples { bytes, rate, name } => {
                AudioDecoder::from_reader(name, Cursor::new(float_wav(bytes, *rate, name)?))
            }
        }
    }
}

/// `samples` (native-endian `f32` bytes) as a mono 32-bit float WAV file in memory.
fn float_wav(samples: &[u8], rate: u32, name: &str) -> Result<Vec<u8>, DspError> {
    let malformed = |reason: String| DspError::Malformed { path: name.into(), reason };
    if !samples.len().is_multiple_of(4) {
        return Err(malformed(format!("{} bytes are not whole f32 samples", samples.len())));
    }
    if rate == 0 {
        return Err(malformed("a sample rate of 0 Hz".into()));
    }
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut wav = Cursor::new(Vec::with_capacity(samples.len() + 64));
    let mut writer = hound::WavWriter::new(&mut wav, spec).map_err(|e| malformed(e.to_string()))?;
    for chunk in samples.chunks_exact(4) {
        let value = f32::from_ne_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        writer.write_sample(value).map_err(|e| malformed(e.to_string()))?;
    }
    writer.finalize().map_err(|e| malformed(e.to_string()))?;
    Ok(wav.into_inner())
}
