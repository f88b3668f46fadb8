//! `cargo xtask bench memory [--binary PATH] [--model M]`
//!
//! Peak memory of whole-track `predict` on files of 30 s, 10 min and 60 min: synthetic
//! music-like audio (partials, tremolo, noise) written as 22,050 Hz 16-bit WAV, and the
//! hour also as 44.1 kHz stereo, in a temp folder. Each file is one child process of
//! `BINARY predict --whole-track` (this runner by default; `--binary` measures another
//! build, e.g. an older one, in the same run); its peak resident set comes from
//! `wait4`'s resource usage. The last line is JSON.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use anyhow::Context;

#[derive(Debug, clap::Args)]
pub struct BenchMemoryArgs {
    /// The binary to measure (any build with the `predict` command); this runner by default.
    #[arg(long)]
    pub binary: Option<PathBuf>,
    /// The model, as `predict --model` takes it.
    #[arg(long, default_value = "gtzan")]
    pub model: String,
    /// Threads for `predict`.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
}

/// (name, seconds, rate, channels) of each file.
const FILES: [(&str, u32, u32, u16); 4] = [
    ("30 s", 30, 22_050, 1),
    ("10 min", 600, 22_050, 1),
    ("60 min", 3_600, 22_050, 1),
    ("60 min, 44.1 kHz stereo", 3_600, 44_100, 2),
];

pub fn run(args: BenchMemoryArgs) -> anyhow::Result<ExitCode> {
    let binary = match args.binary {
        Some(path) => path,
        None => std::env::current_exe()?,
    };
    let dir = tempfile::Builder::new().prefix("genre-bench-memory-").tempdir()?;
    println!("{}: predict --whole-track --model {} --threads {}", binary.display(), args.model, args.threads);
    let mut rows = Vec::new();
    for (name, seconds, rate, channels) in FILES {
        let path = dir.path().join(format!("{seconds}s_{rate}_{channels}.wav"));
        write_music(&path, seconds, rate, channels)?;
        let (peak_kb, elapsed) = peak_rss(
            Command::new(&binary)
                .args(["predict", "--whole-track", "--model", &args.model, "--threads", &args.threads.to_string()])
                .arg(&path),
        )?;
        println!("{name:<24} peak RSS {:>7.1} MB   {elapsed:>6.1} s", peak_kb as f64 / 1024.0);
        rows.push(serde_json::json!({ "file": name, "seconds": seconds, "peak_rss_mb": peak_kb as f64 / 1024.0, "wall_s": elapsed }));
        std::fs::remove_file(&path)?;
    }
    println!("{}", serde_json::json!({ "binary": binary.display().to_string(), "model": args.model, "rows": rows }));
    Ok(ExitCode::SUCCESS)
}

/// Runs `command` to its end; its peak resident set (KB) and wall time (s).
fn peak_rss(command: &mut Command) -> anyhow::Result<(i64, f64)> {
    let start = Instant::now();
    let child = command.stdout(Stdio::null()).stderr(Stdio::inherit()).spawn().context("cannot start predict")?;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value, and wait4 writes only into it and
    // `status`, for a child this process started and has not waited for.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    anyhow::ensure!(pid > 0, "wait4 failed: {}", std::io::Error::last_os_error());
    anyhow::ensure!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "predict failed (status {status})");
    Ok((usage.ru_maxrss, start.elapsed().as_secs_f64()))
}

/// `seconds` of synthetic music: three partials changing every 10 s, a slow tremolo,
/// a little noise; 16-bit PCM.
fn write_music(path: &Path, seconds: u32, rate: u32, channels: u16) -> anyhow::Result<()> {
    let spec =
        hound::WavSpec { channels, sample_rate: rate, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut writer = hound::WavWriter::new(file, spec)?;
    let mut noise = 0x2545_f491_4f6c_dd1du64;
    for i in 0..u64::from(seconds) * u64::from(rate) {
        let t = i as f64 / f64::from(rate);
        let block = (t / 10.0) as u64;
        let partial = |k: u64| 110.0 * (1.0 + ((block * 7 + k * 13) % 17) as f64);
        let tremolo = 1.0 + 0.4 * (2.0 * std::f64::consts::PI * 0.7 * t).sin();
        noise ^= noise << 13;
        noise ^= noise >> 7;
        noise ^= noise << 17;
        let hiss = (noise >> 40) as f64 / (1u64 << 24) as f64 - 0.5;
        let x: f64 = (0..3).map(|k| (2.0 * std::f64::consts::PI * partial(k) * t).sin() * 0.15).sum::<f64>() * tremolo
            + 0.05 * hiss;
        let sample = (x.clamp(-1.0, 1.0) * 32_767.0) as i16;
        for _ in 0..channels {
            writer.write_sample(sample)?;
        }
    }
    writer.finalize()?;
    std::io::stdout().flush()?;
    Ok(())
}
