//! `cargo xtask bench serve [--requests N] [--concurrency C] [--workers W] [--model M]
//! [--python PY] FILE`
//!
//! Starts the web server on a loopback port in this process and uploads `FILE` to
//! `POST /api/predict`: first one at a time (7 timed after 2 warm-ups; upload-to-answer
//! time), then `N` requests with `C` in flight at once, and stops. Prints throughput,
//! p50 / p95 / max latency and any non-200 answer. With `--python`, times the original
//! app's per-upload work (`seed_pipeline.py`: librosa + PyTorch CRNN-BiGRU) on the same
//! file in the same run. The last line is JSON.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use genre_cli::bundled::ModelChoice;
use genre_models::DeviceKind;

#[derive(Debug, clap::Args)]
pub struct BenchServeArgs {
    /// Requests in all.
    #[arg(long, default_value_t = 200)]
    pub requests: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Inferences the server runs at once (its `--workers`).
    #[arg(long, default_value_t = genre_cli::args::default_threads())]
    pub workers: usize,
    /// A bundled model, `gtzan` (GTZAN's ten genres, the default) or `emotify` (four
    /// genres), or a model file (from `train`, `import-torch` or `bundle`).
    #[arg(long, default_value = "gtzan", value_name = "NAME|FILE")]
    pub model: ModelChoice,
    /// Also time `../shared/bench/seed_pipeline.py` (librosa + PyTorch CRNN-BiGRU) on the
    /// same file with this Python, in the same run.
    #[arg(long, value_name = "PYTHON")]
    pub python: Option<PathBuf>,
    /// The reference script run with `--python`.
    #[arg(long, default_value = "../shared/bench/seed_pipeline.py")]
    pub script: PathBuf,
    /// The audio file every request uploads.
    pub file: PathBuf,
}

pub fn run(args: BenchServeArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.requests > 0 && args.concurrency > 0, "--requests and --concurrency must be positive");
    let checkpoint = args.model.load()?;
    let model_name = checkpoint.header.model.name();
    let bytes = std::fs::read(&args.file).with_context(|| format!("{}: cannot read", args.file.display()))?;
    let name = args.file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "upload".into());
    // Every request the clients can have in flight waits in the queue: none gets 503
    // unless the server misbehaves.
    let limits = genre_web::Limits { workers: args.workers, queue: args.concurrency, ..genre_web::Limits::default() };
    let state = genre_web::AppState::new(checkpoint, DeviceKind::Cpu, limits)?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let url = format!("http://{}/api/predict", listener.local_addr()?);
    runtime.spawn(genre_web::serve(listener, state));
    println!(
        "{}: model {model_name}, server workers {}, {} requests with {} in flight",
        args.file.display(),
        args.workers,
        args.requests,
        args.concurrency
    );

    let body = multipart_body(&name, &bytes);
    let client = Client::new(url, body);
    for _ in 0..2 {
        client.post()?;
    }
    let mut single = Vec::new();
    for _ in 0..7 {
        single.push(client.post()?.0);
    }
    let single_median = median(&mut single);
    println!("one at a time: upload to answer {:.3} s (median of 7)", single_median.as_secs_f64());

    let next = AtomicUsize::new(0);
    let started = Instant::now();
    let results: Vec<anyhow::Result<(Duration, u16)>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..args.concurrency.min(args.requests))
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    while next.fetch_add(1, Ordering::Relaxed) < args.requests {
                        mine.push(client.post());
                    }
                    mine
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap_or_default()).collect()
    });
    let wall = started.elapsed();
    let mut latencies = Vec::new();
    let mut failures = Vec::new();
    for result in results {
        match result {
            Ok((latency, 200)) => latencies.push(latency),
            Ok((_, status)) => failures.push(format!("HTTP {status}")),
            Err(e) => failures.push(e.to_string()),
        }
    }
    latencies.sort();
    let percentile = |p: f64| latencies.get(((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1)).copied();
    let seconds = |d: Option<Duration>| d.map_or(f64::NAN, |d| d.as_secs_f64());
    let (p50, p95, max) = (seconds(percentile(0.50)), seconds(percentile(0.95)), seconds(latencies.last().copied()));
    let throughput = latencies.len() as f64 / wall.as_secs_f64();
    println!(
        "load: {} ok, {} failed in {:.1} s: {throughput:.2} requests/s, latency p50 {p50:.3} s, p95 {p95:.3} s, max {max:.3} s",
        latencies.len(),
        failures.len(),
        wall.as_secs_f64()
    );
    if let Some(first) = failures.first() {
        println!("first failure: {first}");
    }

    let mut summary = serde_json::json!({
        "file": args.file.display().to_string(),
        "model": model_name,
        "workers": args.workers,
        "requests": args.requests,
        "concurrency": args.concurrency,
        "ok": latencies.len(),
        "failed": failures.len(),
        "wall_seconds": wall.as_secs_f64(),
        "requests_per_second": throughput,
        "latency_p50_seconds": p50,
        "latency_p95_seconds": p95,
        "latency_max_seconds": max,
        "single_upload_to_answer_seconds_median": single_median.as_secs_f64(),
    });
    if let Some(python) = &args.python {
        let lines = crate::reference::run_json_lines(python, &args.script, [&args.file])?;
        let reference = lines[0]["seconds_median"].as_f64().context("seed_pipeline.py gave no seconds_median")?;
        let ratio = reference / single_median.as_secs_f64();
        println!(
            "original pipeline (librosa + PyTorch CRNN-BiGRU, in-process, no HTTP): {reference:.3} s; ours over HTTP is {ratio:.2}x as fast"
        );
        summary["reference_seconds_median"] = reference.into();
        summary["speedup_vs_reference"] = ratio.into();
    }
    println!("{summary}");
    Ok(if failures.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn median(values: &mut [Duration]) -> Duration {
    values.sort();
    values[values.len() / 2]
}

const BOUNDARY: &str = "genre-bench-boundary-7d3f";

fn multipart_body(name: &str, bytes: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(bytes.len() + 256);
    body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
    body.extend_from_slice(
        format!("Content-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n").as_bytes(),
    );
    body.extend_from_slice(b"Content-Type: application/octet-stream\r\n\r\n");
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// Posts the same multipart body, timing each request from the first byte sent to the
/// last byte of the answer read.
struct Client {
    agent: ureq::Agent,
    url: String,
    body: Arc<Vec<u8>>,
}

impl Client {
    fn new(url: String, body: Vec<u8>) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        Client { agent, url, body: Arc::new(body) }
    }

    fn post(&self) -> anyhow::Result<(Duration, u16)> {
        let started = Instant::now();
        let mut response = self
            .agent
            .post(&self.url)
            .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
            .send(&self.body[..])?;
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string()?;
        let elapsed = started.elapsed();
        anyhow::ensure!(status != 200 || text.contains("\"top_k\""), "a 200 answer without a prediction: {text}");
        Ok((elapsed, status))
    }
}
