//! Shared helpers of the CLI and eval integration tests: synthetic audio with a known answer
//! for the `energy.onnx` fixture (keyword "beep": fires on a loud square tone, not on quiet
//! noise or silence), WAV writers, and a runner for the built binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const RATE: usize = 16_000;

/// A fixture model by file name.
pub fn model(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/models")
        .join(name)
}

/// The energy fixture ("beep").
pub fn energy() -> PathBuf {
    model("energy.onnx")
}

/// 440 Hz square wave of amplitude 0.5: loud for the energy model.
pub fn tone(seconds: f64) -> Vec<f32> {
    let n = (seconds * RATE as f64).round() as usize;
    (0..n)
        .map(|i| {
            if (i * 440 * 2 / RATE).is_multiple_of(2) {
                0.5
            } else {
                -0.5
            }
        })
        .collect()
}

/// White noise of amplitude 1e-3 (deterministic): quiet for the energy model.
pub fn quiet(seconds: f64, seed: u64) -> Vec<f32> {
    let n = (seconds * RATE as f64).round() as usize;
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * 1e-3
        })
        .collect()
}

/// Quiet noise of `seconds` with tone bursts of `burst` seconds starting at `at` (seconds).
pub fn quiet_with_bursts(seconds: f64, at: &[f64], burst: f64, seed: u64) -> Vec<f32> {
    let mut x = quiet(seconds, seed);
    for &t in at {
        let start = (t * RATE as f64).round() as usize;
        for (i, s) in tone(burst).into_iter().enumerate() {
            if let Some(v) = x.get_mut(start + i) {
                *v = s;
            }
        }
    }
    x
}

/// Writes 16-bit PCM mono.
pub fn write_wav(path: &Path, samples: &[f32], rate: u32) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for &s in samples {
        w.write_sample((s * 32767.0).round().clamp(-32768.0, 32767.0) as i16)
            .unwrap();
    }
    w.finalize().unwrap();
}

/// Writes 32-bit float mono (may hold NaN).
pub fn write_wav_f32(path: &Path, samples: &[f32]) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: RATE as u32,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for &s in samples {
        w.write_sample(s).unwrap();
    }
    w.finalize().unwrap();
}

/// Runs the built binary.
pub fn hushword(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hushword"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run hushword")
}

/// Runs the built binary with `input` on stdin.
pub fn hushword_stdin(args: &[&str], input: &[u8]) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_hushword"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run hushword");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A path as the binary receives it.
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The stderr lines that start with `hushword:` and mention `needle`.
pub fn error_lines<'a>(err: &'a str, needle: &str) -> Vec<&'a str> {
    err.lines()
        .filter(|l| l.starts_with("hushword: ") && l.contains(needle))
        .collect()
}

/// Sets the WAV data chunk's size field of the file at `path` to `size`, as streaming writers
/// leave it (0, 0xFFFFFFFF) or as a cut-off file has it (larger than what follows).
pub fn set_data_size(path: &Path, size: u32) {
    let mut bytes = std::fs::read(path).unwrap();
    let at = bytes.windows(4).position(|w| w == b"data").unwrap() + 4;
    bytes[at..at + 4].copy_from_slice(&size.to_le_bytes());
    std::fs::write(path, bytes).unwrap();
}

/// Writes 16-bit PCM with `channels` copies of `samples` at `rate`.
pub fn write_wav_channels(path: &Path, samples: &[f32], rate: u32, channels: u16) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for &s in samples {
        for _ in 0..channels {
            w.write_sample((s * 32767.0).round().clamp(-32768.0, 32767.0) as i16)
                .unwrap();
        }
    }
    w.finalize().unwrap();
}

/// `samples` resampled to `rate` by nearest neighbour: enough for the energy fixture's tone.
pub fn at_rate(samples: &[f32], rate: u32) -> Vec<f32> {
    let n = samples.len() * rate as usize / RATE;
    (0..n).map(|i| samples[i * RATE / rate as usize]).collect()
}
