//! Music collections as honest training and test sets.
//!
//! Builds on [`genre_dsp`]; knows nothing of models. [`TrackIndex`] finds the tracks and
//! labels of a GTZAN copy (original `genres/<g>/<g>.000NN.au` or Kaggle
//! `genres_original/<g>/*.wav`) or of any folder of genre folders. [`split`] makes
//! track-level splits (stratified, k-fold, from list files, artist-disjoint) that keep
//! duplicates together, and [`validate`] decodes every file once to report what is
//! broken, how the audio is, and which files are the same audio.
//!
//! ```no_run
//! use genre_dataset::{TrackIndex, split};
//! let index = TrackIndex::open("data/gtzan")?;
//! let groups = split::Groups::singletons(index.tracks().len());
//! let sets = split::stratified(&index, split::Fractions::default(), 42, &groups)?;
//! println!("{} / {} / {} tracks", sets.train.len(), sets.valid.len(), sets.test.len());
//! # Ok::<(), genre_dataset::DatasetError>(())
//! ```

#![deny(missing_docs)]

pub mod cache;
#[cfg(feature = "eda")]
pub mod eda;
mod error;
mod index;
mod parallel;
pub mod segments;
pub mod split;
pub mod validate;

pub use error::{DatasetError, Result};
pub use index::{Layout, Track, TrackIndex};
