//! The web app: a page to classify, hear, see and explain uploaded music, and the
//! JSON API it and other programs use.
//!
//! | route | answer |
//! |---|---|
//! | `GET /` (with `/app.js`, `/style.css`) | the page, embedded in the binary |
//! | `GET /api/health` | `{"status": "ok"}` |
//! | `GET /api/model?model=M` | the model's name, architecture, labels, device, input shape, segment length, `whole_track` (what requests read by default), and `models`, the names of every served model (the first the default) |
//! | `POST /api/predict?model=M&top_k=K&aggregate=A&whole_track=B` (multipart field `file`) | the same JSON object as `cargo xtask predict --format json` |
//! | `POST /api/explain?model=M&segment=I&method=M&target=T&whole_track=B` (multipart field `file`) | one segment's attribution map, as JSON |
//! | `POST /api/analyze?model=M&top_k=K&aggregate=A&whole_track=B` (multipart field `file`) | `{id, model, prediction, waveform, ...}`; the server keeps the analysis for the views below |
//! | `GET /api/analyses/{id}?top_k=K&aggregate=A` | the prediction again, re-aggregated (no upload; the analysis's own model) |
//! | `GET /api/analyses/{id}/audio.wav` | the analysed audio, mono at the model's rate |
//! | `GET /api/analyses/{id}/mel.png` | the log-mel spectrogram of every segment |
//! | `GET /api/analyses/{id}/explain.png?segment=I&method=M&target=T` | the explanation picture |
//!
//! A server holds one or more models under names; `model=` picks one (the first when
//! absent), and an unknown name is 400 with the names there are.
//!
//! Faults are answered, never panicked on: an upload over the limit is 413, a missing
//! field or a bad query 400, an unknown or expired analysis 404, audio that cannot be
//! decoded 422, each with `{"error": "..."}` naming the upload; when every worker is
//! busy and the queue is full, 503. Inference and explanations run on tokio's blocking
//! pool, at most `workers` at a time. Uploads are written to a folder of the server's
//! own and removed after use; the server keeps the last few analyses in memory.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let checkpoint = genre_models::checkpoint::Checkpoint::load("model.gmdl".as_ref())?;
//! let state = genre_web::AppState::new(checkpoint, genre_models::DeviceKind::Cpu, genre_web::Limits::default())?;
//! // Or several models, chosen per request with `model=NAME`:
//! // genre_web::AppState::with_models(vec![("gtzan".into(), a), ("emotify".into(), b)], device, limits)
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, genre_web::router(state)).await?;
//! # Ok(()) }
//! ```

#![deny(missing_docs)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

mod analysis;
mod api;
mod on_device;
mod page;

pub use analysis::{Analysis, AnalysisStore, Envelope};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use genre_dsp::FeatureExtractor;
use genre_models::DeviceKind;
use genre_models::checkpoint::Checkpoint;
use genre_models::infer::Classifier;
use genre_xai::Explainer;
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
    /// Analyses kept for the page's views (default 8).
    pub analyses: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_upload_bytes: 50 * 1024 * 1024, workers: 2, queue: 16, analyses: 8 }
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebError {
    /// The model could not be loaded.
    #[error(transparent)]
    Model(#[from] genre_models::ModelError),
    /// Its feature configuration is invalid.
    #[error(transparent)]
    Features(#[from] genre_dsp::DspError),
    /// The explanation model could not be built.
    #[error(transparent)]
    Explanations(#[from] genre_xai::XaiError),
    /// Model names must be distinct, and there must be one at least.
    #[error("models need distinct names, at least one: got [{0}]")]
    ModelNames(String),
    /// The folder given for the on-device mode lacks a file of the WebAssembly package.
    #[error("{file}: missing, so no WebAssembly package here (`cargo xtask wasm` makes one)")]
    MissingPackage {
        /// The file the page would load.
        file: PathBuf,
    },
}

/// One model the server offers: its name, and what runs it.
pub(crate) struct ServedModel {
    pub(crate) name: String,
    pub(crate) classifier: Classifier,
    pub(crate) explainer: Explainer,
    pub(crate) extractor: FeatureExtractor,
    /// Its checkpoint file, serialised once on first request (`GET /api/models/{name}/file`).
    pub(crate) file: OnceLock<axum::body::Bytes>,
}

impl ServedModel {
    /// What a request reads: every segment if `whole_track` says so, else the first
    /// 30 s; when it says nothing, the model's default (whole tracks for a model
    /// trained on them, as `cargo xtask predict`).
    pub(crate) fn coverage(&self, whole_track: Option<bool>) -> genre_dsp::Coverage {
        self.classifier.checkpoint().header.coverage(whole_track)
    }
}

/// What the handlers share.
pub struct AppState {
    /// The served models, the default first; never empty.
    models: Vec<ServedModel>,
    device: DeviceKind,
    limits: Limits,
    /// Uploads received so far.
    uploads: AtomicU64,
    /// The WebAssembly package of the on-device mode, if this server offers it.
    pub(crate) on_device: OnceLock<PathBuf>,
    analyses: AnalysisStore,
    /// Admission: workers + queue permits; a request without one gets 503.
    admitted: Semaphore,
    /// Running inferences.
    running: Semaphore,
}

impl AppState {
    /// Loads `checkpoint` on `device` as the one model, named `model`. Uploads are
    /// analysed in memory; nothing is written to disk.
    pub fn new(checkpoint: Checkpoint, device: DeviceKind, limits: Limits) -> Result<Arc<Self>, WebError> {
        Self::with_models(vec![("model".to_string(), checkpoint)], device, limits)
    }

    /// Loads every named checkpoint on `device`; the first is the default. Names
    /// must be distinct and there must be at least one model.
    pub fn with_models(
        checkpoints: Vec<(String, Checkpoint)>,
        device: DeviceKind,
        limits: Limits,
    ) -> Result<Arc<Self>, WebError> {
        let mut names: Vec<&str> = checkpoints.iter().map(|(name, _)| name.as_str()).collect();
        names.sort_unstable();
        if names.is_empty() || names.windows(2).any(|w| w[0] == w[1]) {
            return Err(WebError::ModelNames(names.join(", ")));
        }
        let backend = device.device()?;
        let models = checkpoints
            .into_iter()
            .map(|(name, checkpoint)| {
                let extractor = FeatureExtractor::new(checkpoint.header.features.clone())?;
                let explainer = Explainer::new(&checkpoint, &backend)?;
                let classifier = Classifier::new(checkpoint, &backend)?;
                Ok::<_, WebError>(ServedModel { name, classifier, explainer, extractor, file: OnceLock::new() })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let workers = limits.workers.max(1);
        Ok(Arc::new(AppState {
            models,
            device,
            limits,
            uploads: AtomicU64::new(0),
            on_device: OnceLock::new(),
            analyses: AnalysisStore::new(limits.analyses),
            admitted: Semaphore::new(workers + limits.queue),
            running: Semaphore::new(workers),
        }))
    }

    /// The model `name` names (the default when `None`); 400 for an unknown name.
    pub(crate) fn model(&self, name: Option<&str>) -> Result<usize, api::ApiError> {
        let Some(name) = name else { return Ok(0) };
        self.models.iter().position(|m| m.name == name).ok_or_else(|| {
            let names: Vec<&str> = self.models.iter().map(|m| m.name.as_str()).collect();
            api::bad(format!("model {name:?}: this server has {}", names.join(", ")))
        })
    }

    /// The names of the served models, the default first.
    pub fn model_names(&self) -> Vec<&str> {
        self.models.iter().map(|m| m.name.as_str()).collect()
    }

    /// Offers the page's "on this device" mode, with the WebAssembly package in `dir`
    /// (`cargo xtask wasm` makes it): the browser then classifies files itself.
    pub fn serve_on_device(&self, dir: &std::path::Path) -> Result<(), WebError> {
        let dir = on_device::package_dir(dir)?;
        let _ = self.on_device.set(dir);
        Ok(())
    }

    /// How many uploads the server has received so far.
    pub fn uploads_received(&self) -> u64 {
        self.uploads.load(Ordering::Relaxed)
    }
}

/// Serves the page and the API on `listener` until the process ends or the
/// connection fails.
///
/// ```no_run
/// # async fn run(state: std::sync::Arc<genre_web::AppState>) -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// genre_web::serve(listener, state).await
/// # }
/// ```
pub async fn serve(listener: tokio::net::TcpListener, state: Arc<AppState>) -> std::io::Result<()> {
    axum::serve(listener, router(state)).await
}

/// The page and the API, with the upload limit.
pub fn router(state: Arc<AppState>) -> Router {
    let limit = state.limits.max_upload_bytes;
    Router::new()
        .route("/", get(page::index))
        .route("/app.js", get(page::script))
        .route("/style.css", get(page::style))
        .route("/worker.js", get(on_device::worker))
        .route("/wasm/{file}", get(on_device::package_file))
        .route("/api/models/{name}/file", get(on_device::model_file))
        .route("/api/health", get(api::health))
        .route("/api/model", get(api::model))
        .route("/api/predict", post(api::predict))
        .route("/api/explain", post(api::explain))
        .route("/api/analyze", post(api::analyze))
        .route("/api/analyses/{id}", get(api::reaggregate))
        .route("/api/analyses/{id}/audio.wav", get(api::audio))
        .route("/api/analyses/{id}/mel.png", get(api::mel_picture))
        .route("/api/analyses/{id}/explain.png", get(api::explain_picture))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}
