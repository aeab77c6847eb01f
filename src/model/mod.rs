//! Wake-word models: an ONNX graph run by tract plus the `hushword` metadata that says what
//! its inputs and outputs mean (docs/model-format.md).
//!
//! Everything that can be checked is checked at load, so that evaluation in the audio path has
//! nothing left to refuse: the metadata is parsed and validated, the declared input shape is
//! compared with the front end, the graph is typed for exactly `[1, n_features, window_frames]`
//! and optimized once, and one all-zero window is run to prove the output is `[1, n_keywords]`.
//! A model that also carries a streaming form (see [`streaming`]) gets it loaded and checked
//! the same way, and [`WakeWordModel::evaluate_next`] uses it. A model that carries the
//! native kernel's weights (see [`kernel`]) is run by that kernel instead, once it has been
//! held equal to the full-window graph at load.

mod default;
mod kernel;
mod metadata;
mod streaming;

use base64::Engine as _;
pub use default::{default_model, default_model_bytes, DEFAULT_MODEL_NAME};
pub use kernel::MatvecImpl;
use kernel::TcnKernel;
pub use metadata::{
    KernelForm, ModelMetadata, StreamingForm, StreamingState, KERNEL_ARCH, MAX_STATE_VALUES,
    MAX_WINDOW_FRAMES, METADATA_FORMAT, METADATA_KEY,
};
use streaming::{read_scores, StreamingPlan};

/// Largest difference allowed at load between the native kernel's scores and the full-window
/// graph's (probabilities; both compute the same f32 maths in a different order).
pub const KERNEL_TOLERANCE: f32 = 1e-4;

/// How [`WakeWordModel::evaluate_next`] computes its scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Execution {
    /// The native kernel, frame by frame (the fastest; models that carry its weights).
    NativeKernel,
    /// The streaming ONNX graph through tract, one hop per call.
    StreamingGraph,
    /// The full-window ONNX graph through tract, the whole window every hop.
    FullWindow,
}

use crate::{Error, Result};
use std::path::Path;
use std::sync::Arc;
use tract_onnx::pb;
use tract_onnx::prelude::*;

/// A loaded, validated and optimized wake-word model, ready to score feature windows.
///
/// Evaluation reuses one input tensor and one tract session state, so the only allocations
/// per call are the ones tract makes inside the graph.
///
/// Two ways to score: [`Self::evaluate`] scores any window on its own (full-window form);
/// [`Self::evaluate_next`] scores a stream evaluated every `hop_frames` frames and uses the
/// streaming form when the model has one (a fraction of the cost), carrying state between
/// calls until [`Self::reset_stream`].
pub struct WakeWordModel {
    name: String,
    metadata: ModelMetadata,
    state: TypedSimpleState,
    /// Shared with tract only for the duration of one run; between runs we hold the only
    /// reference, so `Arc::get_mut` lets us refill it in place.
    input: Arc<Tensor>,
    /// The streaming form, unless the model has none or [`Self::use_full_window`] was called.
    streaming: Option<StreamingPlan>,
    /// The native kernel, unless the model has none or another execution was chosen.
    kernel: Option<TcnKernel>,
    /// FNV-1a of the ONNX bytes: what a profile names its model by.
    fingerprint: u64,
}

impl std::fmt::Debug for WakeWordModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WakeWordModel")
            .field("name", &self.name)
            .field("metadata", &self.metadata)
            .finish_non_exhaustive()
    }
}

impl WakeWordModel {
    /// Loads a model file; its path (as displayed) names the model in errors.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let bytes =
            std::fs::read(path).map_err(|e| model_error(&name, format!("cannot read: {e}")))?;
        Self::from_bytes(&bytes, &name)
    }

    /// Loads a model from its ONNX bytes; `name` identifies it in errors and [`Self::name`].
    ///
    /// Model files are untrusted input and tract 0.23 panics on some malformed graphs instead
    /// of returning an error (e.g. a Reduce axis beyond its input's rank, found by fuzzing
    /// `model_bytes`). Loading therefore runs under `catch_unwind`, and such a panic becomes an
    /// error naming the model; the process's panic hook (by default a message on stderr) still
    /// sees it, which is the one way a hostile model file can make the library print.
    pub fn from_bytes(bytes: &[u8], name: &str) -> Result<Self> {
        std::panic::catch_unwind(|| Self::load(bytes, name)).unwrap_or_else(|payload| {
            let message = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("no message")
                .lines()
                .next()
                .unwrap_or_default();
            Err(model_error(
                name,
                format!("the ONNX runtime (tract) failed on this graph: {message}"),
            ))
        })
    }

    fn load(bytes: &[u8], name: &str) -> Result<Self> {
        let fail = |reason: String| model_error(name, reason);
        let onnx = tract_onnx::onnx();
        let proto = onnx
            .proto_model_for_read(&mut &bytes[..])
            .map_err(|e| fail(format!("not a readable ONNX model: {e}")))?;
        let graph = proto
            .graph
            .as_ref()
            .ok_or_else(|| fail("not an ONNX model: it has no graph".to_string()))?;
        let json = proto
            .metadata_props
            .iter()
            .find(|entry| entry.key == METADATA_KEY)
            .map(|entry| entry.value.as_str())
            .ok_or_else(|| {
                fail(format!(
                    "no `{METADATA_KEY}` entry in the ONNX metadata_props (see docs/model-format.md)"
                ))
            })?;
        let metadata = ModelMetadata::from_json(json)
            .map_err(|reason| fail(format!("bad metadata: {reason}")))?;
        let input_shape = [1, metadata.n_features(), metadata.window_frames];
        check_declared_input(graph, &input_shape).map_err(&fail)?;
        check_output_names(graph).map_err(&fail)?;

        let inference = onnx
            .model_for_proto_model(&proto)
            .map_err(|e| fail(format!("cannot build the ONNX graph: {e:#}")))?;
        if inference.input_outlets().map_or(0, |i| i.len()) != 1
            || inference.output_outlets().map_or(0, |o| o.len()) != 1
        {
            return Err(fail(
                "a model must have exactly one input and one output".to_string(),
            ));
        }
        let plan = optimize(inference, &[&input_shape[..]]).map_err(|e| {
                fail(format!(
                    "input shape {input_shape:?} (1 x n_features x window_frames) does not fit the graph: {e:#}"
                ))
            })?;
        let state = TypedSimpleState::new(&plan)
            .map_err(|e| fail(format!("cannot start a session: {e:#}")))?;
        let input = Arc::new(
            Tensor::zero::<f32>(&input_shape)
                .map_err(|e| fail(format!("cannot allocate the input: {e:#}")))?,
        );
        let streaming = match &metadata.streaming {
            Some(form) => Some(StreamingPlan::load(
                &proto.metadata_props,
                form,
                metadata.n_features(),
                metadata.keywords.len(),
                name,
            )?),
            None => None,
        };
        let mut model = Self {
            name: name.to_string(),
            metadata,
            state,
            input,
            streaming,
            kernel: None,
            fingerprint: fingerprint(bytes),
        };
        model.check_output_shape()?;
        if let Some(form) = model.metadata.kernel.clone() {
            let kernel = load_kernel(&proto.metadata_props, &form, model.metadata.hop_frames)
                .map_err(|reason| fail(format!("native kernel: {reason}")))?;
            model.adopt_kernel(kernel)?;
        }
        Ok(model)
    }

    /// Holds `kernel` equal to the full-window graph on a deterministic stream of plausible
    /// features (the model's own normalization statistics), then runs evaluations with it.
    fn adopt_kernel(&mut self, mut kernel: TcnKernel) -> Result<()> {
        let (f, window, hop) = (
            self.n_features(),
            self.window_frames(),
            self.metadata.hop_frames,
        );
        let (mean, std) = kernel.feature_statistics();
        let total = window + 16 * hop;
        let mut noise = 0x9E37_79B9_u32;
        let mut stream = vec![0.0f32; f * total]; // [frame][feature]
        for (i, v) in stream.iter_mut().enumerate() {
            noise ^= noise << 13;
            noise ^= noise >> 17;
            noise ^= noise << 5;
            let u = noise as f32 / u32::MAX as f32 * 4.0 - 2.0;
            *v = mean[i % f] + std[i % f] * u;
        }
        let time_last = |first: usize, n: usize| -> Vec<f32> {
            let mut out = vec![0.0; f * n];
            for t in 0..n {
                for i in 0..f {
                    out[i * n + t] = stream[(first + t) * f + i];
                }
            }
            out
        };
        let k = self.n_keywords();
        let (mut fast, mut full) = (vec![0.0; k], vec![0.0; k]);
        let mut worst = 0.0f32;
        let mut end = window;
        while end <= total {
            let needed = kernel.frames_needed(window);
            kernel.evaluate_next(&time_last(end - needed, needed), &mut fast);
            self.evaluate(&time_last(end - window, window), &mut full)?;
            for (a, b) in fast.iter().zip(&full) {
                worst = worst.max((a - b).abs());
            }
            if !worst.is_finite() || fast.iter().any(|v| !v.is_finite()) {
                worst = f32::INFINITY;
            }
            end += hop;
        }
        if worst > KERNEL_TOLERANCE {
            return Err(model_error(
                &self.name,
                format!(
                    "native kernel: its scores differ from the full-window graph by {worst:.2e} (at most {KERNEL_TOLERANCE:e} allowed); the weights do not belong to this graph"
                ),
            ));
        }
        kernel.reset();
        self.kernel = Some(kernel);
        Ok(())
    }

    /// Drops the streaming forms so that [`Self::evaluate_next`] runs the full window every
    /// time: for verification and for comparing the forms.
    pub fn use_full_window(&mut self) {
        self.streaming = None;
        self.kernel = None;
    }

    /// Drops the native kernel so that [`Self::evaluate_next`] runs the streaming ONNX graph
    /// (if the model has one, else the full window): for verification and benchmarks.
    pub fn use_streaming_graph(&mut self) {
        self.kernel = None;
    }

    /// Chooses the matrix-vector implementation of the native kernel (tests and
    /// benchmarks; the default is the fastest the CPU runs). No effect without a kernel.
    pub fn set_kernel_matvec(&mut self, imp: MatvecImpl) {
        if let Some(kernel) = &mut self.kernel {
            kernel.set_impl(imp);
        }
    }

    /// How [`Self::evaluate_next`] computes its scores.
    pub fn execution(&self) -> Execution {
        if self.kernel.is_some() {
            Execution::NativeKernel
        } else if self.streaming.is_some() {
            Execution::StreamingGraph
        } else {
            Execution::FullWindow
        }
    }

    /// True when [`Self::evaluate_next`] computes only the newest frames (native kernel or
    /// streaming graph).
    pub fn is_streaming(&self) -> bool {
        self.execution() != Execution::FullWindow
    }

    /// Heap bytes of the native kernel's weights and state (0 without one); tract's graphs
    /// are not counted.
    pub fn kernel_heap_bytes(&self) -> usize {
        self.kernel.as_ref().map_or(0, TcnKernel::heap_bytes)
    }

    /// Frames the next [`Self::evaluate_next`] call takes: `hop_frames` when a streaming
    /// state is running, else `window_frames`.
    pub fn frames_needed(&self) -> usize {
        let window = self.metadata.window_frames;
        if let Some(kernel) = &self.kernel {
            return kernel.frames_needed(window);
        }
        self.streaming
            .as_ref()
            .map_or(window, |s| s.frames_needed(window))
    }

    /// Scores the next evaluation of a stream evaluated every `hop_frames` frames.
    ///
    /// `frames` holds the newest [`Self::frames_needed`] frames, `n_features x frames`
    /// time-last, oldest first; each call must come exactly `hop_frames` frames after the
    /// previous one, or follow [`Self::reset_stream`]. The scores equal [`Self::evaluate`] on
    /// the window ending at the same frame (to float rounding). A failed call resets the
    /// stream, so the next one takes a whole window again.
    pub fn evaluate_next(&mut self, frames: &[f32], scores: &mut [f32]) -> Result<()> {
        let needed = self.n_features() * self.frames_needed();
        if frames.len() != needed || scores.len() != self.n_keywords() {
            self.reset_stream();
            return Err(model_error(
                &self.name,
                format!(
                    "evaluate_next needs {needed} frame values and room for {} scores, got {} and {}",
                    self.n_keywords(),
                    frames.len(),
                    scores.len()
                ),
            ));
        }
        if let Some(kernel) = &mut self.kernel {
            kernel.evaluate_next(frames, scores);
            return Ok(());
        }
        match &mut self.streaming {
            Some(plan) => plan.evaluate_next(frames, scores, &self.name),
            None => self.evaluate(frames, scores),
        }
    }

    /// Forgets the streaming state: the next [`Self::evaluate_next`] takes a whole window.
    pub fn reset_stream(&mut self) {
        if let Some(plan) = &mut self.streaming {
            plan.reset();
        }
        if let Some(kernel) = &mut self.kernel {
            kernel.reset();
        }
    }

    /// The last hidden layer (the head's input) of the latest [`Self::evaluate_next`], read
    /// in place, or `None` when the native kernel does not run this model (profiles need it).
    pub fn hidden(&self) -> Option<&[f32]> {
        self.kernel.as_ref().map(TcnKernel::hidden)
    }

    /// Width of [`Self::hidden`]: the kernel's channels, or `None` without a native kernel.
    pub fn hidden_width(&self) -> Option<usize> {
        self.hidden().map(<[f32]>::len)
    }

    /// A 64-bit FNV-1a hash of the model file's bytes, shown as 16 hex digits: profiles are
    /// bound to the exact model they were enrolled with.
    pub fn fingerprint(&self) -> String {
        format!("{:016x}", self.fingerprint)
    }

    /// The parsed `hushword` metadata.
    pub fn metadata(&self) -> &ModelMetadata {
        &self.metadata
    }

    /// The name given at load (the path for [`Self::from_path`]).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Features per frame the model expects.
    pub fn n_features(&self) -> usize {
        self.metadata.n_features()
    }

    /// Frames per input window.
    pub fn window_frames(&self) -> usize {
        self.metadata.window_frames
    }

    /// Number of keywords, i.e. scores per evaluation.
    pub fn n_keywords(&self) -> usize {
        self.metadata.keywords.len()
    }

    /// Length of the window slice [`Self::evaluate`] takes: `n_features * window_frames`.
    pub fn window_len(&self) -> usize {
        self.n_features() * self.metadata.window_frames
    }

    /// Scores one window. `window` is `n_features x window_frames`, time last (row-major
    /// `[feature][frame]`, oldest frame first); `scores` receives one value per keyword.
    pub fn evaluate(&mut self, window: &[f32], scores: &mut [f32]) -> Result<()> {
        if window.len() != self.window_len() || scores.len() != self.n_keywords() {
            return Err(model_error(
                &self.name,
                format!(
                    "evaluate needs a window of {} values and room for {} scores, got {} and {}",
                    self.window_len(),
                    self.n_keywords(),
                    window.len(),
                    scores.len()
                ),
            ));
        }
        fill_tensor(&mut self.input, &self.name, |dst| {
            dst.copy_from_slice(window)
        })?;
        let outputs = self
            .state
            .run(tvec!(self.input.clone().into_tvalue()))
            .map_err(|e| model_error(&self.name, format!("evaluation failed: {e:#}")))?;
        read_scores(&outputs[0], scores).map_err(|reason| model_error(&self.name, reason))
    }

    /// Runs one silent window and checks the output is `[1, n_keywords]` f32.
    fn check_output_shape(&mut self) -> Result<()> {
        let expected = [1, self.n_keywords()];
        let outputs = self
            .state
            .run(tvec!(self.input.clone().into_tvalue()))
            .map_err(|e| model_error(&self.name, format!("a zero window does not run: {e:#}")))?;
        let output = &outputs[0];
        if output.datum_type() != f32::datum_type() || output.shape() != expected {
            return Err(model_error(
                &self.name,
                format!(
                    "output shape {:?} ({:?}) does not fit [1, n_keywords] = {expected:?} f32 ({} keywords in the metadata)",
                    output.shape(),
                    output.datum_type(),
                    self.n_keywords()
                ),
            ));
        }
        Ok(())
    }
}

/// Decodes the kernel's weight blob named by `form` and builds the kernel.
fn load_kernel(
    props: &[pb::StringStringEntryProto],
    form: &KernelForm,
    hop_frames: usize,
) -> std::result::Result<TcnKernel, String> {
    let encoded = props
        .iter()
        .find(|entry| entry.key == form.blob)
        .ok_or_else(|| format!("no `{}` entry in metadata_props", form.blob))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.value.trim())
        .map_err(|e| format!("`{}` is not base64: {e}", form.blob))?;
    let expected = form.n_weights();
    if bytes.len() != expected * 4 {
        return Err(format!(
            "`{}` holds {} bytes, the network described needs {expected} f32 values ({} bytes)",
            form.blob,
            bytes.len(),
            expected * 4
        ));
    }
    let weights: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    if let Some(i) = weights.iter().position(|w| !w.is_finite()) {
        return Err(format!("weight {i} of `{}` is not finite", form.blob));
    }
    Ok(TcnKernel::new(form, &weights, hop_frames))
}

/// Refills a reused f32 input tensor in place through `fill`. Tract has dropped its
/// reference after the previous run; if some op kept one, a fresh tensor is made rather
/// than failing.
fn fill_tensor(tensor: &mut Arc<Tensor>, name: &str, fill: impl FnOnce(&mut [f32])) -> Result<()> {
    if Arc::get_mut(tensor).is_none() {
        let shape = tensor.shape().to_vec();
        *tensor =
            Arc::new(Tensor::zero::<f32>(&shape).map_err(|e| model_error(name, format!("{e:#}")))?);
    }
    let owned = Arc::get_mut(tensor)
        .ok_or_else(|| model_error(name, "input tensor is shared".to_string()))?;
    let mut view = owned
        .try_as_plain_ram_mut()
        .map_err(|e| model_error(name, format!("{e:#}")))?;
    fill(
        view.as_slice_mut::<f32>()
            .map_err(|e| model_error(name, format!("{e:#}")))?,
    );
    Ok(())
}

/// Types every graph input as f32 of the given shape (in graph order), then optimizes once.
fn optimize(
    inference: InferenceModel,
    shapes: &[&[usize]],
) -> TractResult<Arc<TypedRunnableModel>> {
    let mut model = inference;
    for (i, shape) in shapes.iter().enumerate() {
        model = model.with_input_fact(i, InferenceFact::dt_shape(f32::datum_type(), *shape))?;
    }
    model.into_optimized()?.into_runnable()
}

/// The graph's input names (initializers excluded) and output names, in graph order.
fn graph_io_names(graph: &pb::GraphProto) -> (Vec<String>, Vec<String>) {
    let initializers: Vec<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    let inputs = graph
        .input
        .iter()
        .filter(|i| !initializers.contains(&i.name.as_str()))
        .map(|i| i.name.clone())
        .collect();
    let outputs = graph.output.iter().map(|o| o.name.clone()).collect();
    (inputs, outputs)
}

/// Compares the graph's declared input (if it declares concrete dimensions) with the shape
/// the metadata implies, so a mismatch is reported in those terms rather than as a tract
/// shape-inference failure deep in the graph.
fn check_declared_input(
    graph: &pb::GraphProto,
    expected: &[usize; 3],
) -> std::result::Result<(), String> {
    let initializers: Vec<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    let inputs: Vec<&pb::ValueInfoProto> = graph
        .input
        .iter()
        .filter(|i| !initializers.contains(&i.name.as_str()))
        .collect();
    let [input] = inputs.as_slice() else {
        return Err(format!(
            "a model must have exactly one input (features), this one has {}",
            inputs.len()
        ));
    };
    let Some(pb::type_proto::Value::TensorType(tensor)) =
        input.r#type.as_ref().and_then(|t| t.value.as_ref())
    else {
        return Ok(());
    };
    let Some(shape) = tensor.shape.as_ref() else {
        return Ok(());
    };
    use pb::tensor_shape_proto::dimension::Value as Dim;
    let declared: Vec<String> = shape
        .dim
        .iter()
        .map(|d| match &d.value {
            Some(Dim::DimValue(v)) => v.to_string(),
            Some(Dim::DimParam(p)) => p.clone(),
            None => "?".to_string(),
        })
        .collect();
    let fits = shape.dim.len() == 3
        && shape
            .dim
            .iter()
            .zip(expected)
            .all(|(d, &e)| match &d.value {
                Some(Dim::DimValue(v)) => usize::try_from(*v) == Ok(e),
                _ => true,
            });
    if fits {
        Ok(())
    } else {
        Err(format!(
            "input `{}` is declared [{}] but the metadata needs {expected:?} (1 x n_features x window_frames)",
            input.name,
            declared.join(", ")
        ))
    }
}

/// Every graph output must name a value something in the graph defines: tract 0.23 indexes
/// its name table with the output names and panics on an unknown one (found by fuzzing
/// `model_bytes`), so a hostile file is refused here first.
fn check_output_names(graph: &pb::GraphProto) -> std::result::Result<(), String> {
    let defined = |name: &str| {
        graph.input.iter().any(|i| i.name == name)
            || graph.initializer.iter().any(|t| t.name == name)
            || graph
                .node
                .iter()
                .any(|n| n.output.iter().chain(&n.input).any(|o| o == name))
    };
    match graph.output.iter().find(|o| !defined(&o.name)) {
        Some(output) => Err(format!(
            "graph output `{}` is not produced by any node, input or initializer",
            output.name
        )),
        None => Ok(()),
    }
}

/// 64-bit FNV-1a: not a cryptographic hash, only a check that a profile meets its own model.
fn fingerprint(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn model_error(name: &str, reason: String) -> Error {
    Error::Model {
        source_name: name.to_string(),
        reason,
    }
}
