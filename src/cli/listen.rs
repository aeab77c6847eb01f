//! `hushword listen`: audio on stdin, detections printed live. A WAV or FLAC stream is
//! recognised by its first bytes and read as `detect` reads files (any encoding, rate and
//! channel count); anything else is raw little-endian s16 16 kHz mono.

use super::clips::ClipWriter;
use super::common::{
    build_detector, load_models, parse_threshold, rfc3339, DetectorArgs, ProfileArgs,
};
use super::stdin_name;
use clap::Args;
use hushword::audio::{AudioReader, TARGET_SAMPLE_RATE};
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

const RATE: f64 = TARGET_SAMPLE_RATE as f64;

/// Samples pushed into the detector at a time: 10 ms, as a device delivers them.
const PUSH_SAMPLES: usize = 160;

/// Bytes of raw PCM read at a time: 100 ms, so detections are printed promptly.
const RAW_READ_BYTES: usize = 3200;

/// What `listen` tells a user who runs it on a terminal with nothing piped in.
pub const TERMINAL_HINT: &str = "listen reads audio from stdin: a WAV or FLAC stream, or raw 16 kHz 16-bit mono PCM; pipe some in, e.g. `arecord -f S16_LE -r 16000 -c 1 | hushword listen` (Ctrl-C to stop)";

#[derive(Debug, Args)]
pub struct ListenArgs {
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
    /// Write each detection's audio (pre-roll, plus post-roll if set) as
    /// `stdin_<n>_<keyword>.wav` in this folder; the path is printed with the detection.
    #[arg(long, value_name = "DIR")]
    save_clips: Option<PathBuf>,
    #[command(flatten)]
    detector: DetectorArgs,
}

/// What the stdin reader thread hands over.
enum Input {
    Samples(Vec<f32>),
    /// Said once, on stderr, as soon as it is known.
    Info(String),
    Error(String),
}

pub fn run(args: ListenArgs) -> Result<ExitCode, String> {
    let mut detector = build_detector(load_models(&args.models)?, args.threshold, &args.detector)?;
    args.profile.apply(&mut detector)?;
    let mut clips = ClipWriter::for_option(args.save_clips.as_ref(), &args.detector)?;
    if std::io::stdin().is_terminal() {
        let _ = writeln!(std::io::stderr(), "hushword: {TERMINAL_HINT}");
    }
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst))
            .map_err(|e| format!("cannot install the Ctrl-C handler: {e}"))?;
    }
    let (tx, rx) = mpsc::sync_channel::<Input>(64);
    // A blocked read cannot be interrupted portably, so stdin is read on its own thread and
    // the main loop polls for Ctrl-C between blocks.
    std::thread::spawn(move || read_stdin(&tx));

    let mut detections = Vec::new();
    let mut count = 0usize;
    let mut stdout = std::io::stdout().lock();
    let mut outcome = Ok(());
    let mut interrupted = false;
    let mut notes = Vec::new();
    loop {
        if stop.load(Ordering::SeqCst) {
            interrupted = true;
            break;
        }
        let samples = match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(Input::Samples(s)) => s,
            Ok(Input::Info(text)) => {
                notes.push(text);
                continue;
            }
            Ok(Input::Error(e)) => {
                outcome = Err(e);
                break;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        for note in notes.drain(..) {
            let _ = writeln!(std::io::stderr(), "hushword: {}: {note}", stdin_name());
        }
        for chunk in samples.chunks(PUSH_SAMPLES) {
            // Samples from the reader are finite (checked there), so a push cannot be refused.
            let _ = detector.push_f32(chunk, &mut detections);
            for d in detections.drain(..) {
                count += 1;
                let clip = clips
                    .as_mut()
                    .map(|w| w.start(Path::new("stdin"), count, &d));
                if writeln!(
                    stdout,
                    "{}",
                    format_detection(&d, clip.as_deref(), args.json)
                )
                .and_then(|_| stdout.flush())
                .is_err()
                {
                    // stdout closed (e.g. piped into `head`): nothing left to do.
                    return Ok(ExitCode::SUCCESS);
                }
            }
            if let Some(w) = &mut clips {
                if let Err(e) = w.feed(&mut detector) {
                    outcome = Err(e);
                }
            }
        }
    }
    if let Some(w) = &mut clips {
        if let Err(e) = w.finish() {
            outcome = outcome.and(Err(e));
        }
    }
    let mut stderr = std::io::stderr();
    for note in notes.drain(..) {
        let _ = writeln!(stderr, "hushword: {}: {note}", stdin_name());
    }
    let _ = writeln!(
        stderr,
        "hushword: {} after {:.2} s of audio, {count} detection{}",
        if interrupted {
            "interrupted"
        } else {
            "end of input"
        },
        detector.samples_seen() as f64 / RATE,
        if count == 1 { "" } else { "s" },
    );
    outcome.map(|()| ExitCode::SUCCESS)
}

fn format_detection(d: &hushword::detector::Detection, clip: Option<&Path>, json: bool) -> String {
    let now = rfc3339(SystemTime::now());
    if json {
        let mut v = serde_json::json!({
            "time": now,
            "keyword": d.keyword,
            "score": d.score,
            "stream_s": d.position as f64 / RATE,
            "start_s": d.start as f64 / RATE,
            "end_s": d.end as f64 / RATE,
        });
        if let Some(clip) = clip {
            v["clip"] = serde_json::Value::from(clip.display().to_string());
        }
        v.to_string()
    } else {
        let mut line = format!(
            "{now}  {}  score {:.3}  at {:.2} s",
            d.keyword,
            d.score,
            d.position as f64 / RATE
        );
        if let Some(clip) = clip {
            line.push_str(&format!("  clip {}", clip.display()));
        }
        line
    }
}

/// The reader thread: recognises the stream by its first four bytes and sends f32 blocks
/// until the end of input, an error, or the main loop hanging up.
fn read_stdin(tx: &mpsc::SyncSender<Input>) {
    let mut stdin = std::io::stdin().lock();
    let mut magic = [0u8; 4];
    let got = match read_up_to(&mut stdin, &mut magic) {
        Ok(n) => n,
        Err(e) => {
            let _ = tx.send(Input::Error(format!("{}: {e}", stdin_name())));
            return;
        }
    };
    let magic = &magic[..got];
    let input = std::io::Cursor::new(magic.to_vec()).chain(stdin);
    match magic {
        b"RIFF" => read_encoded(input, "WAV", tx),
        b"fLaC" => read_encoded(input, "FLAC", tx),
        _ => read_raw(input, tx),
    }
}

/// A WAV or FLAC stream, through the same decoder as `detect`.
fn read_encoded(input: impl Read, kind: &str, tx: &mpsc::SyncSender<Input>) {
    let name = Path::new(stdin_name());
    let mut reader = match AudioReader::new(input, name) {
        Ok(r) => r,
        Err(e) => {
            let _ = tx.send(Input::Error(e.to_string()));
            return;
        }
    };
    let what = format!(
        "reading a {kind} stream, {} Hz, {} channel(s){}",
        reader.source_rate(),
        reader.source_channels(),
        if reader.source_rate() == TARGET_SAMPLE_RATE && reader.source_channels() == 1 {
            String::new()
        } else {
            " (converted to 16 kHz mono)".to_string()
        }
    );
    if tx.send(Input::Info(what)).is_err() {
        return;
    }
    loop {
        match reader.next_block(1600) {
            Ok(Some(block)) => {
                if tx.send(Input::Samples(block.to_vec())).is_err() {
                    return;
                }
            }
            Ok(None) => break,
            Err(e) => {
                let _ = tx.send(Input::Error(e.to_string()));
                return;
            }
        }
    }
    if let Some(note) = reader.note() {
        let _ = tx.send(Input::Info(format!("note: {note}")));
    }
}

/// Raw little-endian s16 mono at 16 kHz.
fn read_raw(mut input: impl Read, tx: &mpsc::SyncSender<Input>) {
    let mut buf = vec![0u8; RAW_READ_BYTES];
    let mut carry: Option<u8> = None;
    loop {
        let start = usize::from(carry.is_some());
        if let Some(b) = carry.take() {
            buf[0] = b;
        }
        let n = match input.read(&mut buf[start..]) {
            Ok(0) => {
                if start == 1 {
                    let _ = tx.send(Input::Info("ignored a trailing odd byte".to_string()));
                }
                return;
            }
            Ok(n) => start + n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {
                carry = (start == 1).then_some(buf[0]);
                continue;
            }
            Err(e) => {
                let _ = tx.send(Input::Error(format!("{}: {e}", stdin_name())));
                return;
            }
        };
        let pairs = buf[..n].chunks_exact(2);
        if let [odd] = pairs.remainder() {
            carry = Some(*odd);
        }
        let samples = pairs
            .map(|p| f32::from(i16::from_le_bytes([p[0], p[1]])) / 32_768.0)
            .collect();
        if tx.send(Input::Samples(samples)).is_err() {
            return;
        }
    }
}

/// Fills as much of `buf` as the reader has (fewer bytes only at end of input).
fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}
