//! Every bad input hushword was tried on, with what it must do and a check that it does.
//!
//! `tests/robustness_table.rs` runs these checks and renders `docs/robustness.md` from them,
//! so the table cannot claim a behaviour that is not tested. Each check returns the observed
//! behaviour (deterministic text, e.g. the error message) or why it failed.

#[path = "../fixtures/signals.rs"]
mod signals;

#[path = "../fixtures/alloc_count.rs"]
pub mod alloc_count;
mod audio_cases;
mod detector_cases;
mod model_cases;

/// One row of the table.
pub struct Case {
    /// What part is fed: "audio file", "model file", "detector stream".
    pub area: &'static str,
    /// The input, in words.
    pub input: &'static str,
    /// What hushword must do with it.
    pub expected: &'static str,
    /// Runs the input; `Ok(observed)` if it behaved as expected, else `Err(what happened)`.
    pub check: fn() -> Result<String, String>,
}

/// All cases, in table order.
pub fn all() -> Vec<Case> {
    let mut cases = audio_cases::cases();
    cases.extend(model_cases::cases());
    cases.extend(detector_cases::cases());
    cases
}

/// `Ok(observed)` when `condition` holds, else `Err(observed)`.
fn expect(condition: bool, observed: String) -> Result<String, String> {
    if condition {
        Ok(observed)
    } else {
        Err(observed)
    }
}
