//! Arbitrary sample streams (i16 and f32, NaN/inf included) in arbitrary chunkings and
//! configs into a `Detector` over the fixture model; checks the invariants in
//! `hushword_fuzz::run_detector_script` (exact positions, constant memory, refusal of
//! non-finite chunks, chunking-independent detections).
#![no_main]

use hushword_fuzz::DetectorScript;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|script: DetectorScript| {
    hushword_fuzz::run_detector_script(&script);
});
