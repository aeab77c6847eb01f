//! `hushword serve`: a Wyoming wake-word service (the protocol Home Assistant's voice
//! pipelines use), over TCP or a unix socket.
//!
//! One std thread per client, up to `--max-clients`; the accept loop polls a non-blocking
//! listener so that SIGINT/SIGTERM stop it within [`POLL`]. On shutdown every client
//! connection is shut down (which wakes its blocked thread) and the threads are joined. A
//! client's memory is bounded: protocol buffers by the limits in [`protocol`], audio by the
//! converter's fixed blocks and the detector's fixed rings (no pre-roll is kept: Wyoming
//! has no use for it). A client that sends something wrong gets an `error` event; when the
//! framing is lost (bad header, short or oversized payload) its connection is closed. Nothing
//! a client does reaches another client's thread or the accept loop.

mod net;
mod protocol;
mod session;

use super::common::{detector_config, parse_threshold};
use super::default_model;
use clap::Args;
use hushword::detector::DetectorConfig;
use hushword::model::WakeWordModel;
use net::{Conn, Endpoint, Listener};
use protocol::ReadError;
use serde_json::{json, Value};
use session::{Reply, Session, Shared};
use std::collections::HashMap;
use std::io::{BufReader, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// The one wake program this server offers, as `info` names it.
pub const PROGRAM_NAME: &str = "hushword";

/// How often the accept loop checks for a stop signal.
const POLL: Duration = Duration::from_millis(50);

/// A client that does not read its replies for this long is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Bytes read from a socket at a time.
const READ_BUFFER: usize = 8192;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Where to listen: tcp://HOST:PORT (port 0: any free port) or unix://PATH.
    #[arg(long, value_name = "URI", default_value = "tcp://127.0.0.1:10400", value_parser = net::parse_uri)]
    uri: Endpoint,
    /// ONNX model with hushword metadata (repeat for several; default: the embedded model).
    #[arg(long = "model", value_name = "PATH")]
    models: Vec<PathBuf>,
    /// Detection threshold for every keyword, overriding the models' recommendations.
    #[arg(long, value_name = "T", value_parser = parse_threshold)]
    threshold: Option<f32>,
    /// Language the wake words are announced with in `info` (repeat for several); model
    /// files do not record one, and the shipped models are English.
    #[arg(long = "language", value_name = "CODE", default_value = "en")]
    languages: Vec<String>,
    /// Most clients served at once; more are refused with an error event.
    #[arg(long, value_name = "N", default_value = "32", value_parser = clap::value_parser!(u32).range(1..=4096))]
    max_clients: u32,
    /// Close a connection that sends nothing for this many seconds (0: never).
    #[arg(long, value_name = "S", default_value = "600")]
    idle_timeout_s: u64,
}

pub fn run(args: ServeArgs) -> Result<ExitCode, String> {
    let shared = Arc::new(shared_state(&args)?);
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst))
            .map_err(|e| format!("cannot install the SIGINT/SIGTERM handler: {e}"))?;
    }
    let listener = Listener::bind(&args.uri)?;
    log(&format!(
        "listening on {} (wake words: {})",
        listener.uri(),
        shared.keywords.join(", ")
    ));
    let idle = (args.idle_timeout_s > 0).then(|| Duration::from_secs(args.idle_timeout_s));
    let clients = Clients::default();
    let mut threads: Vec<JoinHandle<()>> = Vec::new();
    let mut next_id = 0u64;
    while !stop.load(Ordering::SeqCst) {
        threads.retain(|t| !t.is_finished());
        let (conn, peer) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(POLL);
                continue;
            }
            Err(e) => {
                // e.g. out of file descriptors: keep serving the clients we have.
                log(&format!("accept failed: {e}"));
                std::thread::sleep(POLL);
                continue;
            }
        };
        next_id += 1;
        let id = next_id;
        if clients.len() >= args.max_clients as usize {
            refuse(conn, &peer, args.max_clients);
            continue;
        }
        match spawn_client(id, conn, &peer, &shared, &clients, idle) {
            Ok(thread) => threads.push(thread),
            Err(e) => log(&format!("client {id} ({peer}): cannot start a thread: {e}")),
        }
    }
    log(&format!(
        "stopping: closing {} client connection(s)",
        clients.len()
    ));
    clients.shut_all();
    for thread in threads {
        let _ = thread.join();
    }
    drop(listener);
    log("stopped");
    Ok(ExitCode::SUCCESS)
}

/// Loads and checks the models once, and prepares what every client shares.
fn shared_state(args: &ServeArgs) -> Result<Shared, String> {
    let sources: Vec<(String, Vec<u8>, bool)> = if args.models.is_empty() {
        vec![(
            default_model::DEFAULT_MODEL_NAME.to_string(),
            default_model::bytes()?.to_vec(),
            true,
        )]
    } else {
        args.models
            .iter()
            .map(|p| {
                std::fs::read(p)
                    .map(|bytes| (p.display().to_string(), bytes, false))
                    .map_err(|e| format!("{}: cannot read: {e}", p.display()))
            })
            .collect::<Result<_, _>>()?
    };
    // Load every model once here, so a bad file or an incompatible set fails at startup
    // with the engine's message, not in a client's thread.
    let models = sources
        .iter()
        .map(|(name, bytes, _)| WakeWordModel::from_bytes(bytes, name).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let config = DetectorConfig {
        pre_roll_ms: 0,
        ..detector_config(&models, args.threshold)
    };
    let detector = hushword::Detector::new(models, config.clone()).map_err(|e| e.to_string())?;
    let mut keywords = Vec::new();
    let mut wake_models = Vec::new();
    for (model, (_, bytes, embedded)) in detector.models().zip(&sources) {
        for keyword in &model.metadata().keywords {
            keywords.push(keyword.clone());
            let threshold = detector
                .threshold(keyword)
                .unwrap_or(model.metadata().threshold);
            wake_models.push(wake_model(
                model,
                keyword,
                threshold,
                bytes,
                *embedded,
                &args.languages,
            ));
        }
    }
    let info = json!({
        "asr": [], "tts": [], "handle": [], "intent": [], "mic": [], "snd": [],
        "wake": [{
            "name": PROGRAM_NAME,
            "attribution": project_attribution(),
            "installed": true,
            "description": "hushword: privacy-first on-device wake-word engine",
            "version": env!("CARGO_PKG_VERSION"),
            "models": wake_models,
        }],
    });
    Ok(Shared {
        models: sources.into_iter().map(|(n, b, _)| (n, b)).collect(),
        config,
        keywords,
        info,
    })
}

/// Who made hushword and under which license.
fn project_attribution() -> Value {
    json!({
        "name": format!("hushword ({})", env!("CARGO_PKG_LICENSE")),
        "url": env!("CARGO_PKG_REPOSITORY"),
    })
}

/// One `info` wake model: a keyword of a model file.
fn wake_model(
    model: &WakeWordModel,
    keyword: &str,
    threshold: f32,
    bytes: &[u8],
    embedded: bool,
    languages: &[String],
) -> Value {
    let (attribution, version) = if embedded {
        (project_attribution(), env!("CARGO_PKG_VERSION").to_string())
    } else {
        (
            json!({ "name": model.name(), "url": "" }),
            format!("fnv1a64:{:016x}", fnv1a64(bytes)),
        )
    };
    json!({
        "name": keyword,
        "attribution": attribution,
        "installed": true,
        "description": format!("`{keyword}` from {} (threshold {threshold})", model.name()),
        "version": version,
        "languages": languages,
        "phrase": keyword.replace('_', " "),
    })
}

/// A content hash that tells two model files apart in `info` (not a security measure).
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The connections being served, kept so that shutdown can wake their threads.
#[derive(Default, Clone)]
struct Clients(Arc<Mutex<HashMap<u64, Conn>>>);

impl Clients {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Conn>> {
        // A panicking client thread cannot leave the map inconsistent: recover it.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn len(&self) -> usize {
        self.lock().len()
    }

    fn shut_all(&self) {
        self.lock().values().for_each(Conn::shutdown);
    }
}

fn refuse(mut conn: Conn, peer: &str, max: u32) {
    let text = format!("server busy: {max} clients connected (--max-clients); try again later");
    log(&format!("refused {peer}: {text}"));
    let _ = conn.set_timeouts(None, Duration::from_secs(1));
    let _ = protocol::write_event(&mut conn, "error", &json!({ "text": text, "code": "busy" }));
    conn.shutdown();
}

fn spawn_client(
    id: u64,
    conn: Conn,
    peer: &str,
    shared: &Arc<Shared>,
    clients: &Clients,
    idle: Option<Duration>,
) -> std::io::Result<JoinHandle<()>> {
    conn.set_timeouts(idle, WRITE_TIMEOUT)?;
    clients.lock().insert(id, conn.try_clone()?);
    let (shared, registry, peer) = (Arc::clone(shared), clients.clone(), peer.to_string());
    log(&format!("client {id} ({peer}) connected"));
    let spawned = std::thread::Builder::new()
        .name(format!("client-{id}"))
        .spawn(move || {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                serve_client(id, conn, &shared, idle)
            }))
            .unwrap_or_else(|_| "internal error (a bug: please report it)".to_string());
            registry.lock().remove(&id);
            log(&format!("client {id} ({peer}) closed: {outcome}"));
        });
    if spawned.is_err() {
        clients.lock().remove(&id);
    }
    spawned
}

/// Serves one connection until it ends; returns why it ended.
fn serve_client(id: u64, conn: Conn, shared: &Shared, idle: Option<Duration>) -> String {
    let mut writer = match conn.try_clone() {
        Ok(w) => w,
        Err(e) => return format!("cannot use the connection: {e}"),
    };
    let mut reader = BufReader::with_capacity(READ_BUFFER, conn);
    let mut session = Session::new(shared);
    let mut replies = Vec::new();
    loop {
        let event = match protocol::read_event(&mut reader) {
            Ok(event) => event,
            Err(ReadError::Closed) => return "disconnected".to_string(),
            Err(ReadError::Io(e)) if is_timeout(&e) => {
                let secs = idle.map_or(0, |d| d.as_secs());
                return format!("idle for {secs} s (--idle-timeout-s)");
            }
            Err(ReadError::Io(e)) => return format!("read failed: {e}"),
            Err(ReadError::Protocol(text)) => {
                let reply = Reply::error("bad-event", format!("{text}; closing the connection"));
                let _ = protocol::write_event(&mut writer, reply.kind, &reply.data);
                return format!("bad input: {text}");
            }
        };
        session.handle(&event, &mut replies);
        for reply in replies.drain(..) {
            if reply.kind == "detection" {
                log(&format!("client {id}: detection {}", reply.data));
            }
            if let Err(e) = protocol::write_event(&mut writer, reply.kind, &reply.data) {
                return format!("write failed: {e}");
            }
        }
    }
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

/// One `hushword serve: ...` line on stderr (a closed stderr is ignored, not fatal).
fn log(message: &str) {
    let _ = writeln!(std::io::stderr(), "hushword serve: {message}");
}
