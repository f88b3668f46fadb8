//! The page in a real headless Chromium, driven over the DevTools protocol: open it,
//! upload a file through the file input, see the top-K chart and the segment table,
//! change the aggregation and the top-K slider and see exactly the answers the library
//! gives, without a second upload; ask for an explanation picture; drop a file on the
//! drop zone.
//!
//! Needs Chromium: `chromium` (Debian's package), `chromium-browser`, `google-chrome`,
//! or the path in `$CHROMIUM`. `cargo xtask test` installs or finds it.
//! The page's screenshot is written to `$CARGO_TARGET_TMPDIR/web_page.png`.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use genre_models::DeviceKind;
use genre_models::checkpoint::Checkpoint;
use genre_models::infer::{Aggregation, Classifier, Prediction};
use genre_web::{AppState, Limits};
use serde_json::{Value, json};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

fn repo() -> PathBuf {
    std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../..")
    .canonicalize()
    .unwrap()
}

/// The Chromium to drive: `$CHROMIUM`, else the first of the usual names on `PATH`.
fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return PathBuf::from(path);
    }
    let names = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in names {
            if dir.join(name).is_file() {
                return dir.join(name);
            }
        }
    }
    panic!("no Chromium found (tried $CHROMIUM and {names:?} on PATH); `cargo xtask test` installs Debian's chromium");
}

/// A headless Chromium with one page, spoken to over the DevTools protocol.
struct Browser {
    child: Child,
    socket: WebSocket<MaybeTlsStream<TcpStream>>,
    session: String,
    next_id: u64,
    profile: PathBuf,
}

impl Browser {
    fn launch() -> Browser {
        // One profile per browser: tests run in parallel, and two Chromiums cannot share one.
        static LAUNCHED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = LAUNCHED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let profile = std::env::temp_dir().join(format!("genre-web-chromium-{}-{n}", std::process::id()));
        let mut child = Command::new(chromium())
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-port=0",
                "about:blank",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Chromium prints the browser's DevTools address on stderr.
        let (sender, receiver) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(at) = line.find("ws://") {
                    let _ = sender.send(line[at..].trim().to_string());
                }
            }
        });
        let address = receiver.recv_timeout(Duration::from_secs(60)).expect("Chromium printed no DevTools address");
        let (socket, _) = tungstenite::connect(address.as_str()).unwrap();
        let mut browser = Browser { child, socket, session: String::new(), next_id: 0, profile };
        let target = browser.call("Target.createTarget", json!({ "url": "about:blank" }));
        let attached =
            browser.call("Target.attachToTarget", json!({ "targetId": target["targetId"], "flatten": true }));
        browser.session = attached["sessionId"].as_str().unwrap().to_string();
        browser.page(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": 1400, "height": 1000, "deviceScaleFactor": 1, "mobile": false }),
        );
        browser
    }

    /// Sends a command (to the page's session unless `session` is empty) and waits for
    /// its answer, skipping events.
    fn send(&mut self, session: &str, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({ "id": id, "method": method, "params": params });
        if !session.is_empty() {
            message["sessionId"] = json!(session);
        }
        self.socket.send(Message::Text(message.to_string().into())).unwrap();
        loop {
            let Message::Text(text) = self.socket.read().unwrap() else { continue };
            let answer: Value = serde_json::from_str(text.as_str()).unwrap();
            if answer["id"] == json!(id) {
                assert!(answer.get("error").is_none(), "{method}: {}", answer["error"]);
                return answer["result"].clone();
            }
        }
    }

    fn call(&mut self, method: &str, params: Value) -> Value {
        self.send("", method, params)
    }

    fn page(&mut self, method: &str, params: Value) -> Value {
        let session = self.session.clone();
        self.send(&session, method, params)
    }

    /// The value of a JavaScript expression in the page.
    fn eval(&mut self, expression: &str) -> Value {
        let result = self
            .page("Runtime.evaluate", json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }));
        assert!(result.get("exceptionDetails").is_none(), "{expression}: {}", result["exceptionDetails"]);
        result["result"]["value"].clone()
    }

    /// Waits until `condition` is true in the page.
    fn wait_for(&mut self, condition: &str, timeout: Duration) {
        let started = Instant::now();
        while self.eval(condition) != json!(true) {
            let status = self.eval("document.getElementById('status')?.textContent ?? ''");
            assert!(started.elapsed() < timeout, "timed out waiting for `{condition}` (status: {status})");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Puts `file` into the `<input type=file>` matched by `selector`, as a user choosing
    /// it would (the page receives its change event).
    fn choose_file(&mut self, selector: &str, file: &Path) {
        let document = self.page("DOM.getDocument", json!({ "depth": 0 }));
        let node =
            self.page("DOM.querySelector", json!({ "nodeId": document["root"]["nodeId"], "selector": selector }));
        self.page("DOM.setFileInputFiles", json!({ "nodeId": node["nodeId"], "files": [file] }));
    }

    /// A picture of the whole page (the window is made as tall as the page first).
    fn screenshot(&mut self, path: &Path) {
        let height = self.eval("document.documentElement.scrollHeight").as_u64().unwrap();
        self.page(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": 1400, "height": height, "deviceScaleFactor": 1, "mobile": false }),
        );
        let shot = self.page("Page.captureScreenshot", json!({ "format": "png" }));
        let bytes = base64::engine::general_purpose::STANDARD.decode(shot["data"].as_str().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// `[genre, probability]` of each bar of the top-K chart.
fn chart(browser: &mut Browser) -> Vec<(String, f64)> {
    let rows = browser.eval(
        "[...document.querySelectorAll('#top-k-chart .bar-row')].map(r => [r.dataset.genre, Number(r.dataset.probability)])",
    );
    rows.as_array().unwrap().iter().map(|r| (r[0].as_str().unwrap().to_string(), r[1].as_f64().unwrap())).collect()
}

fn expected_chart(prediction: &Prediction) -> Vec<(String, f64)> {
    prediction.top_k.iter().map(|t| (t.genre.clone(), f64::from(t.probability))).collect()
}

fn assert_same_chart(shown: &[(String, f64)], expected: &[(String, f64)]) {
    assert_eq!(shown.len(), expected.len(), "{shown:?} vs {expected:?}");
    for ((genre, p), (want_genre, want)) in shown.iter().zip(expected) {
        assert_eq!(genre, want_genre, "{shown:?} vs {expected:?}");
        assert!((p - want).abs() < 1e-6, "{shown:?} vs {expected:?}");
    }
}

#[test]
fn a_user_uploads_a_file_changes_the_settings_and_asks_why() {
    let clip = repo().join("examples/audio/demo_rock_30s.flac");
    let bundled = repo().join("crates/cli/assets/gtzan.gmdl");
    let emotify = Checkpoint::load(&repo().join("crates/cli/assets/emotify.gmdl")).unwrap();

    // What the library answers for this file, under two aggregations.
    let checkpoint = Checkpoint::load(&bundled).unwrap();
    let extractor = genre_dsp::FeatureExtractor::new(checkpoint.header.features.clone()).unwrap();
    let classifier = Classifier::new(checkpoint.clone(), &DeviceKind::Cpu.device().unwrap()).unwrap();
    // The page reads what the model reads by default: the whole file for the bundled
    // model, which was trained on whole clips.
    let coverage =
        if checkpoint.header.whole_track { genre_dsp::Coverage::WholeTrack } else { genre_dsp::Coverage::Clip };
    let features = extractor.extract_with(&clip, coverage, genre_dsp::FeatureScale::Standardized).unwrap();
    let segments = classifier.probabilities(&features, 32).unwrap();
    let answer = |aggregation, k| {
        Prediction::new(
            "x".into(),
            "cpu",
            classifier.labels(),
            &segments,
            aggregation,
            k,
            extractor.config().segment_seconds(),
        )
    };
    let (mean, vote) = (answer(Aggregation::Mean, 3), answer(Aggregation::Vote, 3));
    assert_ne!(expected_chart(&mean), expected_chart(&vote), "pick a file where the aggregations differ");

    // The server, on a loopback port, with both bundled models (the ten-genre one first).
    let models = vec![("gtzan".to_string(), checkpoint), ("emotify".to_string(), emotify.clone())];
    let state: Arc<AppState> = AppState::with_models(models, DeviceKind::Cpu, Limits::default()).unwrap();
    let (_runtime, mut browser) = open_page(&state);
    let facts = browser.eval("document.getElementById('model-facts').textContent");
    assert!(facts.as_str().unwrap().contains("96 x 187"), "{facts}");
    assert_eq!(
        browser.eval("document.getElementById('whole-track').checked"),
        json!(checkpoint_reads_whole_tracks(&bundled)),
        "the whole-track setting starts as the model's default"
    );

    // Upload through the file input: the chart and the segment table appear.
    browser.choose_file("#file-input", &clip);
    browser.wait_for(
        "document.querySelectorAll('#segments tbody tr').length === 10 \
         && document.querySelectorAll('#top-k-chart .bar-row').length === 3",
        Duration::from_secs(60),
    );
    assert_same_chart(&chart(&mut browser), &expected_chart(&mean));
    let table = browser.eval("document.getElementById('segments').tBodies[0].innerText");
    let first_row =
        browser.eval("[...document.getElementById('segments').tBodies[0].rows[0].cells].map(c => c.textContent)");
    let top = segments[0].iter().enumerate().fold(0, |b, (i, &v)| if v > segments[0][b] { i } else { b });
    assert_eq!(first_row[2], json!(classifier.labels()[top]), "{first_row}");
    assert_eq!(browser.eval("document.getElementById('prediction').textContent"), json!(mean.prediction));
    browser.wait_for(
        "document.getElementById('mel').complete && document.getElementById('mel').naturalWidth > 0",
        Duration::from_secs(30),
    );

    // Majority vote: the chart shows the vote's numbers; the segments stay as they were.
    browser.eval("(() => { const s = document.getElementById('aggregation'); s.value = 'vote'; s.dispatchEvent(new Event('change')); })()");
    browser.wait_for("document.getElementById('aggregate-name').textContent === '(vote)'", Duration::from_secs(30));
    assert_same_chart(&chart(&mut browser), &expected_chart(&vote));
    assert_eq!(browser.eval("document.getElementById('segments').tBodies[0].innerText"), table);

    // Top-K slider to 2: two bars, the vote's top two.
    browser.eval("(() => { const s = document.getElementById('top-k'); s.value = '2'; s.dispatchEvent(new Event('change')); })()");
    browser.wait_for("document.querySelectorAll('#top-k-chart .bar-row').length === 2", Duration::from_secs(30));
    assert_same_chart(&chart(&mut browser), &expected_chart(&vote)[..2]);
    assert_eq!(state.uploads_received(), 1, "changing the settings must not upload again");

    // The table toggle hides the table.
    browser.eval("(() => { const c = document.getElementById('show-segments'); c.click(); })()");
    assert_eq!(browser.eval("document.getElementById('segments-card').hidden"), json!(true));
    browser.eval("document.getElementById('show-segments').click()");

    // An explanation of segment 3 by Grad-CAM.
    browser.eval("(() => { document.getElementById('explain-segment').value = '3'; document.getElementById('explain-method').value = 'grad-cam'; document.getElementById('explain-button').click(); })()");
    browser.wait_for(
        "!document.getElementById('explanation').hidden && document.getElementById('explanation').naturalWidth > 0",
        Duration::from_secs(120),
    );
    let status = browser.eval("document.getElementById('explain-status').textContent");
    assert!(status.as_str().unwrap().starts_with("grad-cam for "), "{status}");

    // Back to the mean for the screenshot.
    browser.eval("(() => { const s = document.getElementById('aggregation'); s.value = 'mean'; s.dispatchEvent(new Event('change')); })()");
    browser.wait_for("document.getElementById('aggregate-name').textContent === '(mean)'", Duration::from_secs(30));
    browser.screenshot(&Path::new(env!("CARGO_TARGET_TMPDIR")).join("web_page.png"));

    // Drag-and-drop: a file dropped on the drop zone is analysed (here the WAV the
    // server made of the first upload, fetched by the page and dropped as a File).
    browser.eval(
        "(async () => { \
           const wav = await (await fetch(`/api/analyses/${window.genreApp.analysis.id}/audio.wav`)).blob(); \
           const data = new DataTransfer(); \
           data.items.add(new File([wav], 'dropped.wav', { type: 'audio/wav' })); \
           document.getElementById('drop-zone').dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true })); \
         })()",
    );
    browser.wait_for(
        "document.getElementById('prediction-detail').textContent.includes('dropped.wav')",
        Duration::from_secs(60),
    );
    assert_eq!(state.uploads_received(), 2, "the drop uploads once");
    assert_eq!(browser.eval("document.querySelectorAll('#segments tbody tr').length"), json!(10));

    // The model selector: the ten-genre model is the default; choosing the Emotify one
    // shows its four genres and analyses the file again with it.
    assert_eq!(
        browser.eval("[...document.getElementById('model-select').options].map(o => o.value)"),
        json!(["gtzan", "emotify"])
    );
    assert_eq!(browser.eval("document.getElementById('model-select').value"), json!("gtzan"));
    browser.eval("(() => { const s = document.getElementById('model-select'); s.value = 'emotify'; s.dispatchEvent(new Event('change')); })()");
    browser.wait_for(
        "window.genreApp.analysis && window.genreApp.analysis.model === 'emotify' \
         && document.querySelectorAll('#top-k-chart .bar-row').length === 3",
        Duration::from_secs(60),
    );
    let emotify_classifier = Classifier::new(emotify, &DeviceKind::Cpu.device().unwrap()).unwrap();
    assert_eq!(browser.eval("window.genreApp.prediction.segments.length"), json!(10));
    let shown = chart(&mut browser);
    assert!(
        shown.iter().all(|(genre, _)| emotify_classifier.labels().contains(genre)),
        "the chart shows the Emotify model's genres: {shown:?}"
    );
    assert_eq!(browser.eval("document.getElementById('explain-target').options.length"), json!(1 + 4));
}

/// The server for `state` on a loopback port, and a browser on its page once the page
/// is ready. The runtime serves for as long as it is kept.
fn open_page(state: &Arc<AppState>) -> (tokio::runtime::Runtime, Browser) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let router = genre_web::router(state.clone());
    runtime.spawn(async move { axum::serve(listener, router).await });
    let mut browser = Browser::launch();
    browser.page("Page.navigate", json!({ "url": url }));
    browser.wait_for("document.body?.dataset.ready === 'true'", Duration::from_secs(30));
    (runtime, browser)
}

fn checkpoint_reads_whole_tracks(path: &std::path::Path) -> bool {
    Checkpoint::load(path).unwrap().header.whole_track
}

/// The "on this device" mode: the WebAssembly package (`cargo xtask wasm`, whose folder
/// `cargo xtask test` passes in `GENRE_WASM_PKG`) classifies a clip in the page's Web
/// Worker. The server counts no upload, and the probabilities equal the server's for the
/// same clip and model within 1e-4. Prints the in-browser time beside the server's.
#[test]
fn on_this_device_the_page_classifies_without_uploading() {
    let Some(package) = std::env::var_os("GENRE_WASM_PKG").map(PathBuf::from) else {
        eprintln!("skipped: GENRE_WASM_PKG names no WebAssembly package (cargo xtask test builds one)");
        return;
    };
    let clip = repo().join("examples/audio/demo_orchestral_30s.flac");
    let checkpoint = Checkpoint::load(&repo().join("crates/cli/assets/gtzan.gmdl")).unwrap();
    let extractor = genre_dsp::FeatureExtractor::new(checkpoint.header.features.clone()).unwrap();
    let classifier = Classifier::new(checkpoint.clone(), &DeviceKind::Cpu.device().unwrap()).unwrap();
    let started = Instant::now();
    let features =
        extractor.extract_with(&clip, checkpoint.header.coverage(None), genre_dsp::FeatureScale::Standardized).unwrap();
    let segments = classifier.probabilities(&features, 10).unwrap();
    let server_seconds = started.elapsed().as_secs_f64();
    let seconds = extractor.config().segment_seconds();
    let server = Prediction::new("x".into(), "cpu", classifier.labels(), &segments, Aggregation::Mean, 3, seconds);

    let state: Arc<AppState> =
        AppState::with_models(vec![("gtzan".to_string(), checkpoint)], DeviceKind::Cpu, Limits::default()).unwrap();
    state.serve_on_device(&package).unwrap();
    let (_runtime, mut browser) = open_page(&state);
    assert_eq!(browser.eval("document.getElementById('mode').value"), json!("device"), "on this device by default");
    browser.choose_file("#file-input", &clip);
    browser.wait_for(
        "Boolean(window.genreApp.analysis && window.genreApp.analysis.onDevice)          && document.querySelectorAll('#segments tbody tr').length === 10",
        Duration::from_secs(300),
    );
    assert_eq!(state.uploads_received(), 0, "on this device nothing is uploaded");
    let shown: Vec<f64> = serde_json::from_value(browser.eval("window.genreApp.prediction.probabilities")).unwrap();
    let shown_segments: Vec<Vec<f64>> =
        serde_json::from_value(browser.eval("window.genreApp.prediction.segments.map(s => s.probabilities)")).unwrap();
    let mut largest = 0.0f64;
    for (ours, theirs) in shown.iter().zip(&server.probabilities) {
        largest = largest.max((ours - f64::from(*theirs)).abs());
    }
    for (row, theirs) in shown_segments.iter().zip(&segments) {
        for (ours, theirs) in row.iter().zip(theirs) {
            largest = largest.max((ours - f64::from(*theirs)).abs());
        }
    }
    assert_eq!(shown.len(), 10);
    assert!(largest < 1e-4, "on-device probabilities differ from the server's by {largest:e}");
    assert_eq!(browser.eval("window.genreApp.prediction.prediction"), json!(server.prediction));
    assert_eq!(browser.eval("document.getElementById('explain-card').hidden"), json!(true));
    assert_eq!(browser.eval("document.getElementById('server-only').hidden"), json!(false));
    let browser_seconds = browser.eval("window.genreApp.analysis.seconds").as_f64().unwrap();
    // Re-aggregation happens in the worker too: still no upload.
    browser.eval("(() => { const s = document.getElementById('aggregation'); s.value = 'vote'; s.dispatchEvent(new Event('change')); })()");
    browser.wait_for("document.getElementById('aggregate-name').textContent === '(vote)'", Duration::from_secs(30));
    assert_eq!(state.uploads_received(), 0);
    println!(
        "on-device: {} (30 s clip, model gtzan) in {browser_seconds:.2} s in headless Chromium (WebAssembly, one \
         thread), {server_seconds:.2} s on the server (features + model, native); largest probability difference \
         {largest:.1e}; 0 uploads",
        server.prediction
    );
}
