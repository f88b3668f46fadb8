//! `genre`, the command line of the genre classifier: classify music into genres
//! (`predict`, with the models inside the binary), explain a decision (`explain`), serve
//! the web app (`serve`), tag music with pretrained musicnn (`tags`, `embed`), and work
//! with collections (`validate`, `split`, `cache`, `eda`, `features`, `train`, `eval`,
//! `compare`, `import-torch`).
//!
//! The same commands are the user half of `cargo xtask`, the project's runner, which adds
//! the developer tasks (tests, benchmarks, parity, bundling): both parse [`Command`] and
//! call [`run`], so there is one implementation. Each command's arguments live beside
//! its code in [`commands`]; argument groups several commands share are in [`args`].
//!
//! ```no_run
//! use clap::Parser;
//!
//! let cli = genre_cli::Cli::parse_from(["genre", "predict", "song.ogg", "--top-k", "2"]);
//! let code = genre_cli::finish(genre_cli::run_genre(cli));
//! # let _ = code;
//! ```

pub mod args;
pub mod atomic;
pub mod audio_files;
pub mod bundled;
pub mod commands;
pub mod npy;
pub mod pretrained;
mod process;
pub mod shared_batches;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

pub use commands::{Command, run};
pub use process::{finish, prepare_process};

/// `genre --version`: the version and the models inside the binary.
const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    "\nbundled models: gtzan (the default: GTZAN's ten genres), emotify (four genres: classical, electronic, pop, rock)",
    "\npretrained taggers: musicnn MSD and MTT, and the package's VGG baselines",
);

/// Music-genre classification: classify your music into GTZAN's ten genres, see why,
/// and train and compare models on your own collections.
#[derive(Debug, Parser)]
#[command(name = "genre", version, long_version = LONG_VERSION, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: GenreCommand,
}

/// The `genre` binary's commands: every user command, and its own shell integration.
// Parsed once per process: boxing the large variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum GenreCommand {
    /// A user command.
    #[command(flatten)]
    User(Command),
    /// Print a shell completion script for `genre` (e.g. `genre completions bash >
    /// ~/.local/share/bash-completion/completions/genre`).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write `genre`'s man pages (`genre.1` and one per command) into a folder.
    Man {
        /// The folder (created if missing).
        #[arg(long, default_value = ".")]
        out: std::path::PathBuf,
    },
}

/// Runs a parsed `genre` command line.
pub fn run_genre(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        GenreCommand::User(command) => run(command),
        GenreCommand::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "genre", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        GenreCommand::Man { out } => {
            std::fs::create_dir_all(&out)?;
            clap_mangen::generate_to(Cli::command(), &out)?;
            println!("man pages -> {}", out.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}
