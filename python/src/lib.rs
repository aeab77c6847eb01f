//! The `hushword` Python package's native module: the engine's streaming detector and file
//! detection, with numpy in and out. Thin glue only: every decision (conversion, detection,
//! errors) is the engine's, and engine errors become `hushword.HushwordError` with the
//! engine's message. The GIL is released while models load and while audio is processed.

use hushword::audio::{stream_audio, PcmConverter, PcmFormat, TARGET_SAMPLE_RATE};
use hushword::detector::{Detection as EngineDetection, Detector as EngineDetector};
use hushword::detector::{DetectorConfig, ScoreSample};
use hushword::model::{default_model, WakeWordModel};
use numpy::{IntoPyArray, PyArray1, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::exceptions::{PyException, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

pyo3::create_exception!(
    hushword,
    HushwordError,
    PyException,
    "An error from the hushword engine; the message names the file or value and the problem."
);

const RATE: f64 = TARGET_SAMPLE_RATE as f64;

fn engine_error(e: hushword::Error) -> PyErr {
    HushwordError::new_err(e.to_string())
}

/// One wake-word event.
#[pyclass(frozen, module = "hushword")]
struct Detection {
    /// The keyword, as its model names it.
    #[pyo3(get)]
    keyword: String,
    /// The smoothed score that crossed the threshold.
    #[pyo3(get)]
    score: f32,
    /// When it fired, in seconds from the stream start (or the last reset).
    #[pyo3(get)]
    time_s: f64,
    /// Estimated start of the spoken word, in seconds.
    #[pyo3(get)]
    start_s: f64,
    /// Estimated end of the word (= `time_s`), in seconds.
    #[pyo3(get)]
    end_s: f64,
    /// The audio just before `time_s` (up to `pre_roll_ms`), int16 at 16 kHz.
    #[pyo3(get)]
    pre_roll: Py<PyArray1<i16>>,
}

#[pymethods]
impl Detection {
    fn __repr__(&self) -> String {
        format!(
            "Detection(keyword={:?}, score={:.3}, time_s={:.3}, start_s={:.3}, end_s={:.3}, pre_roll=<{} samples>)",
            self.keyword,
            self.score,
            self.time_s,
            self.start_s,
            self.end_s,
            Python::with_gil(|py| self.pre_roll.bind(py).len())
        )
    }
}

impl Detection {
    fn new(py: Python<'_>, d: EngineDetection) -> Self {
        // Scaled by 32768, the inverse of the int16 input scaling, so int16 input comes back
        // exactly; float input beyond full scale is clamped.
        let pre_roll: Vec<i16> = d
            .pre_roll
            .iter()
            .map(|&s| (s * 32768.0).round().clamp(-32768.0, 32767.0) as i16)
            .collect();
        Self {
            keyword: d.keyword,
            score: d.score,
            time_s: d.position as f64 / RATE,
            start_s: d.start as f64 / RATE,
            end_s: d.end as f64 / RATE,
            pre_roll: pre_roll.into_pyarray(py).unbind(),
        }
    }
}

/// The models of `model=`: None (the embedded default), one path, or a sequence of paths.
fn model_paths(model: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<PathBuf>> {
    let Some(model) = model else {
        return Ok(Vec::new());
    };
    if let Ok(path) = model.extract::<PathBuf>() {
        return Ok(vec![path]);
    }
    model.extract::<Vec<PathBuf>>().map_err(|_| {
        PyTypeError::new_err(
            "model must be a path (str or os.PathLike), a list of paths, or None for the embedded model",
        )
    })
}

fn load_models(paths: &[PathBuf]) -> hushword::Result<Vec<WakeWordModel>> {
    if paths.is_empty() {
        return Ok(vec![default_model()?]);
    }
    paths.iter().map(WakeWordModel::from_path).collect()
}

/// Builds an engine detector (GIL released while the models load and are checked).
fn build_detector(
    py: Python<'_>,
    model: Option<&Bound<'_, PyAny>>,
    threshold: Option<f32>,
    pre_roll_ms: Option<u32>,
    smoothing: Option<usize>,
    refractory_ms: Option<u32>,
) -> PyResult<EngineDetector> {
    let paths = model_paths(model)?;
    py.allow_threads(|| {
        let models = load_models(&paths)?;
        let mut config = DetectorConfig::default();
        if let Some(t) = threshold {
            config = config.with_threshold_for_all(&models, t);
        }
        config.pre_roll_ms = pre_roll_ms.unwrap_or(config.pre_roll_ms);
        config.smoothing = smoothing.unwrap_or(config.smoothing);
        config.refractory_ms = refractory_ms.unwrap_or(config.refractory_ms);
        EngineDetector::new(models, config)
    })
    .map_err(engine_error)
}

/// A 1-D int16 or float32 numpy array as f32 samples; int16 goes through the engine's PCM
/// conversion (the one the file reader and the Wyoming server use).
fn samples_f32(samples: &Bound<'_, PyAny>) -> PyResult<Vec<f32>> {
    if let Ok(array) = samples.downcast::<PyArray1<f32>>() {
        return Ok(array.readonly().as_array().to_vec());
    }
    if let Ok(array) = samples.downcast::<PyArray1<i16>>() {
        let bytes: Vec<u8> = array
            .readonly()
            .as_array()
            .iter()
            .flat_map(|s| s.to_le_bytes())
            .collect();
        let format = PcmFormat {
            rate: TARGET_SAMPLE_RATE,
            width: 2,
            channels: 1,
        };
        let mut out = Vec::with_capacity(bytes.len() / 2);
        let mut converter = PcmConverter::new(format).map_err(engine_error)?;
        converter.push(&bytes, &mut out).map_err(engine_error)?;
        return Ok(out);
    }
    let what = match (samples.getattr("dtype"), samples.getattr("ndim")) {
        (Ok(dtype), Ok(ndim)) => format!("a {ndim}-D array of {dtype}"),
        _ => format!("{}", samples.get_type().name()?),
    };
    Err(PyTypeError::new_err(format!(
        "samples must be a 1-D numpy array of int16 or float32 (16 kHz mono), not {what}"
    )))
}

/// The streaming wake-word detector: feed it 16 kHz mono audio in pieces of any length.
///
/// One detector is one stream: calls from several threads are served one at a time;
/// separate detectors run in parallel.
#[pyclass(frozen, module = "hushword")]
struct Detector {
    /// A lock because Python may call from any thread; taken with the GIL released.
    inner: Mutex<EngineDetector>,
}

impl Detector {
    fn lock(&self) -> MutexGuard<'_, EngineDetector> {
        // A panic inside the engine (a bug) surfaced as a Python exception; the detector's
        // state is still memory-safe to use.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[pymethods]
impl Detector {
    #[new]
    #[pyo3(signature = (model=None, threshold=None, pre_roll_ms=None, smoothing=None, refractory_ms=None))]
    fn new(
        py: Python<'_>,
        model: Option<&Bound<'_, PyAny>>,
        threshold: Option<f32>,
        pre_roll_ms: Option<u32>,
        smoothing: Option<usize>,
        refractory_ms: Option<u32>,
    ) -> PyResult<Self> {
        let inner = build_detector(py, model, threshold, pre_roll_ms, smoothing, refractory_ms)?;
        Ok(Self {
            inner: Mutex::new(inner),
        })
    }

    /// Streams `samples` and returns the detections they complete.
    fn process(&self, py: Python<'_>, samples: &Bound<'_, PyAny>) -> PyResult<Vec<Detection>> {
        let samples = samples_f32(samples)?;
        let mut found = Vec::new();
        py.allow_threads(|| self.lock().push_f32(&samples, &mut found))
            .map_err(engine_error)?;
        Ok(found.into_iter().map(|d| Detection::new(py, d)).collect())
    }

    /// Streams `samples` (as `process` does, detections included in the state) and returns
    /// every evaluation's smoothed score: {keyword: (time_s float64 array, score float32
    /// array)}, for tuning thresholds.
    fn scores<'py>(
        &self,
        py: Python<'py>,
        samples: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let samples = samples_f32(samples)?;
        let mut observed: Vec<ScoreSample> = Vec::new();
        py.allow_threads(|| {
            let mut ignored = Vec::new();
            self.lock()
                .push_f32_observed(&samples, &mut ignored, |s| observed.push(s))
        })
        .map_err(engine_error)?;
        let keywords = py.allow_threads(|| self.lock().keywords());
        let mut first_of_model = Vec::new();
        for (i, (model, _)) in keywords.iter().enumerate() {
            if first_of_model.len() == *model {
                first_of_model.push(i);
            }
        }
        let mut series = vec![(Vec::new(), Vec::new()); keywords.len()];
        for s in observed {
            let (times, scores) = &mut series[first_of_model[s.model] + s.keyword];
            times.push(s.position as f64 / RATE);
            scores.push(s.score);
        }
        let dict = PyDict::new(py);
        for ((_, keyword), (times, scores)) in keywords.into_iter().zip(series) {
            dict.set_item(keyword, (times.into_pyarray(py), scores.into_pyarray(py)))?;
        }
        Ok(dict)
    }

    /// Forgets the stream (state, scores, audio rings wiped); the next sample is time 0.
    /// Every lock is taken with the GIL released, so a thread waiting for the detector never
    /// holds the GIL that the thread using it needs to return.
    fn reset(&self, py: Python<'_>) {
        py.allow_threads(|| self.lock().reset());
    }

    /// Each model's metadata (as `hushword info --json` prints it), with its `name` and the
    /// `thresholds` in force per keyword.
    #[getter]
    fn models<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let json: Vec<String> = py.allow_threads(|| {
            let inner = self.lock();
            inner
                .models()
                .map(|m| {
                    let mut v = serde_json::to_value(m.metadata()).unwrap_or_default();
                    v["name"] = m.name().into();
                    v["n_features"] = m.n_features().into();
                    v["thresholds"] = m
                        .metadata()
                        .keywords
                        .iter()
                        .map(|k| (k.clone(), inner.threshold(k).into()))
                        .collect::<serde_json::Map<_, _>>()
                        .into();
                    v.to_string()
                })
                .collect()
        });
        let loads = py.import("json")?.getattr("loads")?;
        json.into_iter().map(|j| loads.call1((j,))).collect()
    }

    /// Every keyword listened for, in model order.
    #[getter]
    fn keywords(&self, py: Python<'_>) -> Vec<String> {
        let keywords = py.allow_threads(|| self.lock().keywords());
        keywords.into_iter().map(|(_, k)| k).collect()
    }

    /// Seconds of audio consumed since creation or the last reset.
    #[getter]
    fn time_s(&self, py: Python<'_>) -> f64 {
        py.allow_threads(|| self.lock().samples_seen()) as f64 / RATE
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!("Detector(keywords={:?})", self.keywords(py))
    }
}

/// Detects wake words in a WAV or FLAC file (any rate, width, channel count): the detections
/// `hushword detect FILE` prints, as `Detection` objects.
#[pyfunction]
#[pyo3(signature = (path, model=None, threshold=None, pre_roll_ms=None))]
fn detect_file(
    py: Python<'_>,
    path: PathBuf,
    model: Option<&Bound<'_, PyAny>>,
    threshold: Option<f32>,
    pre_roll_ms: Option<u32>,
) -> PyResult<Vec<Detection>> {
    let mut detector = build_detector(py, model, threshold, pre_roll_ms, None, None)?;
    let mut found = Vec::new();
    py.allow_threads(|| {
        // 1 s blocks, as the CLI streams: a long file never sits in memory whole.
        stream_audio(&path, TARGET_SAMPLE_RATE as usize, |block| {
            detector.push_f32(block, &mut found)
        })
    })
    .map_err(engine_error)?;
    Ok(found.into_iter().map(|d| Detection::new(py, d)).collect())
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("SAMPLE_RATE", TARGET_SAMPLE_RATE)?;
    m.add("HushwordError", m.py().get_type::<HushwordError>())?;
    m.add_class::<Detection>()?;
    m.add_class::<Detector>()?;
    m.add_function(wrap_pyfunction!(detect_file, m)?)?;
    Ok(())
}
