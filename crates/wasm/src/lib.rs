//! Classification in the browser: the project's decoder, feature extractor and genre
//! models compiled to WebAssembly (`wasm32-unknown-unknown`, Burn's pure-Rust `flex`
//! backend on one thread), for the web app's "on this device" mode. The page fetches a
//! model file from the server (`GET /api/models/{name}`), hands the audio file's bytes
//! to [`OnDeviceClassifier::analyse`] in a Web Worker, steps through the segments (so
//! that it can show progress), and reads the same JSON answer `POST /api/predict` gives:
//! nothing is uploaded.

use std::io::Cursor;

use genre_dsp::{AudioDecoder, FeatureExtractor, FeatureScale, Features};
use genre_models::DeviceKind;
use genre_models::checkpoint::Checkpoint;
use genre_models::infer::{Aggregation, Classifier, Prediction};
use wasm_bindgen::prelude::*;

/// Segments per step: one clip's ten.
const SEGMENTS_PER_STEP: usize = 10;

/// A model loaded in the browser.
#[wasm_bindgen]
pub struct OnDeviceClassifier {
    classifier: Classifier,
    extractor: FeatureExtractor,
}

#[wasm_bindgen]
impl OnDeviceClassifier {
    /// Loads a model file's bytes (`.gmdl`, as the server's `GET /api/models/{name}`
    /// returns them).
    #[wasm_bindgen(constructor)]
    pub fn new(model: &[u8]) -> Result<OnDeviceClassifier, JsError> {
        let checkpoint = Checkpoint::from_bytes(model, "<model>".as_ref()).map_err(js)?;
        let extractor = FeatureExtractor::new(checkpoint.header.features.clone()).map_err(js)?;
        let device = DeviceKind::Cpu.device().map_err(js)?;
        let classifier = Classifier::new(checkpoint, &device).map_err(js)?;
        Ok(OnDeviceClassifier { classifier, extractor })
    }

    /// The model's genres, in output order.
    #[wasm_bindgen(getter)]
    pub fn labels(&self) -> Vec<String> {
        self.classifier.labels().to_vec()
    }

    /// Decodes `audio` (the bytes of a file named `name`) and computes its features:
    /// the whole track when `whole_track` (or, when undefined, the model's default).
    pub fn analyse(&self, audio: Vec<u8>, name: String, whole_track: Option<bool>) -> Result<Analysis, JsError> {
        let coverage = self.classifier.checkpoint().header.coverage(whole_track);
        let decoder = AudioDecoder::from_reader(&name, Cursor::new(audio)).map_err(js)?;
        let features = self.extractor.extract_decoded(decoder, coverage, FeatureScale::Standardized).map_err(js)?;
        Ok(Analysis { name, features, segments: Vec::new() })
    }

    /// Runs the model on the next segments of `analysis`; the share of segments done.
    pub fn step(&self, analysis: &mut Analysis) -> Result<f64, JsError> {
        let [n, mels, frames] = analysis.features.shape();
        let done = analysis.segments.len();
        if done < n {
            let end = (done + SEGMENTS_PER_STEP).min(n);
            let size = mels * frames;
            let values = analysis.features.as_slice()[done * size..end * size].to_vec();
            let batch = Features::from_vec(values, [end - done, mels, frames])
                .ok_or_else(|| JsError::new("segment batch out of range"))?;
            analysis.segments.extend(self.classifier.probabilities(&batch, SEGMENTS_PER_STEP).map_err(js)?);
        }
        Ok(if n == 0 { 1.0 } else { analysis.segments.len() as f64 / n as f64 })
    }

    /// The answer once every segment is done: the JSON of `POST /api/predict`.
    pub fn prediction(&self, analysis: &Analysis, aggregation: &str, top_k: usize) -> Result<String, JsError> {
        let aggregation: Aggregation = aggregation.parse().map_err(|e: String| JsError::new(&e))?;
        if analysis.segments.len() < analysis.features.n_segments() {
            return Err(JsError::new("the analysis has segments left: call step() until it returns 1"));
        }
        let prediction = Prediction::new(
            analysis.name.clone(),
            "on this device (WebAssembly)",
            self.classifier.labels(),
            &analysis.segments,
            aggregation,
            top_k,
            self.extractor.config().segment_seconds(),
        );
        serde_json::to_string(&prediction).map_err(js)
    }
}

/// One file being classified: its features and the segments done so far.
#[wasm_bindgen]
pub struct Analysis {
    name: String,
    features: Features,
    segments: Vec<Vec<f32>>,
}

#[wasm_bindgen]
impl Analysis {
    /// Segments of audio (3 s each).
    #[wasm_bindgen(getter)]
    pub fn segments(&self) -> usize {
        self.features.n_segments()
    }
}

fn js(error: impl std::fmt::Display) -> JsError {
    JsError::new(&error.to_string())
}
