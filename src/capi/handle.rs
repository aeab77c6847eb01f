//! The detector handle and its lifecycle: create, push, poll, copy audio out, reset, free.

use super::config::HushwordConfig;
use super::queue::DetectionQueue;
use super::status::{guard, Failure, HushwordStatus, Outcome};
use crate::detector::preroll::wipe;
use crate::profile::{Profile, ProfileMode};
use crate::{Detector, WakeWordModel};
use std::ffi::{c_char, c_int, CStr, CString};

/// The embedded default model (models/alexa.onnx at build time), if this build has one.
#[cfg(hushword_default_model)]
const DEFAULT_MODEL: Option<&[u8]> = Some(include_bytes!("../../models/alexa.onnx"));
#[cfg(not(hushword_default_model))]
const DEFAULT_MODEL: Option<&[u8]> = None;

/// A streaming detector. Opaque: create it with a `hushword_detector_new_*` function and
/// release it with `hushword_detector_free`.
pub struct HushwordDetector {
    detector: Detector,
    queue: DetectionQueue,
    /// NUL-terminated keywords, in `Detector::keywords` order; `HushwordDetection::keyword`
    /// points into these.
    keywords: Box<[CString]>,
    /// Post-roll drained from the detector but not yet copied out; capacity fixed at creation.
    post_roll: Vec<f32>,
    post_roll_read: usize,
    /// Set while an operation runs; left set if it panicked, after which the handle refuses
    /// everything but free (its state may be half-updated).
    busy: bool,
}

// A handle may be moved between threads (the header's threading rule).
const _: () = {
    const fn assert_send<T: Send>() {}
    assert_send::<HushwordDetector>();
};

/// One detection, as returned by `hushword_poll`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct HushwordDetection {
    /// NUL-terminated keyword, owned by the detector: valid until the detector is freed.
    pub keyword: *const c_char,
    /// The smoothed score that crossed the threshold, in [0, 1].
    pub score: f32,
    /// Samples consumed (since creation or reset) when it fired; time = position / 16000 s.
    pub position: u64,
    /// Estimated sample where the word started (`end` minus the model's word duration).
    pub start: u64,
    /// Estimated sample where the word ended (equals `position`).
    pub end: u64,
    /// Samples of pre-roll audio `hushword_copy_pre_roll` copies out for this detection:
    /// the input just before `position` (the configured length, fewer near the stream start).
    pub pre_roll_samples: usize,
}

impl HushwordDetector {
    /// # Safety
    /// `config` is NULL or a valid struct following the header's contract.
    unsafe fn new(
        models: Vec<WakeWordModel>,
        config: *const HushwordConfig,
    ) -> Result<Self, Failure> {
        let defaults = HushwordConfig::default();
        // SAFETY: a non-NULL `config` points to a valid struct (contract).
        let config = unsafe { config.as_ref() }.unwrap_or(&defaults);
        let keywords: Vec<String> = models
            .iter()
            .flat_map(|m| m.metadata().keywords.iter().cloned())
            .collect();
        let rate = models
            .first()
            .map_or(0, |m| m.metadata().frontend.sample_rate);
        // SAFETY: the config's pointers follow the header's contract.
        let detector_config = unsafe { config.detector_config(&keywords) }?;
        let post_roll_samples = u64::from(config.post_roll_ms) * u64::from(rate) / 1000;
        let detector = Detector::new(models, detector_config)?;
        let keywords = keywords
            .into_iter()
            .map(|k| {
                CString::new(k).map_err(|e| {
                    Failure::new(
                        HushwordStatus::Model,
                        format!("keyword with a NUL byte: {e}"),
                    )
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            queue: DetectionQueue::new(config.queue_capacity as usize, detector.pre_roll_samples()),
            keywords,
            post_roll: Vec::with_capacity(post_roll_samples as usize),
            post_roll_read: 0,
            busy: false,
            detector,
        })
    }

    /// Heap bytes this handle holds for audio, features, scores and detections (the
    /// models' weights and tract's plan are not counted).
    fn memory_bytes(&self) -> usize {
        self.detector.memory_bytes()
            + self.queue.memory_bytes()
            + self.post_roll.capacity() * std::mem::size_of::<f32>()
            + self
                .keywords
                .iter()
                .map(|k| k.as_bytes_with_nul().len())
                .sum::<usize>()
    }

    /// Runs `f` with the handle marked busy, so a panic inside leaves it marked unusable.
    fn run<R>(&mut self, f: impl FnOnce(&mut Self) -> R) -> R {
        self.busy = true;
        let result = f(self);
        self.busy = false;
        result
    }

    fn clear_post_roll(&mut self) {
        wipe(&mut self.post_roll);
        self.post_roll.clear();
        self.post_roll_read = 0;
    }
}

impl Drop for HushwordDetector {
    fn drop(&mut self) {
        wipe(&mut self.post_roll);
    }
}

/// The handle behind `ptr`, refusing NULL and handles broken by an earlier internal error.
///
/// # Safety
/// `ptr` is NULL or a live handle not used by another thread right now (contract).
unsafe fn handle<'a>(ptr: *mut HushwordDetector) -> Result<&'a mut HushwordDetector, Failure> {
    // SAFETY: per the function's contract.
    let handle = unsafe { ptr.as_mut() }.ok_or_else(|| Failure::null("detector"))?;
    usable(handle)?;
    Ok(handle)
}

/// Read-only access for queries; same checks as [`handle`].
///
/// # Safety
/// As for [`handle`].
unsafe fn handle_ref<'a>(ptr: *const HushwordDetector) -> Result<&'a HushwordDetector, Failure> {
    // SAFETY: per the function's contract.
    let handle = unsafe { ptr.as_ref() }.ok_or_else(|| Failure::null("detector"))?;
    usable(handle)?;
    Ok(handle)
}

/// Refuses a handle left mid-operation by a caught panic.
fn usable(handle: &HushwordDetector) -> Result<(), Failure> {
    if handle.busy {
        return Err(Failure::new(
            HushwordStatus::Internal,
            "this detector failed internally earlier and can only be freed",
        ));
    }
    Ok(())
}

/// Writes `value` through a non-NULL out-pointer named `what`.
///
/// # Safety
/// `ptr` is NULL or valid for one write of `T`.
unsafe fn put<T>(ptr: *mut T, what: &str, value: T) -> Result<(), Failure> {
    if ptr.is_null() {
        return Err(Failure::null(what));
    }
    // SAFETY: non-NULL and writable per the contract; `write` reads no old value.
    unsafe { ptr.write(value) };
    Ok(())
}

/// A UTF-8 path from a C string.
///
/// # Safety
/// `ptr` is NULL or NUL-terminated.
unsafe fn path_arg<'a>(ptr: *const c_char, what: &str) -> Result<&'a str, Failure> {
    if ptr.is_null() {
        return Err(Failure::null(what));
    }
    // SAFETY: non-NULL and NUL-terminated per the contract.
    unsafe { CStr::from_ptr(ptr) }.to_str().map_err(|e| {
        Failure::new(
            HushwordStatus::InvalidArgument,
            format!("`{what}` is not valid UTF-8: {e}"),
        )
    })
}

/// Creates the handle and hands it out through `out`.
///
/// # Safety
/// `out` is NULL or valid for one pointer write; `config` follows the header's contract.
unsafe fn create(
    out: *mut *mut HushwordDetector,
    load: impl FnOnce() -> Result<Vec<WakeWordModel>, Failure>,
    config: *const HushwordConfig,
) -> Outcome {
    if out.is_null() {
        return Err(Failure::null("out"));
    }
    // SAFETY: `out` is writable; NULL first so a failure never leaves a stale pointer.
    unsafe { out.write(std::ptr::null_mut()) };
    // SAFETY: `config` per this function's contract.
    let handle = unsafe { HushwordDetector::new(load()?, config) }?;
    // SAFETY: as above.
    unsafe { out.write(Box::into_raw(Box::new(handle))) };
    Ok(HushwordStatus::Ok)
}

/// Loads the model from `length` bytes of ONNX at `model` (copied; the caller keeps its
/// buffer) and creates a detector with `config` (NULL: defaults). On success `*out` is the
/// new detector; on failure `*out` is NULL.
///
/// # Safety
/// `model` is readable for `length` bytes; `out` is writable; `config` is NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn hushword_detector_new_from_bytes(
    model: *const u8,
    length: usize,
    config: *const HushwordConfig,
    out: *mut *mut HushwordDetector,
) -> c_int {
    guard("hushword_detector_new_from_bytes", || {
        let load = || {
            if model.is_null() {
                return Err(Failure::null("model"));
            }
            // SAFETY: readable for `length` bytes per the contract.
            let bytes = unsafe { std::slice::from_raw_parts(model, length) };
            Ok(vec![WakeWordModel::from_bytes(bytes, "<model bytes>")?])
        };
        // SAFETY: per this function's contract.
        unsafe { create(out, load, config) }
    })
}

/// Loads the ONNX model file at `path` (NUL-terminated UTF-8) and creates a detector with
/// `config` (NULL: defaults). On failure `*out` is NULL.
///
/// # Safety
/// `path` is NUL-terminated; `out` is writable; `config` is NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn hushword_detector_new_from_path(
    path: *const c_char,
    config: *const HushwordConfig,
    out: *mut *mut HushwordDetector,
) -> c_int {
    guard("hushword_detector_new_from_path", || {
        // SAFETY: per this function's contract.
        let load = || {
            Ok(vec![WakeWordModel::from_path(unsafe {
                path_arg(path, "path")
            }?)?])
        };
        // SAFETY: per this function's contract.
        unsafe { create(out, load, config) }
    })
}

/// Loads `count` (>= 1) ONNX model files and creates one detector listening for all their
/// keywords (features are computed once; the models must share one front-end config).
///
/// # Safety
/// `paths` holds `count` NUL-terminated strings; `out` is writable; `config` is NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn hushword_detector_new_from_paths(
    paths: *const *const c_char,
    count: usize,
    config: *const HushwordConfig,
    out: *mut *mut HushwordDetector,
) -> c_int {
    guard("hushword_detector_new_from_paths", || {
        let load = || {
            if paths.is_null() {
                return Err(Failure::null("paths"));
            }
            // SAFETY: `count` readable pointers per the contract.
            let paths = unsafe { std::slice::from_raw_parts(paths, count) };
            paths
                .iter()
                .enumerate()
                .map(|(i, &p)| {
                    // SAFETY: each entry is NULL or NUL-terminated per the contract.
                    let path = unsafe { path_arg(p, &format!("paths[{i}]")) }?;
                    Ok(WakeWordModel::from_path(path)?)
                })
                .collect()
        };
        // SAFETY: per this function's contract.
        unsafe { create(out, load, config) }
    })
}

/// Creates a detector for the model embedded in the library (models/alexa.onnx), with
/// `config` (NULL: defaults). `HUSHWORD_STATUS_NO_DEFAULT_MODEL` if this build has none.
///
/// # Safety
/// `out` is writable; `config` is NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn hushword_detector_new_default(
    config: *const HushwordConfig,
    out: *mut *mut HushwordDetector,
) -> c_int {
    guard("hushword_detector_new_default", || {
        let load = || {
            let bytes = DEFAULT_MODEL.ok_or_else(|| {
                Failure::new(
                    HushwordStatus::NoDefaultModel,
                    "this build has no embedded default model (models/alexa.onnx was missing)",
                )
            })?;
            Ok(vec![WakeWordModel::from_bytes(
                bytes,
                "<embedded models/alexa.onnx>",
            )?])
        };
        // SAFETY: per this function's contract.
        unsafe { create(out, load, config) }
    })
}

/// Frees a detector and wipes the audio it held. NULL is accepted and does nothing.
///
/// # Safety
/// `detector` is NULL or a live handle, not used again afterwards.
#[no_mangle]
pub unsafe extern "C" fn hushword_detector_free(detector: *mut HushwordDetector) -> c_int {
    guard("hushword_detector_free", || {
        if !detector.is_null() {
            // SAFETY: a live handle from `Box::into_raw`, given back exactly once (contract).
            drop(unsafe { Box::from_raw(detector) });
        }
        Ok(HushwordStatus::Ok)
    })
}

/// The bytes a detector for this model and config holds for audio, features, scores and its
/// detection queue (tract's optimized graph and the weights are not included), found by
/// building one and freeing it: call it at design time or before committing memory.
///
/// # Safety
/// `model` is readable for `length` bytes; `bytes` is writable; `config` is NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn hushword_memory_bytes_for_model(
    model: *const u8,
    length: usize,
    config: *const HushwordConfig,
    bytes: *mut usize,
) -> c_int {
    guard("hushword_memory_bytes_for_model", || {
        if model.is_null() {
            return Err(Failure::null("model"));
        }
        // SAFETY: readable for `length` bytes per the contract.
        let onnx = unsafe { std::slice::from_raw_parts(model, length) };
        let loaded = WakeWordModel::from_bytes(onnx, "<model bytes>")?;
        // SAFETY: per this function's contract.
        let size = unsafe { HushwordDetector::new(vec![loaded], config) }?.memory_bytes();
        // SAFETY: per this function's contract.
        unsafe { put(bytes, "bytes", size) }?;
        Ok(HushwordStatus::Ok)
    })
}

/// The bytes this detector holds (same accounting as `hushword_memory_bytes_for_model`).
///
/// # Safety
/// `detector` is a live handle; `bytes` is writable.
#[no_mangle]
pub unsafe extern "C" fn hushword_detector_memory_bytes(
    detector: *const HushwordDetector,
    bytes: *mut usize,
) -> c_int {
    guard("hushword_detector_memory_bytes", || {
        // SAFETY: per this function's contract.
        let size = unsafe { handle_ref(detector) }?.memory_bytes();
        // SAFETY: per this function's contract.
        unsafe { put(bytes, "bytes", size) }?;
        Ok(HushwordStatus::Ok)
    })
}

/// Streams `count` 16-bit mono samples at the model's rate (16 kHz), any chunk size.
/// Detections go to the queue for `hushword_poll`. Allocates nothing (beyond what the model
/// runtime does inside an evaluation). `samples` may be NULL only when `count` is 0.
///
/// # Safety
/// `detector` is a live handle; `samples` is readable for `count` values.
#[no_mangle]
pub unsafe extern "C" fn hushword_push_i16(
    detector: *mut HushwordDetector,
    samples: *const i16,
    count: usize,
) -> c_int {
    guard("hushword_push_i16", || {
        // SAFETY: per this function's contract.
        let handle = unsafe { handle(detector) }?;
        if count == 0 {
            return Ok(HushwordStatus::Ok);
        }
        if samples.is_null() {
            return Err(Failure::null("samples"));
        }
        // SAFETY: readable for `count` values per the contract.
        let samples = unsafe { std::slice::from_raw_parts(samples, count) };
        handle.run(|h| h.detector.push_i16_into(samples, &mut h.queue));
        Ok(HushwordStatus::Ok)
    })
}

/// Takes the oldest pending detection into `*detection`: `HUSHWORD_STATUS_OK`, or
/// `HUSHWORD_STATUS_NO_DETECTION` when none is pending. It becomes the detection whose
/// pre-roll `hushword_copy_pre_roll` copies, until the next poll or reset.
///
/// # Safety
/// `detector` is a live handle; `detection` is writable.
#[no_mangle]
pub unsafe extern "C" fn hushword_poll(
    detector: *mut HushwordDetector,
    detection: *mut HushwordDetection,
) -> c_int {
    guard("hushword_poll", || {
        // SAFETY: per this function's contract.
        let handle = unsafe { handle(detector) }?;
        if detection.is_null() {
            return Err(Failure::null("detection"));
        }
        let Some(slot) = handle.run(|h| h.queue.poll().map(|slot| describe(slot, &h.keywords)))
        else {
            return Ok(HushwordStatus::NoDetection);
        };
        // SAFETY: per this function's contract.
        unsafe { put(detection, "detection", slot) }?;
        Ok(HushwordStatus::Ok)
    })
}

fn describe(slot: &super::queue::Slot, keywords: &[CString]) -> HushwordDetection {
    HushwordDetection {
        keyword: keywords[slot.keyword_index].as_ptr(),
        score: slot.score,
        position: slot.position,
        start: slot.start,
        end: slot.end,
        pre_roll_samples: slot.pre_roll().len(),
    }
}

/// Copies the last polled detection's pre-roll (16-bit samples, oldest first) into
/// `buffer`, which has room for `capacity` samples. On `HUSHWORD_STATUS_OK` `*length` is the
/// number written; on `HUSHWORD_STATUS_BUFFER_TOO_SMALL` nothing is written and `*length` is
/// the number needed (so `buffer` NULL with `capacity` 0 asks for the size).
/// `HUSHWORD_STATUS_NO_DETECTION` if nothing was polled since creation or reset.
///
/// # Safety
/// `detector` is a live handle; `buffer` is writable for `capacity` values; `length` is writable.
#[no_mangle]
pub unsafe extern "C" fn hushword_copy_pre_roll(
    detector: *mut HushwordDetector,
    buffer: *mut i16,
    capacity: usize,
    length: *mut usize,
) -> c_int {
    guard("hushword_copy_pre_roll", || {
        // SAFETY: per this function's contract.
        let handle = unsafe { handle(detector) }?;
        if length.is_null() {
            return Err(Failure::null("length"));
        }
        let Some(current) = handle.queue.current() else {
            // SAFETY: checked non-NULL above; writable per the contract.
            unsafe { length.write(0) };
            return Err(Failure::new(
                HushwordStatus::NoDetection,
                "no detection has been polled since creation or reset",
            ));
        };
        let pre_roll = current.pre_roll();
        // SAFETY: as above.
        unsafe { length.write(pre_roll.len()) };
        if capacity < pre_roll.len() {
            return Err(Failure::new(
                HushwordStatus::BufferTooSmall,
                format!(
                    "buffer holds {capacity} samples, the pre-roll has {}",
                    pre_roll.len()
                ),
            ));
        }
        if !pre_roll.is_empty() {
            if buffer.is_null() {
                return Err(Failure::null("buffer"));
            }
            // SAFETY: `buffer` is writable for `capacity >= len` values and is not ours.
            unsafe { std::ptr::copy_nonoverlapping(pre_roll.as_ptr(), buffer, pre_roll.len()) };
        }
        Ok(HushwordStatus::Ok)
    })
}

/// Copies up to `capacity` samples of post-roll (the audio after detections, captured for
/// `config.post_roll_ms` after each) into `buffer`, oldest first; `*length` is the number
/// written (0 when none is waiting). Call it after each push: audio left undrained longer
/// than the post-roll length is overwritten.
///
/// # Safety
/// `detector` is a live handle; `buffer` is writable for `capacity` values; `length` is writable.
#[no_mangle]
pub unsafe extern "C" fn hushword_drain_post_roll(
    detector: *mut HushwordDetector,
    buffer: *mut i16,
    capacity: usize,
    length: *mut usize,
) -> c_int {
    guard("hushword_drain_post_roll", || {
        // SAFETY: per this function's contract.
        let handle = unsafe { handle(detector) }?;
        if length.is_null() {
            return Err(Failure::null("length"));
        }
        if buffer.is_null() && capacity > 0 {
            return Err(Failure::null("buffer"));
        }
        let written = handle.run(|h| {
            if h.post_roll_read == h.post_roll.len() {
                h.clear_post_roll();
                // The detector drains at most its ring, which is this Vec's capacity.
                h.detector.drain_post_roll(&mut h.post_roll);
            }
            let waiting = &h.post_roll[h.post_roll_read..];
            let n = waiting.len().min(capacity);
            for (i, &sample) in waiting[..n].iter().enumerate() {
                let pcm = (sample * 32768.0).round().clamp(-32768.0, 32767.0) as i16;
                // SAFETY: `buffer` is writable for `capacity > i` values (checked non-NULL
                // when `capacity > 0`).
                unsafe { buffer.add(i).write(pcm) };
            }
            h.post_roll_read += n;
            n
        });
        // SAFETY: checked non-NULL above.
        unsafe { length.write(written) };
        Ok(HushwordStatus::Ok)
    })
}

/// Forgets the stream: scores, refractory periods, pending detections and every audio
/// buffer (wiped). The next sample is position 0. Resetting twice is harmless.
///
/// # Safety
/// `detector` is a live handle.
#[no_mangle]
pub unsafe extern "C" fn hushword_reset(detector: *mut HushwordDetector) -> c_int {
    guard("hushword_reset", || {
        // SAFETY: per this function's contract.
        let handle = unsafe { handle(detector) }?;
        handle.run(|h| {
            h.detector.reset();
            h.queue.clear();
            h.clear_post_roll();
        });
        Ok(HushwordStatus::Ok)
    })
}

/// Samples pushed since creation or the last reset.
///
/// # Safety
/// `detector` is a live handle; `samples` is writable.
#[no_mangle]
pub unsafe extern "C" fn hushword_samples_seen(
    detector: *const HushwordDetector,
    samples: *mut u64,
) -> c_int {
    guard("hushword_samples_seen", || {
        // SAFETY: per this function's contract.
        let seen = unsafe { handle_ref(detector) }?.detector.samples_seen();
        // SAFETY: per this function's contract.
        unsafe { put(samples, "samples", seen) }?;
        Ok(HushwordStatus::Ok)
    })
}

/// Detections dropped unpolled because the queue was full, since creation (not reset).
///
/// # Safety
/// `detector` is a live handle; `dropped` is writable.
#[no_mangle]
pub unsafe extern "C" fn hushword_dropped_detections(
    detector: *const HushwordDetector,
    dropped: *mut u64,
) -> c_int {
    guard("hushword_dropped_detections", || {
        // SAFETY: per this function's contract.
        let count = unsafe { handle_ref(detector) }?.queue.dropped();
        // SAFETY: per this function's contract.
        unsafe { put(dropped, "dropped", count) }?;
        Ok(HushwordStatus::Ok)
    })
}

/// Loads the speaker profile file at `path` (NUL-terminated UTF-8, made by `hushword enroll`)
/// and adds it to the detector's model it was enrolled with (docs/enroll.md), replacing that
/// model's previous profile. `only_enrolled` non-zero: only voices matching the profile fire;
/// zero: the profile only adds detections. A profile enrolled with another model or front end
/// is refused (`HUSHWORD_MODEL`) and the detector is left as it was.
///
/// # Safety
/// `detector` is a live handle; `path` is NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn hushword_detector_load_profile(
    detector: *mut HushwordDetector,
    path: *const c_char,
    only_enrolled: c_int,
) -> c_int {
    guard("hushword_detector_load_profile", || {
        // SAFETY: per this function's contract.
        let handle = unsafe { handle(detector) }?;
        // SAFETY: per this function's contract.
        let path = unsafe { path_arg(path, "path") }?;
        let profile = Profile::from_path(path)?;
        let mode = if only_enrolled != 0 {
            ProfileMode::OnlyEnrolled
        } else {
            ProfileMode::Adds
        };
        handle.run(|h| h.detector.add_profile(profile, mode, path))?;
        Ok(HushwordStatus::Ok)
    })
}
