//! The JSON API through the router (no socket): good and bad uploads, the size limit,
//! and concurrent requests.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use genre_models::DeviceKind;
use genre_models::checkpoint::Checkpoint;
use genre_web::{AppState, Limits};
use tower::ServiceExt;

fn repo() -> PathBuf {
    std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../..")
}

/// The default bundled model, the one the server answers with when no `model=` is given.
fn default_model() -> Checkpoint {
    Checkpoint::load(&repo().join("crates/cli/assets/gtzan.gmdl")).unwrap()
}

/// Both bundled models, `gtzan` the default.
fn state(limits: Limits) -> Arc<AppState> {
    let emotify = Checkpoint::load(&repo().join("crates/cli/assets/emotify.gmdl")).unwrap();
    AppState::with_models(vec![("gtzan".into(), default_model()), ("emotify".into(), emotify)], DeviceKind::Cpu, limits)
        .unwrap()
}

fn upload(uri: &str, field: &str, name: &str, bytes: &[u8]) -> Request<Body> {
    let mut body = Vec::new();
    body.extend_from_slice(b"--XBOUNDARYX\r\n");
    body.extend_from_slice(
        format!("Content-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\n").as_bytes(),
    );
    body.extend_from_slice(b"Content-Type: application/octet-stream\r\n\r\n");
    body.extend_from_slice(bytes);
    body.extend_from_slice(b"\r\n--XBOUNDARYX--\r\n");
    Request::post(uri)
        .header("content-type", "multipart/form-data; boundary=XBOUNDARYX")
        .body(Body::from(body))
        .unwrap()
}

async fn send(state: &Arc<AppState>, request: Request<Body>) -> (StatusCode, serde_json::Value) {
    let response = genre_web::router(state.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null))
}

fn clip() -> Vec<u8> {
    std::fs::read(repo().join("fixtures/audio/music_22050_flac.flac")).unwrap()
}

#[tokio::test]
async fn health_and_model_describe_the_server() {
    let state = state(Limits::default());
    let (status, health) = send(&state, Request::get("/api/health").body(Body::empty()).unwrap()).await;
    assert_eq!((status, health["status"].as_str()), (StatusCode::OK, Some("ok")));
    let (status, model) = send(&state, Request::get("/api/model").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(model["labels"].as_array().unwrap().len(), 10);
    assert_eq!(
        (&model["name"], &model["models"]),
        (&serde_json::json!("gtzan"), &serde_json::json!(["gtzan", "emotify"]))
    );
    assert_eq!(model["input"], serde_json::json!([96, 187]));
    assert!(model["device"].as_str().unwrap().contains("cpu"));
}

#[tokio::test]
async fn a_good_upload_gets_the_cli_s_json_object() {
    let state = state(Limits::default());
    // The first 30 s, as the library's `extract` reads it (the bundled model's default
    // is the whole file, which for this 4.5 s clip is two segments: checked below).
    let (status, v) =
        send(&state, upload("/api/predict?top_k=2&aggregate=vote&whole_track=false", "file", "song.flac", &clip()))
            .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    for key in ["file", "labels", "prediction", "aggregate", "probabilities", "top_k", "segments", "device"] {
        assert!(v.get(key).is_some(), "missing {key}: {v}");
    }
    assert_eq!(v["file"], "song.flac");
    assert_eq!(v["aggregate"], "vote");
    assert_eq!(v["top_k"].as_array().unwrap().len(), 2);
    assert_eq!(v["segments"].as_array().unwrap().len(), 10);
    // Same numbers as the library gives for the same file.
    let checkpoint = default_model();
    let extractor = genre_dsp::FeatureExtractor::new(checkpoint.header.features.clone()).unwrap();
    let classifier = genre_models::infer::Classifier::new(checkpoint, &DeviceKind::Cpu.device().unwrap()).unwrap();
    let segments = classifier
        .probabilities(&extractor.extract(repo().join("fixtures/audio/music_22050_flac.flac")).unwrap(), 32)
        .unwrap();
    let first: Vec<f64> =
        v["segments"][0]["probabilities"].as_array().unwrap().iter().map(|p| p.as_f64().unwrap()).collect();
    for (a, b) in first.iter().zip(&segments[0]) {
        assert!((a - f64::from(*b)).abs() < 1e-6);
    }
    // Without `whole_track`, the model's default: the bundled model, trained on whole
    // clips, reads the whole file (two 3 s segments of this 4.5 s clip).
    let whole = default_model().header.whole_track;
    let (_, v) = send(&state, upload("/api/predict", "file", "song.flac", &clip())).await;
    assert_eq!(v["segments"].as_array().unwrap().len(), if whole { 2 } else { 10 }, "{v}");
    let (_, model) = send(&state, Request::get("/api/model").body(Body::empty()).unwrap()).await;
    assert_eq!(model["whole_track"], whole);
}

#[tokio::test]
async fn model_picks_a_served_model_and_an_unknown_name_is_400_with_the_names() {
    let state = state(Limits::default());
    let (status, model) = send(&state, Request::get("/api/model?model=emotify").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(model["labels"], serde_json::json!(["classical", "electronic", "pop", "rock"]));
    let (status, v) = send(&state, upload("/api/predict?model=emotify", "file", "song.flac", &clip())).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["labels"].as_array().unwrap().len(), 4);
    let (status, v) = send(&state, upload("/api/analyze?model=emotify", "file", "song.flac", &clip())).await;
    assert_eq!((status, &v["model"]), (StatusCode::OK, &serde_json::json!("emotify")), "{v}");
    // The stored analysis keeps its model: re-aggregating answers with its four genres.
    let uri = format!("/api/analyses/{}?aggregate=max", v["id"].as_str().unwrap());
    let (_, again) = send(&state, Request::get(uri).body(Body::empty()).unwrap()).await;
    assert_eq!(again["labels"].as_array().unwrap().len(), 4, "{again}");
    for uri in ["/api/model?model=gtzn", "/api/predict?model=gtzn"] {
        let request = if uri.starts_with("/api/model") {
            Request::get(uri).body(Body::empty()).unwrap()
        } else {
            upload(uri, "file", "song.flac", &clip())
        };
        let (status, v) = send(&state, request).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {v}");
        let error = v["error"].as_str().unwrap();
        assert!(error.contains("gtzn") && error.contains("gtzan, emotify"), "{error}");
    }
}

#[tokio::test]
async fn bad_uploads_are_4xx_with_an_error_naming_the_upload() {
    let state = state(Limits::default());
    for (name, bytes) in [
        ("empty.wav", Vec::new()),
        ("noise.mp3", (0..5000u32).map(|i| (i * 7919 % 251) as u8).collect()),
        ("header.wav", b"RIFF\x24\x00\x00\x00WAVEfmt ".to_vec()),
        ("../../etc/passwd", b"not audio at all".to_vec()),
    ] {
        let (status, v) = send(&state, upload("/api/predict", "file", name, &bytes)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{name}: {v}");
        let error = v["error"].as_str().unwrap();
        assert!(error.contains(name), "{name}: {error}");
        assert!(!error.contains("genre-web-"), "the server's own path leaked: {error}");
    }
    let (status, v) = send(&state, upload("/api/predict", "other", "a.wav", &clip())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    let (status, _) = send(&state, upload("/api/predict?aggregate=loudest", "file", "a.flac", &clip())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn an_upload_over_the_limit_is_413() {
    let state = state(Limits { max_upload_bytes: 10_000, ..Limits::default() });
    let (status, _) = send(&state, upload("/api/predict", "file", "big.flac", &clip())).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_are_served_or_refused_with_503_never_dropped() {
    // Enough room: all succeed.
    let state_ok = state(Limits { workers: 2, queue: 8, ..Limits::default() });
    let clip = clip();
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let (s, c) = (state_ok.clone(), clip.clone());
            tokio::spawn(async move { send(&s, upload("/api/predict", "file", &format!("{i}.flac"), &c)).await })
        })
        .collect();
    for t in tasks {
        let (status, v) = t.await.unwrap();
        assert_eq!(status, StatusCode::OK, "{v}");
    }
    // One worker, no queue: while one request runs, the others are refused.
    let state_busy = state(Limits { workers: 1, queue: 0, ..Limits::default() });
    let tasks: Vec<_> = (0..4)
        .map(|i| {
            let (s, c) = (state_busy.clone(), clip.clone());
            tokio::spawn(async move { send(&s, upload("/api/predict", "file", &format!("{i}.flac"), &c)).await.0 })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert!(statuses.contains(&StatusCode::OK), "{statuses:?}");
    assert!(statuses.contains(&StatusCode::SERVICE_UNAVAILABLE), "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == StatusCode::OK || *s == StatusCode::SERVICE_UNAVAILABLE));
}

async fn get_bytes(state: &Arc<AppState>, uri: &str) -> (StatusCode, String, Vec<u8>) {
    let response =
        genre_web::router(state.clone()).oneshot(Request::get(uri).body(Body::empty()).unwrap()).await.unwrap();
    let status = response.status();
    let kind = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, kind, bytes.to_vec())
}

#[tokio::test]
async fn explain_answers_one_segment_s_map_and_checks_its_query() {
    let state = state(Limits::default());
    let (status, v) =
        send(&state, upload("/api/explain?segment=1&method=grad-cam&target=rock", "file", "song.flac", &clip())).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(
        (v["method"].as_str(), v["segment"].as_u64(), v["target"].as_str()),
        (Some("grad-cam"), Some(1), Some("rock"))
    );
    assert_eq!(v["shape"], serde_json::json!([96, 187]));
    let values = v["values"].as_array().unwrap();
    assert_eq!(values.len(), 96 * 187);
    assert!(values.iter().all(|x| x.as_f64().unwrap().is_finite() && x.as_f64().unwrap() >= 0.0));
    for bad in ["segment=10", "method=saliency", "target=electronic"] {
        let (status, v) = send(&state, upload(&format!("/api/explain?{bad}"), "file", "song.flac", &clip())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {v}");
        assert!(v["error"].as_str().is_some(), "{bad}: {v}");
    }
    let (status, _) = send(&state, upload("/api/explain", "file", "x.wav", b"RIFF")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn an_analysis_is_kept_for_the_page_s_views() {
    let state = state(Limits { analyses: 1, ..Limits::default() });
    let (status, v) =
        send(&state, upload("/api/analyze?top_k=2&whole_track=false", "file", "song.flac", &clip())).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    assert_eq!(v["prediction"]["segments"].as_array().unwrap().len(), 10);
    assert_eq!(v["waveform"]["min"].as_array().unwrap().len(), 10 * 64);

    // Re-aggregated without an upload: the same numbers /api/predict gives.
    let (_, again) =
        send(&state, Request::get(format!("/api/analyses/{id}?aggregate=max&top_k=4")).body(Body::empty()).unwrap())
            .await;
    let (_, direct) =
        send(&state, upload("/api/predict?aggregate=max&top_k=4&whole_track=false", "file", "song.flac", &clip()))
            .await;
    assert_eq!(again["top_k"], direct["top_k"]);
    assert_eq!(again["aggregate"], "max");

    let (status, kind, wav) = get_bytes(&state, &format!("/api/analyses/{id}/audio.wav")).await;
    assert_eq!((status, kind.as_str()), (StatusCode::OK, "audio/wav"));
    assert_eq!(wav.len(), 44 + 2 * 10 * 47_872, "ten musicnn segments of 16-bit audio");
    for picture in ["mel.png", "explain.png?segment=2&method=grad-cam"] {
        let (status, kind, png) = get_bytes(&state, &format!("/api/analyses/{id}/{picture}")).await;
        assert_eq!((status, kind.as_str()), (StatusCode::OK, "image/png"), "{picture}");
        assert_eq!(&png[1..4], b"PNG", "{picture}");
    }
    let (status, _, _) = get_bytes(&state, &format!("/api/analyses/{id}/explain.png?segment=99")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // The store keeps one analysis: a second upload drops the first.
    let (status, _) = send(&state, upload("/api/analyze", "file", "other.flac", &clip())).await;
    assert_eq!(status, StatusCode::OK);
    let (status, v) = send(&state, Request::get(format!("/api/analyses/{id}")).body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{v}");
}

#[tokio::test]
async fn the_page_and_its_assets_are_served() {
    let state = state(Limits::default());
    for (path, kind, needle) in [
        ("/", "text/html", "Genre classifier"),
        ("/app.js", "text/javascript", "/api/analyze"),
        ("/style.css", "text/css", "#sidebar"),
    ] {
        let (status, content_type, body) = get_bytes(&state, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(content_type.starts_with(kind), "{path}: {content_type}");
        assert!(String::from_utf8(body).unwrap().contains(needle), "{path}");
    }
}
