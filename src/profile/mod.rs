//! Speaker profiles: what the engine learned from a few of the user's own recordings of the
//! wake word, so that a voice the model scores too low still wakes the device (docs/enroll.md).
//!
//! A profile holds, per enrolled clip, the model's last hidden layer (the input of its head,
//! [`WakeWordModel::hidden`]) at every evaluation over the word: a template. No audio and no
//! features are stored; 64 ReLU activations every 30 ms of a word cannot be played back.
//! It is bound to one model file (its [`WakeWordModel::fingerprint`]) and front end, and
//! refused with any other, like a model is refused by a different front end.
//!
//! How a profile changes detection ([`ProfileScorer::adjust`]): when a keyword's smoothed
//! score reaches the profile's lower `profile_threshold`, the recent activations are aligned
//! with every template by dynamic time warping ([`dtw`]); if the nearest is within
//! `max_distance` (the operating point chosen at enrolment), the score is lifted to the
//! detection threshold, so the detector fires. [`ProfileMode::Adds`] keeps every base
//! detection; [`ProfileMode::OnlyEnrolled`] keeps only those that match a template.

mod dtw;
pub mod enrol;

use crate::frontend::FrontendConfig;
use crate::model::WakeWordModel;
use crate::{Error, Result};
use dtw::DtwScratch;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The `format` field every profile file carries.
pub const PROFILE_FORMAT: &str = "hushword-profile";
/// The profile format version this engine reads and writes.
pub const PROFILE_VERSION: u32 = 1;
/// Fewest and most clips an enrolment takes (one template each).
pub const MIN_CLIPS: usize = 3;
/// Most clips an enrolment takes.
pub const MAX_CLIPS: usize = 10;
/// Longest template, in evaluations (bounds the scorer's memory and per-evaluation work).
pub const MAX_TEMPLATE_EVALUATIONS: usize = 64;
/// Largest profile file read (a full profile is a few hundred kB of JSON).
const MAX_PROFILE_BYTES: u64 = 4 << 20;

/// Whether a profile adds detections or also gates the base model's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProfileMode {
    /// The enrolled voice also fires below the threshold; everything else as without profile.
    #[default]
    Adds,
    /// Only voices matching a template fire (a speaker gate), whatever the base score.
    OnlyEnrolled,
}

/// One enrolled utterance: unit-length hidden activations, `[evaluations][width]`, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    /// Evaluations (model hops) the template spans.
    pub evaluations: usize,
    /// The activations, row by row.
    pub values: Vec<f32>,
}

/// What enrolment measured, kept for `hushword info`-style display and for re-checking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrolSummary {
    /// Highest base score of the keyword in each clip.
    pub peak_scores: Vec<f32>,
    /// Each clip's distance to the nearest other clip's template.
    pub leave_one_out: Vec<f32>,
    /// Smallest distance of any negative evaluation to a template.
    pub nearest_negative: f32,
    /// Negative evaluations the operating point was checked against.
    pub negative_evaluations: usize,
}

/// A speaker profile file (JSON), as described in docs/enroll.md.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Always [`PROFILE_FORMAT`].
    pub format: String,
    /// Always [`PROFILE_VERSION`] for files this engine reads.
    pub version: u32,
    /// [`WakeWordModel::fingerprint`] of the model enrolled with.
    pub model_fingerprint: String,
    /// The keyword enrolled (one of the model's).
    pub keyword: String,
    /// The model's front end, so that a profile is refused where features differ.
    pub frontend: FrontendConfig,
    /// Frames per evaluation of the model.
    pub hop_frames: usize,
    /// Width of the hidden layer (values per template row).
    pub width: usize,
    /// Smoothed base score from which templates are consulted, in (0, 1].
    pub profile_threshold: f32,
    /// Largest template distance that counts as the enrolled voice, in (0, 1].
    pub max_distance: f32,
    /// One per enrolled clip.
    pub templates: Vec<Template>,
    /// What enrolment measured.
    pub enrolment: EnrolSummary,
}

impl Profile {
    /// Reads and validates a profile file; its path names it in errors.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let fail = |reason: String| profile_error(&name, reason);
        let size = std::fs::metadata(path)
            .map_err(|e| fail(format!("cannot read: {e}")))?
            .len();
        if size > MAX_PROFILE_BYTES {
            return Err(fail(format!(
                "{size} bytes is too large for a profile (at most {MAX_PROFILE_BYTES})"
            )));
        }
        let text = std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read: {e}")))?;
        Self::from_json(&text, &name)
    }

    /// Parses and validates a profile's JSON; `name` identifies it in errors.
    pub fn from_json(text: &str, name: &str) -> Result<Self> {
        let fail = |reason: String| profile_error(name, reason);
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| fail(format!("not a profile (not JSON: {e})")))?;
        if value.get("format").and_then(|f| f.as_str()) != Some(PROFILE_FORMAT) {
            return Err(fail(format!(
                "not a profile (no \"format\": \"{PROFILE_FORMAT}\")"
            )));
        }
        match value.get("version").and_then(|v| v.as_u64()) {
            Some(v) if v == u64::from(PROFILE_VERSION) => {}
            other => {
                return Err(fail(format!(
                    "profile version {other:?}; this engine reads version {PROFILE_VERSION} (enrol again)"
                )))
            }
        }
        let profile: Self =
            serde_json::from_value(value).map_err(|e| fail(format!("bad profile: {e}")))?;
        profile.validate().map_err(fail)?;
        Ok(profile)
    }

    /// The profile as compact JSON (what [`Self::save`] writes).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Writes the profile to `path`.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        std::fs::write(path, self.to_json()).map_err(|e| Error::File {
            path: path.to_path_buf(),
            reason: format!("cannot write the profile: {e}"),
        })
    }

    fn validate(&self) -> std::result::Result<(), String> {
        if self.width == 0 || self.width > 4096 {
            return Err(format!("width {} must be in 1..=4096", self.width));
        }
        if !(1..=MAX_CLIPS).contains(&self.templates.len()) {
            return Err(format!(
                "{} templates; a profile holds 1..={MAX_CLIPS}",
                self.templates.len()
            ));
        }
        for (i, t) in self.templates.iter().enumerate() {
            if !(1..=MAX_TEMPLATE_EVALUATIONS).contains(&t.evaluations)
                || t.values.len() != t.evaluations * self.width
            {
                return Err(format!(
                    "template {i}: {} values for {} evaluations of width {} (1..={MAX_TEMPLATE_EVALUATIONS} evaluations)",
                    t.values.len(),
                    t.evaluations,
                    self.width
                ));
            }
            if t.values.iter().any(|v| !v.is_finite()) {
                return Err(format!("template {i} holds a non-finite value"));
            }
        }
        for (what, v) in [
            ("profile_threshold", self.profile_threshold),
            ("max_distance", self.max_distance),
        ] {
            if !(v > 0.0 && v <= 1.0) {
                return Err(format!("{what} {v} must be in (0, 1]"));
            }
        }
        if self.hop_frames == 0 {
            return Err("hop_frames must be at least 1".into());
        }
        Ok(())
    }

    /// Checks that this profile was enrolled with `model`; returns its keyword's index.
    pub fn check_model(&self, model: &WakeWordModel, name: &str) -> Result<usize> {
        let fail = |reason: String| profile_error(name, reason);
        if self.model_fingerprint != model.fingerprint() {
            return Err(fail(format!(
                "enrolled with model {} but {} is {}; enrol again with this model",
                self.model_fingerprint,
                model.name(),
                model.fingerprint()
            )));
        }
        let differences = self.frontend.differences(&model.metadata().frontend);
        if !differences.is_empty() {
            return Err(fail(format!(
                "its front end differs from model {}'s: {}",
                model.name(),
                differences.join("; ")
            )));
        }
        let width = model.hidden_width().ok_or_else(|| {
            fail(format!(
                "model {} is not run by the native kernel, whose hidden layer profiles use",
                model.name()
            ))
        })?;
        if width != self.width || self.hop_frames != model.metadata().hop_frames {
            return Err(fail(format!(
                "width {} / hop {} do not match model {} ({width} / {})",
                self.width,
                self.hop_frames,
                model.name(),
                model.metadata().hop_frames
            )));
        }
        model
            .metadata()
            .keywords
            .iter()
            .position(|k| *k == self.keyword)
            .ok_or_else(|| {
                fail(format!(
                    "keyword `{}` is not one of model {}'s",
                    self.keyword,
                    model.name()
                ))
            })
    }
}

/// A profile at work in a detector: the recent activations and the alignment scratch, all
/// sized at construction so that scoring allocates nothing.
pub(crate) struct ProfileScorer {
    profile: Profile,
    keyword_index: usize,
    mode: ProfileMode,
    /// The last `capacity` unit-length activations, `[capacity][width]`, ring order.
    recent: Box<[f32]>,
    capacity: usize,
    next: usize,
    filled: usize,
    dtw: DtwScratch,
}

impl ProfileScorer {
    /// `profile` has been checked against its model; `keyword_index` is its keyword's.
    pub(crate) fn new(profile: Profile, keyword_index: usize, mode: ProfileMode) -> Self {
        let longest = profile
            .templates
            .iter()
            .map(|t| t.evaluations)
            .max()
            .unwrap_or(1);
        let capacity = window_for(longest);
        Self {
            recent: vec![0.0; capacity * profile.width].into_boxed_slice(),
            capacity,
            next: 0,
            filled: 0,
            dtw: DtwScratch::new(capacity),
            keyword_index,
            mode,
            profile,
        }
    }

    pub(crate) fn keyword_index(&self) -> usize {
        self.keyword_index
    }

    pub(crate) fn profile(&self) -> &Profile {
        &self.profile
    }

    /// Records the latest evaluation's hidden activations.
    pub(crate) fn push(&mut self, hidden: &[f32]) {
        let w = self.profile.width;
        let slot = &mut self.recent[self.next * w..(self.next + 1) * w];
        slot.copy_from_slice(hidden);
        dtw::normalize(slot);
        self.next = (self.next + 1) % self.capacity;
        self.filled = (self.filled + 1).min(self.capacity);
    }

    /// Distance of the recent activations to the nearest template.
    pub(crate) fn distance(&mut self) -> f32 {
        let (w, cap, n) = (self.profile.width, self.capacity, self.filled);
        let oldest = (self.next + cap - n) % cap;
        let recent = &self.recent;
        let element = |j: usize| {
            let at = (oldest + j) % cap;
            &recent[at * w..(at + 1) * w]
        };
        self.profile
            .templates
            .iter()
            .map(|t| self.dtw.distance(&t.values, w, n, element))
            .fold(f32::INFINITY, f32::min)
    }

    /// The score the detector decides on, from the keyword's smoothed base score: lifted to
    /// `threshold` when the voice matches a template, and (only-enrolled) held at zero when
    /// it does not.
    pub(crate) fn adjust(&mut self, smoothed: f32, threshold: f32) -> f32 {
        if smoothed < self.profile.profile_threshold.min(threshold) {
            return match self.mode {
                ProfileMode::Adds => smoothed,
                ProfileMode::OnlyEnrolled => 0.0,
            };
        }
        let matches = self.distance() <= self.profile.max_distance;
        match (matches, self.mode) {
            (true, _) => smoothed.max(threshold),
            (false, ProfileMode::Adds) => smoothed,
            (false, ProfileMode::OnlyEnrolled) => 0.0,
        }
    }

    /// Forgets the recent activations.
    pub(crate) fn clear(&mut self) {
        self.recent.fill(0.0);
        self.next = 0;
        self.filled = 0;
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        let templates: usize = self
            .profile
            .templates
            .iter()
            .map(|t| t.values.len() * 4)
            .sum();
        self.recent.len() * 4 + self.dtw.memory_bytes() + templates
    }
}

/// Evaluations of recent activations a template of `evaluations` is aligned within: half as
/// long again, so a slower utterance of the word still fits.
fn window_for(evaluations: usize) -> usize {
    evaluations + evaluations.div_ceil(2)
}

fn profile_error(name: &str, reason: String) -> Error {
    Error::Profile {
        source_name: name.to_string(),
        reason,
    }
}
