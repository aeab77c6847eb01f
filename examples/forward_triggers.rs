//! A privacy gate: microphone audio goes into the detector and nowhere else; only the audio
//! around a trigger (its pre-roll and post-roll) is handed to a [`TriggerSink`], the one
//! thing that could send audio onward (to a cloud recogniser, a file, ...).
//!
//! cargo run --release --example forward_triggers -- [MODEL.onnx AUDIO.wav [OUT_DIR]]
//!
//! By construction: [`gate`] receives the audio source and the sink, and the only samples it
//! ever passes to the sink are `Detection::pre_roll` and what `Detector::drain_post_roll`
//! returns, both bounded by the config. At the end it prints how much audio came in and how
//! much was forwarded. Without arguments it runs the energy test fixture on a synthetic
//! signal (quiet noise with two loud tones) and keeps the forwarded clips in memory; with
//! OUT_DIR each clip is also written there as a WAV file.

use hushword::audio::read_audio;
use hushword::{Detector, DetectorConfig, WakeWordModel};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const RATE: u32 = 16_000;

/// Where trigger audio may go: the only way out of the process for audio.
trait TriggerSink {
    /// One trigger's audio: `keyword`, then pre-roll and post-roll samples at 16 kHz.
    fn forward(&mut self, keyword: &str, pre_roll: &[f32], post_roll: &[f32])
        -> Result<(), String>;
}

/// Keeps the clips in memory (stands in for a network upload).
#[derive(Default)]
struct MemorySink {
    clips: Vec<(String, Vec<f32>)>,
}

impl TriggerSink for MemorySink {
    fn forward(&mut self, keyword: &str, pre: &[f32], post: &[f32]) -> Result<(), String> {
        self.clips.push((keyword.to_string(), [pre, post].concat()));
        Ok(())
    }
}

/// Writes each clip as `clip-NNN-KEYWORD.wav` in a folder.
struct WavSink {
    dir: PathBuf,
    written: usize,
}

impl TriggerSink for WavSink {
    fn forward(&mut self, keyword: &str, pre: &[f32], post: &[f32]) -> Result<(), String> {
        self.written += 1;
        let path = self
            .dir
            .join(format!("clip-{:03}-{keyword}.wav", self.written));
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: RATE,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let fail = |e: hound::Error| format!("{}: {e}", path.display());
        let mut wav = hound::WavWriter::create(&path, spec).map_err(fail)?;
        for &s in pre.iter().chain(post) {
            let pcm = (s * 32768.0).round().clamp(-32768.0, 32767.0) as i16;
            wav.write_sample(pcm).map_err(fail)?;
        }
        wav.finalize().map_err(fail)?;
        println!("  wrote {}", path.display());
        Ok(())
    }
}

/// Both sinks at once.
struct Tee<'a>(&'a mut MemorySink, Option<&'a mut WavSink>);

impl TriggerSink for Tee<'_> {
    fn forward(&mut self, keyword: &str, pre: &[f32], post: &[f32]) -> Result<(), String> {
        self.0.forward(keyword, pre, post)?;
        match &mut self.1 {
            Some(wav) => wav.forward(keyword, pre, post),
            None => Ok(()),
        }
    }
}

/// What [`gate`] saw and let through, in samples.
struct Tally {
    heard: usize,
    forwarded: usize,
    triggers: usize,
}

/// Streams `source` through `detector` in 10 ms chunks; for each trigger, waits for its
/// post-roll and forwards pre-roll + post-roll to `sink`. Nothing else reaches the sink.
fn gate(
    source: &[f32],
    detector: &mut Detector,
    sink: &mut dyn TriggerSink,
) -> Result<Tally, String> {
    let post_len = (detector.config().post_roll_ms * RATE / 1000) as usize;
    let mut tally = Tally {
        heard: 0,
        forwarded: 0,
        triggers: 0,
    };
    let mut events = Vec::new();
    let mut open: Option<(String, Vec<f32>)> = None; // keyword and pre-roll awaiting post-roll
    let mut post = Vec::with_capacity(post_len);
    for chunk in source.chunks(160) {
        detector
            .push_f32(chunk, &mut events)
            .map_err(|e| e.to_string())?;
        tally.heard += chunk.len();
        for e in events.drain(..) {
            // A newer trigger re-arms the post-roll: the open clip ends here.
            if let Some((keyword, pre)) = open.take() {
                forward(sink, &mut tally, &keyword, &pre, &post)?;
                post.clear();
            }
            tally.triggers += 1;
            open = Some((e.keyword, e.pre_roll));
        }
        detector.drain_post_roll(&mut post);
        if post.len() >= post_len {
            if let Some((keyword, pre)) = open.take() {
                forward(sink, &mut tally, &keyword, &pre, &post)?;
            }
            post.clear();
        }
    }
    if let Some((keyword, pre)) = open.take() {
        forward(sink, &mut tally, &keyword, &pre, &post)?;
    }
    Ok(tally)
}

/// The one call that hands audio to the sink, counting what leaves.
fn forward(
    sink: &mut dyn TriggerSink,
    tally: &mut Tally,
    keyword: &str,
    pre: &[f32],
    post: &[f32],
) -> Result<(), String> {
    tally.forwarded += pre.len() + post.len();
    sink.forward(keyword, pre, post)
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/models/energy.onnx"
    );
    let model = WakeWordModel::from_path(args.first().map_or(fixture, String::as_str))
        .map_err(|e| e.to_string())?;
    let source = match args.get(1) {
        Some(path) => read_audio(Path::new(path)).map_err(|e| e.to_string())?,
        None => synthetic(),
    };
    let config = DetectorConfig {
        pre_roll_ms: 1000,
        post_roll_ms: 1500,
        ..DetectorConfig::default()
    };
    let mut detector = Detector::new(vec![model], config).map_err(|e| e.to_string())?;
    let mut memory = MemorySink::default();
    let mut files = match args.get(2) {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| format!("{dir}: cannot create: {e}"))?;
            Some(WavSink {
                dir: PathBuf::from(dir),
                written: 0,
            })
        }
        None => None,
    };
    let tally = gate(
        &source,
        &mut detector,
        &mut Tee(&mut memory, files.as_mut()),
    )?;
    for (keyword, clip) in &memory.clips {
        println!(
            "forwarded `{keyword}`: {:.2} s of audio",
            clip.len() as f64 / f64::from(RATE)
        );
    }
    println!(
        "heard {:.2} s, {} trigger(s), forwarded {:.2} s ({:.1}%); everything else stayed in the detector's rings",
        tally.heard as f64 / f64::from(RATE),
        tally.triggers,
        tally.forwarded as f64 / f64::from(RATE),
        100.0 * tally.forwarded as f64 / tally.heard.max(1) as f64
    );
    Ok(())
}

/// 20 s of quiet noise with loud 440 Hz tones at 5 s and 14 s (what the fixture fires on).
fn synthetic() -> Vec<f32> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    (0..RATE as usize * 20)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let noise = ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 2e-3;
            let t = i as f32 / RATE as f32;
            let loud = (5.0..5.6).contains(&t) || (14.0..14.6).contains(&t);
            let square = if (t * 440.0).fract() < 0.5 { 0.5 } else { -0.5 };
            noise + if loud { square } else { 0.0 }
        })
        .collect()
}
