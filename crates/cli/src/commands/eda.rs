//! `genre eda --data DIR [--out DIR] [--threads T]`

use std::path::PathBuf;
use std::process::ExitCode;

use genre_dataset::TrackIndex;
use genre_dsp::FeatureConfig;
use indicatif::{ProgressBar, ProgressStyle};

use crate::args::default_threads;

/// `genre eda`'s arguments.
#[derive(Debug, clap::Args)]
pub struct EdaArgs {
    /// The collection.
    #[arg(long)]
    pub data: PathBuf,
    /// Output folder: `index.html` and `validation.json`.
    #[arg(long, default_value = "out/eda")]
    pub out: PathBuf,
    /// Worker threads.
    #[arg(long, default_value_t = default_threads())]
    pub threads: usize,
}

/// Runs `genre eda`.
pub fn run(args: EdaArgs) -> anyhow::Result<ExitCode> {
    let index = TrackIndex::open(&args.data)?;
    let bar = ProgressBar::new(2 * index.tracks().len() as u64)
        .with_style(ProgressStyle::with_template("{bar:40} {pos}/{len} passes over files, {elapsed} elapsed")?);
    let validation = genre_dataset::validate::validate(&index, args.threads, &|| bar.inc(1));
    let description = genre_dataset::eda::describe(&index, &FeatureConfig::default(), args.threads, &|| bar.inc(1));
    bar.finish_and_clear();
    let html = genre_dataset::eda::render_html(&index, &validation, &description);
    let page = args.out.join("index.html");
    crate::atomic::write(&page, |w| Ok(w.write_all(html.as_bytes())?))?;
    crate::atomic::write_json(&args.out.join("validation.json"), &validation)?;
    println!(
        "{}: report for {} tracks -> {} ({} KiB)",
        args.data.display(),
        index.tracks().len(),
        page.display(),
        html.len() / 1024
    );
    Ok(ExitCode::SUCCESS)
}
