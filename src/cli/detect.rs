//! `hushword detect`: files in, one line per detection out, and one line for each file
//! without a detection saying how close it came.

use super::clips::ClipWriter;
use super::common::{
    batch_summary, build_detector, file_error, load_models, parse_chunk_ms, parse_threshold,
    report_error, report_note, DetectorArgs, ProfileArgs,
};
use super::stdin_name;
use clap::Args;
use hushword::audio::{stream_audio, stream_audio_from, TARGET_SAMPLE_RATE};
use hushword::detector::{Detection, Detector};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const RATE: f64 = TARGET_SAMPLE_RATE as f64;

/// Samples handed over by the reader at a time: a long recording never sits in memory whole.
const READ_BLOCK: usize = 16_000;

#[derive(Debug, Args)]
pub struct DetectArgs {
    /// ONNX model with hushword metadata (repeat for several; default: the embedded model).
    #[arg(long = "model", value_name = "PATH")]
    models: Vec<PathBuf>,
    /// Detection threshold for every keyword, overriding the models' recommendations.
    #[arg(long, value_name = "T", value_parser = parse_threshold)]
    threshold: Option<f32>,
    /// One JSON object per detection (and one per file without any) instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    profile: ProfileArgs,
    /// Write each detection's audio (pre-roll, plus post-roll if set) as
    /// `<stem>_<n>_<keyword>.wav` in this folder (a suffix keeps names unique); the path is
    /// printed with the detection.
    #[arg(long, value_name = "DIR")]
    save_clips: Option<PathBuf>,
    /// Samples are pushed into the detector in chunks of this many milliseconds.
    #[arg(long, value_name = "MS", default_value = "10", value_parser = parse_chunk_ms)]
    chunk_ms: u32,
    #[command(flatten)]
    detector: DetectorArgs,
    /// WAV or FLAC files; `-` reads one from stdin.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

pub fn run(args: DetectArgs) -> Result<ExitCode, String> {
    let mut detector = build_detector(load_models(&args.models)?, args.threshold, &args.detector)?;
    args.profile.apply(&mut detector)?;
    let mut clips = ClipWriter::for_option(args.save_clips.as_ref(), &args.detector)?;
    if args.files.iter().filter(|f| is_stdin(f)).count() > 1 {
        return Err("`-` (stdin) can be given only once".to_string());
    }
    let chunk = (args.chunk_ms as usize * 16).max(1);
    let mut failed = Vec::new();
    for file in &args.files {
        if let Err(message) = detect_file(&mut detector, file, chunk, &mut clips, args.json) {
            report_error(&message);
            failed.push(shown(file).display().to_string());
        }
    }
    let _ = std::io::stdout().flush();
    if failed.is_empty() {
        if args.files.len() > 1 {
            let _ = writeln!(
                std::io::stderr(),
                "{}",
                batch_summary(args.files.len(), &failed)
            );
        }
        Ok(ExitCode::SUCCESS)
    } else {
        report_error(&batch_summary(args.files.len(), &failed));
        Ok(ExitCode::FAILURE)
    }
}

fn is_stdin(file: &Path) -> bool {
    file.as_os_str() == "-"
}

/// The name a file goes by in output and errors.
fn shown(file: &Path) -> &Path {
    if is_stdin(file) {
        Path::new(stdin_name())
    } else {
        file
    }
}

/// The highest smoothed score of a stream and where it was.
#[derive(Debug, Default)]
struct Peak {
    score: Option<f32>,
    position: u64,
    model: usize,
    keyword: usize,
}

fn detect_file(
    detector: &mut Detector,
    file: &Path,
    chunk: usize,
    clips: &mut Option<ClipWriter>,
    json: bool,
) -> Result<(), String> {
    detector.reset();
    let name = shown(file);
    let mut detections = Vec::new();
    let mut count = 0usize;
    let mut peak = Peak::default();
    let mut out = std::io::stdout().lock();
    let mut on_block = |block: &[f32]| -> hushword::Result<()> {
        for c in block.chunks(chunk) {
            detector.push_f32_observed(c, &mut detections, |s| {
                if peak.score.is_none_or(|p| s.score > p) {
                    peak = Peak {
                        score: Some(s.score),
                        position: s.position,
                        model: s.model,
                        keyword: s.keyword,
                    };
                }
            })?;
            for d in detections.drain(..) {
                count += 1;
                let clip = clips.as_mut().map(|w| w.start(name, count, &d));
                let line = format_detection(name, &d, clip.as_deref(), json);
                writeln!(out, "{line}")
                    .map_err(|e| hushword::Error::Config(format!("cannot write to stdout: {e}")))?;
            }
            if let Some(w) = clips {
                w.feed(detector).map_err(hushword::Error::Config)?;
            }
        }
        Ok(())
    };
    let streamed = if is_stdin(file) {
        stream_audio_from(std::io::stdin().lock(), name, READ_BLOCK, &mut on_block)
    } else {
        stream_audio(file, READ_BLOCK, &mut on_block)
    };
    // Clips cut short by the end of the file are written with what there is.
    let flushed = clips.as_mut().map_or(Ok(()), ClipWriter::finish);
    let info = streamed.map_err(|e| match e {
        hushword::Error::Config(reason) => reason,
        e => file_error(name, &e),
    })?;
    flushed?;
    if let Some(note) = &info.note {
        report_note(name, note);
    }
    if count == 0 {
        let keywords = detector.keywords();
        let keyword = keywords
            .iter()
            .filter(|(model, _)| *model == peak.model)
            .nth(peak.keyword)
            .map(|(_, k)| k.as_str());
        let line = format_no_detection(name, &peak, keyword, info.samples, json);
        writeln!(out, "{line}").map_err(|e| format!("cannot write to stdout: {e}"))?;
    }
    Ok(())
}

fn format_detection(file: &Path, d: &Detection, clip: Option<&Path>, json: bool) -> String {
    let time = d.position as f64 / RATE;
    let start = d.start as f64 / RATE;
    let end = d.end as f64 / RATE;
    if json {
        let mut v = serde_json::json!({
            "file": file.display().to_string(),
            "keyword": d.keyword,
            "score": d.score,
            "time_s": time,
            "start_s": start,
            "end_s": end,
            "pre_roll_s": d.pre_roll.len() as f64 / RATE,
        });
        if let Some(clip) = clip {
            v["clip"] = serde_json::Value::from(clip.display().to_string());
        }
        v.to_string()
    } else {
        let mut line = format!(
            "{}  {}  score {:.3}  at {time:.2} s  word {start:.2}-{end:.2} s",
            file.display(),
            d.keyword,
            d.score
        );
        if let Some(clip) = clip {
            line.push_str(&format!("  clip {}", clip.display()));
        }
        line
    }
}

fn format_no_detection(
    file: &Path,
    peak: &Peak,
    keyword: Option<&str>,
    samples: u64,
    json: bool,
) -> String {
    let time = peak.position as f64 / RATE;
    if json {
        let mut v = serde_json::json!({
            "file": file.display().to_string(),
            "detections": [],
            "max_score": peak.score,
            "max_score_time_s": peak.score.map(|_| time),
            "audio_s": samples as f64 / RATE,
        });
        if let (Some(k), Some(_)) = (keyword, peak.score) {
            v["max_score_keyword"] = serde_json::Value::from(k);
        }
        v.to_string()
    } else {
        match peak.score {
            Some(score) => format!(
                "{}  no detection  highest score {score:.3}{} at {time:.2} s",
                file.display(),
                keyword.map_or_else(String::new, |k| format!(" ({k})")),
            ),
            None => format!(
                "{}  no detection  too short to score ({:.2} s of audio)",
                file.display(),
                samples as f64 / RATE
            ),
        }
    }
}
