//! Argument groups that several commands share. A command's own arguments live beside
//! it in `commands/`.

use std::path::PathBuf;

/// What of a file a model reads, when the model's own default will not do.
#[derive(Debug, clap::Args)]
pub struct ReadsArgs {
    /// Every 3 s segment of the file instead of the first 30 s (the default for a model
    /// trained with `train --whole-track`, such as the bundled one).
    #[arg(long, conflicts_with = "first_30s")]
    pub whole_track: bool,
    /// Only the first 30 s (ten segments), as the Python original: the default for
    /// models trained on the first 30 s.
    #[arg(long = "first-30s")]
    pub first_30s: bool,
}

impl ReadsArgs {
    /// `Some(true)` for whole tracks, `Some(false)` for the first 30 s, `None` for the
    /// model's default ([`genre_models::checkpoint::CheckpointHeader::coverage`]).
    pub fn whole_track(&self) -> Option<bool> {
        if self.whole_track {
            Some(true)
        } else if self.first_30s {
            Some(false)
        } else {
            None
        }
    }
}

/// How to split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SplitStrategy {
    /// Stratified by genre, --fractions of each genre (default 70/15/15).
    Stratified,
    /// Stratified k-fold: --fold of --folds is the test set.
    KFold,
    /// From list files: --lists DIR holding train/valid/test lists.
    Lists,
    /// Stratified, keeping each artist of --artist-index in one set.
    Artist,
}

/// How to split a collection by track (shared by `split` and `train`).
#[derive(Debug, Clone, clap::Args)]
pub struct SplitOptions {
    /// The strategy.
    #[arg(long, value_enum, default_value_t = SplitStrategy::Stratified)]
    pub strategy: SplitStrategy,
    /// Seed of the shuffle.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Train, validation and test fractions (stratified, artist).
    #[arg(long, value_delimiter = ',', default_values_t = [0.70, 0.15, 0.15])]
    pub fractions: Vec<f64>,
    /// Number of folds (k-fold).
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
    /// Which fold is the test set, 0-based (k-fold).
    #[arg(long, default_value_t = 0)]
    pub fold: usize,
    /// Share of the non-test tracks used for validation (k-fold).
    #[arg(long, default_value_t = 0.15)]
    pub valid_fraction: f64,
    /// Folder of list files `train_<kind>.txt`, `valid_<kind>.txt`, `test_<kind>.txt` (lists).
    #[arg(long)]
    pub lists: Option<PathBuf>,
    /// Which lists: e.g. `filtered` (fault-filtered GTZAN) or `stratified` (lists).
    #[arg(long, default_value = "filtered")]
    pub list_kind: String,
    /// Go on when listed files are missing from the collection (lists).
    #[arg(long)]
    pub allow_missing: bool,
    /// Sturm's GTZAN artist index: each artist's tracks stay in one set (artist, or
    /// stratified and k-fold); tracks it lists with no artist stay with their genre's
    /// other unnamed tracks.
    #[arg(long)]
    pub artist_index: Option<PathBuf>,
    /// A report from `validate`: its duplicates are kept in one set.
    #[arg(long)]
    pub validation: Option<PathBuf>,
}

/// The default of every `--threads`: the machine's cores.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Sizes the global thread pool (Burn's CPU backend and our own parallel loops) to
/// `threads`, once, before any work starts.
pub fn use_threads(threads: usize) -> anyhow::Result<()> {
    anyhow::ensure!(threads > 0, "--threads must be at least 1");
    // Fails only when the pool already exists (a second command in one process): then
    // the first size stands.
    let _ = rayon::ThreadPoolBuilder::new().num_threads(threads).build_global();
    Ok(())
}
