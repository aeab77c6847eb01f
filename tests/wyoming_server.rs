//! `hushword serve` against the real `wyoming` client library (tests/wyoming/driver.py) and
//! against raw sockets sending what no library would: a Home Assistant-style session
//! (describe, detect, audio, detection / not-detected), two clients at once, every bad input
//! the server must survive without disturbing other clients, and a clean stop on SIGTERM and
//! SIGINT.
//!
//! The Python side needs `wyoming` 1.10: `$HUSHWORD_PYTHON` if set (`.ci/run` sets it to the
//! venv it makes), else a venv made here under the target dir with `pip install
//! wyoming==1.10.*`. Without any Python 3 the tests say so and pass without running.

mod cli_support;

use cli_support::{energy, quiet, quiet_with_bursts, write_wav};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_hushword");
const DRIVER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/wyoming/driver.py");

/// The Python that has `wyoming` 1.10, or None (with a message) when there is no Python.
fn python() -> Option<&'static Path> {
    static PYTHON: OnceLock<Option<PathBuf>> = OnceLock::new();
    PYTHON.get_or_init(find_python).as_deref()
}

fn has_wyoming(python: &Path) -> bool {
    Command::new(python)
        .args([
            "-c",
            "import wyoming.version as v, sys; sys.exit(not v.__version__.startswith('1.10.'))",
        ])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn find_python() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("HUSHWORD_PYTHON") {
        let p = PathBuf::from(p);
        assert!(
            has_wyoming(&p),
            "HUSHWORD_PYTHON={} lacks wyoming 1.10",
            p.display()
        );
        return Some(p);
    }
    let system = ["python3", "python"].into_iter().find(|p| {
        Command::new(p)
            .args([
                "-c",
                "import sys, venv; sys.exit(sys.version_info < (3, 9))",
            ])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    let Some(system) = system else {
        eprintln!("SKIPPED: wyoming server tests: no Python 3 (with venv) on PATH");
        return None;
    };
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("wyoming-venv");
    let python = venv.join("bin/python");
    if has_wyoming(&python) {
        return Some(python);
    }
    let run = |cmd: &mut Command| {
        let out = cmd.output().expect("run python");
        assert!(
            out.status.success(),
            "{cmd:?} failed (the wyoming tests need it; set HUSHWORD_PYTHON to a Python with wyoming 1.10):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(Command::new(system).args(["-m", "venv"]).arg(&venv));
    run(Command::new(&python).args(["-m", "pip", "install", "-q", "wyoming==1.10.*"]));
    assert!(
        has_wyoming(&python),
        "{} still lacks wyoming",
        python.display()
    );
    Some(python)
}

/// A running `hushword serve`; killed on drop if still running.
struct Server {
    child: Child,
    uri: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(uri: &str, args: &[&str]) -> Server {
        let mut child = Command::new(BIN)
            .args(["serve", "--uri", uri])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start hushword serve");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if let Some(rest) = line.split("listening on ").nth(1) {
                        let _ = tx.send(rest.split(' ').next().unwrap_or("").to_string());
                    }
                    log.lock().unwrap().push(line);
                }
            });
        }
        let uri = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("the server did not start: {:?}", log.lock().unwrap()));
        Server { child, uri, log }
    }

    fn port(&self) -> u16 {
        self.uri.rsplit(':').next().unwrap().parse().unwrap()
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    fn assert_running(&mut self) {
        assert!(
            self.child.try_wait().unwrap().is_none(),
            "the server exited:\n{}",
            self.log()
        );
    }

    /// Sends a signal and waits (at most 10 s) for a clean exit.
    fn stop_with(&mut self, signal: &str) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill")
            .args([signal, &pid])
            .status()
            .unwrap()
            .success());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(
                    status.success(),
                    "exit status {status} after {signal}:\n{}",
                    self.log()
                );
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "the server did not stop within 10 s of {signal}:\n{}",
            self.log()
        );
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the driver to completion; panics with its stderr if it fails.
fn driver(python: &Path, uri: &str, args: &[&str]) -> Vec<Value> {
    let out = Command::new(python)
        .arg(DRIVER)
        .arg(uri)
        .args(args)
        .output()
        .unwrap();
    parse_driver(out)
}

fn spawn_driver(python: &Path, uri: &str, args: &[&str]) -> Child {
    Command::new(python)
        .arg(DRIVER)
        .arg(uri)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn parse_driver(out: std::process::Output) -> Vec<Value> {
    assert!(
        out.status.success(),
        "driver failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// What the server replied to one streamed file: `detection <name> <ms>` / `not-detected`.
fn replies(result: &Value) -> Vec<String> {
    result["replies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| match r["type"].as_str().unwrap() {
            "detection" => format!(
                "detection {} {}",
                r["name"].as_str().unwrap(),
                r["timestamp"]
            ),
            other => other.to_string(),
        })
        .collect()
}

fn data_wav(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(name)
}

/// `hushword detect --json` on one file: (keyword, time in ms) per detection.
fn cli_detections(path: &Path) -> Vec<String> {
    let out = Command::new(BIN)
        .args(["detect", "--json"])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            // A file without detection gets a line too (`detections: []`), with no time.
            let time_s = v.get("time_s")?.as_f64().unwrap();
            // time_s is an exact sample count / 16000; the server sends whole ms.
            let ms = (time_s * 1000.0 + 1e-6).floor();
            Some(format!("detection {} {ms}", v["keyword"].as_str().unwrap()))
        })
        .collect()
}

/// The same samples as a 48 kHz, 24-bit, stereo WAV (each sample held for 3 frames, the
/// right channel at 0.8 of the left): a format the server must convert as `detect` does.
fn write_48k_stereo_24bit(from: &Path, to: &Path) {
    let samples = hushword::audio::read_audio(from).unwrap();
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 48_000,
        bits_per_sample: 24,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(to, spec).unwrap();
    for s in samples {
        let v = (f64::from(s) * 8_388_607.0).round() as i32;
        for _ in 0..3 {
            w.write_sample(v).unwrap();
            w.write_sample((f64::from(v) * 0.8) as i32).unwrap();
        }
    }
    w.finalize().unwrap();
}

#[test]
fn describe_lists_the_wake_program_and_its_models() {
    let Some(python) = python() else { return };
    let server = Server::start(
        "tcp://127.0.0.1:0",
        &["--language", "en", "--language", "de"],
    );
    let info = driver(python, &server.uri, &["describe"]).remove(0);
    let wake = &info["wake"][0];
    assert_eq!(wake["name"], "hushword");
    assert_eq!(wake["installed"], true);
    assert_eq!(wake["version"], env!("CARGO_PKG_VERSION"));
    assert!(wake["attribution"]["name"]
        .as_str()
        .unwrap()
        .contains("Apache-2.0"));
    let model = &wake["models"][0];
    assert_eq!(wake["models"].as_array().unwrap().len(), 1);
    assert_eq!(model["name"], "alexa");
    assert_eq!(model["phrase"], "alexa");
    assert_eq!(model["languages"], json!(["en", "de"]));
    assert!(model["description"]
        .as_str()
        .unwrap()
        .contains("threshold 0.9"));
    assert!(model["attribution"]["name"]
        .as_str()
        .unwrap()
        .contains("Apache-2.0"));
}

/// Home Assistant's session on the shipped recordings, one connection, and the same
/// recording at 48 kHz 24-bit stereo: the detections are `hushword detect`'s.
#[test]
fn real_recordings_are_detected_as_the_cli_detects_them() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let converted = dir.path().join("alexa_48k_stereo_24bit.wav");
    write_48k_stereo_24bit(&data_wav("alexa_kokoro.wav"), &converted);
    let files = [
        data_wav("alexa_kokoro.wav"),
        data_wav("no_wakeword.wav"),
        data_wav("alexa_noisy.wav"),
        converted,
    ];
    let server = Server::start("tcp://127.0.0.1:0", &[]);
    let mut args = vec!["detect"];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    let results = driver(python, &server.uri, &args);
    assert_eq!(results.len(), files.len());
    for (file, result) in files.iter().zip(&results) {
        let mut expected = cli_detections(file);
        if expected.is_empty() {
            expected.push("not-detected".into());
        }
        assert_eq!(replies(result), expected, "{}", file.display());
    }
    assert_eq!(replies(&results[1]), ["not-detected"]);
    assert!(replies(&results[0])[0].starts_with("detection alexa 30"));
    // A name the client did not select is not reported.
    let results = driver(
        python,
        &server.uri,
        &["detect", files[0].to_str().unwrap(), "--names", "alexa"],
    );
    assert_eq!(replies(&results[0]), cli_detections(&files[0]));
}

/// Two clients streaming at the same time, each with its own detector state.
#[test]
fn two_clients_at_once_each_get_their_own_answer() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (tone, silence) = (dir.path().join("tone.wav"), dir.path().join("quiet.wav"));
    write_wav(&tone, &quiet_with_bursts(2.0, &[1.0], 0.5, 1), 16_000);
    write_wav(&silence, &quiet(2.0, 2), 16_000);
    let model = energy();
    let server = Server::start("tcp://127.0.0.1:0", &["--model", model.to_str().unwrap()]);
    let paced = ["--chunk-frames", "320", "--pace", "0.01"];
    let a = spawn_driver(
        python,
        &server.uri,
        &[&["detect", tone.to_str().unwrap()][..], &paced].concat(),
    );
    let b = spawn_driver(
        python,
        &server.uri,
        &[&["detect", silence.to_str().unwrap()][..], &paced].concat(),
    );
    let (a, b) = (
        parse_driver(a.wait_with_output().unwrap()).remove(0),
        parse_driver(b.wait_with_output().unwrap()).remove(0),
    );
    let a_replies = replies(&a);
    assert_eq!(a_replies.len(), 1, "{a_replies:?}");
    assert!(
        a_replies[0].starts_with("detection beep 1"),
        "{a_replies:?}"
    );
    assert_eq!(replies(&b), ["not-detected"]);
    let overlap = a["started"].as_f64().unwrap() < b["finished"].as_f64().unwrap()
        && b["started"].as_f64().unwrap() < a["finished"].as_f64().unwrap();
    assert!(overlap, "the two streams did not overlap: {a} {b}");
}

/// A raw connection for what the library never sends.
struct Raw {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Raw {
    fn connect(port: u16) -> Raw {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        Raw {
            writer: stream.try_clone().unwrap(),
            reader: BufReader::new(stream),
        }
    }

    /// Sends bytes, ignoring a failure (the server may have closed already).
    fn send(&mut self, bytes: &[u8]) -> &mut Self {
        let _ = self.writer.write_all(bytes);
        self
    }

    fn end_writing(&mut self) -> &mut Self {
        let _ = self.writer.shutdown(std::net::Shutdown::Write);
        self
    }

    /// The next event's (type, data); None when the connection ended.
    fn reply(&mut self) -> Option<(String, Value)> {
        let mut line = String::new();
        if self.reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let header: Value = serde_json::from_str(&line).unwrap();
        let mut data = vec![0; header["data_length"].as_u64().unwrap_or(0) as usize];
        self.reader.read_exact(&mut data).unwrap();
        let data = if data.is_empty() {
            json!({})
        } else {
            serde_json::from_slice(&data).unwrap()
        };
        Some((header["type"].as_str().unwrap().to_string(), data))
    }

    /// The next reply is an error whose text contains `needle`; returns its code.
    fn expect_error(&mut self, needle: &str) -> String {
        let (kind, data) = self.reply().expect("an error event");
        assert_eq!(kind, "error", "{data}");
        let text = data["text"].as_str().unwrap();
        assert!(text.contains(needle), "`{text}` lacks `{needle}`");
        data["code"].as_str().unwrap().to_string()
    }

    fn expect_closed(&mut self) {
        assert!(self.reply().is_none(), "the connection should be closed");
    }
}

fn header(value: Value) -> Vec<u8> {
    let mut bytes = serde_json::to_vec(&value).unwrap();
    bytes.push(b'\n');
    bytes
}

/// Every bad input while a well-behaved client streams: each bad client gets an error event
/// or a closed connection, the server stays up, the good client's answer is unchanged.
#[test]
fn bad_clients_get_errors_and_disturb_no_one() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let tone = dir.path().join("tone.wav");
    write_wav(&tone, &quiet_with_bursts(3.0, &[2.0], 0.5, 3), 16_000);
    let model = energy();
    let mut server = Server::start(
        "tcp://127.0.0.1:0",
        &["--model", model.to_str().unwrap(), "--max-clients", "4"],
    );
    let port = server.port();
    let good = spawn_driver(
        python,
        &server.uri,
        &[
            "detect",
            tone.to_str().unwrap(),
            "--chunk-frames",
            "160",
            "--pace",
            "0.01",
        ],
    );

    // Disconnect in the middle of a payload.
    Raw::connect(port)
        .send(&header(
            json!({"type": "audio-chunk", "payload_length": 1000}),
        ))
        .send(&[0; 10]);
    // Bad JSON header, and binary garbage: an error, then the connection is closed.
    let mut c = Raw::connect(port);
    assert_eq!(c.send(b"{not json\n").expect_error("not JSON"), "bad-event");
    c.expect_closed();
    Raw::connect(port)
        .send(b"\xff\xfe\x00garbage\n")
        .expect_error("not JSON");
    // A payload shorter than promised.
    let mut c = Raw::connect(port);
    c.send(&header(
        json!({"type": "audio-chunk", "payload_length": 100}),
    ))
    .send(&[0; 50])
    .end_writing();
    c.expect_error("closed 50 bytes into a 100-byte payload");
    c.expect_closed();
    // Unknown event and audio before audio-start: an error, and the connection stays usable.
    let mut c = Raw::connect(port);
    assert_eq!(
        c.send(&header(json!({"type": "frobnicate"})))
            .expect_error("`frobnicate`"),
        "unknown-event"
    );
    let chunk = header(
        json!({"type": "audio-chunk", "data": {"rate": 16000, "width": 2, "channels": 1}, "payload_length": 4}),
    );
    c.send(&chunk).send(&[0; 4]);
    assert_eq!(c.expect_error("before audio-start"), "not-streaming");
    let bad_start =
        json!({"type": "audio-start", "data": {"rate": 16000, "width": 7, "channels": 1}});
    assert_eq!(
        c.send(&header(bad_start)).expect_error("width 7"),
        "bad-audio"
    );
    c.send(&header(
        json!({"type": "detect", "data": {"names": ["nope"]}}),
    ));
    assert_eq!(c.expect_error("no wake word nope"), "unknown-wake-word");
    c.send(&header(json!({"type": "describe"})));
    assert_eq!(c.reply().unwrap().0, "info");
    // Oversized payload and data block: refused from the header, before any allocation.
    let mut c = Raw::connect(port);
    c.send(&header(
        json!({"type": "audio-chunk", "payload_length": 1_000_000_000u64}),
    ));
    c.expect_error("exceeds the 1048576-byte limit");
    c.expect_closed();
    Raw::connect(port)
        .send(&header(
            json!({"type": "describe", "data_length": 1_000_000}),
        ))
        .expect_error("exceeds the 65536-byte limit");
    // An endless header line: refused at 64 KiB (the unread rest may reset the connection
    // before the error event arrives, so either ending is accepted).
    let mut c = Raw::connect(port);
    c.send(&vec![b'x'; 200_000]);
    if let Some((kind, data)) = c.reply() {
        assert_eq!(kind, "error");
        assert!(data["text"]
            .as_str()
            .unwrap()
            .contains("longer than the 65536-byte limit"));
    }

    // The well-behaved client got exactly its detection, and the server still serves.
    let result = parse_driver(good.wait_with_output().unwrap()).remove(0);
    let got = replies(&result);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].starts_with("detection beep 2"), "{got:?}");
    let info = driver(python, &server.uri, &["describe"]).remove(0);
    assert_eq!(info["wake"][0]["models"][0]["name"], "beep");
    server.assert_running();
    let log = server.log();
    assert!(
        log.contains("closed 10 bytes into a 1000-byte payload"),
        "{log}"
    );

    // Beyond --max-clients a connection is refused with an error; the others are served.
    let held: Vec<Raw> = (0..4).map(|_| Raw::connect(port)).collect();
    std::thread::sleep(Duration::from_millis(300));
    let mut extra = Raw::connect(port);
    assert_eq!(extra.expect_error("server busy"), "busy");
    drop(held);
    server.assert_running();
}

/// SIGTERM with a client connected, over a unix socket: the server exits 0 and removes the
/// socket file; SIGINT likewise over TCP.
#[test]
fn sigterm_and_sigint_stop_the_server_cleanly() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("hushword.sock");
    let uri = format!("unix://{}", socket.display());
    let model = energy();
    let mut server = Server::start(&uri, &["--model", model.to_str().unwrap()]);
    assert_eq!(server.uri, uri);
    let info = driver(python, &uri, &["describe"]).remove(0);
    assert_eq!(info["wake"][0]["name"], "hushword");
    let idle = std::os::unix::net::UnixStream::connect(&socket).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    server.stop_with("-TERM");
    assert!(!socket.exists(), "the socket file is left behind");
    assert!(
        server.log().contains("closing 1 client connection(s)"),
        "{}",
        server.log()
    );
    drop(idle);

    let mut server = Server::start("tcp://127.0.0.1:0", &["--model", model.to_str().unwrap()]);
    let _idle = Raw::connect(server.port());
    server.stop_with("-INT");
}

#[test]
fn bad_arguments_are_refused_with_one_line() {
    for (args, needle) in [
        (vec!["--uri", "http://x:1"], "is not tcp://HOST:PORT"),
        (vec!["--uri", "tcp://127.0.0.1"], "has no port"),
        (vec!["--model", "/nonexistent.onnx"], "/nonexistent.onnx"),
        (vec!["--max-clients", "0"], "max-clients"),
    ] {
        let out = Command::new(BIN).arg("serve").args(&args).output().unwrap();
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

/// Resident memory of a process, in KiB (Linux).
#[cfg(target_os = "linux")]
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Ten minutes of 48 kHz stereo streamed into one connection (resampled, down-mixed,
/// detected): the server's memory after 1 minute and after 10 is the same, give or take.
/// No Python needed: a raw client.
#[cfg(target_os = "linux")]
#[test]
fn a_long_stream_holds_memory_constant() {
    let model = energy();
    let server = Server::start("tcp://127.0.0.1:0", &["--model", model.to_str().unwrap()]);
    let mut c = Raw::connect(server.port());
    let format = json!({"rate": 48000, "width": 2, "channels": 2});
    c.send(&header(json!({"type": "audio-start", "data": format})));
    let mut state = 1u32;
    let tenth: Vec<u8> = (0..4800 * 2)
        .flat_map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            ((state >> 16) as i16 / 256).to_le_bytes()
        })
        .collect();
    let chunk = [
        header(json!({"type": "audio-chunk", "data": format, "payload_length": tenth.len()})),
        tenth,
    ]
    .concat();
    let stream_seconds = |c: &mut Raw, seconds: usize| {
        for _ in 0..seconds * 10 {
            c.send(&chunk);
        }
        c.send(&header(json!({"type": "ping", "data": {"text": "sync"}})));
        let (kind, _) = c.reply().unwrap();
        assert_eq!(kind, "pong");
    };
    stream_seconds(&mut c, 60);
    let after_1_min = rss_kib(server.child.id());
    stream_seconds(&mut c, 540);
    let after_10_min = rss_kib(server.child.id());
    c.send(&header(json!({"type": "audio-stop"})));
    assert_eq!(c.reply().unwrap().0, "not-detected");
    eprintln!("server RSS: {after_1_min} KiB after 1 min, {after_10_min} KiB after 10 min");
    assert!(
        after_10_min < after_1_min + 1024,
        "memory grew from {after_1_min} to {after_10_min} KiB"
    );
}
