//! `cargo xtask import-torch STATE_DICT.pt --arch A --labels a,b,... --out MODEL`

use std::process::ExitCode;

use anyhow::Context;
use models::checkpoint::{Checkpoint, Precision};
use models::{Architecture, DeviceKind, StateDict};

use crate::cli::ImportTorchArgs;

pub fn run(args: ImportTorchArgs) -> anyhow::Result<ExitCode> {
    let arch: Architecture = args.arch.parse().map_err(anyhow::Error::msg)?;
    let device = DeviceKind::Cpu.device()?;
    let dict = StateDict::read_pytorch(&args.state_dict)?;
    let config = arch.default_config(args.labels.len());
    let model = config
        .load(&dict, &device)
        .with_context(|| format!("{}: labels give {} classes", args.state_dict.display(), args.labels.len()))?;
    let mut checkpoint = Checkpoint::new(&model, config, args.labels.clone(), dsp::FeatureConfig::default());
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
