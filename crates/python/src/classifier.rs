//! `Classifier`: a bundled model or a model file on a device; predictions as the JSON
//! `genre predict --format json` prints, one file at a time or many in parallel, and
//! explanations.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::OnceLock;

use genre_cli::bundled::{BundledModel, ModelChoice};
use genre_dsp::{FeatureExtractor, FeatureScale};
use genre_models::DeviceKind;
use genre_models::infer::{Aggregation, Classifier, Prediction};
use genre_xai::{Explainer, Method};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use rayon::prelude::*;

use crate::audio_input::AudioInput;
use crate::errors::{self, Kind};
use crate::features::{ArrayBytes, values_bytes};

/// The names `Classifier(model=...)` takes besides a file path, the default first.
#[pyfunction]
pub fn bundled_models() -> Vec<&'static str> {
    BundledModel::ALL.iter().map(|m| m.name()).collect()
}

/// What Python passes as one input: a path, or `(samples bytes, rate, name)`.
#[derive(FromPyObject)]
pub enum PyAudio<'py> {
    /// `(bytes of f32 samples, sample rate, name)`.
    Samples(Bound<'py, PyBytes>, u32, String),
    /// A file.
    Path(PathBuf),
}

impl PyAudio<'_> {
    fn input(&self) -> AudioInput {
        match self {
            PyAudio::Path(path) => AudioInput::File(path.clone()),
            PyAudio::Samples(bytes, rate, name) => {
                AudioInput::Samples { bytes: bytes.as_bytes().to_vec(), rate: *rate, name: name.clone() }
            }
        }
    }
}

/// Why one input failed.
struct Failure {
    kind: Kind,
    message: String,
    file: Option<String>,
}

impl Failure {
    fn into_py(self, py: Python<'_>) -> PyErr {
        let cause = match &self.file {
            Some(f) => self.message.strip_prefix(&format!("{f}: ")).map(str::to_string),
            None => Some(self.message.clone()),
        };
        errors::raise(py, self.kind, self.message, self.file, cause)
    }

    fn json(&self, name: &str) -> String {
        serde_json::json!({ "file": name, "error": self.message }).to_string()
    }
}

/// A decoding or feature failure of `input`, naming the file (or the array).
fn audio_failure(input: &AudioInput, e: genre_dsp::DspError) -> Failure {
    Failure {
        kind: Kind::Audio,
        file: Some(e.path().map_or_else(|| input.name(), |p| p.display().to_string())),
        message: e.to_string(),
    }
}

/// A model ready to classify.
#[pyclass(module = "genre_classifier._native", frozen)]
pub struct NativeClassifier {
    classifier: Classifier,
    extractor: FeatureExtractor,
    device: DeviceKind,
    model: String,
    explainer: OnceLock<Result<Explainer, String>>,
}

#[pymethods]
impl NativeClassifier {
    /// Loads `model` (a bundled model's name or a model file) on `device`.
    #[new]
    #[pyo3(signature = (model = "gtzan", device = "cpu"))]
    fn new(py: Python<'_>, model: &str, device: &str) -> PyResult<Self> {
        let kind = DeviceKind::from_str(device).map_err(|e| errors::usage(py, e))?;
        let choice = ModelChoice::from_str(model).unwrap_or_default();
        let file = match &choice {
            ModelChoice::File(path) => Some(path.display().to_string()),
            ModelChoice::Bundled(_) => None,
        };
        let loaded = py.detach(|| -> Result<_, String> {
            let checkpoint = choice.load().map_err(|e| format!("{e:#}"))?;
            let device = kind.device().map_err(|e| e.to_string())?;
            let extractor = FeatureExtractor::new(checkpoint.header.features.clone()).map_err(|e| e.to_string())?;
            let classifier = Classifier::new(checkpoint, &device).map_err(|e| e.to_string())?;
            Ok((classifier, extractor))
        });
        let (classifier, extractor) = loaded.map_err(|e| errors::model(py, e, file))?;
        Ok(NativeClassifier {
            classifier,
            extractor,
            device: kind,
            model: model.to_string(),
            explainer: OnceLock::new(),
        })
    }

    /// The model's genres, in output order.
    #[getter]
    fn labels(&self) -> Vec<String> {
        self.classifier.labels().to_vec()
    }

    /// The architecture's name (e.g. `musicnn-dual`).
    #[getter]
    fn architecture(&self) -> &'static str {
        self.classifier.checkpoint().header.model.name()
    }

    /// What `model=` named.
    #[getter]
    fn model(&self) -> &str {
        &self.model
    }

    /// The device, as `predict` describes it.
    #[getter]
    fn device(&self) -> &'static str {
        self.device.describe()
    }

    /// Predictions (JSON, one per input, in order). With `parallel`, inputs are spread
    /// over the CPU's cores; with `errors_as_results`, a failed input gives
    /// `{"file", "error"}` instead of raising.
    #[pyo3(signature = (inputs, aggregation = "mean", top_k = 3, whole_track = None, batch = 10, parallel = false, errors_as_results = false))]
    #[allow(clippy::too_many_arguments)]
    fn predict_json(
        &self,
        py: Python<'_>,
        inputs: Vec<PyAudio<'_>>,
        aggregation: &str,
        top_k: usize,
        whole_track: Option<bool>,
        batch: usize,
        parallel: bool,
        errors_as_results: bool,
    ) -> PyResult<Vec<String>> {
        let aggregation = Aggregation::from_str(aggregation).map_err(|e| errors::usage(py, e))?;
        let inputs: Vec<AudioInput> = inputs.iter().map(PyAudio::input).collect();
        let one = |input: &AudioInput| self.predict_one(input, aggregation, top_k, whole_track, batch.max(1));
        let results: Vec<Result<String, Failure>> = py
            .detach(|| if parallel { inputs.par_iter().map(one).collect() } else { inputs.iter().map(one).collect() });
        let mut out = Vec::with_capacity(results.len());
        for (result, input) in results.into_iter().zip(&inputs) {
            match result {
                Ok(json) => out.push(json),
                Err(failure) if errors_as_results => out.push(failure.json(&input.name())),
                Err(failure) => return Err(failure.into_py(py)),
            }
        }
        Ok(out)
    }

    /// One segment's attribution map: `(values, [n_mels, n_frames], target, method)`.
    #[pyo3(signature = (input, method = "integrated-gradients", segment = 0, target = None, whole_track = None))]
    fn explain(
        &self,
        py: Python<'_>,
        input: PyAudio<'_>,
        method: &str,
        segment: usize,
        target: Option<usize>,
        whole_track: Option<bool>,
    ) -> PyResult<(ArrayBytes, usize, String)> {
        let method = Method::from_str(method).map_err(|e| errors::usage(py, e))?;
        let input = input.input();
        let attribution = py.detach(|| -> Result<_, Failure> {
            let values = self.segment_features(&input, whole_track, segment)?;
            let explainer = self.explainer().map_err(|message| Failure { kind: Kind::Model, message, file: None })?;
            let target = target.unwrap_or_else(|| explainer.predicted(&values));
            explainer.explain(method, &values, target).map_err(|e| Failure {
                kind: Kind::Model,
                message: e.to_string(),
                file: None,
            })
        });
        let attribution = attribution.map_err(|f| f.into_py(py))?;
        let bytes = values_bytes(py, &attribution.values);
        Ok(((bytes, attribution.shape.to_vec()), attribution.target, attribution.method.name().to_string()))
    }
}

impl NativeClassifier {
    /// Segment `wanted`'s features, streamed ten segments at a time: memory bounded by
    /// one batch however long the file (as `genre explain`).
    fn segment_features(
        &self,
        input: &AudioInput,
        whole_track: Option<bool>,
        wanted: usize,
    ) -> Result<Vec<f32>, Failure> {
        let coverage = self.classifier.checkpoint().header.coverage(whole_track);
        let batches = input
            .decoder()
            .and_then(|d| self.extractor.feature_batches(d, coverage, FeatureScale::Standardized, 10))
            .map_err(|e| audio_failure(input, e))?;
        let mut seen = 0;
        for batch in batches {
            let batch = batch.map_err(|e| audio_failure(input, e))?;
            if let Some(values) = wanted.checked_sub(seen).and_then(|j| batch.segment(j)) {
                return Ok(values.to_vec());
            }
            seen += batch.n_segments();
        }
        let name = input.name();
        Err(Failure {
            kind: Kind::Usage,
            message: format!("{name}: segment {wanted} does not exist ({seen} segments)"),
            file: Some(name),
        })
    }

    fn predict_one(
        &self,
        input: &AudioInput,
        aggregation: Aggregation,
        top_k: usize,
        whole_track: Option<bool>,
        batch: usize,
    ) -> Result<String, Failure> {
        let coverage = self.classifier.checkpoint().header.coverage(whole_track);
        let failure = |e: genre_models::ModelError| match e {
            genre_models::ModelError::Audio(e) => audio_failure(input, e),
            other => Failure { kind: Kind::Model, message: other.to_string(), file: Some(input.name()) },
        };
        // Batches stream through features and the model: memory bounded by one batch.
        let batches = input
            .decoder()
            .and_then(|d| self.extractor.feature_batches(d, coverage, FeatureScale::Standardized, batch))
            .map_err(|e| audio_failure(input, e))?;
        let (segments, _silent) = self.classifier.probabilities_streamed(batches, batch).map_err(failure)?;
        let prediction = Prediction::new(
            input.name(),
            self.device.describe(),
            self.classifier.labels(),
            &segments,
            aggregation,
            top_k,
            self.extractor.config().segment_seconds(),
        );
        serde_json::to_string(&prediction).map_err(|e| Failure {
            kind: Kind::Model,
            message: e.to_string(),
            file: Some(input.name()),
        })
    }

    /// The explainer, made on first use (it loads the model again, with gradients).
    fn explainer(&self) -> Result<&Explainer, String> {
        self.explainer
            .get_or_init(|| {
                let device = self.device.device().map_err(|e| e.to_string())?;
                Explainer::new(self.classifier.checkpoint(), &device).map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}
