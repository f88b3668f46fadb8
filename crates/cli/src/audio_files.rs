//! Expanding the files and folders named on the command line into audio files.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// What the inputs named: the audio files found, and a line for each folder that could
/// not be listed or gave no audio files.
#[derive(Debug, Default)]
pub struct AudioFiles {
    /// In input order: a file as given, a folder as its audio files (sorted, recursively).
    pub files: Vec<PathBuf>,
    /// `"<folder>: <cause>"`, one per folder that could not be used.
    pub problems: Vec<String>,
}

impl AudioFiles {
    /// The files, or every problem as one error: for commands that need every input.
    pub fn all_or_error(self) -> anyhow::Result<Vec<PathBuf>> {
        if self.problems.is_empty() { Ok(self.files) } else { Err(anyhow::Error::msg(self.problems.join("; "))) }
    }
}

/// Files are kept as given (a missing file is the decoder's error to report); folders
/// are walked, sorted and recursively, for files with an audio extension. A folder
/// reached twice (named twice, inside a folder already named, through a symbolic link,
/// or round a link loop) is walked once.
pub fn expand(inputs: &[PathBuf]) -> AudioFiles {
    let mut found = AudioFiles::default();
    let mut walked = HashSet::new();
    for input in inputs {
        if !input.is_dir() {
            found.files.push(input.clone());
        } else if !walked.contains(&canonical(input)) {
            let (files_before, problems_before) = (found.files.len(), found.problems.len());
            walk(input, &mut walked, &mut found);
            if found.files.len() == files_before && found.problems.len() == problems_before {
                found.problems.push(format!("{}: no audio files in this folder", input.display()));
            }
        }
    }
    found
}

/// A folder's canonical path, by which a link back up the tree is recognised.
fn canonical(dir: &Path) -> PathBuf {
    dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf())
}

fn walk(dir: &Path, walked: &mut HashSet<PathBuf>, found: &mut AudioFiles) {
    if !walked.insert(canonical(dir)) {
        return;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            found.problems.push(format!("{}: cannot list folder: {e}", dir.display()));
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            walk(&path, walked, found);
        } else if genre_dsp::is_audio_path(&path) {
            found.files.push(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path) {
        std::fs::write(path, b"").expect("write");
    }

    #[test]
    fn folders_are_walked_sorted_and_links_back_up_the_tree_end_the_walk() {
        let dir = tempfile::Builder::new().prefix("genre-audio-files-").tempdir().expect("a temp folder for the test");
        let root: &Path = dir.path();
        std::fs::create_dir(root.join("b")).expect("mkdir");
        touch(&root.join("b/two.wav"));
        touch(&root.join("one.flac"));
        touch(&root.join("notes.txt"));
        #[cfg(unix)]
        std::os::unix::fs::symlink(root, root.join("b/loop")).expect("symlink");
        let found = expand(&[root.to_path_buf()]);
        assert_eq!(found.files, vec![root.join("b/two.wav"), root.join("one.flac")]);
        assert!(found.problems.is_empty(), "{:?}", found.problems);
    }

    #[test]
    fn a_folder_named_twice_or_inside_another_is_walked_once_and_is_no_problem() {
        let dir =
            tempfile::Builder::new().prefix("genre-audio-files-twice-").tempdir().expect("a temp folder for the test");
        let root: &Path = dir.path();
        std::fs::create_dir(root.join("sub")).expect("mkdir");
        touch(&root.join("sub/one.wav"));
        let found = expand(&[root.to_path_buf(), root.join("sub"), root.to_path_buf()]);
        assert_eq!(found.files, vec![root.join("sub/one.wav")]);
        assert!(found.problems.is_empty(), "{:?}", found.problems);
    }

    #[test]
    fn a_folder_without_audio_is_a_problem_and_files_pass_through() {
        let dir =
            tempfile::Builder::new().prefix("genre-audio-files-empty-").tempdir().expect("a temp folder for the test");
        touch(&dir.path().join("readme.txt"));
        let missing = dir.path().join("missing.wav");
        let found = expand(&[dir.path().to_path_buf(), missing.clone()]);
        assert_eq!(found.files, vec![missing]);
        assert_eq!(found.problems.len(), 1);
        assert!(found.problems[0].ends_with("no audio files in this folder"), "{}", found.problems[0]);
        assert!(found.all_or_error().is_err());
    }
}
