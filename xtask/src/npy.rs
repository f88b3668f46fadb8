//! Reading and atomically writing `.npy` arrays.

use std::path::Path;

use anyhow::Context;
use ndarray::Array3;
use ndarray_npy::{ReadNpyExt, WriteNpyExt};

/// Writes `array` to `path` through a temporary file in the same folder and a rename,
/// so that `path` is either absent or complete.
pub fn write_atomic(path: &Path, array: &Array3<f32>) -> anyhow::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create folder", dir.display()))?;
    let name = path.file_name().context("output path has no file name")?.to_string_lossy();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let file = std::fs::File::create(&tmp)?;
        let mut writer = std::io::BufWriter::new(file);
        array.write_npy(&mut writer)?;
        let file = writer.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        anyhow::Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("{}: cannot write", path.display()))
}

/// Reads a 3-D `f32` array.
pub fn read(path: &Path) -> anyhow::Result<Array3<f32>> {
    let file = std::fs::File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    Array3::<f32>::read_npy(std::io::BufReader::new(file))
        .with_context(|| format!("{}: not a 3-D f32 .npy", path.display()))
}
