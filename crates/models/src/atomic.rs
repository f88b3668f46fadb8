//! Writing a file atomically: `tempfile` in the same folder, synced, then renamed over
//! the path, so a reader sees the old file or the whole new one, never a part.

use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` atomically (the folder must exist).
pub(crate) fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut file = tempfile::Builder::new().prefix(".").suffix(".tmp").tempfile_in(dir)?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}
