//! The page's "on this device" mode: the WebAssembly build of the classifier
//! (`crates/wasm`, made by `cargo xtask wasm`) served from a folder, the Web Worker that
//! runs it, and the model files it loads. With it the browser decodes, featurises and
//! classifies a file itself; the server sees no upload.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::api::ApiError;

/// The files `wasm-bindgen --target web` makes for `genre-wasm`, and their types.
pub const PACKAGE_FILES: [(&str, &str); 2] =
    [("genre_wasm.js", "text/javascript; charset=utf-8"), ("genre_wasm_bg.wasm", "application/wasm")];

const WORKER: &str = include_str!("../assets/worker.js");

/// The package folder, checked to hold every file the page loads.
pub fn package_dir(dir: &Path) -> Result<PathBuf, crate::WebError> {
    for (name, _) in PACKAGE_FILES {
        let file = dir.join(name);
        if !file.is_file() {
            return Err(crate::WebError::MissingPackage { file });
        }
    }
    Ok(dir.to_path_buf())
}

/// `GET /worker.js`: the Web Worker that runs the WebAssembly classifier.
pub(crate) async fn worker() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8"))], WORKER)
}

/// `GET /wasm/{file}`: the WebAssembly package (404 when the server has none).
pub(crate) async fn package_file(State(state): State<Arc<AppState>>, UrlPath(file): UrlPath<String>) -> Response {
    let (Some(dir), Some((name, content_type))) =
        (state.on_device.get(), PACKAGE_FILES.iter().find(|(name, _)| *name == file))
    else {
        return (StatusCode::NOT_FOUND, "this server has no on-device package").into_response();
    };
    let path = dir.join(name);
    match tokio::task::spawn_blocking(move || std::fs::read(path))
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e)))
    {
        Ok(bytes) => {
            ([(header::CONTENT_TYPE, HeaderValue::from_static(content_type))], Bytes::from(bytes)).into_response()
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// `GET /api/models/{name}/file`: a served model's checkpoint file, for the browser to run.
pub(crate) async fn model_file(
    State(state): State<Arc<AppState>>,
    UrlPath(name): UrlPath<String>,
) -> Result<Response, ApiError> {
    let served = &state.models[state.model(Some(&name))?];
    let bytes = served.file.get_or_init(|| {
        let checkpoint = served.classifier.checkpoint();
        Bytes::from(checkpoint.to_bytes(checkpoint.header.precision))
    });
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"))], bytes.clone()).into_response())
}
