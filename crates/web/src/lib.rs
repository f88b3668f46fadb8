//! The web server's JSON API: classify uploaded audio with a model.
//!
//! | route | answer |
//! |---|---|
//! | `GET /api/health` | `{"status": "ok"}` |
//! | `GET /api/model` | model name, labels, device, input shape, segment length |
//! | `POST /api/predict?top_k=K&aggregate=A&whole_track=B` (multipart field `file`) | the same JSON object as `cargo xtask predict --format json` |
//!
//! Faults are answered, never panicked on: an upload over the limit is 413, a missing
//! field or a bad query 400, audio that cannot be decoded 422, each with
//! `{"error": "..."}` naming the upload; when every worker is busy and the queue is
//! full, 503. Inference runs on tokio's blocking pool, at most `workers` at a time.
//! Uploads are written to a folder of the server's own and removed after use.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let checkpoint = models::checkpoint::Checkpoint::load("model.gmdl".as_ref())?;
//! let state = web::AppState::new(checkpoint, models::DeviceKind::Cpu, web::Limits::default())?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, web::router(state)).await?;
//! # Ok(()) }
//! ```

#![deny(missing_docs)]

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::{DefaultBodyLimit, Multipart, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use dsp::{Coverage, FeatureExtractor, FeatureScale};
use models::DeviceKind;
use models::checkpoint::Checkpoint;
use models::infer::{Aggregation, Classifier, Prediction};
use serde::Deserialize;
use tokio::sync::Semaphore;

/// Upload size and concurrency limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted request body, bytes (default 50 MB).
    pub max_upload_bytes: usize,
    /// Inferences running at once (default 2).
    pub workers: usize,
    /// Requests that may wait for a worker (default 16); more get 503.
    pub queue: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_upload_bytes: 50 * 1024 * 1024, workers: 2, queue: 16 }
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// The model could not be loaded.
    #[error(transparent)]
    Model(#[from] models::ModelError),
    /// Its feature configuration is invalid.
    #[error(transparent)]
    Features(#[from] dsp::DspError),
    /// The upload folder could not be made.
    #[error("{path}: cannot create the upload folder: {source}")]
    Io {
        /// The folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// What the handlers share.
pub struct AppState {
    classifier: Classifier,
    extractor: FeatureExtractor,
    device: DeviceKind,
    limits: Limits,
    uploads: PathBuf,
    next_upload: AtomicU64,
    /// Admission: workers + queue permits; a request without one gets 503.
    admitted: Semaphore,
    /// Running inferences.
    running: Semaphore,
}

impl AppState {
    /// Loads `checkpoint` on `device`; uploads go to a fresh folder under the system's
    /// temporary folder.
    pub fn new(checkpoint: Checkpoint, device: DeviceKind, limits: Limits) -> Result<Arc<Self>, WebError> {
        let extractor = FeatureExtractor::new(checkpoint.header.features.clone())?;
        let classifier = Classifier::new(checkpoint, &device.device()?)?;
        // One folder per server (several may share a process, e.g. in tests): each
        // removes its own when dropped.
        static SERVERS: AtomicU64 = AtomicU64::new(0);
        let n = SERVERS.fetch_add(1, Ordering::Relaxed);
        let uploads = std::env::temp_dir().join(format!("genre-web-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&uploads).map_err(|source| WebError::Io { path: uploads.clone(), source })?;
        let workers = limits.workers.max(1);
        Ok(Arc::new(AppState {
            classifier,
            extractor,
            device,
            limits,
            uploads,
            next_upload: AtomicU64::new(0),
            admitted: Semaphore::new(workers + limits.queue),
            running: Semaphore::new(workers),
        }))
    }
}

impl Drop for AppState {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.uploads);
    }
}

/// The routes, with the upload limit.
pub fn router(state: Arc<AppState>) -> Router {
    let limit = state.limits.max_upload_bytes;
    Router::new()
        .route("/api/health", get(health))
        .route("/api/model", get(model))
        .route("/api/predict", post(predict))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

/// An error answer: a status and `{"error": message}`.
struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(serde_json::json!({ "error": self.1 }))).into_response()
    }
}

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

async fn model(State(state): State<Arc<AppState>>) -> Json<serde_json::Value> {
    let header = &state.classifier.checkpoint().header;
    let features = &header.features;
    Json(serde_json::json!({
        "model": header.model.name(),
        "labels": header.labels,
        "device": state.device.describe(),
        "input": [features.n_mels, features.n_frames()],
        "segments_per_clip": features.segments_per_clip,
        "segment_seconds": features.segment_seconds(),
        "sample_rate": features.sample_rate,
    }))
}

/// Query of `POST /api/predict`.
#[derive(Debug, Deserialize)]
struct PredictQuery {
    top_k: Option<usize>,
    aggregate: Option<String>,
    whole_track: Option<bool>,
}

async fn predict(
    State(state): State<Arc<AppState>>,
    query: Result<Query<PredictQuery>, axum::extract::rejection::QueryRejection>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Json<Prediction>, ApiError> {
    let bad = |m: String| ApiError(StatusCode::BAD_REQUEST, m);
    let Query(query) = query.map_err(|e| bad(e.body_text()))?;
    let aggregation: Aggregation = query.aggregate.as_deref().unwrap_or("mean").parse().map_err(bad)?;
    let top_k = query.top_k.unwrap_or(3).max(1);
    let coverage = if query.whole_track.unwrap_or(false) { Coverage::WholeTrack } else { Coverage::Clip };
    let mut multipart = multipart.map_err(|e| bad(e.body_text()))?;
    let (name, bytes) = loop {
        let field = multipart.next_field().await.map_err(|e| upload_error(e.status(), e.body_text()))?;
        let Some(field) = field else { return Err(bad("no multipart field named \"file\"".into())) };
        if field.name() == Some("file") {
            let name = field.file_name().unwrap_or("upload").to_string();
            let bytes = field.bytes().await.map_err(|e| upload_error(e.status(), e.body_text()))?;
            break (name, bytes);
        }
    };
    let Ok(_admitted) = state.admitted.try_acquire() else {
        return Err(ApiError(StatusCode::SERVICE_UNAVAILABLE, "the server is busy; try again".into()));
    };
    let _running =
        state.running.acquire().await.map_err(|e| ApiError(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?;
    let worker = state.clone();
    let answer = tokio::task::spawn_blocking(move || worker.classify(&name, &bytes, coverage, aggregation, top_k))
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))??;
    Ok(Json(answer))
}

/// 413 stays 413 (body over the limit); other multipart faults are 400.
fn upload_error(status: StatusCode, text: String) -> ApiError {
    let status = if status == StatusCode::PAYLOAD_TOO_LARGE { status } else { StatusCode::BAD_REQUEST };
    ApiError(status, text)
}

impl AppState {
    /// Writes the upload to the server's folder, classifies it, removes it. Errors
    /// name the upload, never the server's own paths.
    fn classify(
        &self,
        name: &str,
        bytes: &[u8],
        coverage: Coverage,
        aggregation: Aggregation,
        top_k: usize,
    ) -> Result<Prediction, ApiError> {
        // Only the extension of the client's name is used, and only if it is a known one.
        let extension = std::path::Path::new(name)
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .filter(|e| dsp::AUDIO_EXTENSIONS.contains(&e.as_str()))
            .unwrap_or_else(|| "bin".into());
        let path = self.uploads.join(format!("{}.{extension}", self.next_upload.fetch_add(1, Ordering::Relaxed)));
        let internal =
            |e: std::io::Error| ApiError(StatusCode::INTERNAL_SERVER_ERROR, format!("cannot store the upload: {e}"));
        std::fs::write(&path, bytes).map_err(internal)?;
        let result = self.extractor.extract_with(&path, coverage, FeatureScale::Standardized);
        let _ = std::fs::remove_file(&path);
        let shown = path.display().to_string();
        let features =
            result.map_err(|e| ApiError(StatusCode::UNPROCESSABLE_ENTITY, e.to_string().replace(&shown, name)))?;
        let segments = self
            .classifier
            .probabilities(&features, 32)
            .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        Ok(Prediction::new(
            name.to_string(),
            self.device.describe(),
            self.classifier.labels(),
            &segments,
            aggregation,
            top_k,
            self.extractor.config().segment_seconds(),
        ))
    }
}
