//! `cargo xtask bench train --arch A --batch B --threads T [--steps S] [--torch PYTHON]`
//!
//! Training throughput, segments per second: the median training step (forward,
//! cross-entropy, backward, Adam) on random input `[B, 128, 130]` after two warm-up
//! steps. With `--torch`, `torch_reference.py bench` measures PyTorch with the same
//! settings in the same run and the ratio is printed. The last line is JSON.

use std::process::ExitCode;

use anyhow::Context;
use genre_models::DeviceKind;

use super::bench_model::BenchModelArgs;
use super::bench_model::training_step_seconds;

pub fn run(args: BenchModelArgs) -> anyhow::Result<ExitCode> {
    let arch = args.arch;
    rayon::ThreadPoolBuilder::new().num_threads(args.threads).build_global().context("cannot size the thread pool")?;
    let device = DeviceKind::Cpu.device()?;
    let step = training_step_seconds(arch, args.batch, args.steps, &device);
    let ours = args.batch as f64 / step;
    println!(
        "burn 0.22.1 (flex), {}: {ours:.1} segments/s (step {step:.3} s, batch {}, {} threads)",
        arch.name(),
        args.batch,
        args.threads
    );
    let mut summary = serde_json::json!({
        "framework": "burn 0.22.1 (flex)",
        "model": arch.name(),
        "batch": args.batch,
        "threads": args.threads,
        "steps": args.steps,
        "train_step_seconds_median": step,
        "train_segments_per_second": ours,
    });
    if let Some(python) = &args.torch {
        let (batch, threads, steps) = (args.batch.to_string(), args.threads.to_string(), args.steps.to_string());
        let reference_args =
            ["bench", "--model", arch.name(), "--batch", &batch, "--threads", &threads, "--steps", &steps];
        let lines = crate::reference::run_json_lines(python, &args.torch_script, reference_args)?;
        let torch = lines.last().cloned().unwrap_or_default();
        let theirs = torch["train_segments_per_second"].as_f64().context("torch_reference.py bench gave no speed")?;
        println!(
            "{}: {theirs:.1} segments/s; ours is {:.2}x PyTorch's",
            torch["framework"].as_str().unwrap_or("pytorch"),
            ours / theirs
        );
        summary["pytorch_train_segments_per_second"] = theirs.into();
        summary["train_speed_vs_pytorch"] = (ours / theirs).into();
    }
    println!("{summary}");
    Ok(ExitCode::SUCCESS)
}
