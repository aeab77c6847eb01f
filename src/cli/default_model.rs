//! The model used when `--model` is not given: the library's embedded `models/alexa.onnx`.

use hushword::model::WakeWordModel;

pub use hushword::model::DEFAULT_MODEL_NAME;

/// The embedded model's bytes, or the message explaining there is none.
pub fn bytes() -> Result<&'static [u8], String> {
    hushword::model::default_model_bytes()
        .ok_or_else(|| "no default model embedded in this build; pass --model PATH".to_string())
}

/// Loads the embedded model.
pub fn load() -> Result<WakeWordModel, String> {
    WakeWordModel::from_bytes(bytes()?, DEFAULT_MODEL_NAME).map_err(|e| e.to_string())
}
