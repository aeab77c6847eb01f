//! The model used when `--model` is not given: `models/alexa.onnx`, embedded at build time
//! when the file exists (build.rs sets `hushword_default_model`).

use hushword::model::WakeWordModel;

/// Name the embedded model carries in messages.
pub const DEFAULT_MODEL_NAME: &str = "<embedded models/alexa.onnx>";

#[cfg(hushword_default_model)]
static DEFAULT_MODEL: Option<&[u8]> = Some(include_bytes!("../../models/alexa.onnx"));
#[cfg(not(hushword_default_model))]
static DEFAULT_MODEL: Option<&[u8]> = None;

/// The embedded model's bytes, or the message explaining there is none.
pub fn bytes() -> Result<&'static [u8], String> {
    DEFAULT_MODEL
        .ok_or_else(|| "no default model embedded in this build; pass --model PATH".to_string())
}

/// Loads the embedded model.
pub fn load() -> Result<WakeWordModel, String> {
    WakeWordModel::from_bytes(bytes()?, DEFAULT_MODEL_NAME).map_err(|e| e.to_string())
}
