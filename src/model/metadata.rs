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
        Ok(())
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
            "streaming": {"future": true}
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
