//! `hushword listen`: raw little-endian s16 16 kHz mono on stdin, detections printed live.

use super::common::{build_detector, load_models, parse_threshold, rfc3339, ProfileArgs};
use clap::Args;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

const RATE: f64 = 16_000.0;

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
}

/// What the stdin reader thread hands over.
enum Input {
    Bytes(Vec<u8>),
    Error(std::io::Error),
}

pub fn run(args: ListenArgs) -> Result<ExitCode, String> {
    let mut detector = build_detector(load_models(&args.models)?, args.threshold)?;
    args.profile.apply(&mut detector)?;
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst))
            .map_err(|e| format!("cannot install the Ctrl-C handler: {e}"))?;
    }
    let (tx, rx) = mpsc::sync_channel::<Input>(64);
    // A blocked read cannot be interrupted portably, so stdin is read on its own thread and
    // the main loop polls for Ctrl-C between chunks.
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut buf = vec![0u8; 3200];
        loop {
            match stdin.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    if tx.send(Input::Bytes(buf[..n].to_vec())).is_err() {
                        return;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let _ = tx.send(Input::Error(e));
                    return;
                }
            }
        }
    });

    let mut pending: Option<u8> = None;
    let mut samples = Vec::with_capacity(1600);
    let mut detections = Vec::new();
    let mut count = 0usize;
    let mut stdout = std::io::stdout().lock();
    let mut outcome = Ok(());
    let mut interrupted = false;
    loop {
        if stop.load(Ordering::SeqCst) {
            interrupted = true;
            break;
        }
        let bytes = match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(Input::Bytes(b)) => b,
            Ok(Input::Error(e)) => {
                outcome = Err(format!("stdin: {e}"));
                break;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        samples.clear();
        let mut iter = bytes.iter().copied();
        if let Some(lo) = pending.take() {
            match iter.next() {
                Some(hi) => samples.push(i16::from_le_bytes([lo, hi])),
                None => pending = Some(lo),
            }
        }
        let rest: Vec<u8> = iter.collect();
        let mut pairs = rest.chunks_exact(2);
        samples.extend(pairs.by_ref().map(|p| i16::from_le_bytes([p[0], p[1]])));
        if let [odd] = pairs.remainder() {
            pending = Some(*odd);
        }
        for chunk in samples.chunks(160) {
            detector.push_i16(chunk, &mut detections);
            for d in detections.drain(..) {
                count += 1;
                let now = rfc3339(SystemTime::now());
                let line = if args.json {
                    serde_json::json!({
                        "time": now,
                        "keyword": d.keyword,
                        "score": d.score,
                        "stream_s": d.position as f64 / RATE,
                        "start_s": d.start as f64 / RATE,
                        "end_s": d.end as f64 / RATE,
                    })
                    .to_string()
                } else {
                    format!(
                        "{now}  {}  {:.3}  {:.2}",
                        d.keyword,
                        d.score,
                        d.position as f64 / RATE
                    )
                };
                if writeln!(stdout, "{line}")
                    .and_then(|_| stdout.flush())
                    .is_err()
                {
                    // stdout closed (e.g. piped into `head`): nothing left to do.
                    return Ok(ExitCode::SUCCESS);
                }
            }
        }
    }
    let mut note = String::new();
    if pending.is_some() && !interrupted {
        note = " (ignored a trailing odd byte)".into();
    }
    let _ = writeln!(
        std::io::stderr(),
        "hushword: {} after {:.2} s of audio, {count} detection{}{note}",
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
