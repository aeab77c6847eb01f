//! The C API: a detector handle for C firmware and other languages, built into the
//! `staticlib` and `cdylib` (`libhushword.a` / `libhushword.so`); the header is
//! `include/hushword.h`, generated from this module by cbindgen (`cbindgen.toml`).
//!
//! Every function returns an `int` status ([`HushwordStatus`]) and runs its body inside
//! `catch_unwind`, so no panic crosses the boundary; failures leave a per-thread message
//! for `hushword_last_error_message`. NULL pointers, short buffers, bad model bytes and
//! non-UTF-8 paths are refused with a status and a message.
//!
//! Memory: everything a detector needs is allocated when it is created (its size is
//! reported by `hushword_memory_bytes_for_model` up front); pushing samples allocates
//! nothing, because detections are copied into a fixed-capacity queue whose oldest entry is
//! dropped (and counted) when it is full.

mod config;
mod handle;
mod queue;
mod status;

pub use config::{hushword_config_default, HushwordConfig, HushwordKeywordThreshold};
pub use handle::{
    hushword_copy_pre_roll, hushword_detector_free, hushword_detector_load_profile,
    hushword_detector_memory_bytes, hushword_detector_new_default,
    hushword_detector_new_from_bytes, hushword_detector_new_from_path,
    hushword_detector_new_from_paths, hushword_drain_post_roll, hushword_dropped_detections,
    hushword_memory_bytes_for_model, hushword_poll, hushword_push_i16, hushword_reset,
    hushword_samples_seen, HushwordDetection, HushwordDetector,
};
pub use status::{hushword_last_error_message, hushword_status_name, HushwordStatus};
