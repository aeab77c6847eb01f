//! Arbitrary bytes -> `WakeWordModel::from_bytes`: an error or a model that evaluates.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    hushword_fuzz::quiet_caught_panics();
    if let Ok(model) = hushword::WakeWordModel::from_bytes(bytes, "fuzz") {
        hushword_fuzz::exercise_model(model);
    }
});
