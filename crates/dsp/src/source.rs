//! Where encoded audio comes from: a file, or any seekable reader such as an upload
//! held in memory (`std::io::Cursor<Vec<u8>>`).

use std::io::{self, Read, Seek, SeekFrom};

use symphonia::core::io::MediaSource;

/// Bytes of encoded audio that can be read and sought: a [`std::fs::File`], a
/// `Cursor<Vec<u8>>`, or any reader of your own. Implemented for every type that is
/// `Read + Seek + Send + Sync`.
///
/// ```no_run
/// let bytes = std::fs::read("song.mp3")?;
/// let decoder = genre_dsp::AudioDecoder::from_reader("upload.mp3", std::io::Cursor::new(bytes))?;
/// println!("{} Hz", decoder.info().sample_rate);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait AudioSource: Read + Seek + Send + Sync {}

impl<T: Read + Seek + Send + Sync> AudioSource for T {}

/// A source whose length is known, as Symphonia's `MediaSource` wants it.
pub(crate) struct SizedSource {
    inner: Box<dyn AudioSource>,
    len: u64,
}

impl SizedSource {
    /// Measures `inner` by seeking to its end, then rewinds it.
    pub(crate) fn new(mut inner: Box<dyn AudioSource>) -> io::Result<Self> {
        let len = inner.seek(SeekFrom::End(0))?;
        inner.seek(SeekFrom::Start(0))?;
        Ok(SizedSource { inner, len })
    }

    /// The length in bytes.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Back to the first byte.
    pub(crate) fn rewind(&mut self) -> io::Result<()> {
        self.inner.seek(SeekFrom::Start(0)).map(|_| ())
    }
}

impl Read for SizedSource {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

impl Seek for SizedSource {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}

impl MediaSource for SizedSource {
    fn is_seekable(&self) -> bool {
        true
    }

    fn byte_len(&self) -> Option<u64> {
        Some(self.len)
    }
}
