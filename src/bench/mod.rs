//! `hushword bench`: what the pipeline costs, in CPU-seconds per hour of audio, measured on
//! one thread by streaming audio (a 16 kHz mono WAV or a [`SyntheticSpeech`] hour) through
//! it in 10 ms pieces as a device would.
//!
//! The split between stages comes from three passes over the same audio, each timed with
//! the process CPU clock around the pipeline calls only (reading or generating the audio is
//! not counted): the front end alone; front end and model evaluations (with the detector's
//! frame history and hop); and the whole [`Detector`]. Model = second - first, detector
//! (history, smoothing, decisions, audio rings) = third - second.

mod synthetic;

pub use synthetic::{SyntheticSpeech, SAMPLE_RATE};

use crate::detector::history::FrameHistory;
use crate::model::Execution;
use crate::{Detector, DetectorConfig, Error, MfccFrontend, Result, WakeWordModel};
use std::path::{Path, PathBuf};

/// Samples per push: 10 ms, the chunk a device typically delivers.
const PUSH_SAMPLES: usize = 160;
/// Samples per timed block: 1 s, so the clock is read 3600 times per hour of audio.
const BLOCK_SAMPLES: usize = 16_000;

/// The audio a benchmark streams.
#[derive(Debug, Clone)]
pub enum BenchAudio {
    /// A WAV or FLAC file (any encoding and rate `hushword::audio` reads), read in blocks.
    Wav(PathBuf),
    /// `seconds` of [`SyntheticSpeech`] from `seed`.
    Synthetic { seconds: u64, seed: u64 },
}

/// What one benchmark measured.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchReport {
    /// Seconds of audio streamed.
    pub audio_seconds: f64,
    /// CPU seconds of the whole pipeline (the detector pass).
    pub total_cpu_s: f64,
    /// CPU seconds of the front end alone.
    pub frontend_cpu_s: f64,
    /// CPU seconds of the model evaluations (front-end-and-model pass minus front end).
    pub model_cpu_s: f64,
    /// CPU seconds of the detector's own work (whole pipeline minus front end and model).
    pub detector_cpu_s: f64,
    /// Model evaluations per pass.
    pub evaluations: u64,
    /// How the model computed its scores.
    pub execution: Execution,
    /// Detections made in the detector pass.
    pub detections: usize,
    /// Heap the detector reports holding ([`Detector::memory_bytes`]).
    pub detector_heap_bytes: usize,
    /// Peak resident memory of the process so far, in bytes.
    pub peak_rss_bytes: u64,
    /// What the audio reader noted about the file (a WAV data size read around).
    pub audio_note: Option<String>,
}

impl BenchReport {
    /// CPU seconds per hour of audio for `cpu_s` spent on this report's audio.
    pub fn per_hour(&self, cpu_s: f64) -> f64 {
        cpu_s * 3600.0 / self.audio_seconds.max(f64::MIN_POSITIVE)
    }

    /// Seconds of audio processed per CPU second (the whole pipeline).
    pub fn real_time_factor(&self) -> f64 {
        self.audio_seconds / self.total_cpu_s.max(f64::MIN_POSITIVE)
    }

    /// Mean CPU microseconds per model evaluation.
    pub fn micros_per_evaluation(&self) -> f64 {
        self.model_cpu_s * 1e6 / (self.evaluations.max(1) as f64)
    }
}

/// Streams `audio` through the pipeline three times (see the module doc). `load` makes a
/// fresh model for each pass that needs one; `execution` picks how the model computes
/// (falling back as [`WakeWordModel::execution`] does when the model lacks that form).
pub fn run(
    audio: &BenchAudio,
    load: impl Fn() -> Result<WakeWordModel>,
    execution: Execution,
) -> Result<BenchReport> {
    let fresh = || -> Result<WakeWordModel> {
        let mut model = load()?;
        match execution {
            Execution::NativeKernel => {}
            Execution::StreamingGraph => model.use_streaming_graph(),
            Execution::FullWindow => model.use_full_window(),
        }
        Ok(model)
    };
    let model = fresh()?;
    let execution = model.execution();
    let config = model.metadata().frontend.clone();

    let mut frontend = MfccFrontend::new(config.clone())?;
    let (samples, frontend_cpu_s, audio_note) = timed_pass(audio, |piece| {
        frontend.push_f32(piece, |frame| {
            std::hint::black_box(frame);
        })
    })?;

    let mut scored = ScoredStream::new(model, MfccFrontend::new(config)?);
    let (_, scored_cpu_s, _) = timed_pass(audio, |piece| scored.push(piece))?;
    if let Some(e) = scored.failure.take() {
        return Err(e);
    }

    let mut detector = Detector::new(vec![fresh()?], DetectorConfig::default())?;
    let mut events = Vec::new();
    let mut detections = 0;
    let (_, total_cpu_s, _) = timed_pass(audio, |piece| {
        detector.push_f32(piece, &mut events)?;
        detections += events.len();
        events.clear();
        Ok(())
    })?;

    Ok(BenchReport {
        audio_seconds: samples as f64 / f64::from(SAMPLE_RATE),
        total_cpu_s,
        frontend_cpu_s,
        model_cpu_s: scored_cpu_s - frontend_cpu_s,
        detector_cpu_s: total_cpu_s - scored_cpu_s,
        evaluations: scored.evaluations,
        execution,
        detections,
        detector_heap_bytes: detector.memory_bytes(),
        peak_rss_bytes: peak_rss_bytes(),
        audio_note,
    })
}

/// Front end and model evaluations at the model's hop, as the detector runs them, without
/// the detector's smoothing, decisions and audio rings.
struct ScoredStream {
    model: WakeWordModel,
    frontend: MfccFrontend,
    history: FrameHistory,
    frames: Box<[f32]>,
    scores: Box<[f32]>,
    frames_seen: u64,
    evaluations: u64,
    failure: Option<Error>,
}

impl ScoredStream {
    fn new(model: WakeWordModel, frontend: MfccFrontend) -> Self {
        Self {
            history: FrameHistory::new(model.n_features(), model.window_frames()),
            frames: vec![0.0; model.window_len()].into_boxed_slice(),
            scores: vec![0.0; model.n_keywords()].into_boxed_slice(),
            model,
            frontend,
            frames_seen: 0,
            evaluations: 0,
            failure: None,
        }
    }

    fn push(&mut self, piece: &[f32]) -> Result<()> {
        let Self {
            model,
            frontend,
            history,
            frames,
            scores,
            frames_seen,
            evaluations,
            failure,
        } = self;
        let (window, hop) = (
            model.window_frames() as u64,
            model.metadata().hop_frames as u64,
        );
        frontend.push_f32(piece, |frame| {
            *frames_seen += 1;
            history.push(frame);
            if !history.is_full() || !(*frames_seen - window).is_multiple_of(hop) {
                return;
            }
            let needed = model.frames_needed();
            let values = &mut frames[..needed * model.n_features()];
            history.copy_newest_time_last(needed, values);
            *evaluations += 1;
            if let Err(e) = model.evaluate_next(values, scores) {
                failure.get_or_insert(e);
            }
            std::hint::black_box(&scores);
        })
    }
}

/// Streams `audio` in 10 ms pieces to `push`, timing only the pushes; returns the samples
/// streamed and the CPU seconds spent in `push`.
fn timed_pass(
    audio: &BenchAudio,
    mut push: impl FnMut(&[f32]) -> Result<()>,
) -> Result<(u64, f64, Option<String>)> {
    let mut block = vec![0.0f32; BLOCK_SAMPLES];
    let mut source = AudioBlocks::open(audio)?;
    let (mut samples, mut cpu_s) = (0u64, 0.0f64);
    loop {
        let n = source.read(&mut block)?;
        if n == 0 {
            return Ok((samples, cpu_s, source.note()));
        }
        let start = process_cpu_seconds();
        for piece in block[..n].chunks(PUSH_SAMPLES) {
            push(piece)?;
        }
        cpu_s += process_cpu_seconds() - start;
        samples += n as u64;
    }
}

/// Reads a benchmark's audio block by block, so an hour never sits in memory.
enum AudioBlocks {
    /// Any file [`crate::audio::read_audio`] reads, through the same decoder (boxed: the
    /// decoder state is large, the synthetic variant small).
    File(Box<crate::audio::AudioReader<std::fs::File>>),
    Synthetic {
        // Boxed: the generator's tables are large.
        generator: Box<SyntheticSpeech>,
        left: u64,
    },
}

impl AudioBlocks {
    fn open(audio: &BenchAudio) -> Result<Self> {
        match audio {
            BenchAudio::Synthetic { seconds, seed } => Ok(Self::Synthetic {
                generator: Box::new(SyntheticSpeech::new(*seed)),
                left: seconds * u64::from(SAMPLE_RATE),
            }),
            BenchAudio::Wav(path) => {
                Ok(Self::File(Box::new(crate::audio::AudioReader::open(path)?)))
            }
        }
    }

    /// Fills the front of `block`; returns how many samples (0 at the end).
    fn read(&mut self, block: &mut [f32]) -> Result<usize> {
        match self {
            Self::Synthetic { generator, left } => {
                let n = usize::try_from(*left).map_or(block.len(), |l| l.min(block.len()));
                generator.fill(&mut block[..n]);
                *left -= n as u64;
                Ok(n)
            }
            Self::File(reader) => reader.read(block),
        }
    }

    fn note(&self) -> Option<String> {
        match self {
            Self::File(reader) => reader.note().map(str::to_string),
            Self::Synthetic { .. } => None,
        }
    }
}

/// Writes `seconds` of [`SyntheticSpeech`] from `seed` as a 16 kHz mono 16-bit WAV, block
/// by block: the benchmark audio for other engines.
pub fn write_synthetic(path: &Path, seconds: u64, seed: u64) -> Result<()> {
    let bad = |e: hound::Error| Error::Audio(format!("{}: cannot write WAV: {e}", path.display()));
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: SAMPLE_RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).map_err(bad)?;
    let mut source = AudioBlocks::open(&BenchAudio::Synthetic { seconds, seed })?;
    let mut block = vec![0.0f32; BLOCK_SAMPLES];
    loop {
        let n = source.read(&mut block)?;
        if n == 0 {
            break;
        }
        for &s in &block[..n] {
            writer
                .write_sample((s * 32768.0).round().clamp(-32768.0, 32767.0) as i16)
                .map_err(bad)?;
        }
    }
    writer.finalize().map_err(bad)
}

/// CPU time this process has used, in seconds (all threads; the benchmark uses one).
pub fn process_cpu_seconds() -> f64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec; the clock id is a constant.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut now) };
    if status != 0 {
        return 0.0;
    }
    now.tv_sec as f64 + now.tv_nsec as f64 * 1e-9
}

/// Peak resident memory of this process so far, in bytes (0 if the OS does not say).
pub fn peak_rss_bytes() -> u64 {
    // SAFETY: an all-zero rusage is a valid value for getrusage to overwrite.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable rusage.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return 0;
    }
    let max_rss = u64::try_from(usage.ru_maxrss).unwrap_or(0);
    // Linux reports kilobytes, macOS bytes.
    if cfg!(target_os = "macos") {
        max_rss
    } else {
        max_rss * 1024
    }
}
