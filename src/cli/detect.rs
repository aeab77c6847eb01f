//! `hushword detect`: files in, one line per detection out.

use super::common::{
    batch_summary, build_detector, file_error, load_models, parse_chunk_ms, parse_threshold,
    report_error, ProfileArgs,
};
use clap::Args;
use hushword::audio::{stream_audio, write_wav_i16};
use hushword::detector::{Detection, Detector};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const RATE: f64 = 16_000.0;

#[derive(Debug, Args)]
pub struct DetectArgs {
    /// ONNX model with hushword metadata (repeat for several; default: the embedded model).
    #[arg(long = "model", value_name = "PATH")]
    models: Vec<PathBuf>,
    /// Detection threshold for every keyword, overriding the models' recommendations.
    #[arg(long, value_name = "T", value_parser = parse_threshold)]
    threshold: Option<f32>,
    /// One JSON object per detection instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    profile: ProfileArgs,
    /// Write each detection's pre-roll audio as `<stem>_<n>_<keyword>.wav` in this folder.
    #[arg(long, value_name = "DIR")]
    save_clips: Option<PathBuf>,
    /// Samples are pushed into the detector in chunks of this many milliseconds.
    #[arg(long, value_name = "MS", default_value = "10", value_parser = parse_chunk_ms)]
    chunk_ms: u32,
    /// WAV or FLAC files.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

pub fn run(args: DetectArgs) -> Result<ExitCode, String> {
    let mut detector = build_detector(load_models(&args.models)?, args.threshold)?;
    args.profile.apply(&mut detector)?;
    if let Some(dir) = &args.save_clips {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("{}: cannot create folder: {e}", dir.display()))?;
    }
    let chunk = (args.chunk_ms as usize * 16).max(1);
    let mut failed = Vec::new();
    for file in &args.files {
        if let Err(message) = detect_file(&mut detector, file, chunk, &args) {
            report_error(&message);
            failed.push(file.display().to_string());
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

fn detect_file(
    detector: &mut Detector,
    file: &Path,
    chunk: usize,
    args: &DetectArgs,
) -> Result<(), String> {
    detector.reset();
    let mut detections = Vec::new();
    let mut n = 0usize;
    let mut out = std::io::stdout().lock();
    // Streamed in 1 s blocks: a long recording never sits in memory whole.
    stream_audio(file, 16_000, |block| {
        for c in block.chunks(chunk) {
            detector.push_f32(c, &mut detections)?;
            for d in detections.drain(..) {
                n += 1;
                let clip = match &args.save_clips {
                    Some(dir) => {
                        Some(save_clip(dir, file, n, &d).map_err(hushword::Error::Config)?)
                    }
                    None => None,
                };
                let line = format_detection(file, &d, clip.as_deref(), args.json);
                writeln!(out, "{line}")
                    .map_err(|e| hushword::Error::Config(format!("cannot write to stdout: {e}")))?;
            }
        }
        Ok(())
    })
    .map_err(|e| match e {
        hushword::Error::Config(reason) => reason,
        e => file_error(file, &e),
    })?;
    Ok(())
}

fn save_clip(dir: &Path, file: &Path, n: usize, d: &Detection) -> Result<PathBuf, String> {
    let stem = file
        .file_stem()
        .map_or_else(|| "audio".into(), |s| s.to_string_lossy());
    let keyword: String = d
        .keyword
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let path = dir.join(format!("{stem}_{n}_{keyword}.wav"));
    write_wav_i16(&path, &d.pre_roll, 16_000).map_err(|e| file_error(&path, &e))?;
    Ok(path)
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
        format!(
            "{}  {}  {:.3}  {time:.2}  [{start:.2}-{end:.2}]",
            file.display(),
            d.keyword,
            d.score
        )
    }
}
