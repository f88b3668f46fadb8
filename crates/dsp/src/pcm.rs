//! Our reader for uncompressed audio: Sun/NeXT AU (GTZAN's original format) and
//! plain PCM/float/G.711 WAV.
//!
//! Symphonia has no AU demuxer, and for WAV a direct reader is several times faster
//! than a general demuxer and decodes a truncated data chunk up to where it stops,
//! as libsndfile does. Both formats are a header followed by interleaved samples; the
//! header parsers below fill in a [`PcmLayout`] and one reader converts samples to
//! `f32` exactly as libsndfile does, so that features match librosa's. WAV files in
//! any other encoding (ADPCM, MPEG, ...) go to Symphonia instead.

use std::io::{BufReader, Read};

use crate::source::SizedSource;
use std::path::{Path, PathBuf};

use crate::decode::downmix_into;
use crate::error::{DspError, Result};

/// The 4 bytes that open a big-endian AU file.
pub(crate) const MAGIC_BE: [u8; 4] = *b".snd";
/// The 4 bytes that open the rare little-endian variant.
pub(crate) const MAGIC_LE: [u8; 4] = *b"dns.";

/// The sample encodings this reader understands (libsndfile's set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    MuLaw,
    ALaw,
    Pcm8,
    PcmU8,
    Pcm16,
    Pcm24,
    Pcm32,
    Float32,
    Float64,
}

impl Encoding {
    fn from_au_code(code: u32) -> Option<Self> {
        Some(match code {
            1 => Encoding::MuLaw,
            2 => Encoding::Pcm8,
            3 => Encoding::Pcm16,
            4 => Encoding::Pcm24,
            5 => Encoding::Pcm32,
            6 => Encoding::Float32,
            7 => Encoding::Float64,
            27 => Encoding::ALaw,
            _ => return None,
        })
    }

    fn bytes(self) -> usize {
        match self {
            Encoding::MuLaw | Encoding::ALaw | Encoding::Pcm8 | Encoding::PcmU8 => 1,
            Encoding::Pcm16 => 2,
            Encoding::Pcm24 => 3,
            Encoding::Pcm32 | Encoding::Float32 => 4,
            Encoding::Float64 => 8,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Encoding::MuLaw => "mu-law",
            Encoding::ALaw => "A-law",
            Encoding::Pcm8 => "PCM signed 8-bit",
            Encoding::PcmU8 => "PCM unsigned 8-bit",
            Encoding::Pcm16 => "PCM 16-bit",
            Encoding::Pcm24 => "PCM 24-bit",
            Encoding::Pcm32 => "PCM 32-bit",
            Encoding::Float32 => "float 32-bit",
            Encoding::Float64 => "float 64-bit",
        }
    }
}

/// An open AU or WAV file, read a block of frames at a time.
pub(crate) struct PcmReader {
    path: PathBuf,
    reader: BufReader<SizedSource>,
    encoding: Encoding,
    little_endian: bool,
    pub(crate) sample_rate: u32,
    pub(crate) channels: usize,
    /// Bytes of sample data still to read (`None`: until end of file).
    remaining: Option<u64>,
    block: Vec<u8>,
}

impl PcmReader {
    /// Parses an AU header; `file` is positioned at the start.
    pub(crate) fn open_au(path: &Path, file: SizedSource) -> Result<Self> {
        let mut reader = BufReader::with_capacity(1 << 16, file);
        let mut header = [0u8; 24];
        reader.read_exact(&mut header).map_err(|e| header_error(path, e, "truncated AU header"))?;
        let little_endian = match [header[0], header[1], header[2], header[3]] {
            MAGIC_BE => false,
            MAGIC_LE => true,
            _ => return Err(DspError::unsupported(path, "not an AU file")),
        };
        let word = |i: usize| {
            let b = [header[i], header[i + 1], header[i + 2], header[i + 3]];
            if little_endian { u32::from_le_bytes(b) } else { u32::from_be_bytes(b) }
        };
        let (offset, size, code, sample_rate, channels) = (word(4), word(8), word(12), word(16), word(20));
        let encoding =
            Encoding::from_au_code(code).ok_or_else(|| DspError::unsupported(path, format!("AU encoding {code}")))?;
        if offset < 24 {
            return Err(DspError::malformed(path, format!("AU data offset {offset} is inside the header")));
        }
        // Skip the annotation field between the header and the data.
        skip(path, &mut reader, u64::from(offset - 24), "AU file ends before its data offset")?;
        let remaining = (size != u32::MAX).then_some(u64::from(size));
        Self::new(path, reader, encoding, little_endian, sample_rate, channels, remaining)
    }

    /// Parses a RIFF/WAVE header; `file` is positioned at the start. Gives the
    /// source back (`Err`) for a valid WAV whose encoding this reader does not handle
    /// (ADPCM, MPEG, ...), for Symphonia to read.
    pub(crate) fn open_wav(path: &Path, file: SizedSource) -> Result<std::result::Result<Self, SizedSource>> {
        let mut reader = BufReader::with_capacity(1 << 16, file);
        let mut riff = [0u8; 12];
        reader.read_exact(&mut riff).map_err(|e| header_error(path, e, "truncated WAV header"))?;
        if &riff[0..4] != b"RIFF" || &riff[8..12] != b"WAVE" {
            return Ok(Err(reader.into_inner()));
        }
        let mut format: Option<(Encoding, u32, u32)> = None;
        loop {
            let mut chunk = [0u8; 8];
            reader.read_exact(&mut chunk).map_err(|e| header_error(path, e, "WAV file has no data chunk"))?;
            let size = u32::from_le_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]);
            match &chunk[0..4] {
                b"fmt " => {
                    let mut fmt = vec![0u8; (size as usize).min(64)];
                    reader.read_exact(&mut fmt).map_err(|e| header_error(path, e, "truncated WAV fmt chunk"))?;
                    skip(
                        path,
                        &mut reader,
                        u64::from(size) - fmt.len() as u64 + u64::from(size & 1),
                        "truncated WAV fmt chunk",
                    )?;
                    format = match parse_wav_fmt(path, &fmt)? {
                        Some(f) => Some(f),
                        None => return Ok(Err(reader.into_inner())),
                    };
                }
                b"data" => {
                    let Some((encoding, sample_rate, channels)) = format else {
                        return Ok(Err(reader.into_inner())); // data before fmt: leave it to Symphonia
                    };
                    return Self::new(path, reader, encoding, true, sample_rate, channels, Some(u64::from(size)))
                        .map(Ok);
                }
                _ => skip(path, &mut reader, u64::from(size) + u64::from(size & 1), "WAV file has no data chunk")?,
            }
        }
    }

    fn new(
        path: &Path,
        reader: BufReader<SizedSource>,
        encoding: Encoding,
        little_endian: bool,
        sample_rate: u32,
        channels: u32,
        remaining: Option<u64>,
    ) -> Result<Self> {
        if sample_rate == 0 {
            return Err(DspError::malformed(path, "header gives a sample rate of 0"));
        }
        if channels == 0 {
            return Err(DspError::malformed(path, "header gives 0 channels"));
        }
        if channels > 1024 {
            return Err(DspError::malformed(path, format!("header gives {channels} channels")));
        }
        Ok(PcmReader {
            path: path.to_path_buf(),
            reader,
            encoding,
            little_endian,
            sample_rate,
            channels: channels as usize,
            remaining,
            block: Vec::new(),
        })
    }

    /// A short name of the codec, for reports.
    pub(crate) fn codec_name(&self) -> &'static str {
        self.encoding.name()
    }

    /// Number of frames the header promises, if it gives a size.
    pub(crate) fn frames_hint(&self) -> Option<u64> {
        self.remaining.map(|r| r / (self.encoding.bytes() * self.channels) as u64)
    }

    /// Whether samples may be NaN or infinite (float encodings); integer ones never are.
    pub(crate) fn may_be_non_finite(&self) -> bool {
        matches!(self.encoding, Encoding::Float32 | Encoding::Float64)
    }

    /// Reads up to `max_frames` frames and appends them to `out` averaged to mono, as
    /// [`PcmReader::read_interleaved`] and [`downmix_into`] would (`scratch` holds the
    /// interleaved samples). 16-bit little-endian mono and stereo, most WAV files, are
    /// converted and mixed in one pass, to the same numbers.
    pub(crate) fn read_mono(&mut self, max_frames: usize, scratch: &mut Vec<f32>, out: &mut Vec<f32>) -> Result<usize> {
        if self.encoding == Encoding::Pcm16 && self.little_endian && self.channels <= 2 {
            let channels = self.channels;
            let frames = self.read_block(max_frames)?;
            let bytes = &self.block[..frames * 2 * channels];
            if channels == 1 {
                pcm16_le_mono(bytes, out);
            } else {
                pcm16_le_stereo_to_mono(bytes, out);
            }
            return Ok(frames);
        }
        scratch.clear();
        let frames = self.read_interleaved(max_frames, scratch)?;
        downmix_into(scratch, self.channels, out);
        Ok(frames)
    }

    /// Reads up to `max_frames` whole frames into `self.block`; returns how many.
    /// A final partial frame (a truncated file) is dropped, as libsndfile does.
    fn read_block(&mut self, max_frames: usize) -> Result<usize> {
        let frame_bytes = self.encoding.bytes() * self.channels;
        let mut want = (max_frames * frame_bytes) as u64;
        if let Some(r) = self.remaining {
            want = want.min(r);
        }
        self.block.resize(want as usize, 0);
        let got = read_up_to(&mut self.reader, &mut self.block).map_err(|e| DspError::io(&self.path, e))?;
        let frames = got / frame_bytes;
        if let Some(r) = self.remaining.as_mut() {
            *r = if got < want as usize { 0 } else { *r - (frames * frame_bytes) as u64 };
        }
        Ok(frames)
    }

    /// Reads up to `max_frames` interleaved frames, appending `f32` samples to `out`.
    /// Returns the number of frames read; 0 means the end of the data.
    pub(crate) fn read_interleaved(&mut self, max_frames: usize, out: &mut Vec<f32>) -> Result<usize> {
        let frames = self.read_block(max_frames)?;
        let bytes = &self.block[..frames * self.encoding.bytes() * self.channels];
        out.reserve(frames * self.channels);
        match self.encoding {
            Encoding::MuLaw => out.extend(bytes.iter().map(|&b| f32::from(mulaw_to_i16(b)) / 32768.0)),
            Encoding::ALaw => out.extend(bytes.iter().map(|&b| f32::from(alaw_to_i16(b)) / 32768.0)),
            Encoding::Pcm8 => out.extend(bytes.iter().map(|&b| f32::from(b as i8) / 128.0)),
            Encoding::PcmU8 => out.extend(bytes.iter().map(|&b| f32::from(b) / 128.0 - 1.0)),
            Encoding::Pcm16 if self.little_endian => {
                out.extend(bytes.chunks_exact(2).map(|c| pcm16(i16::from_le_bytes([c[0], c[1]]))))
            }
            Encoding::Pcm16 => out.extend(bytes.chunks_exact(2).map(|c| pcm16(i16::from_be_bytes([c[0], c[1]])))),
            Encoding::Pcm24 => out.extend(bytes.chunks_exact(3).map(|c| {
                let b = if self.little_endian { [0, c[0], c[1], c[2]] } else { [0, c[2], c[1], c[0]] };
                // `b` is little-endian with the sample in the top three bytes.
                (i32::from_le_bytes(b) >> 8) as f32 / 8_388_608.0
            })),
            Encoding::Pcm32 => out.extend(bytes.chunks_exact(4).map(|c| {
                let b = [c[0], c[1], c[2], c[3]];
                let v = if self.little_endian { i32::from_le_bytes(b) } else { i32::from_be_bytes(b) };
                (f64::from(v) / 2_147_483_648.0) as f32
            })),
            Encoding::Float32 => out.extend(bytes.chunks_exact(4).map(|c| {
                let b = [c[0], c[1], c[2], c[3]];
                if self.little_endian { f32::from_le_bytes(b) } else { f32::from_be_bytes(b) }
            })),
            Encoding::Float64 => out.extend(bytes.chunks_exact(8).map(|c| {
                let mut b = [0u8; 8];
                b.copy_from_slice(c);
                (if self.little_endian { f64::from_le_bytes(b) } else { f64::from_be_bytes(b) }) as f32
            })),
        }
        Ok(frames)
    }
}

/// A 16-bit sample as libsndfile converts it to `f32`.
#[inline(always)]
fn pcm16(sample: i16) -> f32 {
    f32::from(sample) / 32768.0
}

/// Frames converted per step of the two loops below: fixed-size arrays the compiler
/// turns into vector code.
const STEP: usize = 16;

/// 16-bit little-endian mono samples to `f32`, as libsndfile converts them.
fn pcm16_le_mono(bytes: &[u8], out: &mut Vec<f32>) {
    let mut chunks = bytes.chunks_exact(2 * STEP);
    let mut mono = [0.0f32; STEP];
    for chunk in &mut chunks {
        let chunk: &[u8; 2 * STEP] = chunk.try_into().expect("chunks_exact gives whole chunks");
        for (i, m) in mono.iter_mut().enumerate() {
            *m = pcm16(i16::from_le_bytes([chunk[2 * i], chunk[2 * i + 1]]));
        }
        out.extend_from_slice(&mono);
    }
    out.extend(chunks.remainder().chunks_exact(2).map(|c| pcm16(i16::from_le_bytes([c[0], c[1]]))));
}

/// 16-bit little-endian stereo frames to mono `f32`: each sample converted as
/// libsndfile does, then the two averaged as `librosa.to_mono` does.
fn pcm16_le_stereo_to_mono(bytes: &[u8], out: &mut Vec<f32>) {
    let mix = |l: i16, r: i16| (pcm16(l) + pcm16(r)) / 2.0;
    let mut chunks = bytes.chunks_exact(4 * STEP);
    let (mut left, mut right, mut mono) = ([0i16; STEP], [0i16; STEP], [0.0f32; STEP]);
    for chunk in &mut chunks {
        let chunk: &[u8; 4 * STEP] = chunk.try_into().expect("chunks_exact gives whole chunks");
        for i in 0..STEP {
            left[i] = i16::from_le_bytes([chunk[4 * i], chunk[4 * i + 1]]);
            right[i] = i16::from_le_bytes([chunk[4 * i + 2], chunk[4 * i + 3]]);
        }
        for i in 0..STEP {
            mono[i] = mix(left[i], right[i]);
        }
        out.extend_from_slice(&mono);
    }
    out.extend(
        chunks
            .remainder()
            .chunks_exact(4)
            .map(|c| mix(i16::from_le_bytes([c[0], c[1]]), i16::from_le_bytes([c[2], c[3]]))),
    );
}

/// The encoding, sample rate and channel count of a WAV `fmt ` chunk; `None` for
/// encodings left to Symphonia.
fn parse_wav_fmt(path: &Path, fmt: &[u8]) -> Result<Option<(Encoding, u32, u32)>> {
    if fmt.len() < 16 {
        return Err(DspError::malformed(path, "WAV fmt chunk is shorter than 16 bytes"));
    }
    let u16_at = |i: usize| u16::from_le_bytes([fmt[i], fmt[i + 1]]);
    let mut tag = u16_at(0);
    let channels = u32::from(u16_at(2));
    let sample_rate = u32::from_le_bytes([fmt[4], fmt[5], fmt[6], fmt[7]]);
    let block_align = usize::from(u16_at(12));
    let bits = u16_at(14);
    if tag == 0xFFFE && fmt.len() >= 26 {
        tag = u16_at(24); // WAVE_FORMAT_EXTENSIBLE: the sub-format GUID starts with the tag
    }
    // Samples sit in containers of block_align / channels bytes, left-justified.
    let container = if channels > 0 { block_align / channels as usize } else { 0 };
    let encoding = match (tag, container, bits) {
        (1, 1, _) => Encoding::PcmU8,
        (1, 2, _) => Encoding::Pcm16,
        (1, 3, _) => Encoding::Pcm24,
        (1, 4, _) => Encoding::Pcm32,
        (3, 4, 32) => Encoding::Float32,
        (3, 8, 64) => Encoding::Float64,
        (6, 1, 8) => Encoding::ALaw,
        (7, 1, 8) => Encoding::MuLaw,
        _ if channels == 0 => return Err(DspError::malformed(path, "header gives 0 channels")),
        _ => return Ok(None),
    };
    Ok(Some((encoding, sample_rate, channels)))
}

fn skip(path: &Path, reader: &mut impl Read, bytes: u64, truncated: &str) -> Result<()> {
    let skipped = std::io::copy(&mut reader.take(bytes), &mut std::io::sink()).map_err(|e| DspError::io(path, e))?;
    if skipped < bytes {
        return Err(DspError::malformed(path, truncated));
    }
    Ok(())
}

fn header_error(path: &Path, e: std::io::Error, truncated: &str) -> DspError {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        DspError::malformed(path, truncated)
    } else {
        DspError::io(path, e)
    }
}

/// Reads until `buf` is full or the reader ends; returns the bytes read.
fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// G.711 mu-law to 16-bit linear, as libsndfile's table.
fn mulaw_to_i16(byte: u8) -> i16 {
    let u = !byte;
    let exponent = (u >> 4) & 0x07;
    let mantissa = i32::from(u & 0x0f);
    let magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
    (if u & 0x80 != 0 { -magnitude } else { magnitude }) as i16
}

/// G.711 A-law to 16-bit linear, as libsndfile's table.
fn alaw_to_i16(byte: u8) -> i16 {
    let a = byte ^ 0x55;
    let mut t = i32::from(a & 0x0f) << 4;
    let segment = (a & 0x70) >> 4;
    match segment {
        0 => t += 8,
        1 => t += 0x108,
        s => {
            t += 0x108;
            t <<= s - 1;
        }
    }
    (if a & 0x80 != 0 { t } else { -t }) as i16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g711_extremes_match_libsndfile_tables() {
        // Values from libsndfile's ulaw.c / alaw.c decode tables.
        assert_eq!(mulaw_to_i16(0x00), -32124);
        assert_eq!(mulaw_to_i16(0x80), 32124);
        assert_eq!(mulaw_to_i16(0xff), 0);
        assert_eq!(mulaw_to_i16(0x7f), 0);
        assert_eq!(alaw_to_i16(0x55), -8);
        assert_eq!(alaw_to_i16(0xd5), 8);
        assert_eq!(alaw_to_i16(0x2a), -32256);
        assert_eq!(alaw_to_i16(0xaa), 32256);
    }
}
