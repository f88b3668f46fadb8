//! `genre validate --data DIR [--out FILE.json] [--threads T]`

use std::path::PathBuf;
use std::process::ExitCode;

use genre_dataset::TrackIndex;
use indicatif::{ProgressBar, ProgressStyle};

use crate::args::default_threads;

/// `genre validate`'s arguments.
#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// The collection: GTZAN (either layout) or any `<root>/<genre>/<audio>` folder.
    #[arg(long)]
    pub data: PathBuf,
    /// Where to write the JSON report.
    #[arg(long, default_value = "out/validation.json")]
    pub out: PathBuf,
    /// Decoding threads.
    #[arg(long, default_value_t = default_threads())]
    pub threads: usize,
}

/// Runs `genre validate`.
pub fn run(args: ValidateArgs) -> anyhow::Result<ExitCode> {
    let index = TrackIndex::open(&args.data)?;
    eprintln!(
        "{}: {} tracks, {} genres, layout {:?}",
        args.data.display(),
        index.tracks().len(),
        index.labels().len(),
        index.layout()
    );
    let bar = ProgressBar::new(index.tracks().len() as u64)
        .with_style(ProgressStyle::with_template("{bar:40} {pos}/{len} files, {elapsed} elapsed, {eta} left")?);
    let report = genre_dataset::validate::validate(&index, args.threads, &|| bar.inc(1));
    bar.finish_and_clear();
    crate::atomic::write_json(&args.out, &report)?;

    println!(
        "{:<12} {:>6} {:>10} {:>9} {:>9} {:>9}  {:<22} channels",
        "genre", "files", "unreadable", "min s", "mean s", "max s", "sample rates"
    );
    for g in &report.genres {
        println!(
            "{:<12} {:>6} {:>10} {:>9.2} {:>9.2} {:>9.2}  {:<22} {}",
            g.genre,
            g.files,
            g.unreadable,
            g.duration_s[0],
            g.duration_s[1],
            g.duration_s[2],
            g.sample_rates_text(),
            g.channels_text()
        );
    }
    let unreadable: Vec<_> = report.unreadable().collect();
    println!("unreadable files: {}", unreadable.len());
    for (_, error) in &unreadable {
        println!("  {error}");
    }
    println!("groups of identical audio: {}", report.duplicates.len());
    for group in &report.duplicates {
        println!("  {}", group.join(" = "));
    }
    println!("report: {}", args.out.display());
    Ok(ExitCode::SUCCESS)
}
