//! The `hushword` metadata a model carries (docs/model-format.md): which keywords its outputs
//! are, which front end computed its training features, and how to run it.
//!
//! Parsing goes field by field rather than through one `#[derive(Deserialize)]`, so that a
//! refusal names the field at fault ("field `threshold`: ...") instead of a JSON column.

use crate::frontend::FrontendConfig;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The metadata format this engine reads; anything else is refused rather than guessed at.
pub const METADATA_FORMAT: u32 = 1;

/// The `metadata_props` key under which a model stores its [`ModelMetadata`] JSON.
pub const METADATA_KEY: &str = "hushword";

/// Upper bound on `window_frames`: 100 s of 10 ms frames. Far beyond a wake word, it keeps a
/// hostile file from making the engine allocate gigabytes of frame history.
pub const MAX_WINDOW_FRAMES: usize = 10_000;

/// Parsed and validated `hushword` metadata of one model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMetadata {
    /// Metadata format version; only [`METADATA_FORMAT`] is accepted.
    pub format: u32,
    /// One name per model output, in output order.
    pub keywords: Vec<String>,
    /// The exact front end the model was trained on.
    pub frontend: FrontendConfig,
    /// Frames per model input window.
    pub window_frames: usize,
    /// Evaluate the model every this many frames.
    pub hop_frames: usize,
    /// Recommended detection threshold on the (smoothed) score, in (0, 1).
    pub threshold: f32,
    /// Typical spoken length of the keyword, used to estimate where a detected word started.
    pub word_duration_ms: u32,
    /// The streaming form the file also carries, if any (absent in models made before it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub streaming: Option<StreamingForm>,
    /// The native-kernel weights the file also carries, if any (absent in models made before
    /// them, or from networks the kernel does not implement).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel: Option<KernelForm>,
}

/// The one network architecture the native kernel implements (training/model.py).
pub const KERNEL_ARCH: &str = "tcn-1";

/// Upper bounds on a [`KernelForm`]'s sizes: far beyond a wake-word model, they keep a hostile
/// file from making the engine allocate gigabytes.
const MAX_KERNEL_CHANNELS: usize = 1024;
const MAX_KERNEL_TAPS: usize = 16;
const MAX_KERNEL_BLOCKS: usize = 64;
const MAX_KERNEL_DILATION: usize = 1024;

/// Where the native kernel's weights are and the shape of its network (docs/model-format.md).
///
/// The weights are one little-endian f32 blob, base64 in the `metadata_props` entry `blob`, in
/// PyTorch layouts: `mean[F]`, `inv_std[F]`, `conv_in.weight[C][F][k_in]`, `conv_in.bias[C]`,
/// then per block `dw.weight[C][k_dw]`, `dw.bias[C]`, `pw.weight[C][C]`, `pw.bias[C]`, then
/// `head.weight[K][C]`, `head.bias[K]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KernelForm {
    /// The `metadata_props` key holding the weights.
    pub blob: String,
    /// How the blob is encoded; only `"base64"` is defined.
    pub encoding: String,
    /// Network architecture; only [`KERNEL_ARCH`] is defined.
    pub arch: String,
    /// Input features per frame (F).
    pub n_features: usize,
    /// Channels of every hidden layer (C).
    pub channels: usize,
    /// Taps of the causal input convolution.
    pub k_in: usize,
    /// Taps of each block's causal depthwise convolution.
    pub k_dw: usize,
    /// Each block's dilation, in order.
    pub dilations: Vec<usize>,
    /// Outputs (K), one per keyword.
    pub n_keywords: usize,
}

impl KernelForm {
    /// Values the weight blob must hold.
    pub fn n_weights(&self) -> usize {
        let (f, c, k) = (self.n_features, self.channels, self.n_keywords);
        2 * f
            + c * f * self.k_in
            + c
            + self.dilations.len() * (c * self.k_dw + c + c * c + c)
            + k * c
            + k
    }

    /// Frames of input that influence one score.
    pub fn receptive_field(&self) -> usize {
        1 + (self.k_in - 1)
            + self
                .dilations
                .iter()
                .map(|d| (self.k_dw - 1) * d)
                .sum::<usize>()
    }

    /// Checks the form against the model it belongs to; the error names the field.
    fn validate(&self, metadata: &ModelMetadata) -> std::result::Result<(), String> {
        let bad = |what: String| Err(format!("field `kernel`: {what}"));
        if self.encoding != "base64" {
            return bad(format!("encoding `{}` is not `base64`", self.encoding));
        }
        if self.arch != KERNEL_ARCH {
            return bad(format!("arch `{}` is not `{KERNEL_ARCH}`", self.arch));
        }
        if self.n_features != metadata.n_features() {
            return bad(format!(
                "n_features {} differs from the front end's {}",
                self.n_features,
                metadata.n_features()
            ));
        }
        if self.n_keywords != metadata.keywords.len() {
            return bad(format!(
                "n_keywords {} differs from the {} keywords",
                self.n_keywords,
                metadata.keywords.len()
            ));
        }
        let in_range = |v: usize, max: usize| (1..=max).contains(&v);
        if !in_range(self.channels, MAX_KERNEL_CHANNELS)
            || !in_range(self.k_in, MAX_KERNEL_TAPS)
            || !in_range(self.k_dw, MAX_KERNEL_TAPS)
            || self.dilations.len() > MAX_KERNEL_BLOCKS
            || !self
                .dilations
                .iter()
                .all(|&d| in_range(d, MAX_KERNEL_DILATION))
        {
            return bad(format!(
                "sizes out of range: channels {} (1..={MAX_KERNEL_CHANNELS}), k_in {} and k_dw {} \
                 (1..={MAX_KERNEL_TAPS}), {} dilations (<= {MAX_KERNEL_BLOCKS}, each 1..={MAX_KERNEL_DILATION})",
                self.channels,
                self.k_in,
                self.k_dw,
                self.dilations.len()
            ));
        }
        let warm_frames = metadata.window_frames - metadata.window_frames % metadata.hop_frames;
        if self.receptive_field() > warm_frames {
            return bad(format!(
                "receptive field {} exceeds the {warm_frames} frames of whole hops in the window",
                self.receptive_field()
            ));
        }
        Ok(())
    }
}

/// Upper bound on the values one streaming state may hold: far beyond any wake-word model,
/// it keeps a hostile file from making the engine allocate gigabytes of state.
pub const MAX_STATE_VALUES: usize = 1 << 20;

/// Where the streaming graph is and what its state tensors are (docs/model-format.md).
///
/// The streaming graph takes the newest `hop_frames` frames `[1, n_features, hop_frames]`
/// plus one tensor per state and returns the scores `[1, n_keywords]` at the newest frame
/// plus each state's next value. All-zero states are the start of a stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamingForm {
    /// The `metadata_props` key holding the streaming ONNX graph.
    pub graph: String,
    /// How the graph bytes are encoded in that entry; only `"base64"` is defined.
    pub encoding: String,
    /// Frames per streaming call; must equal the model's `hop_frames`.
    pub hop_frames: usize,
    /// Frames of input that influence one score; the engine warms the state up from one
    /// window, so this must fit in the window.
    pub receptive_field: usize,
    /// Name of the features input.
    pub input: String,
    /// Name of the scores output.
    pub output: String,
    /// The state tensors, each carried from its output to its input between calls.
    pub states: Vec<StreamingState>,
}

/// One state tensor of a [`StreamingForm`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamingState {
    /// Graph input that receives the state.
    pub input: String,
    /// Graph output that returns the next state.
    pub output: String,
    /// Its shape (the same for input and output).
    pub shape: Vec<usize>,
}

impl StreamingForm {
    /// Checks the form against the model it belongs to; the error names the field.
    fn validate(&self, window_frames: usize, hop_frames: usize) -> std::result::Result<(), String> {
        let bad = |what: String| Err(format!("field `streaming`: {what}"));
        if self.encoding != "base64" {
            return bad(format!("encoding `{}` is not `base64`", self.encoding));
        }
        if self.hop_frames != hop_frames {
            return bad(format!(
                "hop_frames {} differs from the model's hop_frames {hop_frames}",
                self.hop_frames
            ));
        }
        // The warm-up feeds whole hops that end at the window's last frame.
        let warm_frames = window_frames - window_frames % hop_frames;
        if self.receptive_field == 0 || self.receptive_field > warm_frames {
            return bad(format!(
                "receptive_field {} must be in 1..={warm_frames} (whole hops within the window)",
                self.receptive_field
            ));
        }
        for (i, state) in self.states.iter().enumerate() {
            let values = state
                .shape
                .iter()
                .try_fold(1usize, |n, &d| n.checked_mul(d))
                .filter(|&n| n > 0 && n <= MAX_STATE_VALUES);
            if values.is_none() {
                return bad(format!(
                    "state {i} (`{}`) shape {:?} must hold 1..={MAX_STATE_VALUES} values",
                    state.input, state.shape
                ));
            }
        }
        Ok(())
    }
}

impl ModelMetadata {
    /// Parses and validates the metadata JSON. The error text names the offending field;
    /// the caller adds the model name.
    pub fn from_json(json: &str) -> std::result::Result<Self, String> {
        let value: Value =
            serde_json::from_str(json).map_err(|e| format!("metadata is not valid JSON: {e}"))?;
        let Value::Object(object) = value else {
            return Err("metadata must be a JSON object".to_string());
        };
        let metadata = Self {
            format: field(&object, "format")?,
            keywords: field(&object, "keywords")?,
            frontend: field(&object, "frontend")?,
            window_frames: field(&object, "window_frames")?,
            hop_frames: field(&object, "hop_frames")?,
            threshold: field(&object, "threshold")?,
            word_duration_ms: field(&object, "word_duration_ms")?,
            streaming: optional_field(&object, "streaming")?,
            kernel: optional_field(&object, "kernel")?,
        };
        metadata.validate()?;
        Ok(metadata)
    }

    /// Number of features per frame the model expects (rows of its input).
    pub fn n_features(&self) -> usize {
        self.frontend.n_features()
    }

    /// Checks value ranges; the error text names the field.
    pub fn validate(&self) -> std::result::Result<(), String> {
        if self.format != METADATA_FORMAT {
            return Err(format!(
                "field `format`: {} is not supported (this engine reads format {METADATA_FORMAT})",
                self.format
            ));
        }
        if self.keywords.is_empty() {
            return Err("field `keywords`: must name at least one keyword".to_string());
        }
        if let Some(i) = self.keywords.iter().position(|k| k.trim().is_empty()) {
            return Err(format!("field `keywords`: keyword {i} is empty"));
        }
        self.frontend
            .validate()
            .map_err(|e| format!("field `frontend`: {e}"))?;
        if self.window_frames == 0 || self.window_frames > MAX_WINDOW_FRAMES {
            return Err(format!(
                "field `window_frames`: {} must be in 1..={MAX_WINDOW_FRAMES}",
                self.window_frames
            ));
        }
        if self.hop_frames == 0 || self.hop_frames > self.window_frames {
            return Err(format!(
                "field `hop_frames`: {} must be in 1..=window_frames ({})",
                self.hop_frames, self.window_frames
            ));
        }
        if !(self.threshold > 0.0 && self.threshold < 1.0) {
            return Err(format!(
                "field `threshold`: {} must be strictly between 0 and 1",
                self.threshold
            ));
        }
        if let Some(streaming) = &self.streaming {
            streaming.validate(self.window_frames, self.hop_frames)?;
        }
        if let Some(kernel) = &self.kernel {
            kernel.validate(self)?;
        }
        Ok(())
    }
}

/// Deserializes an optional field (absent or null: `None`), naming it in any error.
fn optional_field<T: serde::de::DeserializeOwned>(
    object: &Map<String, Value>,
    name: &str,
) -> std::result::Result<Option<T>, String> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => T::deserialize(value)
            .map(Some)
            .map_err(|e| format!("field `{name}`: {e}")),
    }
}

/// Deserializes one required field, naming it in any error.
fn field<T: serde::de::DeserializeOwned>(
    object: &Map<String, Value>,
    name: &str,
) -> std::result::Result<T, String> {
    let value = object
        .get(name)
        .ok_or_else(|| format!("field `{name}` is missing"))?;
    T::deserialize(value).map_err(|e| format!("field `{name}`: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> Value {
        serde_json::json!({
            "format": 1, "keywords": ["alexa"], "frontend": FrontendConfig::default(),
            "window_frames": 100, "hop_frames": 3, "threshold": 0.5, "word_duration_ms": 650,
            "future_field": {"ignored": true}
        })
    }

    fn error_with(field: &str, value: Value) -> String {
        let mut json = valid();
        json[field] = value;
        ModelMetadata::from_json(&json.to_string()).unwrap_err()
    }

    #[test]
    fn the_documented_example_parses_and_extra_fields_are_ignored() {
        let m = ModelMetadata::from_json(&valid().to_string()).unwrap();
        assert_eq!(m.keywords, vec!["alexa".to_string()]);
        assert_eq!(
            (m.window_frames, m.hop_frames, m.word_duration_ms),
            (100, 3, 650)
        );
        assert_eq!(m.n_features(), 20);
    }

    #[test]
    fn each_bad_field_is_named() {
        let cases = [
            ("format", serde_json::json!(2)),
            ("keywords", serde_json::json!([])),
            ("keywords", serde_json::json!("alexa")),
            ("window_frames", serde_json::json!(0)),
            ("window_frames", serde_json::json!(-5)),
            ("hop_frames", serde_json::json!(101)),
            ("hop_frames", serde_json::json!(0)),
            ("threshold", serde_json::json!(1.0)),
            ("threshold", serde_json::json!("high")),
            ("word_duration_ms", serde_json::json!(-1)),
        ];
        for (name, value) in cases {
            let e = error_with(name, value.clone());
            assert!(e.contains(&format!("`{name}`")), "{name}={value}: {e}");
        }
    }

    #[test]
    fn missing_field_and_bad_frontend_are_named() {
        let mut json = valid();
        json.as_object_mut().unwrap().remove("hop_frames");
        let e = ModelMetadata::from_json(&json.to_string()).unwrap_err();
        assert!(e.contains("`hop_frames` is missing"), "{e}");

        let mut frontend = serde_json::to_value(FrontendConfig::default()).unwrap();
        frontend["n_mfcc"] = serde_json::json!(41);
        let e = error_with("frontend", frontend);
        assert!(e.contains("`frontend`") && e.contains("n_mfcc"), "{e}");
    }

    fn streaming() -> Value {
        serde_json::json!({
            "graph": "hushword.streaming", "encoding": "base64", "hop_frames": 3,
            "receptive_field": 95, "input": "features", "output": "scores",
            "states": [{"input": "state_in_0", "output": "state_out_0", "shape": [1, 20, 2]}]
        })
    }

    #[test]
    fn a_streaming_form_parses_and_bad_ones_are_named() {
        let mut json = valid();
        json["streaming"] = streaming();
        let m = ModelMetadata::from_json(&json.to_string()).unwrap();
        assert_eq!(m.streaming.unwrap().states[0].shape, vec![1, 20, 2]);
        let cases = [
            ("encoding", serde_json::json!("hex"), "base64"),
            ("hop_frames", serde_json::json!(2), "hop_frames"),
            ("receptive_field", serde_json::json!(100), "receptive_field"),
            ("receptive_field", serde_json::json!(0), "receptive_field"),
            (
                "states",
                serde_json::json!([{"input": "a", "output": "b", "shape": [1, 0]}]),
                "shape",
            ),
            (
                "states",
                serde_json::json!([{"input": "a", "output": "b", "shape": [1 << 16, 1 << 16]}]),
                "shape",
            ),
            ("input", serde_json::json!(3), "expected a string"),
        ];
        for (name, value, needle) in cases {
            let mut json = valid();
            json["streaming"] = streaming();
            json["streaming"][name] = value.clone();
            let e = ModelMetadata::from_json(&json.to_string()).unwrap_err();
            assert!(
                e.contains("`streaming`") && e.contains(needle),
                "{name}={value}: {e}"
            );
        }
    }

    #[test]
    fn non_json_and_non_object_are_refused() {
        assert!(ModelMetadata::from_json("{\"format\": 1,")
            .unwrap_err()
            .contains("not valid JSON"));
        assert!(ModelMetadata::from_json("[1]")
            .unwrap_err()
            .contains("JSON object"));
    }
}
