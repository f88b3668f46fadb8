//! Writing output files atomically: a temporary file in the same folder, then a rename,
//! so that a path is either absent or complete, even if the run is killed.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

/// Writes what `fill` produces to `path`, atomically: a `tempfile` named after it in
/// the same folder, synced, then renamed over it (removed instead if anything fails).
pub fn write(path: &Path, fill: impl FnOnce(&mut dyn Write) -> anyhow::Result<()>) -> anyhow::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create folder", dir.display()))?;
    let name = path.file_name().context("output path has no file name")?.to_string_lossy();
    let result = (|| {
        let mut tmp = tempfile::Builder::new().prefix(&format!(".{name}.")).suffix(".tmp").tempfile_in(dir)?;
        let mut writer = std::io::BufWriter::new(tmp.as_file_mut());
        fill(&mut writer)?;
        writer.flush()?;
        drop(writer);
        tmp.as_file().sync_all()?;
        tmp.persist(path)?;
        anyhow::Ok(())
    })();
    result.with_context(|| format!("{}: cannot write", path.display()))
}

/// Writes `value` as pretty JSON, atomically.
pub fn write_json(path: &Path, value: &impl serde::Serialize) -> anyhow::Result<()> {
    write(path, |w| {
        serde_json::to_writer_pretty(&mut *w, value)?;
        writeln!(w)?;
        Ok(())
    })
}
