//! `genre serve [--host H] [--port P] [--model M]... [--max-upload-mb N] [--workers W] [--queue Q]
//! [--device D]`
//!
//! The web app of `crates/web` (page and JSON API) on a socket, with both bundled
//! models by default (`gtzan` first, the page's default; `emotify`).

use std::process::ExitCode;

use anyhow::Context;
use genre_models::DeviceKind;

use crate::args::default_threads;
use crate::bundled::ModelChoice;

/// `genre serve`'s arguments.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on.
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// The models the page offers, the first its default: bundled names (`gtzan`,
    /// `emotify`) or model files; repeat the option for more than one.
    #[arg(long = "model", default_values = ["gtzan", "emotify"], value_name = "NAME|FILE")]
    pub models: Vec<ModelChoice>,
    /// Largest upload, MB (over it: 413).
    #[arg(long, default_value_t = 50)]
    pub max_upload_mb: usize,
    /// Inferences at once (default: the machine's cores).
    #[arg(long, default_value_t = default_threads())]
    pub workers: usize,
    /// Requests that may wait for a worker (more: 503).
    #[arg(long, default_value_t = 16)]
    pub queue: usize,
    /// Where the models run (wgpu and cuda need the binary built with their cargo
    /// feature).
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    pub device: DeviceKind,
    /// The WebAssembly package of the page's "on this device" mode (`cargo xtask wasm`
    /// makes it): with it, browsers classify files themselves and upload nothing.
    #[arg(long, value_name = "DIR")]
    pub wasm_dir: Option<std::path::PathBuf>,
}

/// Runs `genre serve`.
pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    // Each model is named by its bundled name or file stem; two runs' `model.gmdl` files
    // would share a stem, so a repeated name becomes the path as given.
    let mut models = Vec::new();
    for choice in &args.models {
        let stem = choice.short_name();
        let shared = args.models.iter().filter(|c| c.short_name() == stem).count() > 1;
        models.push((if shared { choice.to_string() } else { stem }, choice.load()?));
    }
    let limits = genre_web::Limits {
        max_upload_bytes: args.max_upload_mb * 1024 * 1024,
        workers: args.workers,
        queue: args.queue,
        ..genre_web::Limits::default()
    };
    let state = genre_web::AppState::with_models(models, args.device, limits)?;
    if let Some(dir) = &args.wasm_dir {
        state.serve_on_device(dir)?;
        println!("on-device mode: the WebAssembly package in {}", dir.display());
    }
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let address = format!("{}:{}", args.host, args.port);
        let listener =
            tokio::net::TcpListener::bind(&address).await.with_context(|| format!("cannot listen on {address}"))?;
        println!("serving on http://{address}/ (page; API: /api/health, /api/model, /api/predict, /api/explain)");
        genre_web::serve(listener, state).await.context("server stopped")
    })?;
    Ok(ExitCode::SUCCESS)
}
