//! The streaming detector: samples in, wake-word events (with the audio around them) out.
//!
//! One [`MfccFrontend`] feeds every model, so features are computed once however many
//! keywords are listened for; that is why all models must share one front-end config.
//! Each model keeps its own frame history and is evaluated every `hop_frames` frames once a
//! full window exists; each keyword's scores are smoothed, thresholded and followed by a
//! refractory period.
//!
//! Positions are exact: a chunk is fed to the front end in pieces that end where the next
//! frame completes, so an evaluation happens with exactly the samples up to that frame
//! consumed, whatever the chunking. A [`Detection`]'s `position` is that sample count, its
//! pre-roll is the audio just before it, and the samples after it (even later in the same
//! chunk) go to the post-roll.
//!
//! Raw audio is held only in [`preroll`] (fixed size, wiped on [`Detector::reset`] and on
//! drop). After construction, pushing audio allocates nothing unless a detection is made
//! (its pre-roll `Vec` and keyword `String`), apart from what tract allocates inside a model
//! evaluation; with a [`DetectionSink`] that copies into storage of its own
//! ([`Detector::push_i16_into`]) detections allocate nothing either.
//!
//! ```
//! use hushword::{Detector, DetectorConfig, WakeWordModel};
//!
//! let bytes = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/models/energy.onnx"));
//! let model = WakeWordModel::from_bytes(bytes, "energy")?;
//! let mut detector = Detector::new(vec![model], DetectorConfig::default())?;
//!
//! // Half a second of silence, then a loud 440 Hz square tone the fixture model fires on.
//! let mut signal = vec![0.0f32; 8000];
//! signal.extend((0..8000).map(|i| if (i / 18) % 2 == 0 { 0.5 } else { -0.5 }));
//! let mut events = Vec::new();
//! for chunk in signal.chunks(160) {
//!     detector.push_f32(chunk, &mut events)?;
//! }
//! assert_eq!(events.len(), 1);
//! assert_eq!(events[0].keyword, "beep");
//! assert!(events[0].position > 8000 && events[0].pre_roll.len() as u64 == events[0].position);
//! # Ok::<(), hushword::Error>(())
//! ```

pub(crate) mod history;
pub mod preroll;
mod sink;
mod track;

use crate::frontend::MfccFrontend;
use crate::model::WakeWordModel;
use crate::profile::{Profile, ProfileMode, ProfileScorer};
use crate::{Error, Result};
use history::FrameHistory;
use preroll::{PostRoll, PreRoll};
use serde::{Deserialize, Serialize};
pub use sink::{DetectionEvent, DetectionSink};
use track::KeywordTrack;

/// Longest pre- or post-roll accepted (60 s): bounds the memory a config can ask for.
pub const MAX_ROLL_MS: u32 = 60_000;

/// Longest smoothing accepted, in evaluations.
pub const MAX_SMOOTHING: usize = 1_000;

/// i16 samples converted per step in [`Detector::push_i16`] (fixed scratch, no allocation).
const I16_SCRATCH: usize = 1024;

/// How the detector turns scores into events and how much audio it hands out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DetectorConfig {
    /// Audio ending at the trigger handed out with each [`Detection`], in ms.
    pub pre_roll_ms: u32,
    /// Audio after a trigger the host may drain with [`Detector::drain_post_roll`], in ms.
    pub post_roll_ms: u32,
    /// Moving average over this many evaluations (1 = raw scores).
    pub smoothing: usize,
    /// After an event, the same keyword cannot fire again for this long, in ms.
    pub refractory_ms: u32,
    /// Per-keyword overrides of the model's recommended threshold, in (0, 1].
    pub thresholds: Vec<(String, f32)>,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        Self {
            pre_roll_ms: 2000,
            post_roll_ms: 0,
            smoothing: 2,
            refractory_ms: 1500,
            thresholds: Vec::new(),
        }
    }
}

impl DetectorConfig {
    /// Sets one threshold for every keyword of `models`, overriding their recommendations
    /// (the `--threshold` of the command line and `threshold=` of the Python package).
    pub fn with_threshold_for_all(mut self, models: &[WakeWordModel], threshold: f32) -> Self {
        self.thresholds = models
            .iter()
            .flat_map(|m| m.metadata().keywords.iter().map(|k| (k.clone(), threshold)))
            .collect();
        self
    }
}

/// One wake-word event.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// The keyword, as named in its model's metadata.
    pub keyword: String,
    /// The smoothed score that crossed the threshold.
    pub score: f32,
    /// Absolute sample index (stream start = 0) at which it fired: the samples consumed
    /// when the evaluation ran.
    pub position: u64,
    /// Estimated start of the spoken word: `end - word_duration_ms`, clamped at 0.
    pub start: u64,
    /// Estimated end of the word: `position` (a model fires as its window end passes the
    /// word end).
    pub end: u64,
    /// Exactly the input samples `[position - pre_roll.len(), position)`: the configured
    /// pre-roll, or fewer near the stream start.
    pub pre_roll: Vec<f32>,
}

/// One evaluation's smoothed score, for evaluation tooling (threshold sweeps from one pass).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreSample {
    /// Index of the model in the list given to [`Detector::new`].
    pub model: usize,
    /// Index of the keyword within that model's outputs.
    pub keyword: usize,
    /// Samples consumed when the evaluation ran.
    pub position: u64,
    /// Smoothed score.
    pub score: f32,
}

/// A model with its frame history and evaluation buffers.
struct ModelSlot {
    model: WakeWordModel,
    history: FrameHistory,
    /// Reused time-last window handed to the model.
    window: Box<[f32]>,
    /// Reused raw scores, one per keyword.
    scores: Box<[f32]>,
    /// Index of this model's first keyword in `Core::tracks`.
    first_track: usize,
    /// Samples from a word's start to its end, per the metadata.
    word_samples: u64,
    /// The speaker profile enrolled with this model, if one was added.
    profile: Option<ProfileScorer>,
}

/// Everything the per-frame callback touches (all but the front end, which calls it).
struct Core {
    slots: Vec<ModelSlot>,
    tracks: Vec<KeywordTrack>,
    preroll: PreRoll,
    postroll: PostRoll,
    pre_roll_samples: usize,
    refractory_samples: u64,
    samples_seen: u64,
    frames_seen: u64,
    evaluation_failures: u64,
}

/// The streaming wake-word detector.
pub struct Detector {
    frontend: MfccFrontend,
    core: Core,
    config: DetectorConfig,
    /// Fixed scratch for i16 conversion.
    scratch: Box<[f32]>,
}

impl std::fmt::Debug for Detector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detector")
            .field("config", &self.config)
            .field("keywords", &self.keywords())
            .field("samples_seen", &self.core.samples_seen)
            .finish_non_exhaustive()
    }
}

impl Detector {
    /// Builds a detector over `models`, which must all use the identical front-end config.
    pub fn new(models: Vec<WakeWordModel>, config: DetectorConfig) -> Result<Self> {
        let first = models
            .first()
            .ok_or_else(|| Error::Config("a detector needs at least one model".to_string()))?;
        let frontend_config = first.metadata().frontend.clone();
        for model in &models[1..] {
            let differences = frontend_config.differences(&model.metadata().frontend);
            if !differences.is_empty() {
                return Err(Error::Model {
                    source_name: model.name().to_string(),
                    reason: format!(
                        "its front end differs from model {}'s, so they cannot share one: {}",
                        first.name(),
                        differences.join("; ")
                    ),
                });
            }
        }
        validate_config(&config, &models)?;

        let rate = u64::from(frontend_config.sample_rate);
        let ms_to_samples = |ms: u32| u64::from(ms) * rate / 1000;
        let pre_roll_samples = ms_to_samples(config.pre_roll_ms) as usize;
        let hop = frontend_config.hop_length;
        let frontend = MfccFrontend::new(frontend_config)?;

        let mut slots = Vec::with_capacity(models.len());
        let mut tracks = Vec::new();
        for model in models {
            let metadata = model.metadata();
            let first_track = tracks.len();
            for keyword in &metadata.keywords {
                let threshold = config
                    .thresholds
                    .iter()
                    .find(|(k, _)| k == keyword)
                    .map_or(metadata.threshold, |&(_, t)| t);
                tracks.push(KeywordTrack::new(threshold, config.smoothing));
            }
            slots.push(ModelSlot {
                history: FrameHistory::new(model.n_features(), metadata.window_frames),
                window: vec![0.0; model.window_len()].into_boxed_slice(),
                scores: vec![0.0; model.n_keywords()].into_boxed_slice(),
                first_track,
                word_samples: ms_to_samples(metadata.word_duration_ms),
                profile: None,
                model,
            });
        }
        let core = Core {
            slots,
            tracks,
            preroll: PreRoll::with_capacity(pre_roll_samples.max(hop)),
            postroll: PostRoll::with_capacity(ms_to_samples(config.post_roll_ms) as usize),
            pre_roll_samples,
            refractory_samples: ms_to_samples(config.refractory_ms),
            samples_seen: 0,
            frames_seen: 0,
            evaluation_failures: 0,
        };
        Ok(Self {
            frontend,
            core,
            config,
            scratch: vec![0.0; I16_SCRATCH].into_boxed_slice(),
        })
    }

    /// Streams f32 samples in [-1, 1); detections are appended to `out`.
    ///
    /// Non-finite samples (NaN, +inf, -inf) are refused, not sanitised: the whole chunk is
    /// rejected with [`Error::Audio`] naming the first bad sample before anything is
    /// consumed, so the stream state is unchanged and the caller may drop or repair the
    /// chunk (silently zeroing would hide a broken capture path). Finite samples outside
    /// [-1, 1) are accepted as they are; absurd magnitudes (near `f32::MAX`) overflow the
    /// features, score as no detection, and the detector recovers once they leave the
    /// model's window (docs/robustness.md).
    /// If a model evaluation fails (it cannot once the model loaded, short of a tract bug),
    /// the whole chunk is still consumed, that evaluation scores 0 and an [`Error::Model`]
    /// is returned at the end.
    pub fn push_f32(&mut self, samples: &[f32], out: &mut Vec<Detection>) -> Result<()> {
        self.push_f32_observed(samples, out, |_| {})
    }

    /// Like [`Self::push_f32`], also reporting every evaluation's smoothed scores.
    pub fn push_f32_observed(
        &mut self,
        samples: &[f32],
        out: &mut Vec<Detection>,
        mut on_score: impl FnMut(ScoreSample),
    ) -> Result<()> {
        if let Some(i) = samples.iter().position(|s| !s.is_finite()) {
            return Err(Error::Audio(format!(
                "sample {i} of this chunk is {} (stream position {}); chunk not consumed",
                samples[i],
                self.core.samples_seen + i as u64
            )));
        }
        let failures_before = self.core.evaluation_failures;
        self.process(samples, out, &mut on_score)?;
        if self.core.evaluation_failures > failures_before {
            return Err(Error::Model {
                source_name: "detector".to_string(),
                reason: format!(
                    "{} model evaluation(s) failed in this chunk and scored 0",
                    self.core.evaluation_failures - failures_before
                ),
            });
        }
        Ok(())
    }

    /// Streams 16-bit PCM (scaled by 1/32768), converting in fixed scratch.
    ///
    /// Cannot fail on input; a failed model evaluation (see [`Self::push_f32`]) scores 0
    /// and is counted in [`Self::evaluation_failures`].
    pub fn push_i16(&mut self, samples: &[i16], out: &mut Vec<Detection>) {
        self.push_i16_into(samples, out);
    }

    /// Like [`Self::push_i16`], handing each detection to `sink` as it happens; the push
    /// allocates nothing if the sink does not (beyond tract's own per-evaluation allocations).
    pub fn push_i16_into(&mut self, samples: &[i16], sink: &mut dyn DetectionSink) {
        let mut scratch = std::mem::take(&mut self.scratch);
        for block in samples.chunks(scratch.len().max(1)) {
            let converted = &mut scratch[..block.len()];
            for (f, &s) in converted.iter_mut().zip(block) {
                *f = f32::from(s) / 32768.0;
            }
            // Finite by construction, so the front end cannot refuse it.
            let _ = self.process(converted, sink, &mut |_| {});
        }
        self.scratch = scratch;
    }

    /// Appends the post-roll captured since the last drain (oldest first); returns how many.
    ///
    /// After a detection, the next `post_roll_ms` of input is captured as it arrives; drain
    /// at least once per `post_roll_ms` of input or the oldest undrained samples are lost.
    pub fn drain_post_roll(&mut self, out: &mut Vec<f32>) -> usize {
        self.core.postroll.drain(out)
    }

    /// Forgets the stream: front end, frame histories, models' streaming states, scores,
    /// refractory periods, and the audio rings (wiped). The next sample is position 0.
    pub fn reset(&mut self) {
        self.frontend.reset();
        let core = &mut self.core;
        for slot in &mut core.slots {
            slot.history.clear();
            slot.window.fill(0.0);
            slot.model.reset_stream();
            if let Some(profile) = &mut slot.profile {
                profile.clear();
            }
        }
        core.tracks.iter_mut().for_each(KeywordTrack::clear);
        core.preroll.clear();
        core.postroll.clear();
        preroll::wipe(&mut self.scratch);
        core.samples_seen = 0;
        core.frames_seen = 0;
    }

    /// Test hook: starts the counters `frames` hops into the stream, as if `frames * hop`
    /// samples had been streamed and forgotten, so that tests can check the 64-bit position
    /// arithmetic past 2^32 samples without streaming 74 hours of audio. Positions of later
    /// detections are exactly `frames * hop` larger than in a fresh detector. Only allowed
    /// before any audio (or right after [`Self::reset`]); `frames` must be a multiple of
    /// every model's `hop_frames` so evaluations keep their phase. Not for production use.
    #[doc(hidden)]
    pub fn start_counters_at_frame(&mut self, frames: u64) -> Result<()> {
        let hop = self.frontend.config().hop_length as u64;
        let bad = |msg: String| Err(Error::Config(format!("start_counters_at_frame: {msg}")));
        if self.core.samples_seen != 0 {
            return bad("audio was already pushed".to_string());
        }
        if let Some(slot) = self
            .core
            .slots
            .iter()
            .find(|s| !frames.is_multiple_of(s.model.metadata().hop_frames as u64))
        {
            return bad(format!(
                "{frames} is not a multiple of hop_frames {}",
                slot.model.metadata().hop_frames
            ));
        }
        let Some(samples) = frames
            .checked_mul(hop)
            .filter(|s| s.checked_add(1 << 40).is_some())
        else {
            return bad(format!(
                "{frames} frames overflow the 64-bit sample counter"
            ));
        };
        self.core.frames_seen = frames;
        self.core.samples_seen = samples;
        Ok(())
    }

    /// Adds a speaker profile (docs/enroll.md) to the model it was enrolled with, replacing
    /// any profile that model had; `name` identifies the profile in errors. Refused when no
    /// model of this detector is the one it was enrolled with.
    pub fn add_profile(&mut self, profile: Profile, mode: ProfileMode, name: &str) -> Result<()> {
        let mut refusals = Vec::new();
        for slot in &mut self.core.slots {
            match profile.check_model(&slot.model, name) {
                Ok(keyword_index) => {
                    slot.profile = Some(ProfileScorer::new(profile, keyword_index, mode));
                    return Ok(());
                }
                Err(e) => refusals.push(e),
            }
        }
        // One model: its own reason; several: none of them matched.
        match refusals.len() {
            1 => Err(refusals.remove(0)),
            _ => Err(Error::Profile {
                source_name: name.to_string(),
                reason: format!(
                    "enrolled with model {}, which is none of this detector's {} models",
                    profile.model_fingerprint,
                    refusals.len()
                ),
            }),
        }
    }

    /// The profiles in force, as `(model index, profile)`.
    pub fn profiles(&self) -> impl Iterator<Item = (usize, &Profile)> {
        self.core
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.profile.as_ref().map(|p| (i, p.profile())))
    }

    /// Samples consumed since construction or [`Self::reset`].
    pub fn samples_seen(&self) -> u64 {
        self.core.samples_seen
    }

    /// Feature frames computed since construction or [`Self::reset`] (once for all models).
    pub fn frames_seen(&self) -> u64 {
        self.core.frames_seen
    }

    /// Model evaluations that failed (and scored 0) since construction.
    pub fn evaluation_failures(&self) -> u64 {
        self.core.evaluation_failures
    }

    /// `(model index, keyword)` for every keyword, in [`ScoreSample`] order.
    pub fn keywords(&self) -> Vec<(usize, String)> {
        self.core
            .slots
            .iter()
            .enumerate()
            .flat_map(|(i, slot)| {
                slot.model
                    .metadata()
                    .keywords
                    .iter()
                    .map(move |k| (i, k.clone()))
            })
            .collect()
    }

    /// The threshold in force for `keyword` (override or the model's recommendation).
    pub fn threshold(&self, keyword: &str) -> Option<f32> {
        self.core.slots.iter().find_map(|slot| {
            let index = slot
                .model
                .metadata()
                .keywords
                .iter()
                .position(|k| k == keyword)?;
            Some(self.core.tracks[slot.first_track + index].threshold)
        })
    }

    /// The refractory period in samples.
    pub fn refractory_samples(&self) -> u64 {
        self.core.refractory_samples
    }

    /// Pre-roll length in samples handed out with a detection (fewer near stream start).
    pub fn pre_roll_samples(&self) -> usize {
        self.core.pre_roll_samples
    }

    /// The configuration in force.
    pub fn config(&self) -> &DetectorConfig {
        &self.config
    }

    /// The models, in the order given to [`Self::new`].
    pub fn models(&self) -> impl Iterator<Item = &WakeWordModel> {
        self.core.slots.iter().map(|slot| &slot.model)
    }

    /// Heap bytes the detector holds for audio, features and scores, including the models'
    /// input tensors and their native kernels (weights and streaming state); tract's graphs
    /// and internals and the front end's tables are not counted.
    pub fn memory_bytes(&self) -> usize {
        let core = &self.core;
        let f32s = std::mem::size_of::<f32>();
        let slots: usize = core
            .slots
            .iter()
            .map(|s| {
                s.history.memory_bytes()
                    + std::mem::size_of_val(&*s.window)
                    + std::mem::size_of_val(&*s.scores)
                    + s.model.window_len() * f32s
                    + s.model.kernel_heap_bytes()
                    + s.profile.as_ref().map_or(0, ProfileScorer::memory_bytes)
            })
            .sum();
        let tracks: usize = core.tracks.iter().map(KeywordTrack::memory_bytes).sum();
        core.preroll.memory_bytes()
            + core.postroll.memory_bytes()
            + slots
            + tracks
            + self.scratch.len() * f32s
    }

    /// Feeds finite samples in pieces that end exactly where the next frame completes.
    fn process(
        &mut self,
        samples: &[f32],
        sink: &mut dyn DetectionSink,
        on_score: &mut dyn FnMut(ScoreSample),
    ) -> Result<()> {
        let config = self.frontend.config();
        let (frame_length, hop) = (config.frame_length as u64, config.hop_length as u64);
        let mut rest = samples;
        while !rest.is_empty() {
            let next_frame_end = self.core.frames_seen * hop + frame_length;
            let until_frame = next_frame_end.saturating_sub(self.core.samples_seen).max(1);
            let take = usize::try_from(until_frame).map_or(rest.len(), |n| n.min(rest.len()));
            let (piece, tail) = rest.split_at(take);
            let core = &mut self.core;
            core.preroll.push(piece);
            core.postroll.capture(piece);
            core.samples_seen += piece.len() as u64;
            self.frontend
                .push_f32(piece, |frame| core.on_frame(frame, sink, on_score))?;
            rest = tail;
        }
        Ok(())
    }
}

impl Core {
    /// One new feature frame: update histories, evaluate due models, decide events.
    fn on_frame(
        &mut self,
        frame: &[f32],
        sink: &mut dyn DetectionSink,
        on_score: &mut dyn FnMut(ScoreSample),
    ) {
        self.frames_seen += 1;
        let position = self.samples_seen;
        let mut fired = false;
        for (model_index, slot) in self.slots.iter_mut().enumerate() {
            slot.history.push(frame);
            if !slot.history.is_full() {
                continue;
            }
            let window_frames = slot.model.window_frames() as u64;
            let hop_frames = slot.model.metadata().hop_frames as u64;
            if !(self.frames_seen - window_frames).is_multiple_of(hop_frames) {
                continue;
            }
            // A streaming model takes only the newest hop once warm; others the window.
            let frames = slot.model.frames_needed();
            let values = &mut slot.window[..frames * slot.model.n_features()];
            slot.history.copy_newest_time_last(frames, values);
            if slot.model.evaluate_next(values, &mut slot.scores).is_err() {
                self.evaluation_failures += 1;
                slot.scores.fill(0.0);
            }
            if let (Some(profile), Some(hidden)) = (&mut slot.profile, slot.model.hidden()) {
                profile.push(hidden);
            }
            for (keyword_index, &raw) in slot.scores.iter().enumerate() {
                let track = &mut self.tracks[slot.first_track + keyword_index];
                let mut score = track.smooth(raw);
                if let Some(profile) = slot
                    .profile
                    .as_mut()
                    .filter(|p| p.keyword_index() == keyword_index)
                {
                    score = profile.adjust(score, track.threshold);
                }
                on_score(ScoreSample {
                    model: model_index,
                    keyword: keyword_index,
                    position,
                    score,
                });
                if track.decide(score, position, self.refractory_samples) {
                    fired = true;
                    sink.on_detection(&DetectionEvent {
                        keyword: &slot.model.metadata().keywords[keyword_index],
                        keyword_index: slot.first_track + keyword_index,
                        score,
                        position,
                        start: position.saturating_sub(slot.word_samples),
                        end: position,
                        pre_roll: self.preroll.last(self.pre_roll_samples),
                    });
                }
            }
        }
        if fired {
            self.postroll.arm();
        }
    }
}

/// Checks ranges and that every threshold override names a keyword of some model.
fn validate_config(config: &DetectorConfig, models: &[WakeWordModel]) -> Result<()> {
    let bad = |msg: String| Err(Error::Config(format!("detector: {msg}")));
    if config.smoothing == 0 || config.smoothing > MAX_SMOOTHING {
        return bad(format!(
            "smoothing {} must be in 1..={MAX_SMOOTHING}",
            config.smoothing
        ));
    }
    for (name, ms) in [
        ("pre_roll_ms", config.pre_roll_ms),
        ("post_roll_ms", config.post_roll_ms),
    ] {
        if ms > MAX_ROLL_MS {
            return bad(format!("{name} {ms} must be at most {MAX_ROLL_MS}"));
        }
    }
    for (keyword, threshold) in &config.thresholds {
        if !(*threshold > 0.0 && *threshold <= 1.0) {
            return bad(format!(
                "threshold {threshold} for `{keyword}` must be in (0, 1]"
            ));
        }
        if !models
            .iter()
            .any(|m| m.metadata().keywords.contains(keyword))
        {
            return bad(format!(
                "threshold given for `{keyword}`, which no model detects"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENERGY: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/models/energy.onnx"
    ));

    /// Reset must wipe the raw audio, not just forget indices: the buffers read all zero.
    #[test]
    fn reset_wipes_every_audio_buffer() {
        let model = WakeWordModel::from_bytes(ENERGY, "energy").unwrap();
        let config = DetectorConfig {
            post_roll_ms: 100,
            smoothing: 1,
            ..DetectorConfig::default()
        };
        let mut detector = Detector::new(vec![model], config).unwrap();
        let loud: Vec<f32> = (0..16_000)
            .map(|i| if (i / 18) % 2 == 0 { 0.5 } else { -0.5 })
            .collect();
        let pcm: Vec<i16> = loud.iter().map(|&s| (s * 32767.0) as i16).collect();
        let mut events = Vec::new();
        detector.push_f32(&loud, &mut events).unwrap();
        detector.push_i16(&pcm[..500], &mut events);
        assert_eq!(
            events.len(),
            1,
            "the loud tone must trigger (and arm the post-roll)"
        );
        let core = &detector.core;
        assert!(core.preroll.raw().iter().any(|&s| s != 0.0));
        assert!(core.postroll.raw().iter().any(|&s| s != 0.0));
        assert!(detector.scratch.iter().any(|&s| s != 0.0));

        detector.reset();
        let core = &detector.core;
        assert!(core.preroll.raw().iter().all(|&s| s == 0.0));
        assert!(core.postroll.raw().iter().all(|&s| s == 0.0));
        assert!(detector.scratch.iter().all(|&s| s == 0.0));
        assert!(core
            .slots
            .iter()
            .all(|s| s.window.iter().all(|&v| v == 0.0)));
        let mut post = Vec::new();
        assert_eq!(detector.drain_post_roll(&mut post), 0);
    }

    #[test]
    fn counters_start_only_on_a_fresh_stream_and_in_phase() {
        let model = || WakeWordModel::from_bytes(ENERGY, "energy").unwrap();
        let mut d = Detector::new(vec![model()], DetectorConfig::default()).unwrap();
        // energy.onnx evaluates every 2 frames: an odd start would shift the phase.
        assert!(d.start_counters_at_frame(3).is_err());
        assert!(d.start_counters_at_frame(u64::MAX / 2).is_err());
        d.start_counters_at_frame(1 << 30).unwrap();
        assert_eq!(d.samples_seen(), 160 << 30);
        assert_eq!(d.frames_seen(), 1 << 30);
        let mut events = Vec::new();
        d.push_f32(&[0.0; 10], &mut events).unwrap();
        assert!(d.start_counters_at_frame(2).is_err());
        d.reset();
        assert_eq!(d.samples_seen(), 0);
        d.start_counters_at_frame(2).unwrap();
    }

    #[test]
    fn ring_capacity_is_the_larger_of_pre_roll_and_hop() {
        let model = || WakeWordModel::from_bytes(ENERGY, "energy").unwrap();
        let none = DetectorConfig {
            pre_roll_ms: 0,
            ..DetectorConfig::default()
        };
        let d = Detector::new(vec![model()], none).unwrap();
        assert_eq!(d.core.preroll.capacity(), 160);
        let d = Detector::new(vec![model()], DetectorConfig::default()).unwrap();
        assert_eq!(d.core.preroll.capacity(), 32_000);
        assert!(d.memory_bytes() >= 32_000 * 4);
    }
}
