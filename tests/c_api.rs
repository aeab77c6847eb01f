//! The C API called through its `extern "C"` functions, as C would: statuses, messages,
//! NULL pointers, short buffers, bad models and configs, the detection queue, reset and
//! free, and that pushing samples (detections included) allocates only what tract does.

#[path = "fixtures/alloc_count.rs"]
mod alloc_count;
#[path = "fixtures/signals.rs"]
mod signals;

use alloc_count::allocations;
use hushword::capi::*;
use signals::{model_path, scene};
use std::ffi::{c_int, CStr, CString};
use std::ptr::{null, null_mut};

const OK: c_int = HushwordStatus::Ok as c_int;
const NO_DETECTION: c_int = HushwordStatus::NoDetection as c_int;
const NULL_POINTER: c_int = HushwordStatus::NullPointer as c_int;
const INVALID: c_int = HushwordStatus::InvalidArgument as c_int;
const MODEL: c_int = HushwordStatus::Model as c_int;
const TOO_SMALL: c_int = HushwordStatus::BufferTooSmall as c_int;

fn last_error() -> String {
    // SAFETY: the library returns a NUL-terminated string valid until the next failure.
    unsafe { CStr::from_ptr(hushword_last_error_message()) }
        .to_string_lossy()
        .into_owned()
}

/// Asserts `status` and that the message mentions every one of `words`.
fn expect_error(status: c_int, want: c_int, words: &[&str]) {
    assert_eq!(status, want, "status; message: {}", last_error());
    let message = last_error();
    for word in words {
        assert!(message.contains(word), "`{word}` not in: {message}");
    }
}

fn energy_bytes() -> Vec<u8> {
    std::fs::read(model_path("energy.onnx")).unwrap()
}

fn config() -> HushwordConfig {
    let mut config = std::mem::MaybeUninit::uninit();
    // SAFETY: writable for one struct.
    assert_eq!(unsafe { hushword_config_default(config.as_mut_ptr()) }, OK);
    // SAFETY: initialised just above.
    unsafe { config.assume_init() }
}

/// A detector for the energy fixture (fires "beep" on loud tones), or the failing status.
fn create(bytes: &[u8], config: &HushwordConfig) -> Result<*mut HushwordDetector, c_int> {
    let mut detector = null_mut();
    // SAFETY: valid slices and out-pointer.
    let status = unsafe {
        hushword_detector_new_from_bytes(bytes.as_ptr(), bytes.len(), config, &mut detector)
    };
    if status == OK {
        assert!(!detector.is_null());
        Ok(detector)
    } else {
        assert!(detector.is_null(), "a failed create must leave *out NULL");
        Err(status)
    }
}

fn pcm(samples: &[f32]) -> Vec<i16> {
    samples
        .iter()
        .map(|&s| (s * 32768.0).round().clamp(-32768.0, 32767.0) as i16)
        .collect()
}

fn push(detector: *mut HushwordDetector, audio: &[i16]) {
    for chunk in audio.chunks(160) {
        // SAFETY: live handle, readable chunk.
        assert_eq!(
            unsafe { hushword_push_i16(detector, chunk.as_ptr(), chunk.len()) },
            OK
        );
    }
}

fn poll(detector: *mut HushwordDetector) -> Option<HushwordDetection> {
    let mut detection = std::mem::MaybeUninit::uninit();
    // SAFETY: live handle, writable out.
    match unsafe { hushword_poll(detector, detection.as_mut_ptr()) } {
        // SAFETY: written on OK.
        OK => Some(unsafe { detection.assume_init() }),
        NO_DETECTION => None,
        other => panic!("poll: {other}: {}", last_error()),
    }
}

fn free(detector: *mut HushwordDetector) {
    // SAFETY: a live handle, not used afterwards.
    assert_eq!(unsafe { hushword_detector_free(detector) }, OK);
}

/// 2 s quiet, 1 s tone, 2 s quiet, 1 s tone, 1 s quiet: two "beep"s.
fn two_beeps() -> Vec<i16> {
    pcm(&scene(&[
        (false, 2.0),
        (true, 1.0),
        (false, 2.0),
        (true, 1.0),
        (false, 1.0),
    ]))
}

#[test]
fn detections_come_out_with_their_exact_pre_roll() {
    let mut cfg = config();
    cfg.pre_roll_ms = 500;
    let detector = create(&energy_bytes(), &cfg).unwrap();
    let audio = two_beeps();
    push(detector, &audio);

    let mut positions = Vec::new();
    while let Some(d) = poll(detector) {
        // SAFETY: the keyword lives as long as the detector.
        assert_eq!(
            unsafe { CStr::from_ptr(d.keyword) }.to_str().unwrap(),
            "beep"
        );
        assert!((0.5..=1.0).contains(&d.score), "{d:?}");
        assert_eq!(d.pre_roll_samples, 8000);
        assert_eq!(d.end, d.position);

        // Size query, a short buffer, then the real copy.
        let mut length = 0;
        // SAFETY: NULL buffer with capacity 0 is the documented size query.
        let status = unsafe { hushword_copy_pre_roll(detector, null_mut(), 0, &mut length) };
        expect_error(status, TOO_SMALL, &["hushword_copy_pre_roll", "8000"]);
        assert_eq!(length, 8000);
        let mut buffer = vec![0i16; 8000];
        // SAFETY: buffer writable for the capacity passed.
        let status =
            unsafe { hushword_copy_pre_roll(detector, buffer.as_mut_ptr(), 7999, &mut length) };
        assert_eq!((status, length), (TOO_SMALL, 8000));
        assert!(
            buffer.iter().all(|&s| s == 0),
            "nothing written when too small"
        );
        // SAFETY: as above.
        let status =
            unsafe { hushword_copy_pre_roll(detector, buffer.as_mut_ptr(), 8000, &mut length) };
        assert_eq!((status, length), (OK, 8000));
        let end = d.position as usize;
        assert_eq!(
            buffer,
            audio[end - 8000..end],
            "pre-roll must be the input before it"
        );
        positions.push(d.position as f64 / 16_000.0);
    }
    assert_eq!(positions.len(), 2, "{positions:?}");
    assert!(positions[0] > 2.0 && positions[0] < 2.5, "{positions:?}");
    assert!(positions[1] > 5.0 && positions[1] < 5.5, "{positions:?}");
    free(detector);
}

#[test]
fn a_full_queue_drops_the_oldest_and_counts_it() {
    let mut cfg = config();
    cfg.queue_capacity = 1;
    let detector = create(&energy_bytes(), &cfg).unwrap();
    push(detector, &two_beeps());
    let mut dropped = 0;
    // SAFETY: live handle, writable out.
    assert_eq!(
        unsafe { hushword_dropped_detections(detector, &mut dropped) },
        OK
    );
    assert_eq!(dropped, 1);
    let kept = poll(detector).expect("the newest detection is kept");
    assert!(kept.position > 5 * 16_000, "{kept:?}");
    assert!(poll(detector).is_none());
    free(detector);
}

#[test]
fn reset_forgets_the_stream_and_can_be_repeated() {
    let mut cfg = config();
    cfg.post_roll_ms = 250;
    let detector = create(&energy_bytes(), &cfg).unwrap();
    push(detector, &two_beeps()[..3 * 16_000]);
    assert!(poll(detector).is_some());
    for _ in 0..2 {
        // SAFETY: live handle.
        assert_eq!(unsafe { hushword_reset(detector) }, OK);
    }
    let mut seen = 1;
    // SAFETY: live handle, writable out.
    assert_eq!(unsafe { hushword_samples_seen(detector, &mut seen) }, OK);
    assert_eq!(seen, 0);
    assert!(poll(detector).is_none());
    let mut length = 7;
    let mut buffer = [0i16; 4];
    // SAFETY: buffer writable for 4.
    let status = unsafe { hushword_copy_pre_roll(detector, buffer.as_mut_ptr(), 4, &mut length) };
    expect_error(status, NO_DETECTION, &["no detection has been polled"]);
    assert_eq!(length, 0);
    // SAFETY: as above.
    let status = unsafe { hushword_drain_post_roll(detector, buffer.as_mut_ptr(), 4, &mut length) };
    assert_eq!((status, length), (OK, 0), "reset wipes the post-roll");
    free(detector);
}

#[test]
fn post_roll_drains_in_pieces_after_a_detection() {
    let mut cfg = config();
    cfg.post_roll_ms = 250; // 4000 samples
    let detector = create(&energy_bytes(), &cfg).unwrap();
    let audio = two_beeps();
    push(detector, &audio[..3 * 16_000]);
    let d = poll(detector).unwrap();
    let mut drained = Vec::new();
    let mut buffer = [0i16; 1500];
    loop {
        let mut length = 0;
        // SAFETY: buffer writable for its length.
        let status = unsafe {
            hushword_drain_post_roll(detector, buffer.as_mut_ptr(), buffer.len(), &mut length)
        };
        assert_eq!(status, OK);
        if length == 0 {
            break;
        }
        drained.extend_from_slice(&buffer[..length]);
    }
    let from = d.position as usize;
    assert_eq!(drained, audio[from..from + 4000]);
    free(detector);
}

#[test]
fn null_pointers_are_refused_with_their_name() {
    let bytes = energy_bytes();
    let mut detector = null_mut();
    // SAFETY: every call below passes NULL where the library must check for it.
    unsafe {
        expect_error(
            hushword_detector_new_from_bytes(null(), 10, null(), &mut detector),
            NULL_POINTER,
            &["hushword_detector_new_from_bytes", "`model`"],
        );
        expect_error(
            hushword_detector_new_from_bytes(bytes.as_ptr(), bytes.len(), null(), null_mut()),
            NULL_POINTER,
            &["`out`"],
        );
        expect_error(
            hushword_detector_new_from_path(null(), null(), &mut detector),
            NULL_POINTER,
            &["`path`"],
        );
        expect_error(
            hushword_detector_new_from_paths(null(), 1, null(), &mut detector),
            NULL_POINTER,
            &["`paths`"],
        );
        let paths = [null()];
        expect_error(
            hushword_detector_new_from_paths(paths.as_ptr(), 1, null(), &mut detector),
            NULL_POINTER,
            &["`paths[0]`"],
        );
        expect_error(
            hushword_config_default(null_mut()),
            NULL_POINTER,
            &["`config`"],
        );
        let mut cfg = config();
        cfg.keyword_threshold_count = 1;
        expect_error(
            hushword_detector_new_from_bytes(bytes.as_ptr(), bytes.len(), &cfg, &mut detector),
            NULL_POINTER,
            &["config.keyword_thresholds"],
        );

        let mut n = 0usize;
        let mut n64 = 0u64;
        let mut d = std::mem::MaybeUninit::uninit();
        let mut buffer = [0i16; 4];
        // Each message is read right after its own call (each call overwrites the thread's last
        // error), and must name the function that refused.
        let refused = |function: &str, status: c_int| {
            expect_error(
                status,
                NULL_POINTER,
                &[&format!("{function}: `detector` is NULL")],
            )
        };
        refused(
            "hushword_push_i16",
            hushword_push_i16(null_mut(), buffer.as_ptr(), 4),
        );
        refused("hushword_poll", hushword_poll(null_mut(), d.as_mut_ptr()));
        refused(
            "hushword_copy_pre_roll",
            hushword_copy_pre_roll(null_mut(), buffer.as_mut_ptr(), 4, &mut n),
        );
        refused(
            "hushword_drain_post_roll",
            hushword_drain_post_roll(null_mut(), buffer.as_mut_ptr(), 4, &mut n),
        );
        refused("hushword_reset", hushword_reset(null_mut()));
        refused(
            "hushword_samples_seen",
            hushword_samples_seen(null_mut(), &mut n64),
        );
        refused(
            "hushword_dropped_detections",
            hushword_dropped_detections(null_mut(), &mut n64),
        );
        refused(
            "hushword_detector_memory_bytes",
            hushword_detector_memory_bytes(null_mut(), &mut n),
        );
        assert_eq!(
            hushword_detector_free(null_mut()),
            OK,
            "free(NULL) is a no-op"
        );

        let live = create(&bytes, &config()).unwrap();
        expect_error(
            hushword_push_i16(live, null(), 160),
            NULL_POINTER,
            &["`samples`"],
        );
        assert_eq!(
            hushword_push_i16(live, null(), 0),
            OK,
            "NULL with count 0 is fine"
        );
        expect_error(
            hushword_poll(live, null_mut()),
            NULL_POINTER,
            &["`detection`"],
        );
        expect_error(
            hushword_copy_pre_roll(live, buffer.as_mut_ptr(), 4, null_mut()),
            NULL_POINTER,
            &["`length`"],
        );
        expect_error(
            hushword_drain_post_roll(live, null_mut(), 4, &mut n),
            NULL_POINTER,
            &["`buffer`"],
        );
        expect_error(
            hushword_detector_memory_bytes(live, null_mut()),
            NULL_POINTER,
            &["`bytes`"],
        );
        free(live);
    }
}

#[test]
fn bad_models_and_paths_fail_with_a_message() {
    let mut detector = null_mut();
    let text = b"this is not an ONNX model";
    assert_eq!(create(text, &config()).unwrap_err(), MODEL);
    expect_error(MODEL, MODEL, &["not a readable ONNX model"]);
    assert_eq!(create(&[], &config()).unwrap_err(), MODEL);

    for (fixture, problem) in [
        ("no_metadata.onnx", "no `hushword` entry"),
        ("wrong_output.onnx", "output shape [1, 1]"),
    ] {
        let bytes = std::fs::read(model_path(fixture)).unwrap();
        assert_eq!(create(&bytes, &config()).unwrap_err(), MODEL, "{fixture}");
        assert!(
            last_error().contains(problem),
            "{fixture}: {}",
            last_error()
        );
    }

    let missing = CString::new("/nonexistent/dir/model.onnx").unwrap();
    // SAFETY: valid C strings and out-pointer.
    let status =
        unsafe { hushword_detector_new_from_path(missing.as_ptr(), null(), &mut detector) };
    expect_error(
        status,
        MODEL,
        &["/nonexistent/dir/model.onnx", "cannot read"],
    );
    assert!(detector.is_null());

    let not_utf8 = CString::new(vec![b'/', 0xff, 0xfe, b'x']).unwrap();
    // SAFETY: as above.
    let status =
        unsafe { hushword_detector_new_from_path(not_utf8.as_ptr(), null(), &mut detector) };
    expect_error(status, INVALID, &["`path` is not valid UTF-8"]);

    // Two models whose front ends differ cannot share a detector.
    let paths: Vec<CString> = ["energy.onnx", "frontend_mismatch.onnx"]
        .iter()
        .map(|m| CString::new(model_path(m)).unwrap())
        .collect();
    let pointers: Vec<_> = paths.iter().map(|p| p.as_ptr()).collect();
    // SAFETY: two valid C strings.
    let status =
        unsafe { hushword_detector_new_from_paths(pointers.as_ptr(), 2, null(), &mut detector) };
    expect_error(status, MODEL, &["front end differs"]);
}

#[test]
fn bad_configs_fail_with_the_field_named() {
    let bytes = energy_bytes();
    let beep = CString::new("beep").unwrap();
    let nobody = CString::new("nobody").unwrap();
    let bad_utf8 = CString::new(vec![0xffu8]).unwrap();
    let overrides = |keyword: &CString, threshold| HushwordKeywordThreshold {
        keyword: keyword.as_ptr(),
        threshold,
    };
    type Change = fn(&mut HushwordConfig);
    let cases: [(Change, &str); 6] = [
        (|c| c.queue_capacity = 0, "config.queue_capacity 0"),
        (|c| c.queue_capacity = 5000, "config.queue_capacity 5000"),
        (|c| c.threshold = 1.5, "config.threshold 1.5"),
        (|c| c.threshold = f32::NAN, "config.threshold NaN"),
        (|c| c.pre_roll_ms = 70_000, "pre_roll_ms 70000"),
        (|c| c.smoothing = 0, "smoothing 0"),
    ];
    for (change, message) in cases {
        let mut cfg = config();
        change(&mut cfg);
        assert_eq!(create(&bytes, &cfg).unwrap_err(), INVALID, "{message}");
        assert!(
            last_error().contains(message),
            "{message}: {}",
            last_error()
        );
    }
    for (entry, message) in [
        (overrides(&nobody, 0.5), "`nobody`, which no model detects"),
        (overrides(&beep, 0.0), "threshold 0 for `beep`"),
        (
            overrides(&bad_utf8, 0.5),
            "keyword_thresholds[0].keyword is not UTF-8",
        ),
    ] {
        let mut cfg = config();
        cfg.keyword_thresholds = &entry;
        cfg.keyword_threshold_count = 1;
        assert_eq!(create(&bytes, &cfg).unwrap_err(), INVALID, "{message}");
        assert!(
            last_error().contains(message),
            "{message}: {}",
            last_error()
        );
    }
}

#[test]
fn thresholds_per_keyword_win_over_the_global_one() {
    let bytes = energy_bytes();
    let beep = CString::new("beep").unwrap();
    let audio = two_beeps();
    let count = |cfg: &HushwordConfig| {
        let detector = create(&bytes, cfg).unwrap();
        push(detector, &audio);
        let n = std::iter::from_fn(|| poll(detector)).count();
        free(detector);
        n
    };
    let mut strict = config();
    strict.threshold = 1.0; // the fixture's smoothed score never quite reaches 1
    assert_eq!(count(&strict), 0);
    let entry = HushwordKeywordThreshold {
        keyword: beep.as_ptr(),
        threshold: 0.5,
    };
    strict.keyword_thresholds = &entry;
    strict.keyword_threshold_count = 1;
    assert_eq!(count(&strict), 2);
}

#[test]
fn memory_is_known_before_creation_and_matches() {
    let bytes = energy_bytes();
    let mut cfg = config();
    cfg.pre_roll_ms = 1000;
    cfg.post_roll_ms = 500;
    cfg.queue_capacity = 3;
    let mut before = 0;
    // SAFETY: valid slices and out-pointer.
    let status =
        unsafe { hushword_memory_bytes_for_model(bytes.as_ptr(), bytes.len(), &cfg, &mut before) };
    assert_eq!(status, OK, "{}", last_error());
    let detector = create(&bytes, &cfg).unwrap();
    let mut held = 0;
    // SAFETY: live handle, writable out.
    assert_eq!(
        unsafe { hushword_detector_memory_bytes(detector, &mut held) },
        OK
    );
    assert_eq!(before, held);
    // At least: the f32 pre-roll ring, 4 int16 pre-roll copies (queue + current), the
    // f32 post-roll ring and its copy-out stash.
    let floor = 16_000 * 4 + 4 * 16_000 * 2 + 2 * 8000 * 4;
    assert!(held >= floor, "{held} < {floor}");
    free(detector);
    // SAFETY: NULL model is refused.
    let status = unsafe { hushword_memory_bytes_for_model(null(), 0, &cfg, &mut before) };
    expect_error(status, NULL_POINTER, &["`model`"]);
}

#[test]
fn the_embedded_default_model_hears_alexa() {
    let mut detector = null_mut();
    // SAFETY: valid out-pointer; NULL config means defaults.
    let status = unsafe { hushword_detector_new_default(null(), &mut detector) };
    assert_eq!(status, OK, "{}", last_error());
    let wav = concat!(env!("CARGO_MANIFEST_DIR"), "/data/alexa_kokoro.wav");
    let audio = hushword::audio::read_audio(std::path::Path::new(wav)).unwrap();
    push(detector, &pcm(&audio));
    let detections: Vec<_> = std::iter::from_fn(|| poll(detector)).collect();
    assert_eq!(detections.len(), 1, "{detections:?}");
    // SAFETY: the keyword lives as long as the detector.
    let keyword = unsafe { CStr::from_ptr(detections[0].keyword) };
    assert_eq!(keyword.to_str().unwrap(), "alexa");
    free(detector);
}

/// Counts detections and keeps nothing: the Rust-side reference for tract's allocations.
struct CountingSink(usize);

impl hushword::detector::DetectionSink for CountingSink {
    fn on_detection(&mut self, _event: &hushword::detector::DetectionEvent<'_>) {
        self.0 += 1;
    }
}

#[test]
fn pushing_polling_and_copying_allocate_only_what_tract_does() {
    let warm_up = pcm(&scene(&[(false, 1.0)]));
    let audio = two_beeps();

    // Reference: the same stream through the Rust detector into a sink that keeps nothing,
    // so every allocation counted is tract's own (deterministic for identical input).
    let rust_config = hushword::DetectorConfig {
        post_roll_ms: 200,
        ..hushword::DetectorConfig::default()
    };
    let mut reference =
        hushword::Detector::new(vec![signals::model("energy.onnx")], rust_config).unwrap();
    let mut sink = CountingSink(0);
    reference.push_i16_into(&warm_up, &mut sink);
    let tract = allocations(|| {
        for chunk in audio.chunks(160) {
            reference.push_i16_into(chunk, &mut sink);
        }
    });
    assert_eq!(sink.0, 2);

    let mut cfg = config();
    cfg.post_roll_ms = 200;
    let detector = create(&energy_bytes(), &cfg).unwrap();
    push(detector, &warm_up);
    let mut detections = 0;
    let mut buffer = vec![0i16; 32_000];
    let n = allocations(|| {
        for chunk in audio.chunks(160) {
            // SAFETY: live handle, readable chunk, writable buffers.
            unsafe {
                assert_eq!(hushword_push_i16(detector, chunk.as_ptr(), chunk.len()), OK);
                while let Some(_d) = poll(detector) {
                    let mut length = 0;
                    let status = hushword_copy_pre_roll(
                        detector,
                        buffer.as_mut_ptr(),
                        buffer.len(),
                        &mut length,
                    );
                    assert_eq!(status, OK);
                    detections += 1;
                }
                let mut length = 0;
                let status = hushword_drain_post_roll(
                    detector,
                    buffer.as_mut_ptr(),
                    buffer.len(),
                    &mut length,
                );
                assert_eq!(status, OK);
            }
        }
    });
    assert_eq!(detections, 2);
    eprintln!("C API: {n} allocations; tract alone on the same stream: {tract}");
    assert_eq!(
        n, tract,
        "the C path (push, poll, copy, drain) must allocate nothing beyond tract's evaluations"
    );
    free(detector);
}
