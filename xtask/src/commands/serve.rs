//! `cargo xtask serve [--host H] [--port P] [--model M]... [--max-upload-mb N] [--workers W] [--queue Q]`
//!
//! The web app of `crates/web` (page and JSON API) on a socket, with both bundled
//! models by default (`gtzan` first, the page's default; `emotify`).

use std::process::ExitCode;

use anyhow::Context;
use models::DeviceKind;

use crate::cli::ServeArgs;

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    // Each model is named by its bundled name or file stem; two runs' `model.gmdl` files
    // would share a stem, so a repeated name becomes the path as given.
    let mut models = Vec::new();
    for choice in &args.models {
        let stem = choice.short_name();
        let shared = args.models.iter().filter(|c| c.short_name() == stem).count() > 1;
        models.push((if shared { choice.to_string() } else { stem }, choice.load()?));
    }
    let limits = web::Limits {
        max_upload_bytes: args.max_upload_mb * 1024 * 1024,
        workers: args.workers,
        queue: args.queue,
        ..web::Limits::default()
    };
    let state = web::AppState::with_models(models, DeviceKind::Cpu, limits)?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let address = format!("{}:{}", args.host, args.port);
        let listener =
            tokio::net::TcpListener::bind(&address).await.with_context(|| format!("cannot listen on {address}"))?;
        println!("serving on http://{address}/ (page; API: /api/health, /api/model, /api/predict, /api/explain)");
        axum::serve(listener, web::router(state)).await.context("server stopped")
    })?;
    Ok(ExitCode::SUCCESS)
}
