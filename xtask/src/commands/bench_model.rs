//! `cargo xtask bench model --arch A --batch B --threads T [--torch PYTHON]`
//!
//! The same measurements as `torch_reference.py bench`: median time of a training step
//! (forward, cross-entropy, backward, Adam) on random input `[B, 128, 130]`, and median
//! time of inference on 10 segments, after two warm-up steps. With `--torch`, PyTorch
//! is measured in the same run and the ratios printed. The last line is JSON.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::Distribution;
use genre_models::{Architecture, DeviceKind};

#[derive(Debug, clap::Args)]
pub struct BenchModelArgs {
    /// The architecture.
    #[arg(long, value_enum, default_value_t = Architecture::CrnnBigru)]
    pub arch: Architecture,
    /// Training batch size.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// CPU threads (Burn's rayon pool; PyTorch's intra-op threads).
    #[arg(long, default_value_t = genre_cli::args::default_threads())]
    pub threads: usize,
    /// Timed steps after two warm-up steps.
    #[arg(long, default_value_t = 10)]
    pub steps: usize,
    /// Also run `torch_reference.py bench` with this Python, same settings, same run.
    #[arg(long, value_name = "PYTHON")]
    pub torch: Option<PathBuf>,
    /// The reference script run with `--torch`.
    #[arg(long, default_value = "../shared/bench/torch_reference.py")]
    pub torch_script: PathBuf,
}

pub fn run(args: BenchModelArgs) -> anyhow::Result<ExitCode> {
    let arch = args.arch;
    rayon::ThreadPoolBuilder::new().num_threads(args.threads).build_global().context("cannot size the thread pool")?;
    let device = DeviceKind::Cpu.device()?;
    let config = arch.default_config(10);

    // Inference: 10 segments, eval mode (plain device: no autodiff, dropout off).
    let model = config.init(&device);
    let x = Tensor::<3>::random([10, 128, 130], Distribution::Normal(0.0, 1.0), &device);
    let infer = median_time(args.steps, || {
        let _ = model.forward(x.clone()).into_data();
    });

    let train = training_step_seconds(arch, args.batch, args.steps, &device);
    let parameters = model.num_params();
    let mut summary = serde_json::json!({
        "framework": "burn 0.22.1 (flex)",
        "device": DeviceKind::Cpu.describe(),
        "model": arch.name(),
        "threads": args.threads,
        "batch": args.batch,
        "train_step_seconds_median": train,
        "train_segments_per_second": args.batch as f64 / train,
        "infer_10_segments_seconds_median": infer,
        "infer_segments_per_second": 10.0 / infer,
        "parameters": parameters,
    });
    if let Some(python) = &args.torch {
        let steps = args.steps.to_string();
        let (batch, threads) = (args.batch.to_string(), args.threads.to_string());
        let reference_args =
            ["bench", "--model", arch.name(), "--batch", &batch, "--threads", &threads, "--steps", &steps];
        let lines = crate::reference::run_json_lines(python, &args.torch_script, reference_args)?;
        let torch = lines.last().cloned().unwrap_or_default();
        println!("{torch}");
        let ratio = |ours: f64, key: &str| torch[key].as_f64().map(|t| ours / t);
        summary["train_speed_vs_pytorch"] = ratio(args.batch as f64 / train, "train_segments_per_second").into();
        summary["infer_speed_vs_pytorch"] = ratio(10.0 / infer, "infer_segments_per_second").into();
    }
    println!("{summary}");
    Ok(ExitCode::SUCCESS)
}

/// Median seconds of one training step (forward, cross-entropy, backward, Adam) of a
/// fresh `arch` model (10 classes) on random input `[batch, 128, 130]`, after two
/// warm-up steps: what `torch_reference.py bench` measures.
pub fn training_step_seconds(arch: Architecture, batch: usize, steps: usize, device: &Device) -> f64 {
    let train_device = device.clone().autodiff();
    train_device.seed(42);
    let mut model = arch.default_config(10).init(&train_device);
    let mut optim = AdamConfig::new().init();
    let loss_fn = CrossEntropyLossConfig::new().init(&train_device);
    let x = Tensor::<3>::random([batch, 128, 130], Distribution::Normal(0.0, 1.0), &train_device);
    let labels: Vec<i64> = (0..batch as i64).map(|i| i % 10).collect();
    let y = Tensor::<1, Int>::from_data(TensorData::new(labels, [batch]), &train_device);
    median_time(steps, || {
        let loss = loss_fn.forward(model.forward(x.clone()), y.clone());
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(1e-3, model.clone(), grads);
    })
}

fn median_time(steps: usize, mut step: impl FnMut()) -> f64 {
    let mut times = Vec::with_capacity(steps);
    for i in 0..steps + 2 {
        let t0 = Instant::now();
        step();
        if i >= 2 {
            times.push(t0.elapsed().as_secs_f64());
        }
    }
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}
