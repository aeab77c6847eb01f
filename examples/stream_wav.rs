//! Streams a WAV/FLAC file through the detector in 10 ms chunks, as a live capture would
//! deliver it, and prints each detection.
//!
//! cargo run --release --example stream_wav -- MODEL.onnx AUDIO.wav

use hushword::audio::read_audio;
use hushword::{Detector, DetectorConfig, WakeWordModel};
use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, model_path, audio_path] = args.as_slice() else {
        eprintln!("usage: stream_wav MODEL.onnx AUDIO.wav");
        return ExitCode::from(2);
    };
    match run(Path::new(model_path), Path::new(audio_path)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(model_path: &Path, audio_path: &Path) -> hushword::Result<()> {
    let model = WakeWordModel::from_path(model_path)?;
    let mut detector = Detector::new(vec![model], DetectorConfig::default())?;
    let audio = read_audio(audio_path)?;
    let mut events = Vec::new();
    let started = std::time::Instant::now();
    for chunk in audio.chunks(160) {
        detector.push_f32(chunk, &mut events)?;
        for e in events.drain(..) {
            println!(
                "{:>9.3} s  {:<12} score {:.3}  word ~{:.3}-{:.3} s  pre-roll {} samples ({:.2} s)",
                e.position as f64 / 16_000.0,
                e.keyword,
                e.score,
                e.start as f64 / 16_000.0,
                e.end as f64 / 16_000.0,
                e.pre_roll.len(),
                e.pre_roll.len() as f64 / 16_000.0
            );
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let seconds = detector.samples_seen() as f64 / 16_000.0;
    println!(
        "{seconds:.2} s of audio, {} frames, {:.1} ms to process ({:.0}x real time), detector memory {} bytes",
        detector.frames_seen(),
        elapsed * 1e3,
        seconds / elapsed.max(1e-9),
        detector.memory_bytes()
    );
    Ok(())
}
