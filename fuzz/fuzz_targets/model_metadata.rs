//! The shipped alexa model with its `hushword` metadata JSON mutated field by field (or
//! replaced by arbitrary text), re-encoded and loaded: an error naming the problem, or a
//! model that evaluates and drives a detector.
#![no_main]

use hushword_fuzz::MetadataEdits;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|edits: MetadataEdits| {
    hushword_fuzz::quiet_caught_panics();
    let bytes = hushword_fuzz::shipped_model_with(&edits);
    if let Ok(model) = hushword::WakeWordModel::from_bytes(&bytes, "fuzz") {
        hushword_fuzz::exercise_model(model);
    }
});
