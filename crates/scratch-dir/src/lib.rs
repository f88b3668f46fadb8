//! A fresh folder for one test, removed when the test ends (passing or panicking), so
//! test runs do not pile up files in the temp dir. Dev-only: the crates' tests use it.
//!
//! ```
//! let dir = scratch_dir::ScratchDir::new("doc-example");
//! std::fs::write(dir.join("a.txt"), "x").unwrap();
//! let path = dir.to_path_buf();
//! drop(dir);
//! assert!(!path.exists());
//! ```

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// An empty folder, unique to this process and call, deleted on drop.
#[derive(Debug)]
pub struct ScratchDir(PathBuf);

impl ScratchDir {
    /// Creates `<temp>/genre-<name>-<pid>-<n>`.
    ///
    /// # Panics
    /// If the folder cannot be created (a test cannot go on without it).
    pub fn new(name: &str) -> Self {
        static CALLS: AtomicUsize = AtomicUsize::new(0);
        let n = CALLS.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("genre-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        ScratchDir(dir)
    }
}

impl std::ops::Deref for ScratchDir {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for ScratchDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<std::ffi::OsStr> for ScratchDir {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.0.as_os_str()
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
