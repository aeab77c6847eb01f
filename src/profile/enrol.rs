//! Enrolment: from a few clips of one person saying the wake word to a [`Profile`].
//!
//! Every clip is checked (long enough, not clipped, loud enough, holds speech, holds the
//! word), then run through the model as the detector would run it; the evaluation where the
//! keyword's score peaks marks the end of the word, and the hidden activations over the word
//! before it become the clip's template. Each clip is then aligned with the other clips'
//! templates (leave one out): a clip far from all others is refused as another word or
//! another voice. The operating point (`max_distance`) is the worst leave-one-out distance
//! times a margin, kept below the nearest negative evaluation (a bank of speech without the
//! word, e.g. the shipped `data/no_wakeword.wav`). docs/enroll.md has the measurements.

use super::dtw::{normalize, DtwScratch};
use super::{
    window_for, EnrolSummary, Profile, Template, MAX_CLIPS, MAX_TEMPLATE_EVALUATIONS, MIN_CLIPS,
    PROFILE_FORMAT, PROFILE_VERSION,
};
use crate::detector::history::FrameHistory;
use crate::frontend::MfccFrontend;
use crate::model::WakeWordModel;
use crate::Error;

/// Shortest clip accepted, in seconds.
pub const MIN_CLIP_SECONDS: f32 = 0.3;
/// Longest clip accepted, in seconds (a clip should hold one utterance of the word).
pub const MAX_CLIP_SECONDS: f32 = 10.0;
/// Share of samples at full scale above which a clip counts as clipped.
pub const MAX_CLIPPED_FRACTION: f32 = 0.001;
/// Loudest 30 ms of a clip must reach this level (dBFS).
pub const MIN_PEAK_DBFS: f32 = -40.0;
/// Loudest 30 ms must stand this far (dB) above the clip's quiet part to be speech.
pub const MIN_SPEECH_RANGE_DB: f32 = 15.0;
/// Peak base score under which the word is taken as absent from a clip.
pub const MIN_WORD_SCORE: f32 = 0.01;
/// Leave-one-out distance above which a clip disagrees with the others.
pub const MAX_AGREEMENT_DISTANCE: f32 = 0.35;
/// Lowest profile threshold chosen (the base score from which templates are consulted).
pub const MIN_PROFILE_THRESHOLD: f32 = 0.02;

/// Choices of an enrolment.
#[derive(Debug, Clone, PartialEq)]
pub struct EnrolOptions {
    /// Keyword to enrol; `None` takes the model's only keyword.
    pub keyword: Option<String>,
    /// `max_distance` = worst leave-one-out distance times this (before the negative cap).
    pub margin: f32,
    /// `max_distance` stays below the nearest negative evaluation times this.
    pub negative_cap: f32,
}

impl Default for EnrolOptions {
    fn default() -> Self {
        Self {
            keyword: None,
            margin: 1.0,
            negative_cap: 0.5,
        }
    }
}

/// Why a clip cannot be enrolled; `Display` says what to do about it.
#[derive(Debug, Clone, PartialEq)]
pub enum ClipProblem {
    /// Shorter than [`MIN_CLIP_SECONDS`] or longer than [`MAX_CLIP_SECONDS`].
    Length { seconds: f32 },
    /// More than [`MAX_CLIPPED_FRACTION`] of the samples at full scale.
    Clipped { fraction: f32 },
    /// The loudest part is under [`MIN_PEAK_DBFS`].
    TooQuiet { peak_dbfs: f32 },
    /// The level hardly changes: silence, hum or steady noise, no voice.
    NoSpeech { range_db: f32 },
    /// The model never scored the word above [`MIN_WORD_SCORE`].
    WordNotFound { peak_score: f32 },
    /// Far from every other clip's template (another word or another voice).
    Disagrees { distance: f32 },
    /// Closer to speech without the word than to the other clips.
    LikeNegatives { negative: f32, others: f32 },
}

impl std::fmt::Display for ClipProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Self::Length { seconds } => write!(
                f,
                "{seconds:.2} s long; record one utterance of the word, {MIN_CLIP_SECONDS}-{MAX_CLIP_SECONDS} s"
            ),
            Self::Clipped { fraction } => write!(
                f,
                "clipped ({:.2}% of samples at full scale); record again further from the microphone or with less gain",
                fraction * 100.0
            ),
            Self::TooQuiet { peak_dbfs } => write!(
                f,
                "too quiet (loudest part {peak_dbfs:.0} dBFS, at least {MIN_PEAK_DBFS:.0} needed); speak up or move closer to the microphone"
            ),
            Self::NoSpeech { range_db } => write!(
                f,
                "no speech found (level varies by only {range_db:.0} dB); record yourself saying the word"
            ),
            Self::WordNotFound { peak_score } => write!(
                f,
                "the wake word was not found (highest score {peak_score:.3}); say the model's word, clearly, once per clip"
            ),
            Self::Disagrees { distance } => write!(
                f,
                "disagrees with the other clips (distance {distance:.3}, at most {MAX_AGREEMENT_DISTANCE} allowed); probably another word or another person: record it again"
            ),
            Self::LikeNegatives { negative, others } => write!(
                f,
                "sounds like speech without the wake word (distance {negative:.3} to it, {others:.3} to your other clips); record yourself saying the word"
            ),
        }
    }
}

/// Why an enrolment failed.
#[derive(Debug)]
pub enum EnrolError {
    /// Fewer than [`MIN_CLIPS`] or more than [`MAX_CLIPS`] clips.
    ClipCount(usize),
    /// These clips (by index) were refused; nothing was learned.
    Clips(Vec<(usize, ClipProblem)>),
    /// The model or its configuration failed.
    Engine(Error),
}

impl std::fmt::Display for EnrolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ClipCount(n) => write!(
                f,
                "{n} clips given; enrolment takes {MIN_CLIPS} to {MAX_CLIPS} clips of the word"
            ),
            Self::Clips(problems) => {
                let list: Vec<String> = problems
                    .iter()
                    .map(|(i, p)| format!("clip {}: {p}", i + 1))
                    .collect();
                write!(f, "{}", list.join("; "))
            }
            Self::Engine(e) => write!(f, "{e}"),
        }
    }
}

impl From<Error> for EnrolError {
    fn from(e: Error) -> Self {
        Self::Engine(e)
    }
}

/// A clip as the model saw it: per evaluation, the keyword's raw score and the unit-length
/// hidden activations (`[evaluations][width]`).
#[derive(Debug, Clone)]
pub struct ClipTrace {
    /// Raw keyword score per evaluation.
    pub scores: Vec<f32>,
    /// Hidden activations per evaluation, unit length.
    pub hidden: Vec<f32>,
    /// Values per evaluation in `hidden`.
    pub width: usize,
}

impl ClipTrace {
    /// Index of the highest score, and the score.
    pub fn peak(&self) -> (usize, f32) {
        self.scores
            .iter()
            .copied()
            .enumerate()
            .fold((0, f32::NEG_INFINITY), |best, (i, s)| {
                if s > best.1 {
                    (i, s)
                } else {
                    best
                }
            })
    }

    /// Rows `end + 1 - n ..= end` (fewer at the start) of the activations.
    fn span(&self, end: usize, n: usize) -> &[f32] {
        let w = self.width;
        let first = (end + 1).saturating_sub(n);
        &self.hidden[first * w..(end + 1) * w]
    }
}

/// Runs `samples` (16 kHz) through a freshly reset `model` with the detector's schedule, after
/// a window of silence so the word is scored from its first frame, and a half second after.
pub fn trace(
    model: &mut WakeWordModel,
    keyword_index: usize,
    samples: &[f32],
) -> crate::Result<ClipTrace> {
    let width = model.hidden_width().ok_or_else(|| Error::Model {
        source_name: model.name().to_string(),
        reason: "profiles need a model run by the native kernel (its hidden layer)".into(),
    })?;
    let config = model.metadata().frontend.clone();
    let (hop_length, rate) = (config.hop_length, config.sample_rate as usize);
    let (window, hop_frames, n_features) = (
        model.window_frames(),
        model.metadata().hop_frames,
        model.n_features(),
    );
    let mut frontend = MfccFrontend::new(config)?;
    let mut history = FrameHistory::new(n_features, window);
    let mut values = vec![0.0; n_features * window];
    let mut scores = vec![0.0; model.n_keywords()];
    model.reset_stream();
    let mut out = ClipTrace {
        scores: Vec::new(),
        hidden: Vec::new(),
        width,
    };
    let mut frames = 0usize;
    let mut failure = None;
    let mut on_frame = |frame: &[f32]| {
        history.push(frame);
        frames += 1;
        if frames < window || !(frames - window).is_multiple_of(hop_frames) {
            return;
        }
        let n = model.frames_needed();
        let v = &mut values[..n * n_features];
        history.copy_newest_time_last(n, v);
        if let Err(e) = model.evaluate_next(v, &mut scores) {
            failure.get_or_insert(e);
            return;
        }
        out.scores.push(scores[keyword_index]);
        let start = out.hidden.len();
        out.hidden.extend_from_slice(model.hidden().unwrap_or(&[]));
        normalize(&mut out.hidden[start..]);
    };
    let lead = vec![0.0; window * hop_length];
    let tail = vec![0.0; rate / 2];
    for part in [&lead[..], samples, &tail[..]] {
        frontend.push_f32(part, &mut on_frame)?;
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// The problem with a clip's audio, if any (checked before the model sees it).
pub fn check_audio(samples: &[f32], sample_rate: u32) -> Option<ClipProblem> {
    let seconds = samples.len() as f32 / sample_rate as f32;
    if !(MIN_CLIP_SECONDS..=MAX_CLIP_SECONDS).contains(&seconds) {
        return Some(ClipProblem::Length { seconds });
    }
    let full_scale = samples.iter().filter(|s| s.abs() >= 0.999).count();
    let fraction = full_scale as f32 / samples.len() as f32;
    if full_scale >= 3 && fraction > MAX_CLIPPED_FRACTION {
        return Some(ClipProblem::Clipped { fraction });
    }
    // Levels of 30 ms blocks, in dBFS.
    let block = (sample_rate as usize * 30 / 1000).max(1);
    let mut levels: Vec<f32> = samples
        .chunks(block)
        .map(|c| {
            let ms = c.iter().map(|s| s * s).sum::<f32>() / c.len() as f32;
            10.0 * (ms.max(1e-12)).log10()
        })
        .collect();
    levels.sort_by(f32::total_cmp);
    let peak = levels[levels.len() - 1];
    if peak < MIN_PEAK_DBFS {
        return Some(ClipProblem::TooQuiet { peak_dbfs: peak });
    }
    let quiet = levels[levels.len() / 10];
    if peak - quiet < MIN_SPEECH_RANGE_DB {
        return Some(ClipProblem::NoSpeech {
            range_db: peak - quiet,
        });
    }
    None
}

/// Learns a profile from `clips` (16 kHz samples, one utterance of the word each), checking
/// the operating point against `negatives` (16 kHz audio without the word).
pub fn enrol(
    model: &mut WakeWordModel,
    clips: &[Vec<f32>],
    negatives: &[Vec<f32>],
    options: &EnrolOptions,
) -> Result<Profile, EnrolError> {
    if !(MIN_CLIPS..=MAX_CLIPS).contains(&clips.len()) {
        return Err(EnrolError::ClipCount(clips.len()));
    }
    let metadata = model.metadata().clone();
    let keyword_index = keyword_index(model, options.keyword.as_deref())?;
    let rate = metadata.frontend.sample_rate;
    let mut problems: Vec<(usize, ClipProblem)> = clips
        .iter()
        .enumerate()
        .filter_map(|(i, c)| check_audio(c, rate).map(|p| (i, p)))
        .collect();
    if !problems.is_empty() {
        return Err(EnrolError::Clips(problems));
    }
    let traces = clips
        .iter()
        .map(|c| trace(model, keyword_index, c))
        .collect::<crate::Result<Vec<_>>>()?;
    for (i, t) in traces.iter().enumerate() {
        let (_, peak_score) = t.peak();
        if peak_score.is_nan() || peak_score < MIN_WORD_SCORE {
            problems.push((i, ClipProblem::WordNotFound { peak_score }));
        }
    }
    if !problems.is_empty() {
        return Err(EnrolError::Clips(problems));
    }

    let hop_ms =
        metadata.hop_frames as u64 * metadata.frontend.hop_length as u64 * 1000 / u64::from(rate);
    let span = (u64::from(metadata.word_duration_ms) / hop_ms.max(1)) as usize;
    let span = span.clamp(4, MAX_TEMPLATE_EVALUATIONS);
    let window = window_for(span);
    let width = traces[0].width;
    let templates: Vec<Template> = traces
        .iter()
        .map(|t| {
            let values = t.span(t.peak().0, span).to_vec();
            Template {
                evaluations: values.len() / width,
                values,
            }
        })
        .collect();
    let mut dtw = DtwScratch::new(window);
    let leave_one_out: Vec<f32> = traces
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let seq = t.span(t.peak().0, window);
            nearest(&mut dtw, &templates, Some(i), seq, width)
        })
        .collect();
    problems.extend(
        leave_one_out
            .iter()
            .enumerate()
            .filter(|(_, d)| **d > MAX_AGREEMENT_DISTANCE)
            .map(|(i, &distance)| (i, ClipProblem::Disagrees { distance })),
    );
    if !problems.is_empty() {
        return Err(EnrolError::Clips(problems));
    }

    // Per template, the nearest negative evaluation.
    let mut nearest_negatives = vec![f32::INFINITY; templates.len()];
    let mut negative_evaluations = 0;
    for audio in negatives {
        let t = trace(model, keyword_index, audio)?;
        for end in 0..t.scores.len() {
            let seq = t.span(end, window);
            let n = seq.len() / width;
            for (best, template) in nearest_negatives.iter_mut().zip(&templates) {
                let d = dtw.distance(&template.values, width, n, |j| {
                    &seq[j * width..(j + 1) * width]
                });
                *best = best.min(d);
            }
            negative_evaluations += 1;
        }
    }
    problems.extend(
        nearest_negatives
            .iter()
            .zip(&leave_one_out)
            .enumerate()
            .filter(|(_, (neg, loo))| **neg < 0.5 * **loo)
            .map(|(i, (&negative, &others))| (i, ClipProblem::LikeNegatives { negative, others })),
    );
    if !problems.is_empty() {
        return Err(EnrolError::Clips(problems));
    }
    let nearest_negative = nearest_negatives
        .iter()
        .copied()
        .fold(f32::INFINITY, f32::min);
    let worst = leave_one_out.iter().copied().fold(0.0f32, f32::max);
    let max_distance = (worst * options.margin)
        .min(nearest_negative * options.negative_cap)
        .clamp(1e-3, 1.0);
    let peak_scores: Vec<f32> = traces.iter().map(|t| t.peak().1).collect();
    let lowest_peak = peak_scores.iter().copied().fold(1.0f32, f32::min);
    // max then min, not clamp: a model's threshold may lie under the floor (clamp would panic).
    let profile_threshold = (lowest_peak * 0.5)
        .max(MIN_PROFILE_THRESHOLD)
        .min(metadata.threshold);
    model.reset_stream();
    Ok(Profile {
        format: PROFILE_FORMAT.into(),
        version: PROFILE_VERSION,
        model_fingerprint: model.fingerprint(),
        keyword: metadata.keywords[keyword_index].clone(),
        frontend: metadata.frontend.clone(),
        hop_frames: metadata.hop_frames,
        width,
        profile_threshold,
        max_distance,
        templates,
        enrolment: EnrolSummary {
            peak_scores,
            leave_one_out,
            nearest_negative,
            negative_evaluations,
        },
    })
}

/// Distance of the sequence `seq` (unit rows, ending at the word's end) to the nearest
/// template, leaving out template `skip`.
fn nearest(
    dtw: &mut DtwScratch,
    templates: &[Template],
    skip: Option<usize>,
    seq: &[f32],
    width: usize,
) -> f32 {
    let n = seq.len() / width;
    templates
        .iter()
        .enumerate()
        .filter(|(j, _)| Some(*j) != skip)
        .map(|(_, t)| dtw.distance(&t.values, width, n, |j| &seq[j * width..(j + 1) * width]))
        .fold(f32::INFINITY, f32::min)
}

fn keyword_index(model: &WakeWordModel, keyword: Option<&str>) -> Result<usize, EnrolError> {
    let keywords = &model.metadata().keywords;
    let found = match keyword {
        Some(k) => keywords.iter().position(|x| x == k),
        None if keywords.len() == 1 => Some(0),
        None => None,
    };
    found.ok_or_else(|| {
        EnrolError::Engine(Error::Config(format!(
            "model {} has keywords {}; choose one{}",
            model.name(),
            keywords.join(", "),
            keyword.map_or(String::new(), |k| format!(" (`{k}` is not one)"))
        )))
    })
}
