//! `genre split --data DIR --strategy stratified|k-fold|lists|artist ...`

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use genre_dataset::TrackIndex;
use genre_dataset::split::{self, Fractions, Groups, TrackSplit};
use serde::Serialize;

use crate::args::{SplitOptions, SplitStrategy};

/// `genre split`'s arguments.
#[derive(Debug, clap::Args)]
pub struct SplitArgs {
    /// The collection.
    #[arg(long)]
    pub data: PathBuf,
    /// How to split.
    #[command(flatten)]
    pub split: SplitOptions,
    /// Where to write the split as JSON.
    #[arg(long, default_value = "out/split.json")]
    pub out: PathBuf,
    /// Also write the sets as list files `DIR/{train,valid,test}_<list-kind>.txt`.
    #[arg(long, value_name = "DIR")]
    pub lists_out: Option<PathBuf>,
}

/// What `split` writes: the track ids of each set, and what was asked for.
#[derive(Serialize)]
struct SplitFile<'a> {
    data: &'a std::path::Path,
    strategy: String,
    seed: u64,
    train: Vec<&'a str>,
    valid: Vec<&'a str>,
    test: Vec<&'a str>,
    missing_from_lists: &'a [String],
}

/// The split `options` ask for, and the listed files that are missing (lists).
pub fn make(index: &TrackIndex, options: &SplitOptions) -> anyhow::Result<(TrackSplit, Vec<String>)> {
    let n = index.tracks().len();
    let mut groups = Groups::singletons(n);
    if let Some(path) = &options.validation {
        let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
        let report: ValidationReportIds =
            serde_json::from_str(&text).with_context(|| format!("{}: not a validation report", path.display()))?;
        let pairs = split::pairs_from_id_groups(index, &report.duplicates);
        println!("keeping {} duplicate pairs together (from {})", pairs.len(), path.display());
        groups = groups.merge(&Groups::from_pairs(n, &pairs));
    }
    if let Some(path) = &options.artist_index {
        anyhow::ensure!(
            options.strategy != SplitStrategy::Lists,
            "--artist-index groups tracks for stratified or k-fold splits; list files fix the sets themselves"
        );
        groups = groups.merge(&split::artist_groups(index, path)?);
    }
    let [train, valid, test] =
        <[f64; 3]>::try_from(options.fractions.as_slice()).context("--fractions takes three numbers")?;
    let fractions = Fractions { train, valid, test };
    let seed = options.seed;
    Ok(match options.strategy {
        SplitStrategy::Stratified => (split::stratified(index, fractions, seed, &groups)?, Vec::new()),
        SplitStrategy::KFold => {
            (split::k_fold(index, options.folds, options.fold, options.valid_fraction, seed, &groups)?, Vec::new())
        }
        SplitStrategy::Artist => {
            options.artist_index.as_deref().context("--strategy artist needs --artist-index FILE")?;
            (split::stratified(index, fractions, seed, &groups)?, Vec::new())
        }
        SplitStrategy::Lists => {
            let dir = options.lists.as_deref().context("--strategy lists needs --lists DIR")?;
            let paths = ["train", "valid", "test"].map(|p| dir.join(format!("{p}_{}.txt", options.list_kind)));
            let listed = match split::from_lists(index, [&paths[0], &paths[1], &paths[2]], options.allow_missing) {
                Err(e @ genre_dataset::DatasetError::MissingListed { .. }) => anyhow::bail!("{e} (--allow-missing)"),
                other => other?,
            };
            if !listed.missing.is_empty() {
                println!(
                    "{} listed files are not in {} (going on without them, --allow-missing):",
                    listed.missing.len(),
                    index.root().display()
                );
                for chunk in listed.missing.chunks(8) {
                    println!("  {}", chunk.join("  "));
                }
            }
            (listed.split, listed.missing)
        }
    })
}

/// Runs `genre split`.
pub fn run(args: SplitArgs) -> anyhow::Result<ExitCode> {
    let index = TrackIndex::open(&args.data)?;
    let (sets, missing) = make(&index, &args.split)?;
    println!("{:<12} {:>6} {:>6} {:>6}", "genre", "train", "valid", "test");
    let counts = sets.counts(&index);
    for (genre, c) in index.labels().iter().zip(&counts) {
        println!("{:<12} {:>6} {:>6} {:>6}", genre, c[0], c[1], c[2]);
    }
    let total = |p: usize| counts.iter().map(|c| c[p]).sum::<usize>();
    println!("{:<12} {:>6} {:>6} {:>6}", "all", total(0), total(1), total(2));
    let ids = |v: &[usize]| v.iter().map(|&i| index.tracks()[i].id.as_str()).collect::<Vec<_>>();
    let file = SplitFile {
        data: &args.data,
        strategy: format!("{:?}", args.split.strategy).to_lowercase(),
        seed: args.split.seed,
        train: ids(&sets.train),
        valid: ids(&sets.valid),
        test: ids(&sets.test),
        missing_from_lists: &missing,
    };
    crate::atomic::write_json(&args.out, &file)?;
    println!("split: {}", args.out.display());
    if let Some(dir) = &args.lists_out {
        // The same sets as list files, for `--strategy lists` and the PyTorch runner.
        std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
        for (part, ids) in [("train", &file.train), ("valid", &file.valid), ("test", &file.test)] {
            let path = dir.join(format!("{part}_{}.txt", args.split.list_kind));
            anyhow::ensure!(
                !path.exists(),
                "{}: exists; --lists-out never overwrites list files (choose another --list-kind or folder)",
                path.display()
            );
            crate::atomic::write(&path, |out| {
                for id in ids.iter() {
                    writeln!(out, "{id}")?;
                }
                Ok(())
            })?;
        }
        println!("lists: {}/{{train,valid,test}}_{}.txt", dir.display(), args.split.list_kind);
    }
    Ok(ExitCode::SUCCESS)
}

/// The part of a validation report `split` needs: which ids are duplicates.
#[derive(serde::Deserialize)]
struct ValidationReportIds {
    duplicates: Vec<Vec<String>>,
}
