//! The JSON API's handlers.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use genre_dsp::{AudioDecoder, Coverage, FeatureKind, FeatureScale, Features};
use genre_figures::{Heatmap, Palette};
use genre_models::infer::{Aggregation, Prediction};
use genre_xai::Method;
use serde::Deserialize;

use crate::AppState;

/// Segments per inference batch: one clip's ten. A musicnn model holds about 9 MB per
/// segment in its front end, so larger batches cost memory, not time.
const INFERENCE_BATCH: usize = 10;
use crate::analysis::{Analysis, features_of, new_id, wav_bytes};

/// Widest mel picture, in spectrogram columns (longer analyses are averaged down).
const MEL_PICTURE_COLUMNS: usize = 1_400;

/// An error answer: a status and `{"error": message}`.
pub(crate) struct ApiError(pub(crate) StatusCode, pub(crate) String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(serde_json::json!({ "error": self.1 }))).into_response()
    }
}

pub(crate) fn bad(message: impl Into<String>) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, message.into())
}

fn internal(message: impl std::fmt::Display) -> ApiError {
    ApiError(StatusCode::INTERNAL_SERVER_ERROR, message.to_string())
}

pub(crate) async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// Which served model a request is for.
#[derive(Debug, Deserialize)]
pub(crate) struct ModelQuery {
    model: Option<String>,
}

pub(crate) async fn model(
    State(state): State<Arc<AppState>>,
    query: Result<Query<ModelQuery>, QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Query(query) = query.map_err(|e| bad(e.body_text()))?;
    let served = &state.models[state.model(query.model.as_deref())?];
    let header = &served.classifier.checkpoint().header;
    let features = &header.features;
    Ok(Json(serde_json::json!({
        "name": served.name,
        "models": state.model_names(),
        "model": header.model.name(),
        "labels": header.labels,
        "device": state.device.describe(),
        "input": [features.n_mels, features.n_frames()],
        "segments_per_clip": features.segments_per_clip,
        "segment_seconds": features.segment_seconds(),
        "sample_rate": features.sample_rate,
        "features": match features.kind {
            FeatureKind::OriginalLogMel => "log-mel (dB), standardised per segment",
            FeatureKind::Musicnn => "musicnn log-compressed mel",
        },
        "methods": Method::ALL.map(Method::name),
        "whole_track": header.whole_track,
        "on_device": state.on_device.get().is_some(),
    })))
}

/// How to combine and show segment probabilities.
#[derive(Debug, Deserialize)]
pub(crate) struct ViewQuery {
    model: Option<String>,
    top_k: Option<usize>,
    aggregate: Option<String>,
    whole_track: Option<bool>,
}

/// A [`ViewQuery`] checked against the served models.
struct View {
    /// Index of the served model.
    model: usize,
    aggregation: Aggregation,
    top_k: usize,
    /// Without `whole_track`, the model's own default (whole tracks for a model trained on them).
    coverage: Coverage,
}

impl ViewQuery {
    /// The model, aggregation, top-K and coverage asked for.
    fn parse(query: Result<Query<ViewQuery>, QueryRejection>, state: &AppState) -> Result<View, ApiError> {
        let Query(query) = query.map_err(|e| bad(e.body_text()))?;
        let aggregation: Aggregation = query.aggregate.as_deref().unwrap_or("mean").parse().map_err(bad)?;
        let model = state.model(query.model.as_deref())?;
        let coverage = state.models[model].coverage(query.whole_track);
        Ok(View { model, aggregation, top_k: query.top_k.unwrap_or(3).max(1), coverage })
    }
}

/// Which segment to explain, how, and for which genre.
#[derive(Debug, Deserialize)]
pub(crate) struct ExplainQuery {
    model: Option<String>,
    segment: Option<usize>,
    method: Option<String>,
    target: Option<String>,
    whole_track: Option<bool>,
}

/// An [`ExplainQuery`] checked against the model and the analysis.
struct ExplainRequest {
    segment: usize,
    method: Method,
    /// `None`: the segment's predicted genre.
    target: Option<usize>,
}

impl ExplainQuery {
    fn parse(query: Result<Query<ExplainQuery>, QueryRejection>) -> Result<ExplainQuery, ApiError> {
        query.map(|Query(q)| q).map_err(|e| bad(e.body_text()))
    }

    fn check(&self, labels: &[String], segments: usize) -> Result<ExplainRequest, ApiError> {
        let segment = self.segment.unwrap_or(0);
        if segment >= segments {
            return Err(bad(format!(
                "segment {segment}: the analysis has {segments} segments (0 to {})",
                segments - 1
            )));
        }
        let method: Method = self.method.as_deref().unwrap_or("integrated-gradients").parse().map_err(bad)?;
        let target = match self.target.as_deref().unwrap_or("predicted") {
            "predicted" => None,
            genre => Some(labels.iter().position(|l| l == genre).ok_or_else(|| {
                bad(format!("target {genre:?} is not one of the model's genres ({})", labels.join(", ")))
            })?),
        };
        Ok(ExplainRequest { segment, method, target })
    }
}

/// Reads the multipart field `file`: the client's file name and the bytes.
async fn read_upload(
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<(String, Bytes), ApiError> {
    // 413 stays 413 (body over the limit); other multipart faults are 400.
    let upload_error = |status: StatusCode, text: String| {
        ApiError(if status == StatusCode::PAYLOAD_TOO_LARGE { status } else { StatusCode::BAD_REQUEST }, text)
    };
    let mut multipart = multipart.map_err(|e| bad(e.body_text()))?;
    loop {
        let field = multipart.next_field().await.map_err(|e| upload_error(e.status(), e.body_text()))?;
        let Some(field) = field else { return Err(bad("no multipart field named \"file\"")) };
        if field.name() == Some("file") {
            let name = field.file_name().unwrap_or("upload").to_string();
            let bytes = field.bytes().await.map_err(|e| upload_error(e.status(), e.body_text()))?;
            return Ok((name, bytes));
        }
    }
}

/// Runs `work` on the blocking pool once a worker is free; 503 if the queue is full.
async fn on_worker<T: Send + 'static>(
    state: &Arc<AppState>,
    work: impl FnOnce(&AppState) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let Ok(_admitted) = state.admitted.try_acquire() else {
        return Err(ApiError(StatusCode::SERVICE_UNAVAILABLE, "the server is busy; try again".into()));
    };
    let _running =
        state.running.acquire().await.map_err(|e| ApiError(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?;
    let worker = state.clone();
    tokio::task::spawn_blocking(move || work(&worker)).await.map_err(internal)?
}

pub(crate) async fn predict(
    State(state): State<Arc<AppState>>,
    query: Result<Query<ViewQuery>, QueryRejection>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Json<Prediction>, ApiError> {
    let view = ViewQuery::parse(query, &state)?;
    let (name, bytes) = read_upload(multipart).await?;
    on_worker(&state, move |state| {
        let served = &state.models[view.model];
        let features = state.upload_features(served, &name, bytes, view.coverage)?;
        let segments = served.classifier.probabilities(&features, INFERENCE_BATCH).map_err(internal)?;
        Ok(Json(state.prediction(served, name, &segments, view.aggregation, view.top_k)))
    })
    .await
}

pub(crate) async fn analyze(
    State(state): State<Arc<AppState>>,
    query: Result<Query<ViewQuery>, QueryRejection>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let View { model, aggregation, top_k, coverage } = ViewQuery::parse(query, &state)?;
    let (name, bytes) = read_upload(multipart).await?;
    on_worker(&state, move |state| {
        let served = &state.models[model];
        let (features, decibels, playback, envelope) =
            state.with_upload(&name, bytes, |decoder| features_of(&served.extractor, decoder, coverage))?;
        let probabilities = served.classifier.probabilities(&features, INFERENCE_BATCH).map_err(internal)?;
        let config = served.extractor.config();
        let analysis = Arc::new(Analysis {
            id: new_id(),
            model,
            name,
            coverage,
            features,
            decibels,
            probabilities,
            playback,
            sample_rate: config.sample_rate,
            envelope,
        });
        state.analyses.insert(analysis.clone());
        let prediction = state.prediction(served, analysis.name.clone(), &analysis.probabilities, aggregation, top_k);
        Ok(Json(serde_json::json!({
            "id": analysis.id,
            "model": served.name,
            "whole_track": coverage == Coverage::WholeTrack,
            "segment_seconds": config.segment_seconds(),
            "duration_s": analysis.probabilities.len() as f64 * config.segment_seconds(),
            "playback_s": analysis.playback.len() as f64 / f64::from(config.sample_rate),
            "waveform": analysis.envelope,
            "prediction": prediction,
        })))
    })
    .await
}

impl AppState {
    fn analysis(&self, id: &str) -> Result<Arc<Analysis>, ApiError> {
        self.analyses.get(id).ok_or_else(|| {
            ApiError(StatusCode::NOT_FOUND, format!("no analysis {id:?} (the server keeps only the most recent ones)"))
        })
    }

    fn prediction(
        &self,
        served: &crate::ServedModel,
        name: String,
        segments: &[Vec<f32>],
        aggregation: Aggregation,
        top_k: usize,
    ) -> Prediction {
        Prediction::new(
            name,
            self.device.describe(),
            served.classifier.labels(),
            segments,
            aggregation,
            top_k,
            served.extractor.config().segment_seconds(),
        )
    }

    /// Reads the upload from memory, named as the client named it (so that a decoding
    /// error names the upload); `read` gets its decoder.
    fn with_upload<T>(
        &self,
        name: &str,
        bytes: Bytes,
        read: impl FnOnce(AudioDecoder) -> genre_dsp::Result<T>,
    ) -> Result<T, ApiError> {
        self.uploads.fetch_add(1, Ordering::Relaxed);
        AudioDecoder::from_reader(name, std::io::Cursor::new(bytes))
            .and_then(read)
            .map_err(|e| ApiError(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()))
    }

    fn upload_features(
        &self,
        served: &crate::ServedModel,
        name: &str,
        bytes: Bytes,
        coverage: Coverage,
    ) -> Result<Features, ApiError> {
        self.with_upload(name, bytes, |decoder| {
            served.extractor.extract_decoded(decoder, coverage, FeatureScale::Standardized)
        })
    }
}

impl crate::ServedModel {
    /// Explains one segment of `features`; the attribution and the explained class.
    fn explain_segment(
        &self,
        features: &Features,
        request: &ExplainRequest,
    ) -> Result<genre_xai::Attribution, ApiError> {
        let input = features
            .segment(request.segment)
            .ok_or_else(|| bad(format!("segment {}: the audio has {}", request.segment, features.n_segments())))?;
        let target = request.target.unwrap_or_else(|| self.explainer.predicted(input));
        self.explainer.explain(request.method, input, target).map_err(internal)
    }
}

pub(crate) async fn reaggregate(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    query: Result<Query<ViewQuery>, QueryRejection>,
) -> Result<Json<Prediction>, ApiError> {
    let view = ViewQuery::parse(query, &state)?;
    let analysis = state.analysis(&id)?;
    let served = &state.models[analysis.model];
    Ok(Json(state.prediction(served, analysis.name.clone(), &analysis.probabilities, view.aggregation, view.top_k)))
}

pub(crate) async fn audio(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let analysis = state.analysis(&id)?;
    let bytes = wav_bytes(&analysis.playback, analysis.sample_rate).map_err(internal)?;
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static("audio/wav"))], bytes).into_response())
}

fn png(bytes: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("image/png"))], bytes).into_response()
}

pub(crate) async fn mel_picture(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let analysis = state.analysis(&id)?;
    on_worker(&state, move |state| {
        let config = state.models[analysis.model].extractor.config();
        let [segments, rows, frames] = analysis.decibels.shape();
        // Segments side by side: row r of the picture is band r of every segment.
        let columns = segments * frames;
        let mut values = vec![0.0f32; rows * columns];
        for s in 0..segments {
            for (r, band) in analysis.decibels.segment(s).unwrap_or_default().chunks_exact(frames).enumerate() {
                values[r * columns + s * frames..r * columns + (s + 1) * frames].copy_from_slice(band);
            }
        }
        let (values, columns) = average_columns(&values, rows, columns, MEL_PICTURE_COLUMNS);
        let (title, bar) = match config.kind {
            FeatureKind::OriginalLogMel => ("log-mel spectrogram", "dB (re. segment max)"),
            FeatureKind::Musicnn => ("log-compressed mel spectrogram (musicnn)", "log10(10000 x + 1)"),
        };
        let map = Heatmap::new(format!("{}: {title}", analysis.name), values, rows, columns)
            .with_x_range(0.0, segments as f64 * config.segment_seconds(), "time (s)")
            .with_row_labels(genre_xai::mel_row_labels(config), 6, "mel band (centre)")
            .with_palette(Palette::Magma)
            .with_colour_bar(bar);
        Ok(png(genre_figures::render_png(&[map], 1, (1400, 380)).map_err(internal)?))
    })
    .await
}

/// `values` `[rows, columns]` with runs of columns averaged so that at most `max`
/// remain.
fn average_columns(values: &[f32], rows: usize, columns: usize, max: usize) -> (Vec<f32>, usize) {
    if columns <= max {
        return (values.to_vec(), columns);
    }
    let out_columns = max;
    let mut out = vec![0.0; rows * out_columns];
    for r in 0..rows {
        let row = &values[r * columns..(r + 1) * columns];
        for c in 0..out_columns {
            let run = &row[c * columns / out_columns..(c + 1) * columns / out_columns];
            out[r * out_columns + c] = run.iter().sum::<f32>() / run.len().max(1) as f32;
        }
    }
    (out, out_columns)
}

pub(crate) async fn explain_picture(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    query: Result<Query<ExplainQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let query = ExplainQuery::parse(query)?;
    let analysis = state.analysis(&id)?;
    let served = &state.models[analysis.model];
    let request = query.check(served.classifier.labels(), analysis.features.n_segments())?;
    on_worker(&state, move |state| {
        let served = &state.models[analysis.model];
        let started = std::time::Instant::now();
        let attribution = served.explain_segment(&analysis.features, &request)?;
        let seconds = started.elapsed().as_secs_f64();
        let config = served.extractor.config();
        let start = request.segment as f64 * config.segment_seconds();
        let genre = &served.classifier.labels()[attribution.target];
        let caption = format!(
            "{}, segment {} ({start:.0}-{:.0} s), for {genre}",
            analysis.name,
            request.segment,
            start + config.segment_seconds()
        );
        let maps = genre_xai::explanation_heatmaps(
            analysis.features.segment(request.segment).ok_or_else(|| bad("no such segment"))?,
            &[attribution],
            config,
            start,
            &caption,
        );
        let mut response = png(genre_figures::render_png(&maps, 2, (760, 420)).map_err(internal)?);
        let headers = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(genre) {
            headers.insert("x-explained-genre", value);
        }
        if let Ok(value) = HeaderValue::from_str(&format!("{seconds:.3}")) {
            headers.insert("x-explain-seconds", value);
        }
        Ok(response)
    })
    .await
}

pub(crate) async fn explain(
    State(state): State<Arc<AppState>>,
    query: Result<Query<ExplainQuery>, QueryRejection>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let query = ExplainQuery::parse(query)?;
    let model = state.model(query.model.as_deref())?;
    let (name, bytes) = read_upload(multipart).await?;
    on_worker(&state, move |state| {
        let served = &state.models[model];
        let coverage = served.coverage(query.whole_track);
        let features = state.upload_features(served, &name, bytes, coverage)?;
        let request = query.check(served.classifier.labels(), features.n_segments())?;
        let started = std::time::Instant::now();
        let attribution = served.explain_segment(&features, &request)?;
        let seconds = started.elapsed().as_secs_f64();
        let segment_seconds = served.extractor.config().segment_seconds();
        Ok(Json(serde_json::json!({
            "file": name,
            "model": served.name,
            "method": request.method.name(),
            "segment": request.segment,
            "start_s": request.segment as f64 * segment_seconds,
            "end_s": (request.segment + 1) as f64 * segment_seconds,
            "target": served.classifier.labels()[attribution.target],
            "labels": served.classifier.labels(),
            "shape": attribution.shape,
            "values": attribution.values,
            "completeness_error": attribution.completeness_error,
            "seconds": seconds,
        })))
    })
    .await
}
