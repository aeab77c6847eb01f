//! The no-detection path allocates nothing beyond what tract allocates inside a model run, and
//! nothing at all with the native kernel.
//!
//! A counting global allocator (this test binary only) counts allocations made by the current
//! thread while counting is switched on; the test harness's own threads are not counted.

#[path = "fixtures/alloc_count.rs"]
mod alloc_count;
#[path = "fixtures/signals.rs"]
mod signals;

use alloc_count::allocations;
use hushword::{Detector, DetectorConfig};
use signals::{model, quiet};

// One test function: the counters are per thread, and everything runs on this one.
#[test]
fn no_detection_path_allocates_only_what_tract_does() {
    let config = DetectorConfig {
        post_roll_ms: 500,
        ..DetectorConfig::default()
    };
    let signal = quiet(3 * 16_000, 9);
    let pcm: Vec<i16> = signal.iter().map(|&s| (s * 32768.0) as i16).collect();
    let mut events = Vec::with_capacity(4);

    // Before the first full window there is no model run at all: zero allocations.
    let mut d = Detector::new(vec![model("energy.onnx")], config.clone()).unwrap();
    let before_window = 28 * 160; // fewer than 30 frames
    let n = allocations(|| {
        for piece in signal[..before_window].chunks(160) {
            d.push_f32(piece, &mut events).unwrap();
        }
    });
    assert_eq!(n, 0, "f32 path before any evaluation");
    d.reset();
    let n = allocations(|| {
        for piece in pcm[..before_window].chunks(160) {
            d.push_i16(piece, &mut events);
        }
        d.reset();
    });
    assert_eq!(n, 0, "i16 path and reset");

    // What tract itself allocates per run, measured on a bare model after warm-up.
    let mut bare = model("energy.onnx");
    let window = vec![-50.0f32; bare.window_len()];
    let mut scores = [0.0f32; 1];
    for _ in 0..5 {
        bare.evaluate(&window, &mut scores).unwrap();
    }
    let runs = 50u64;
    let tract = allocations(|| {
        for _ in 0..runs {
            bare.evaluate(&window, &mut scores).unwrap();
        }
    });
    let per_run = tract.div_ceil(runs);

    // Warm the detector up, then stream quiet audio with many evaluations and no detection.
    for piece in signal[..16_000].chunks(160) {
        d.push_f32(piece, &mut events).unwrap();
    }
    let mut evaluations = 0u64;
    let n = allocations(|| {
        for piece in signal[16_000..].chunks(160) {
            d.push_f32_observed(piece, &mut events, |_| evaluations += 1)
                .unwrap();
        }
        for piece in pcm[16_000..].chunks(160) {
            d.push_i16(piece, &mut events);
        }
    });
    assert!(
        events.is_empty(),
        "quiet audio must not trigger: {events:?}"
    );
    let i16_evaluations = (32_000 / 160) / 2;
    let total_evaluations = evaluations + i16_evaluations;
    assert!(evaluations >= 90, "{evaluations}");
    eprintln!("{n} allocations for {total_evaluations} evaluations; tract: {tract} in {runs} runs");
    assert!(
        n <= total_evaluations * per_run,
        "{n} allocations for {total_evaluations} evaluations; tract alone makes {per_run} per run"
    );
}

/// With the native kernel (the shipped models), nothing at all is allocated after warm-up:
/// an hour of audio, 120,000 evaluations, zero allocations.
#[test]
fn native_kernel_path_allocates_nothing_over_an_hour() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/models/alexa.onnx");
    let model = hushword::WakeWordModel::from_path(path).unwrap();
    assert_eq!(model.execution(), hushword::model::Execution::NativeKernel);
    let mut d = Detector::new(vec![model], DetectorConfig::default()).unwrap();
    let ten_seconds = quiet(10 * 16_000, 3);
    let mut events = Vec::with_capacity(4);
    for piece in ten_seconds.chunks(160) {
        d.push_f32(piece, &mut events).unwrap();
    }
    let mut evaluations = 0u64;
    let n = allocations(|| {
        for _ in 0..360 {
            for piece in ten_seconds.chunks(160) {
                d.push_f32_observed(piece, &mut events, |_| evaluations += 1)
                    .unwrap();
            }
        }
    });
    assert!(
        events.is_empty(),
        "quiet audio must not trigger: {events:?}"
    );
    assert!(
        evaluations >= 119_000,
        "{evaluations} evaluations in an hour"
    );
    assert_eq!(
        n, 0,
        "{n} allocations in an hour ({evaluations} evaluations)"
    );
}
