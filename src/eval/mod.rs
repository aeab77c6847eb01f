//! Accuracy evaluation: false-reject rate and false accepts per hour of one or more models on
//! a positive/negative set, clean and in noise (see `docs/evaluation.md`).
//!
//! Every stream is run once through the same [`Detector`] the `detect` command uses, recording
//! each smoothed score; events at any threshold are then re-derived offline with
//! [`events_from_scores`], the detector's own rule. Streams are built from per-file seeds and
//! reduced in file order, so results do not depend on the number of threads.

mod events;
mod metrics;
mod plot;
mod streams;

pub use events::{events_from_scores, for_each_event, ScorePoint};
pub use metrics::{
    counts, outcome, threshold_for_false_accepts, threshold_grid, Latency, Outcome, StreamTrace,
};
pub use plot::{plot_format, write_plot, PlotFormat};
pub use streams::{active_end, active_power, collect_audio_files, mix_at_snr, SAMPLE_RATE};

use crate::audio::{load_audio, read_audio, stream_audio, AudioReader};
use crate::detector::{Detector, DetectorConfig};
use crate::model::WakeWordModel;
use crate::profile::{Profile, ProfileMode};
use crate::{Error, Result};
use rayon::prelude::*;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use streams::{noise_excerpt, positive_stream, rng_for, FramePowers, NoiseExcerpt, Role};

/// False-accept rates (per hour) at which the FRR is always reported.
pub const STANDARD_FA_RATES: [f64; 3] = [0.1, 0.5, 1.0];

/// A model to evaluate: its ONNX bytes (loaded once per worker thread) and display name.
#[derive(Debug, Clone)]
pub struct EvalModel {
    /// Name shown in reports (usually the file path).
    pub name: String,
    /// The ONNX file's bytes.
    pub bytes: Vec<u8>,
}

impl EvalModel {
    /// Reads a model file; its path is its name.
    pub fn from_path(path: &Path) -> Result<Self> {
        let name = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| Error::Model {
            source_name: name.clone(),
            reason: format!("cannot read: {e}"),
        })?;
        Ok(Self { name, bytes })
    }
}

/// What to evaluate and how to build the test streams.
#[derive(Debug, Clone)]
pub struct EvalConfig {
    /// Folders (searched recursively) or files of positive clips (the keyword, one per file).
    pub positives: Vec<PathBuf>,
    /// Folders or files of negative audio (no keyword), streamed end to end.
    pub negatives: Vec<PathBuf>,
    /// Folders or files of background noise mixed in for the noisy conditions.
    pub noise: Vec<PathBuf>,
    /// Signal-to-noise ratios (dB) of the noisy conditions; each one is a condition.
    pub snrs_db: Vec<f32>,
    /// Seed of every random choice (gaps, gap audio, noise excerpts).
    pub seed: u64,
    /// Worker threads; `None` uses rayon's global pool.
    pub threads: Option<usize>,
    /// Samples per push into the detector (the `detect` command's chunking).
    pub chunk_samples: usize,
    /// Keyword to evaluate; `None` takes each model's only keyword.
    pub keyword: Option<String>,
    /// Additionally report the threshold that meets this many false accepts per hour.
    pub target_fa_per_hour: Option<f64>,
    /// Detector settings (smoothing, refractory period...) shared by all models.
    pub detector: DetectorConfig,
    /// A positive counts as detected by an event up to this long after the clip ends.
    pub detection_window_ms: u32,
    /// Background gap before and after each positive clip: uniform in this range (ms).
    pub gap_ms: (u32, u32),
    /// Seconds of negative audio (first files in path order) that gaps draw speech from.
    pub gap_pool_seconds: f64,
    /// Speaker profiles `(profile, name)`, each added to the model it was enrolled with
    /// (docs/enroll.md). With a profile, the scores swept for the curves are the detector's
    /// decision scores (matches lifted to the threshold), so only the rates at the model's
    /// threshold describe the profile exactly.
    pub profiles: Vec<(Profile, String)>,
    /// How the profiles act.
    pub profile_mode: ProfileMode,
}

impl Default for EvalConfig {
    fn default() -> Self {
        Self {
            positives: Vec::new(),
            negatives: Vec::new(),
            noise: Vec::new(),
            snrs_db: Vec::new(),
            seed: 0,
            threads: None,
            chunk_samples: 160,
            keyword: None,
            target_fa_per_hour: None,
            detector: DetectorConfig::default(),
            detection_window_ms: 1000,
            gap_ms: (1000, 3000),
            gap_pool_seconds: 120.0,
            profiles: Vec::new(),
            profile_mode: ProfileMode::Adds,
        }
    }
}

/// Progress notifications, for a progress bar or log lines (the library prints nothing).
#[derive(Debug)]
pub enum Progress<'a> {
    /// Work is about to start on this many positive + negative files.
    Started {
        /// Files to process.
        files: usize,
    },
    /// One file is done (`error` when it was skipped).
    FileDone {
        /// The file.
        path: &'a Path,
        /// Why it was skipped, if it was.
        error: Option<&'a str>,
        /// What the audio reader noted about the file (a WAV data size read around).
        note: Option<&'a str>,
    },
}

/// A file that could not be used; it is left out of every rate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SkippedFile {
    /// `positive`, `negative` or `noise`.
    pub role: String,
    /// The file.
    pub path: PathBuf,
    /// What was wrong with it.
    pub reason: String,
}

/// One test condition: clean, or mixed with noise at an SNR.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Condition {
    /// `clean` or `snr_<dB>db`.
    pub name: String,
    /// The SNR, for noisy conditions.
    pub snr_db: Option<f32>,
}

/// An evaluated model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelSummary {
    /// Display name.
    pub name: String,
    /// The keyword evaluated.
    pub keyword: String,
    /// The detector's threshold for that keyword (the model's recommendation unless overridden).
    pub default_threshold: f32,
    /// The detector's refractory period, seconds.
    pub refractory_s: f64,
    /// The detector's moving average, in evaluations (1 = raw scores).
    pub smoothing: usize,
}

/// Error rates at one threshold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OperatingPoint {
    /// Detection threshold on the smoothed score.
    pub threshold: f32,
    /// The false-accept rate this point was chosen to meet, if it was chosen that way.
    pub requested_fa_per_hour: Option<f64>,
    /// Missed positives / positives.
    pub frr: f64,
    /// Missed positives.
    pub missed: usize,
    /// False accepts.
    pub false_accepts: usize,
    /// False accepts per hour of negative audio.
    pub fa_per_hour: f64,
    /// The requested rate is below one false accept in the negative audio, so this much
    /// negative audio cannot tell it from zero: the point is the one with no false accept.
    pub below_resolution: bool,
}

/// One point of the FRR / FA-per-hour curve.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CurvePoint {
    /// Threshold.
    pub threshold: f32,
    /// False-reject rate.
    pub frr: f64,
    /// False accepts per hour.
    pub fa_per_hour: f64,
    /// Missed positives.
    pub missed: usize,
    /// False accepts.
    pub false_accepts: usize,
}

/// A false accept, located in its source file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FalseAccept {
    /// The negative file, or the positive clip in whose stream (a background gap) it fired.
    pub file: PathBuf,
    /// `negative` or `positive_gap`.
    pub role: String,
    /// Seconds from the start of the negative file, or from the start of the positive clip
    /// (negative: in the gap before it).
    pub time_s: f64,
    /// Smoothed score at the event.
    pub score: f32,
}

/// A positive clip missed at the default threshold, with how close it came: a near miss
/// (best score just under the threshold) or a deaf spot (nothing near it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MissedClip {
    /// The positive clip.
    pub file: PathBuf,
    /// Highest smoothed score where a detection would have counted (from the clip's start
    /// to the end of the detection window after it); `None` if the model never scored there.
    pub best_score: Option<f32>,
    /// Where that score was, in seconds from the clip's start.
    pub best_time_s: Option<f64>,
}

/// Results of one model in one condition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConditionResult {
    /// Model display name.
    pub model: String,
    /// Index into [`EvalReport::models`].
    pub model_index: usize,
    /// Condition name.
    pub condition: String,
    /// Condition SNR.
    pub snr_db: Option<f32>,
    /// Positive clips evaluated.
    pub positives: usize,
    /// Hours of negative audio (negative files plus gaps around positives, outside detection
    /// windows).
    pub negative_hours: f64,
    /// At the detector's threshold.
    pub at_default: OperatingPoint,
    /// At each of [`STANDARD_FA_RATES`].
    pub at_fa_per_hour: Vec<OperatingPoint>,
    /// At `--target-fa-per-hour`.
    pub target: Option<OperatingPoint>,
    /// Trigger latency at the default threshold.
    pub latency: Latency,
    /// Positive clips missed at the default threshold, each with its best score.
    pub missed: Vec<MissedClip>,
    /// False accepts at the default threshold.
    pub false_accepts: Vec<FalseAccept>,
    /// FRR against FA/hour over [`threshold_grid`] plus the points above.
    pub curve: Vec<CurvePoint>,
    /// The smallest non-zero rate this negative audio can measure: one false accept in
    /// `negative_hours`. Rates below it are not measured, only bounded.
    pub fa_per_hour_resolution: f64,
}

/// Everything an evaluation found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    /// The seed the streams were built with.
    pub seed: u64,
    /// Models, in command-line order.
    pub models: Vec<ModelSummary>,
    /// Conditions, clean first.
    pub conditions: Vec<Condition>,
    /// Positive clips evaluated (readable ones).
    pub positives: usize,
    /// Negative files evaluated (readable ones).
    pub negatives: usize,
    /// Seconds of negative files.
    pub negative_file_seconds: f64,
    /// Seconds of background gaps around positives, outside detection windows.
    pub gap_seconds: f64,
    /// Files that could not be used.
    pub skipped: Vec<SkippedFile>,
    /// One entry per (model, condition), model-major.
    pub results: Vec<ConditionResult>,
}

impl EvalReport {
    /// `negative_file_seconds + gap_seconds` in hours: the FA/hour denominator.
    pub fn negative_hours(&self) -> f64 {
        (self.negative_file_seconds + self.gap_seconds) / 3600.0
    }
}

/// One processed stream: where its clip is and one score trace per (condition, model).
struct StreamScores {
    file: usize,
    len: u64,
    clip: Option<(u64, u64)>,
    /// End of the positive clip's active part (speech), absolute in the stream.
    speech_end: Option<u64>,
    /// Indexed `condition * n_models + model`.
    traces: Vec<Vec<ScorePoint>>,
    /// What the audio reader noted about the file.
    note: Option<String>,
}

/// A model as evaluated: which keyword, threshold, refractory.
struct Prepared {
    keyword: String,
    keyword_index: usize,
    threshold: f32,
    refractory: u64,
}

/// Runs the evaluation. Files that cannot be read are skipped and listed in the report; bad
/// models, missing folders or an empty positive or negative set are errors.
pub fn run(
    config: &EvalConfig,
    models: &[EvalModel],
    progress: &(dyn Fn(Progress<'_>) + Sync),
) -> Result<EvalReport> {
    match config.threads {
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build()
            .map_err(|e| Error::Config(format!("cannot start {n} threads: {e}")))?
            .install(|| run_in_pool(config, models, progress)),
        None => run_in_pool(config, models, progress),
    }
}

fn make_detectors(config: &EvalConfig, models: &[EvalModel]) -> Result<Vec<Detector>> {
    let mut detectors = models
        .iter()
        .map(|m| {
            Detector::new(
                vec![WakeWordModel::from_bytes(&m.bytes, &m.name)?],
                config.detector.clone(),
            )
        })
        .collect::<Result<Vec<_>>>()?;
    // Each profile goes to the models it was enrolled with and must fit at least one.
    for (profile, name) in &config.profiles {
        let mut refusal = None;
        let mut added = false;
        for det in &mut detectors {
            match det.add_profile(profile.clone(), config.profile_mode, name) {
                Ok(()) => added = true,
                Err(e) => refusal = Some(e),
            }
        }
        if let (false, Some(e)) = (added, refusal) {
            return Err(e);
        }
    }
    Ok(detectors)
}

fn prepare(config: &EvalConfig, models: &[EvalModel]) -> Result<Vec<Prepared>> {
    if models.is_empty() {
        return Err(Error::Config("no model to evaluate".into()));
    }
    let detectors = make_detectors(config, models)?;
    models
        .iter()
        .zip(&detectors)
        .map(|(m, det)| {
            let keywords: Vec<String> = det.keywords().into_iter().map(|(_, k)| k).collect();
            let keyword = match &config.keyword {
                Some(k) => k.clone(),
                None if keywords.len() == 1 => keywords[0].clone(),
                None => {
                    return Err(Error::Config(format!(
                        "model {} has keywords {}; choose one with --keyword",
                        m.name,
                        keywords.join(", ")
                    )))
                }
            };
            let keyword_index = keywords.iter().position(|k| *k == keyword).ok_or_else(|| {
                Error::Config(format!(
                    "model {} has no keyword `{keyword}` (it has {})",
                    m.name,
                    keywords.join(", ")
                ))
            })?;
            let threshold = det.threshold(&keyword).ok_or_else(|| {
                Error::Config(format!("model {}: no threshold for `{keyword}`", m.name))
            })?;
            Ok(Prepared {
                keyword,
                keyword_index,
                threshold,
                refractory: det.refractory_samples(),
            })
        })
        .collect()
}

fn check_config(config: &EvalConfig) -> Result<()> {
    if config.chunk_samples == 0 {
        return Err(Error::Config("chunk size must be at least 1 sample".into()));
    }
    if config.gap_ms.0 > config.gap_ms.1 {
        return Err(Error::Config(format!(
            "gap range {:?} ms is empty",
            config.gap_ms
        )));
    }
    if let Some(snr) = config.snrs_db.iter().find(|s| !s.is_finite()) {
        return Err(Error::Config(format!(
            "SNR {snr} dB is not a finite number"
        )));
    }
    if !config.snrs_db.is_empty() && config.noise.is_empty() {
        return Err(Error::Config("an SNR was given but no noise folder".into()));
    }
    if let Some(t) = config.target_fa_per_hour {
        if !(t.is_finite() && t >= 0.0) {
            return Err(Error::Config(format!(
                "target false accepts per hour {t} must be >= 0"
            )));
        }
    }
    Ok(())
}

fn run_in_pool(
    config: &EvalConfig,
    models: &[EvalModel],
    progress: &(dyn Fn(Progress<'_>) + Sync),
) -> Result<EvalReport> {
    check_config(config)?;
    let prepared = prepare(config, models)?;
    let positives = collect_audio_files(&config.positives)?;
    let negatives = collect_audio_files(&config.negatives)?;
    if positives.is_empty() {
        return Err(Error::Config(format!(
            "no WAV/FLAC file under {}",
            list(&config.positives)
        )));
    }
    if negatives.is_empty() {
        return Err(Error::Config(format!(
            "no WAV/FLAC file under {}",
            list(&config.negatives)
        )));
    }
    let mut skipped = Vec::new();

    // Noise, loaded whole (noise sets are small); silent or unreadable files are skipped.
    let noise_files = collect_audio_files(&config.noise)?;
    let noise_read: Vec<(PathBuf, Result<Vec<f32>>)> = noise_files
        .par_iter()
        .map(|p| (p.clone(), read_audio(p)))
        .collect();
    let mut noises = Vec::new();
    for (path, read) in noise_read {
        match read {
            Ok(n) if n.iter().any(|&x| x != 0.0) => noises.push(n),
            Ok(_) => skipped.push(skip("noise", &path, "silent (all samples zero)".into())),
            Err(e) => skipped.push(skip("noise", &path, cause(&e, &path))),
        }
    }
    if !config.snrs_db.is_empty() && noises.is_empty() {
        return Err(Error::Config(format!(
            "no usable noise file under {}",
            list(&config.noise)
        )));
    }

    // Speech for the gaps around positives: the first readable negatives, in path order.
    let mut pool = Vec::new();
    let pool_len = (config.gap_pool_seconds * f64::from(SAMPLE_RATE)) as usize;
    for path in &negatives {
        if pool.len() >= pool_len {
            break;
        }
        // Read only what the pool needs: a negative file may be hours long.
        let Ok(mut reader) = AudioReader::open(path) else {
            continue;
        };
        let before = pool.len();
        loop {
            match reader.next_block(pool_len - pool.len()) {
                Ok(Some(block)) if pool.len() < pool_len => pool.extend_from_slice(block),
                Ok(_) => break,
                // As before: an unreadable file adds nothing to the pool.
                Err(_) => {
                    pool.truncate(before);
                    break;
                }
            }
        }
    }

    let mut conditions = vec![Condition {
        name: "clean".into(),
        snr_db: None,
    }];
    conditions.extend(config.snrs_db.iter().map(|&s| Condition {
        name: format!("snr_{s}db"),
        snr_db: Some(s),
    }));

    let items: Vec<(bool, usize)> = (0..positives.len())
        .map(|i| (true, i))
        .chain((0..negatives.len()).map(|i| (false, i)))
        .collect();
    progress(Progress::Started { files: items.len() });
    let slots: Vec<Mutex<Option<Vec<Detector>>>> = (0..rayon::current_num_threads())
        .map(|_| Mutex::new(None))
        .collect();
    let ctx = StreamContext {
        config,
        models,
        prepared: &prepared,
        conditions: &conditions,
        pool: &pool,
        noises: &noises,
    };
    let results: Vec<Result<StreamScores>> = items
        .par_iter()
        .map(|&(positive, i)| {
            let path = if positive {
                &positives[i]
            } else {
                &negatives[i]
            };
            let slot = &slots[rayon::current_thread_index().unwrap_or(0) % slots.len()];
            let mut guard = slot.lock().unwrap_or_else(|p| p.into_inner());
            if guard.is_none() {
                *guard = Some(make_detectors(config, models)?);
            }
            let detectors = guard.as_mut().expect("just filled");
            let result = if positive {
                ctx.process(detectors, positive, i, path)
            } else {
                ctx.process_negative(detectors, i, path)
            };
            let message = result.as_ref().err().map(|e| cause(e, path));
            progress(Progress::FileDone {
                path,
                error: message.as_deref(),
                note: result.as_ref().ok().and_then(|s| s.note.as_deref()),
            });
            result
        })
        .collect();

    let mut pos_streams = Vec::new();
    let mut neg_streams = Vec::new();
    for (&(positive, i), result) in items.iter().zip(results) {
        let path = if positive {
            &positives[i]
        } else {
            &negatives[i]
        };
        match result {
            Ok(s) if positive => pos_streams.push(s),
            Ok(s) => neg_streams.push(s),
            Err(e @ Error::Model { .. }) => return Err(e),
            Err(e) => skipped.push(skip(
                if positive { "positive" } else { "negative" },
                path,
                cause(&e, path),
            )),
        }
    }
    if pos_streams.is_empty() {
        return Err(Error::Config(
            "none of the positive files could be read".into(),
        ));
    }
    if neg_streams.is_empty() {
        return Err(Error::Config(
            "none of the negative files could be read".into(),
        ));
    }
    let window_after = u64::from(config.detection_window_ms) * u64::from(SAMPLE_RATE) / 1000;
    let rate = f64::from(SAMPLE_RATE);
    let negative_file_seconds = neg_streams.iter().map(|s| s.len as f64).sum::<f64>() / rate;
    let gap_seconds = pos_streams
        .iter()
        .map(|s| {
            let (start, end) = s.clip.expect("positive");
            (s.len - (end + window_after).min(s.len) + start) as f64
        })
        .sum::<f64>()
        / rate;
    let hours = (negative_file_seconds + gap_seconds) / 3600.0;

    let all: Vec<&StreamScores> = pos_streams.iter().chain(&neg_streams).collect();
    let mut results = Vec::new();
    for (m, prep) in prepared.iter().enumerate() {
        for (c, cond) in conditions.iter().enumerate() {
            let slot = c * models.len() + m;
            let traces: Vec<StreamTrace<'_>> = all
                .iter()
                .map(|s| StreamTrace {
                    clip: s.clip,
                    speech_end: s.speech_end,
                    trace: &s.traces[slot],
                })
                .collect();
            let eval = Evaluated {
                traces: &traces,
                refractory: prep.refractory,
                window_after,
                positives: pos_streams.len(),
                hours,
            };
            let at_default = eval.point(prep.threshold, None);
            let detail = outcome(&traces, prep.threshold, prep.refractory, window_after);
            let at_fa_per_hour: Vec<OperatingPoint> =
                STANDARD_FA_RATES.iter().map(|&r| eval.at_rate(r)).collect();
            let target = config.target_fa_per_hour.map(|r| eval.at_rate(r));
            let mut grid = threshold_grid();
            grid.push(prep.threshold);
            grid.extend(at_fa_per_hour.iter().chain(&target).map(|p| p.threshold));
            grid.sort_by(f32::total_cmp);
            grid.dedup();
            let curve = grid
                .par_iter()
                .map(|&t| {
                    let p = eval.point(t, None);
                    CurvePoint {
                        threshold: t,
                        frr: p.frr,
                        fa_per_hour: p.fa_per_hour,
                        missed: p.missed,
                        false_accepts: p.false_accepts,
                    }
                })
                .collect();
            let file_of = |i: usize| {
                let s = all[i];
                if s.clip.is_some() {
                    positives[s.file].clone()
                } else {
                    negatives[s.file].clone()
                }
            };
            results.push(ConditionResult {
                model: models[m].name.clone(),
                model_index: m,
                condition: cond.name.clone(),
                snr_db: cond.snr_db,
                positives: pos_streams.len(),
                negative_hours: hours,
                at_default,
                at_fa_per_hour,
                target,
                latency: Latency::from_samples(&detail.latencies, SAMPLE_RATE),
                missed: detail
                    .missed
                    .iter()
                    .map(|&i| missed_clip(&traces[i], window_after, file_of(i)))
                    .collect(),
                false_accepts: detail
                    .false_accepts
                    .iter()
                    .map(|&(i, e)| {
                        let clip_start = all[i].clip.map_or(0, |(s, _)| s);
                        FalseAccept {
                            file: file_of(i),
                            role: if all[i].clip.is_some() {
                                "positive_gap"
                            } else {
                                "negative"
                            }
                            .into(),
                            time_s: (e.position as f64 - clip_start as f64) / rate,
                            score: e.score,
                        }
                    })
                    .collect(),
                curve,
                fa_per_hour_resolution: 1.0 / hours,
            });
        }
    }

    Ok(EvalReport {
        seed: config.seed,
        models: models
            .iter()
            .zip(&prepared)
            .map(|(m, p)| ModelSummary {
                name: m.name.clone(),
                keyword: p.keyword.clone(),
                default_threshold: p.threshold,
                refractory_s: p.refractory as f64 / rate,
                smoothing: config.detector.smoothing,
            })
            .collect(),
        conditions,
        positives: pos_streams.len(),
        negatives: neg_streams.len(),
        negative_file_seconds,
        gap_seconds,
        skipped,
        results,
    })
}

/// A missed positive with its best score inside the window where a detection would count.
fn missed_clip(stream: &StreamTrace<'_>, window_after: u64, file: PathBuf) -> MissedClip {
    let (start, end) = stream.clip.unwrap_or((0, 0));
    let best = stream
        .trace
        .iter()
        .filter(|p| p.position >= start && p.position <= end + window_after)
        .max_by(|a, b| a.score.total_cmp(&b.score));
    MissedClip {
        file,
        best_score: best.map(|p| p.score),
        best_time_s: best.map(|p| (p.position - start) as f64 / f64::from(SAMPLE_RATE)),
    }
}

/// Paths joined for a message.
fn list(paths: &[PathBuf]) -> String {
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    names.join(", ")
}

fn skip(role: &str, path: &Path, reason: String) -> SkippedFile {
    SkippedFile {
        role: role.into(),
        path: path.to_path_buf(),
        reason,
    }
}

/// The cause of a file's error without repeating its path.
fn cause(e: &Error, path: &Path) -> String {
    match e {
        Error::File { path: p, reason } if p == path => reason.clone(),
        other => other.to_string(),
    }
}

struct StreamContext<'a> {
    config: &'a EvalConfig,
    models: &'a [EvalModel],
    prepared: &'a [Prepared],
    conditions: &'a [Condition],
    pool: &'a [f32],
    noises: &'a [Vec<f32>],
}

impl StreamContext<'_> {
    fn process(
        &self,
        detectors: &mut [Detector],
        positive: bool,
        index: usize,
        path: &Path,
    ) -> Result<StreamScores> {
        let loaded = load_audio(path)?;
        let audio = loaded.samples;
        let rate = SAMPLE_RATE as usize;
        let (clean, clip, reference, speech_end) = if positive {
            let gap = (
                self.config.gap_ms.0 as usize * rate / 1000,
                self.config.gap_ms.1 as usize * rate / 1000,
            );
            let mut rng = rng_for(self.config.seed, Role::PositiveGaps, index);
            let s = positive_stream(&audio, self.pool, gap, &mut rng);
            let reference = active_power(&audio);
            (
                s.samples,
                Some((s.clip_start as u64, s.clip_end as u64)),
                reference,
                Some((s.clip_start + active_end(&audio)) as u64),
            )
        } else {
            let reference = active_power(&audio);
            (audio, None, reference, None)
        };
        let noise = if self.config.snrs_db.is_empty() {
            Vec::new()
        } else {
            let role = if positive {
                Role::PositiveNoise
            } else {
                Role::NegativeNoise
            };
            noise_excerpt(
                self.noises,
                clean.len(),
                &mut rng_for(self.config.seed, role, index),
            )
        };
        let mut traces = Vec::with_capacity(self.conditions.len() * self.models.len());
        for cond in self.conditions {
            let mixed;
            let samples: &[f32] = match cond.snr_db {
                None => &clean,
                Some(snr) => {
                    mixed = mix_at_snr(&clean, &noise, reference, snr);
                    &mixed
                }
            };
            for (det, prep) in detectors.iter_mut().zip(self.prepared) {
                traces.push(score_stream(
                    det,
                    prep.keyword_index,
                    samples,
                    self.config.chunk_samples,
                )?);
            }
        }
        Ok(StreamScores {
            file: index,
            len: clean.len() as u64,
            clip,
            speech_end,
            traces,
            note: loaded.note,
        })
    }

    /// A negative file, streamed block by block (twice more per noisy condition: once for
    /// its length and active power, once mixed), so memory does not grow with its length.
    /// Gives the same traces as loading it whole: the detector does not depend on chunking,
    /// and the noise and mixing are the same arithmetic in the same order.
    fn process_negative(
        &self,
        detectors: &mut [Detector],
        index: usize,
        path: &Path,
    ) -> Result<StreamScores> {
        let mut traces = Vec::with_capacity(self.conditions.len() * self.models.len());
        let mut shape: Option<(u64, f64)> = None;
        let mut len = 0u64;
        let mut note = None;
        for cond in self.conditions {
            let noise = match cond.snr_db {
                None => None,
                Some(snr) => {
                    let (n, reference) = match shape {
                        Some(s) => s,
                        None => *shape.insert(measure(path)?),
                    };
                    let mut rng = rng_for(self.config.seed, Role::NegativeNoise, index);
                    let excerpt = NoiseExcerpt::pick(self.noises, &mut rng);
                    let gain = excerpt.gain(n as usize, reference, snr);
                    Some((excerpt, gain))
                }
            };
            for det in detectors.iter_mut() {
                det.reset();
            }
            let mut cond_traces = vec![Vec::new(); detectors.len()];
            let mut events = Vec::new();
            let mut mixed = Vec::new();
            let mut position = 0usize;
            let chunk = self.config.chunk_samples.max(1);
            let info = stream_audio(path, NEGATIVE_BLOCK, |block| {
                let samples = match &noise {
                    Some((excerpt, Some(gain))) => {
                        mixed.clear();
                        mixed.extend(block.iter().enumerate().map(|(i, &s)| {
                            (f64::from(s) + gain * f64::from(excerpt.at(position + i))) as f32
                        }));
                        &mixed[..]
                    }
                    _ => block,
                };
                position += block.len();
                for ((det, prep), trace) in detectors
                    .iter_mut()
                    .zip(self.prepared)
                    .zip(&mut cond_traces)
                {
                    for c in samples.chunks(chunk) {
                        det.push_f32_observed(c, &mut events, |s| {
                            if s.keyword == prep.keyword_index {
                                trace.push(ScorePoint {
                                    position: s.position,
                                    score: s.score,
                                });
                            }
                        })?;
                        events.clear();
                    }
                }
                Ok(())
            })?;
            for det in detectors.iter() {
                check_evaluations(det)?;
            }
            len = info.samples;
            note = info.note;
            traces.extend(cond_traces);
        }
        Ok(StreamScores {
            file: index,
            len,
            clip: None,
            speech_end: None,
            traces,
            note,
        })
    }
}

/// Samples handed over at a time when a negative file is streamed.
const NEGATIVE_BLOCK: usize = 16_000;

/// A file's length in samples and the mean power of its active part ([`active_power`]),
/// streamed.
fn measure(path: &Path) -> Result<(u64, f64)> {
    let mut powers = FramePowers::default();
    let info = stream_audio(path, NEGATIVE_BLOCK, |block| {
        powers.push(block);
        Ok(())
    })?;
    Ok((info.samples, powers.active_power()))
}

/// An error if any evaluation of `det` failed (it then scored 0).
fn check_evaluations(det: &Detector) -> Result<()> {
    if det.evaluation_failures() > 0 {
        let name = det
            .models()
            .next()
            .map_or_else(String::new, |m| m.name().to_string());
        return Err(Error::Model {
            source_name: name,
            reason: format!(
                "{} evaluations failed while scoring a stream",
                det.evaluation_failures()
            ),
        });
    }
    Ok(())
}

/// Streams `samples` through a freshly reset detector in fixed chunks, recording every smoothed
/// score of keyword `keyword_index` (of its only model).
pub fn score_stream(
    det: &mut Detector,
    keyword_index: usize,
    samples: &[f32],
    chunk: usize,
) -> Result<Vec<ScorePoint>> {
    det.reset();
    let mut trace = Vec::new();
    let mut events = Vec::new();
    for c in samples.chunks(chunk.max(1)) {
        det.push_f32_observed(c, &mut events, |s| {
            if s.keyword == keyword_index {
                trace.push(ScorePoint {
                    position: s.position,
                    score: s.score,
                });
            }
        })?;
        events.clear();
    }
    check_evaluations(det)?;
    Ok(trace)
}

/// The traces of one (model, condition) with what is needed to turn counts into rates.
struct Evaluated<'a> {
    traces: &'a [StreamTrace<'a>],
    refractory: u64,
    window_after: u64,
    positives: usize,
    hours: f64,
}

impl Evaluated<'_> {
    fn point(&self, threshold: f32, requested: Option<f64>) -> OperatingPoint {
        let (missed, fas) = counts(self.traces, threshold, self.refractory, self.window_after);
        OperatingPoint {
            threshold,
            requested_fa_per_hour: requested,
            frr: missed as f64 / self.positives as f64,
            missed,
            false_accepts: fas,
            fa_per_hour: fas as f64 / self.hours,
            below_resolution: requested.is_some_and(|r| r * self.hours < 1.0),
        }
    }

    fn at_rate(&self, rate: f64) -> OperatingPoint {
        let t = threshold_for_false_accepts(
            self.traces,
            rate * self.hours,
            self.refractory,
            self.window_after,
        );
        self.point(t, Some(rate))
    }
}

/// The curve of every (model, condition) as CSV, one row per threshold.
pub fn curve_csv(report: &EvalReport) -> String {
    let mut out = String::from(
        "model,condition,threshold,frr,fa_per_hour,missed,positives,false_accepts,negative_hours\n",
    );
    for r in &report.results {
        for p in &r.curve {
            out.push_str(&format!(
                "{},{},{},{},{},{},{},{},{}\n",
                csv_field(&r.model),
                csv_field(&r.condition),
                p.threshold,
                p.frr,
                p.fa_per_hour,
                p.missed,
                r.positives,
                p.false_accepts,
                r.negative_hours
            ));
        }
    }
    out
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
