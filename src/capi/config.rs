//! The C view of [`DetectorConfig`], plus the size of the detection queue.

use super::status::{Failure, HushwordStatus, Outcome};
use crate::DetectorConfig;
use std::ffi::{c_char, c_int, CStr};

/// Most detections a queue may hold (bounds the memory a config can ask for).
pub const HUSHWORD_MAX_QUEUE_CAPACITY: u32 = 1024;

/// A threshold for one keyword, overriding its model's recommended threshold.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct HushwordKeywordThreshold {
    /// NUL-terminated UTF-8 keyword, as named in its model's metadata.
    pub keyword: *const c_char,
    /// Fires when the smoothed score reaches this; in (0, 1].
    pub threshold: f32,
}

/// How a detector decides and how much audio it keeps. Start from
/// `hushword_config_default` and change fields; pass NULL to the constructors for the defaults.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct HushwordConfig {
    /// Audio ending at the trigger kept with each detection, in ms (at most 60000).
    pub pre_roll_ms: u32,
    /// Audio after a trigger captured for `hushword_drain_post_roll`, in ms (at most 60000).
    pub post_roll_ms: u32,
    /// Moving average over this many evaluations (1 = raw scores; 1..=1000).
    pub smoothing: u32,
    /// After a detection the same keyword cannot fire again for this long, in ms.
    pub refractory_ms: u32,
    /// One threshold in (0, 1] for every keyword; 0 keeps each model's recommended threshold.
    pub threshold: f32,
    /// Per-keyword thresholds, which take precedence over `threshold`; NULL when
    /// `keyword_threshold_count` is 0. Only read during the constructor call.
    pub keyword_thresholds: *const HushwordKeywordThreshold,
    /// Entries in `keyword_thresholds`.
    pub keyword_threshold_count: usize,
    /// Detections held between polls (1..=1024). When the queue is full, a new detection
    /// drops the oldest unpolled one and `hushword_dropped_detections` counts it.
    pub queue_capacity: u32,
}

impl Default for HushwordConfig {
    fn default() -> Self {
        let base = DetectorConfig::default();
        Self {
            pre_roll_ms: base.pre_roll_ms,
            post_roll_ms: base.post_roll_ms,
            smoothing: base.smoothing as u32,
            refractory_ms: base.refractory_ms,
            threshold: 0.0,
            keyword_thresholds: std::ptr::null(),
            keyword_threshold_count: 0,
            queue_capacity: 4,
        }
    }
}

impl HushwordConfig {
    /// The detector config for models detecting `keywords`; ranges the detector checks
    /// itself (roll lengths, smoothing, threshold range, unknown keywords) are left to it.
    ///
    /// # Safety
    /// `keyword_thresholds` must point to `keyword_threshold_count` readable entries whose
    /// `keyword`s are NULL or NUL-terminated (the header's contract).
    pub(crate) unsafe fn detector_config(
        &self,
        keywords: &[String],
    ) -> Result<DetectorConfig, Failure> {
        if self.queue_capacity == 0 || self.queue_capacity > HUSHWORD_MAX_QUEUE_CAPACITY {
            return Err(invalid(format!(
                "config.queue_capacity {} must be in 1..={HUSHWORD_MAX_QUEUE_CAPACITY}",
                self.queue_capacity
            )));
        }
        let mut thresholds = unsafe { self.keyword_overrides() }?;
        if self.threshold != 0.0 {
            if !(self.threshold > 0.0 && self.threshold <= 1.0) {
                return Err(invalid(format!(
                    "config.threshold {} must be in (0, 1], or 0 for the models' own",
                    self.threshold
                )));
            }
            // Listed after the per-keyword ones, which therefore win.
            thresholds.extend(keywords.iter().map(|k| (k.clone(), self.threshold)));
        }
        Ok(DetectorConfig {
            pre_roll_ms: self.pre_roll_ms,
            post_roll_ms: self.post_roll_ms,
            smoothing: self.smoothing as usize,
            refractory_ms: self.refractory_ms,
            thresholds,
        })
    }

    /// The per-keyword overrides as owned pairs.
    unsafe fn keyword_overrides(&self) -> Result<Vec<(String, f32)>, Failure> {
        if self.keyword_threshold_count == 0 {
            return Ok(Vec::new());
        }
        if self.keyword_thresholds.is_null() {
            return Err(Failure::null("config.keyword_thresholds"));
        }
        // SAFETY: the caller promises `count` readable entries.
        let entries = unsafe {
            std::slice::from_raw_parts(self.keyword_thresholds, self.keyword_threshold_count)
        };
        entries
            .iter()
            .enumerate()
            .map(|(i, entry)| {
                if entry.keyword.is_null() {
                    return Err(Failure::null(&format!(
                        "config.keyword_thresholds[{i}].keyword"
                    )));
                }
                // SAFETY: non-NULL and NUL-terminated per the contract.
                let keyword = unsafe { CStr::from_ptr(entry.keyword) }
                    .to_str()
                    .map_err(|e| {
                        invalid(format!(
                            "config.keyword_thresholds[{i}].keyword is not UTF-8: {e}"
                        ))
                    })?;
                Ok((keyword.to_string(), entry.threshold))
            })
            .collect()
    }
}

fn invalid(message: String) -> Failure {
    Failure::new(HushwordStatus::InvalidArgument, message)
}

/// Fills `*config` with the defaults: 2000 ms pre-roll, no post-roll, smoothing 2,
/// 1500 ms refractory period, the models' own thresholds, a queue of 4 detections.
///
/// # Safety
/// `config` is NULL or writable for one struct.
#[no_mangle]
pub unsafe extern "C" fn hushword_config_default(config: *mut HushwordConfig) -> c_int {
    super::status::guard("hushword_config_default", || -> Outcome {
        if config.is_null() {
            return Err(Failure::null("config"));
        }
        // SAFETY: a non-NULL `config` points to writable memory for one struct (contract);
        // `write` does not read the possibly uninitialised old value.
        unsafe { config.write(HushwordConfig::default()) };
        Ok(HushwordStatus::Ok)
    })
}
