//! The shape of an embedded main loop: every buffer is allocated before the loop, audio
//! arrives as 16-bit PCM in 10 ms blocks (160 samples), and the loop itself allocates
//! nothing unless a wake word fires.
//!
//! cargo run --release --example firmware_loop -- [MODEL.onnx [AUDIO.wav]]
//!
//! Without arguments it runs the test fixture model on a synthetic signal (quiet noise with
//! two loud tone bursts), standing in for a microphone driver.

use hushword::audio::read_audio;
use hushword::{Detection, Detector, DetectorConfig, WakeWordModel};
use std::path::Path;
use std::process::ExitCode;

const BLOCK: usize = 160;

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
    let args: Vec<String> = std::env::args().skip(1).collect();
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/models/energy.onnx"
    );
    let model_path = args.first().map_or(fixture, String::as_str);
    let model = WakeWordModel::from_path(model_path)?;
    let config = DetectorConfig {
        pre_roll_ms: 1000,
        post_roll_ms: 500,
        ..DetectorConfig::default()
    };
    let mut detector = Detector::new(vec![model], config)?;

    // The "microphone": a file or a synthetic signal, as i16 PCM.
    let source: Vec<i16> = match args.get(1) {
        Some(path) => to_pcm(&read_audio(Path::new(path))?),
        None => to_pcm(&synthetic()),
    };

    // Everything the loop touches, allocated once.
    let mut block = [0i16; BLOCK];
    let mut events: Vec<Detection> = Vec::with_capacity(4);
    let mut post_roll: Vec<f32> = Vec::with_capacity(16_000);
    println!(
        "detector holds {} bytes of buffers",
        detector.memory_bytes()
    );

    for mic in source.chunks(BLOCK) {
        // A driver would DMA into `block`; here we copy from the source.
        block[..mic.len()].copy_from_slice(mic);
        detector.push_i16(&block[..mic.len()], &mut events);
        for e in events.drain(..) {
            println!(
                "wake word `{}` at {:.2} s (score {:.3}), {} samples of pre-roll",
                e.keyword,
                e.position as f64 / 16_000.0,
                e.score,
                e.pre_roll.len()
            );
        }
        if detector.drain_post_roll(&mut post_roll) > 0 && post_roll.len() >= 8000 {
            println!(
                "  post-roll complete: {} samples ready for the recogniser",
                post_roll.len()
            );
            post_roll.clear();
        }
    }
    println!(
        "processed {:.2} s",
        detector.samples_seen() as f64 / 16_000.0
    );
    Ok(())
}

/// Quiet noise with two loud 440 Hz square bursts (what the fixture model detects).
fn synthetic() -> Vec<f32> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    (0..16_000 * 6)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let noise = ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 2e-3;
            let t = i as f32 / 16_000.0;
            let loud = (1.0..1.5).contains(&t) || (4.0..4.5).contains(&t);
            let square = if (t * 440.0).fract() < 0.5 { 0.5 } else { -0.5 };
            noise + if loud { square } else { 0.0 }
        })
        .collect()
}

fn to_pcm(samples: &[f32]) -> Vec<i16> {
    samples
        .iter()
        .map(|&s| (s.clamp(-1.0, 1.0) * 32767.0).round() as i16)
        .collect()
}
