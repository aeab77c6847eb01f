//! The shipped default model, `models/alexa.onnx`, embedded at build time when the file
//! exists (build.rs sets `hushword_default_model`), so tools and bindings work with no model
//! file beside them.

use super::WakeWordModel;
use crate::{Error, Result};

/// Name the embedded model carries in messages.
pub const DEFAULT_MODEL_NAME: &str = "<embedded models/alexa.onnx>";

#[cfg(hushword_default_model)]
static DEFAULT_MODEL: Option<&[u8]> = Some(include_bytes!("../../models/alexa.onnx"));
#[cfg(not(hushword_default_model))]
static DEFAULT_MODEL: Option<&[u8]> = None;

/// The embedded model's ONNX bytes, or None in a build made without `models/alexa.onnx`.
pub fn default_model_bytes() -> Option<&'static [u8]> {
    DEFAULT_MODEL
}

/// Loads the embedded model; [`Error::Model`] if this build has none.
pub fn default_model() -> Result<WakeWordModel> {
    let bytes = DEFAULT_MODEL.ok_or_else(|| Error::Model {
        source_name: DEFAULT_MODEL_NAME.to_string(),
        reason: "no default model embedded in this build; pass a model path".to_string(),
    })?;
    WakeWordModel::from_bytes(bytes, DEFAULT_MODEL_NAME)
}
