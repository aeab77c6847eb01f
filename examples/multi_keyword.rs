//! Several wake words in one detector: the shipped "alexa" and "computer" models share one
//! front end, so MFCC features are computed once per frame and each model scores them.
//!
//! cargo run --release --example multi_keyword -- [AUDIO.wav ...]
//!
//! The files are streamed back to back as one stream, in 10 ms chunks. Without arguments it
//! streams data/alexa_kokoro.wav, then data/no_wakeword.wav.

use hushword::audio::read_audio;
use hushword::{Detector, DetectorConfig, WakeWordModel};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const RATE: f64 = 16_000.0;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> hushword::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
    if files.is_empty() {
        files = vec![
            root.join("data/alexa_kokoro.wav"),
            root.join("data/no_wakeword.wav"),
        ];
    }
    let models = vec![
        WakeWordModel::from_path(root.join("models/alexa.onnx"))?,
        WakeWordModel::from_path(root.join("models/computer.onnx"))?,
    ];
    let mut detector = Detector::new(models, DetectorConfig::default())?;
    for (_, keyword) in detector.keywords() {
        println!(
            "listening for `{keyword}` (threshold {:.2})",
            detector.threshold(&keyword).unwrap_or(f32::NAN)
        );
    }

    let mut events = Vec::new();
    for file in &files {
        let audio = read_audio(file)?;
        let file_start = detector.samples_seen();
        for chunk in audio.chunks(160) {
            detector.push_f32(chunk, &mut events)?;
            for e in events.drain(..) {
                println!(
                    "{:>8.2} s  {:<10} score {:.3}  ({} at {:.2} s)",
                    e.position as f64 / RATE,
                    e.keyword,
                    e.score,
                    file.display(),
                    (e.position - file_start) as f64 / RATE
                );
            }
        }
    }
    println!(
        "{:.2} s streamed; {} feature frames computed once for {} keywords",
        detector.samples_seen() as f64 / RATE,
        detector.frames_seen(),
        detector.keywords().len()
    );
    Ok(())
}
