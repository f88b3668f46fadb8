//! Opening audio files and decoding them, a block at a time, to mono `f32`.
//!
//! [`AudioDecoder`] hides Symphonia (WAV, FLAC, MP3, Ogg Vorbis, MP4/AAC) and our own
//! AU reader behind one small API. Samples are converted to `f32` the way libsndfile
//! does (so librosa sees the same numbers), and channels are averaged to mono the
//! way `librosa.to_mono` does (an `f32` sum in channel order, then a division).

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use symphonia::core::codecs::audio::{AudioDecoder as SymphoniaAudioDecoder, AudioDecoderOptions};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

use crate::error::{DspError, Result};
use crate::pcm::{MAGIC_BE, MAGIC_LE, PcmReader};
use crate::source::{AudioSource, SizedSource};

/// File extensions this crate decodes, lower case. Folders are walked for these.
pub const AUDIO_EXTENSIONS: &[&str] = &["wav", "wave", "au", "snd", "flac", "mp3", "ogg", "oga", "m4a", "mp4", "aac"];

/// Whether `path` has one of the [`AUDIO_EXTENSIONS`] (case-insensitive).
pub fn is_audio_path(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| AUDIO_EXTENSIONS.iter().any(|a| a.eq_ignore_ascii_case(e)))
}

/// What a file holds, as its header tells it.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioInfo {
    /// Sample rate in Hz (never 0).
    pub sample_rate: u32,
    /// Number of channels in the file (never 0); decoding down-mixes them.
    pub channels: usize,
    /// Number of frames, if the container says.
    pub frames: Option<u64>,
    /// Short codec description, e.g. `"pcm_s16le"` or `"AU PCM 16-bit"`.
    pub codec: String,
}

/// An audio file being decoded to mono `f32` at its own sample rate.
///
/// ```no_run
/// # fn main() -> genre_dsp::Result<()> {
/// let mut decoder = genre_dsp::AudioDecoder::open("song.flac")?;
/// let mut mono = Vec::new();
/// while decoder.read_mono(&mut mono)? > 0 {}
/// println!("{} samples at {} Hz", mono.len(), decoder.info().sample_rate);
/// # Ok(()) }
/// ```
pub struct AudioDecoder {
    path: PathBuf,
    info: AudioInfo,
    source: Source,
    /// Interleaved samples of the block being down-mixed.
    interleaved: Vec<f32>,
    frames_read: u64,
}

enum Source {
    Pcm(PcmReader),
    Symphonia { format: Box<dyn FormatReader>, decoder: Box<dyn SymphoniaAudioDecoder>, track_id: u32 },
    Finished,
}

/// Frames per block when reading AU and PCM WAV files.
const PCM_BLOCK_FRAMES: usize = 16_384;

impl AudioDecoder {
    /// Opens `path` and reads its header. The format is recognised from the content;
    /// the extension is only a hint.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|e| DspError::io(path, e))?;
        Self::from_reader(path, file)
    }

    /// Reads encoded audio from `source` (an upload in memory, a network stream
    /// buffered to a `Cursor`, ...); `name` stands for the file in errors, and its
    /// extension, if any, is a hint to the format.
    ///
    /// ```
    /// let bytes = b"not audio".to_vec();
    /// let error = genre_dsp::AudioDecoder::from_reader("upload.wav", std::io::Cursor::new(bytes)).err().unwrap();
    /// assert!(error.to_string().starts_with("upload.wav: "));
    /// ```
    pub fn from_reader(name: impl AsRef<Path>, source: impl AudioSource + 'static) -> Result<Self> {
        let path = name.as_ref();
        let mut source = SizedSource::new(Box::new(source)).map_err(|e| DspError::io(path, e))?;
        if source.len() == 0 {
            return Err(DspError::malformed(path, "file is empty"));
        }
        let mut magic = [0u8; 12];
        let magic_len = read_prefix(&mut source, &mut magic).map_err(|e| DspError::io(path, e))?;
        source.rewind().map_err(|e| DspError::io(path, e))?;
        let is_au = magic_len >= 4 && (magic[..4] == MAGIC_BE || magic[..4] == MAGIC_LE);
        let is_wav = magic_len == 12 && &magic[..4] == b"RIFF" && &magic[8..12] == b"WAVE";
        let (info, source) = if is_au {
            pcm_source(PcmReader::open_au(path, source)?)
        } else if is_wav {
            match PcmReader::open_wav(path, source)? {
                Ok(reader) => pcm_source(reader),
                Err(mut source) => {
                    source.rewind().map_err(|e| DspError::io(path, e))?;
                    open_symphonia(path, source)?
                }
            }
        } else {
            open_symphonia(path, source)?
        };
        Ok(AudioDecoder { path: path.to_path_buf(), info, source, interleaved: Vec::new(), frames_read: 0 })
    }

    /// The file being decoded.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sample rate, channels and codec of the file.
    pub fn info(&self) -> &AudioInfo {
        &self.info
    }

    /// Decodes the next block and appends it to `out` as mono samples.
    /// Returns the number of samples appended; `0` means the end of the audio.
    ///
    /// A file that stops early (a truncated data chunk, a cut-off stream) ends
    /// where its data ends, as libsndfile does. A NaN or infinite sample is an error.
    pub fn read_mono(&mut self, out: &mut Vec<f32>) -> Result<usize> {
        if let Source::Pcm(reader) = &mut self.source
            && !reader.may_be_non_finite()
        {
            // Integer samples: always finite, and mixed as they are converted.
            let frames = reader.read_mono(PCM_BLOCK_FRAMES, &mut self.interleaved, out)?;
            if frames == 0 {
                self.source = Source::Finished;
            }
            self.frames_read += frames as u64;
            return Ok(frames);
        }
        self.interleaved.clear();
        let frames = match &mut self.source {
            Source::Finished => 0,
            Source::Pcm(reader) => reader.read_interleaved(PCM_BLOCK_FRAMES, &mut self.interleaved)?,
            Source::Symphonia { format, decoder, track_id } => {
                next_symphonia_block(&self.path, format.as_mut(), decoder.as_mut(), *track_id, &mut self.interleaved)?
                    .unwrap_or(0)
            }
        };
        if frames == 0 || self.interleaved.is_empty() {
            self.source = Source::Finished;
            return Ok(0);
        }
        let channels = self.interleaved.len() / frames;
        // A boolean OR needs no order, so unlike `position` this check vectorises.
        let any_bad = self.interleaved.iter().fold(false, |acc, s| acc | !s.is_finite());
        if let Some(i) = any_bad.then(|| self.interleaved.iter().position(|s| !s.is_finite())).flatten() {
            return Err(DspError::NonFinite {
                path: self.path.clone(),
                frame: self.frames_read + (i / channels) as u64,
                value: self.interleaved[i],
            });
        }
        downmix_into(&self.interleaved, channels, out);
        self.frames_read += frames as u64;
        Ok(frames)
    }

    /// Decodes the whole file to mono samples at its own rate.
    pub fn read_to_end(mut self) -> Result<Vec<f32>> {
        let mut out = Vec::with_capacity(self.info.frames.unwrap_or(0).min(1 << 26) as usize);
        while self.read_mono(&mut out)? > 0 {}
        if out.is_empty() {
            return Err(DspError::Empty { path: self.path });
        }
        Ok(out)
    }
}

/// Averages interleaved channels into `out`, as `numpy.mean(y, axis=0)` on `f32`.
pub(crate) fn downmix_into(interleaved: &[f32], channels: usize, out: &mut Vec<f32>) {
    if channels == 1 {
        out.extend_from_slice(interleaved);
        return;
    }
    if channels == 2 {
        // Stereo, most files: a fixed-size frame lets the compiler vectorise the mix.
        out.extend(interleaved.chunks_exact(2).map(|frame| (frame[0] + frame[1]) / 2.0));
        return;
    }
    let n = channels as f32;
    out.extend(interleaved.chunks_exact(channels).map(|frame| {
        let mut sum = frame[0];
        for &s in &frame[1..] {
            sum += s;
        }
        sum / n
    }));
}

fn pcm_source(reader: PcmReader) -> (AudioInfo, Source) {
    let info = AudioInfo {
        sample_rate: reader.sample_rate,
        channels: reader.channels,
        frames: reader.frames_hint(),
        codec: reader.codec_name().to_string(),
    };
    (info, Source::Pcm(reader))
}

/// Reads up to `buf.len()` bytes from the start of `file`; returns how many.
fn read_prefix(file: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

fn open_symphonia(path: &Path, file: SizedSource) -> Result<(AudioInfo, Source)> {
    let stream = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(ext);
    }
    let format = symphonia::default::get_probe()
        .probe(&hint, stream, FormatOptions::default(), MetadataOptions::default())
        .map_err(|e| symphonia_open_error(path, e))?;
    let track = format.default_track(TrackType::Audio).ok_or_else(|| DspError::unsupported(path, "no audio track"))?;
    let track_id = track.id;
    let frames = track.num_frames;
    let params = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .ok_or_else(|| DspError::unsupported(path, "the audio track has no codec parameters"))?
        .clone();
    let sample_rate = match params.sample_rate {
        Some(0) | None => return Err(DspError::malformed(path, "sample rate is 0 or missing")),
        Some(rate) => rate,
    };
    let channels = params.channels.as_ref().map(|c| c.count()).unwrap_or(0);
    if channels == 0 {
        return Err(DspError::malformed(path, "the file has 0 channels"));
    }
    let decoder = symphonia::default::get_codecs()
        .make_audio_decoder(&params, &AudioDecoderOptions::default())
        .map_err(|e| symphonia_open_error(path, e))?;
    let codec = decoder.codec_info().short_name.to_string();
    let info = AudioInfo { sample_rate, channels, frames, codec };
    Ok((info, Source::Symphonia { format, decoder, track_id }))
}

fn symphonia_open_error(path: &Path, e: SymphoniaError) -> DspError {
    match e {
        SymphoniaError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            DspError::malformed(path, "file ends inside its header")
        }
        SymphoniaError::IoError(io) => DspError::io(path, io),
        // Symphonia's prober prefixes its module: "core (probe): no suitable format reader found".
        SymphoniaError::Unsupported(what) => {
            DspError::unsupported(path, what.strip_prefix("core (probe): ").unwrap_or(what))
        }
        other => DspError::malformed(path, other.to_string()),
    }
}

/// Reads packets until one decodes; appends its interleaved samples to `out`.
/// Returns `None` at the end of the stream (or where a truncated stream stops).
fn next_symphonia_block(
    path: &Path,
    format: &mut dyn FormatReader,
    decoder: &mut dyn SymphoniaAudioDecoder,
    track_id: u32,
    out: &mut Vec<f32>,
) -> Result<Option<usize>> {
    loop {
        let packet = match format.next_packet() {
            Ok(Some(packet)) => packet,
            Ok(None) | Err(SymphoniaError::ResetRequired) => return Ok(None),
            // A file cut short ends where its data ends.
            Err(SymphoniaError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(SymphoniaError::IoError(e)) => return Err(DspError::io(path, e)),
            Err(e) => return Err(DspError::malformed(path, e.to_string())),
        };
        if packet.track_id != track_id {
            continue;
        }
        match decoder.decode(&packet) {
            Ok(buffer) => {
                let frames = buffer.frames();
                if frames == 0 {
                    continue;
                }
                buffer.copy_to_vec_interleaved(out);
                return Ok(Some(frames));
            }
            // A damaged packet is skipped, as players and libsndfile do.
            Err(SymphoniaError::DecodeError(_)) | Err(SymphoniaError::IoError(_)) => continue,
            Err(e) => return Err(DspError::malformed(path, e.to_string())),
        }
    }
}
