//! `genre import-torch STATE_DICT.pt --arch A --labels a,b,... --out MODEL`

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use genre_models::checkpoint::{Checkpoint, Precision};
use genre_models::{Architecture, DeviceKind, StateDict};

/// `genre import-torch`'s arguments.
#[derive(Debug, clap::Args)]
pub struct ImportTorchArgs {
    /// A PyTorch state_dict (`torch.save(model.state_dict())`, or wrapped as {"state_dict": ...}).
    pub state_dict: PathBuf,
    /// The original's architecture the state_dict belongs to.
    #[arg(long, value_enum)]
    pub arch: Architecture,
    /// Genre names in the model's output order, comma-separated.
    #[arg(long, value_delimiter = ',', required = true)]
    pub labels: Vec<String>,
    /// The model file to write.
    #[arg(long)]
    pub out: PathBuf,
}

/// Runs `genre import-torch`.
pub fn run(args: ImportTorchArgs) -> anyhow::Result<ExitCode> {
    let arch = args.arch;
    anyhow::ensure!(
        arch.musicnn_source().is_none(),
        "--arch {arch}: import-torch reads the original's architectures (crnn-bigru, crnn-bilstm, transformer)"
    );
    let device = DeviceKind::Cpu.device()?;
    let dict = StateDict::read_pytorch(&args.state_dict)?;
    let config = arch.default_config(args.labels.len());
    let model = config
        .load(&dict, &device)
        .with_context(|| format!("{}: labels give {} classes", args.state_dict.display(), args.labels.len()))?;
    let mut checkpoint = Checkpoint::new(&model, config, args.labels.clone(), genre_dsp::FeatureConfig::default());
    checkpoint.header.notes = serde_json::json!({ "imported_from": args.state_dict.display().to_string() });
    checkpoint.save(&args.out, Precision::F32)?;
    println!(
        "{}: {} tensors -> {} ({arch}, labels {})",
        args.state_dict.display(),
        dict.len(),
        args.out.display(),
        args.labels.join(",")
    );
    Ok(ExitCode::SUCCESS)
}
