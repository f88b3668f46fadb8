//! A reader for Sun/NeXT AU files (`.au`, `.snd`), GTZAN's original format.
//!
//! Symphonia has no AU demuxer, and the format is small: a 24-byte header
//! (magic, data offset, data size, encoding, sample rate, channels) followed by
//! interleaved samples. We read it incrementally and convert samples to `f32`
//! exactly as libsndfile does, so that features match librosa's.

use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

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
    Pcm16,
    Pcm24,
    Pcm32,
    Float32,
    Float64,
}

impl Encoding {
    fn from_code(code: u32) -> Option<Self> {
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
            Encoding::MuLaw | Encoding::ALaw | Encoding::Pcm8 => 1,
            Encoding::Pcm16 => 2,
            Encoding::Pcm24 => 3,
            Encoding::Pcm32 | Encoding::Float32 => 4,
            Encoding::Float64 => 8,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Encoding::MuLaw => "AU mu-law",
            Encoding::ALaw => "AU A-law",
            Encoding::Pcm8 => "AU PCM 8-bit",
            Encoding::Pcm16 => "AU PCM 16-bit",
            Encoding::Pcm24 => "AU PCM 24-bit",
            Encoding::Pcm32 => "AU PCM 32-bit",
            Encoding::Float32 => "AU float 32-bit",
            Encoding::Float64 => "AU float 64-bit",
        }
    }
}

/// An open AU file, read a block of frames at a time.
pub(crate) struct AuReader {
    path: PathBuf,
    reader: BufReader<std::fs::File>,
    encoding: Encoding,
    little_endian: bool,
    pub(crate) sample_rate: u32,
    pub(crate) channels: usize,
    /// Bytes of sample data still to read (`None`: until end of file).
    remaining: Option<u64>,
    block: Vec<u8>,
}

impl AuReader {
    /// Parses the header; `reader` is positioned at the start of the file.
    pub(crate) fn open(path: &Path, file: std::fs::File) -> Result<Self> {
        let mut reader = BufReader::with_capacity(1 << 16, file);
        let mut header = [0u8; 24];
        reader
            .read_exact(&mut header)
            .map_err(|e| header_error(path, e, "truncated AU header"))?;
        let little_endian = match [header[0], header[1], header[2], header[3]] {
            MAGIC_BE => false,
            MAGIC_LE => true,
            _ => return Err(DspError::unsupported(path, "not an AU file")),
        };
        let word = |i: usize| {
            let b = [header[i], header[i + 1], header[i + 2], header[i + 3]];
            if little_endian { u32::from_le_bytes(b) } else { u32::from_be_bytes(b) }
        };
        let (offset, size, code, sample_rate, channels) =
            (word(4), word(8), word(12), word(16), word(20));
        let encoding = Encoding::from_code(code)
            .ok_or_else(|| DspError::unsupported(path, format!("AU encoding {code}")))?;
        if sample_rate == 0 {
            return Err(DspError::malformed(path, "AU header gives a sample rate of 0"));
        }
        if channels == 0 {
            return Err(DspError::malformed(path, "AU header gives 0 channels"));
        }
        if channels > 256 {
            return Err(DspError::malformed(path, format!("AU header gives {channels} channels")));
        }
        if offset < 24 {
            return Err(DspError::malformed(path, format!("AU data offset {offset} is inside the header")));
        }
        // Skip the annotation field between the header and the data.
        let skip = u64::from(offset - 24);
        let skipped = std::io::copy(&mut (&mut reader).take(skip), &mut std::io::sink())
            .map_err(|e| DspError::io(path, e))?;
        if skipped < skip {
            return Err(DspError::malformed(path, "AU file ends before its data offset"));
        }
        let remaining = (size != u32::MAX).then_some(u64::from(size));
        Ok(AuReader {
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

    /// Reads up to `max_frames` interleaved frames, appending `f32` samples to `out`.
    /// Returns the number of frames read; 0 means the end of the data.
    /// A final partial frame (a truncated file) is dropped, as libsndfile does.
    pub(crate) fn read_interleaved(&mut self, max_frames: usize, out: &mut Vec<f32>) -> Result<usize> {
        let frame_bytes = self.encoding.bytes() * self.channels;
        let mut want = (max_frames * frame_bytes) as u64;
        if let Some(r) = self.remaining {
            want = want.min(r);
        }
        self.block.resize(want as usize, 0);
        let got = read_up_to(&mut self.reader, &mut self.block).map_err(|e| DspError::io(&self.path, e))?;
        let frames = got / frame_bytes;
        let used = frames * frame_bytes;
        if let Some(r) = self.remaining.as_mut() {
            *r = if got < want as usize { 0 } else { *r - used as u64 };
        }
        let bytes = &self.block[..used];
        out.reserve(frames * self.channels);
        match self.encoding {
            Encoding::MuLaw => out.extend(bytes.iter().map(|&b| f32::from(mulaw_to_i16(b)) / 32768.0)),
            Encoding::ALaw => out.extend(bytes.iter().map(|&b| f32::from(alaw_to_i16(b)) / 32768.0)),
            Encoding::Pcm8 => out.extend(bytes.iter().map(|&b| f32::from(b as i8) / 128.0)),
            Encoding::Pcm16 => out.extend(bytes.chunks_exact(2).map(|c| {
                let b = [c[0], c[1]];
                let v = if self.little_endian { i16::from_le_bytes(b) } else { i16::from_be_bytes(b) };
                f32::from(v) / 32768.0
            })),
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
