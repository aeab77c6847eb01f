//! One client's conversation: Wyoming events in, reply events out. No sockets here, so the
//! whole state machine is testable on plain values.
//!
//! A client may `describe`, choose wake words with `detect`, then stream `audio-start`,
//! `audio-chunk`... `audio-stop`, as often as it likes on one connection. Detections are
//! sent as they happen; `not-detected` answers an `audio-stop` when nothing fired in that
//! stream. Events that are well framed but wrong (unknown type, audio outside a stream, a
//! bad audio format, unknown wake-word names) get an `error` event and the connection stays
//! usable.

use super::protocol::Event;
use hushword::audio::{PcmConverter, PcmFormat, TARGET_SAMPLE_RATE};
use hushword::detector::{Detection, Detector, DetectorConfig};
use hushword::model::WakeWordModel;
use serde_json::{json, Map, Value};

/// Payload bytes converted and pushed at a time, so the f32 scratch stays small whatever
/// the chunk size.
const PUSH_BYTES: usize = 8192;

/// What every client shares: the model bytes, the detector settings and the `info` reply.
pub struct Shared {
    /// (name used in errors, ONNX bytes) of each model; every client loads its own copy
    /// because a model carries streaming state.
    pub models: Vec<(String, Vec<u8>)>,
    pub config: DetectorConfig,
    /// Every keyword of every model: the wake-word names a client may select.
    pub keywords: Vec<String>,
    /// The `info` event's data.
    pub info: Value,
}

/// An event to send: type and data.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub kind: &'static str,
    pub data: Value,
}

impl Reply {
    pub fn error(code: &str, text: String) -> Self {
        Self {
            kind: "error",
            data: json!({ "text": text, "code": code }),
        }
    }
}

/// An audio stream between `audio-start` and `audio-stop`.
struct Stream {
    converter: PcmConverter,
    detected: bool,
}

/// One connection's state.
pub struct Session<'a> {
    shared: &'a Shared,
    /// Loaded at the first `audio-start`, then reset for every stream.
    detector: Option<Detector>,
    /// Wake words chosen by the last `detect` (None: all).
    selected: Option<Vec<String>>,
    /// The last `detect`'s context, echoed in `detection` and `not-detected`.
    context: Option<Value>,
    stream: Option<Stream>,
    samples: Vec<f32>,
    detections: Vec<Detection>,
}

impl<'a> Session<'a> {
    pub fn new(shared: &'a Shared) -> Self {
        Self {
            shared,
            detector: None,
            selected: None,
            context: None,
            stream: None,
            samples: Vec::new(),
            detections: Vec::new(),
        }
    }

    /// Handles one event, appending the replies to `out` in order.
    pub fn handle(&mut self, event: &Event, out: &mut Vec<Reply>) {
        match event.kind.as_str() {
            "describe" => out.push(Reply {
                kind: "info",
                data: self.shared.info.clone(),
            }),
            "detect" => self.detect(&event.data, out),
            "audio-start" => self.audio_start(&event.data, out),
            "audio-chunk" => self.audio_chunk(event, out),
            "audio-stop" => self.audio_stop(out),
            "ping" => out.push(Reply {
                kind: "pong",
                data: json!({ "text": event.data.get("text").cloned().unwrap_or(Value::Null) }),
            }),
            "select-program" => match event.data.get("name").and_then(Value::as_str) {
                Some(super::PROGRAM_NAME) => {}
                other => out.push(Reply::error(
                    "unknown-program",
                    format!(
                        "select-program: no program {}; this server has `{}`",
                        other.map_or("(no name)".to_string(), |n| format!("`{n}`")),
                        super::PROGRAM_NAME
                    ),
                )),
            },
            other => out.push(Reply::error(
                "unknown-event",
                format!("unknown event type `{other}`; ignored"),
            )),
        }
    }

    fn detect(&mut self, data: &Map<String, Value>, out: &mut Vec<Reply>) {
        let names = match data.get("names") {
            None | Some(Value::Null) => None,
            Some(Value::Array(names)) => {
                let names: Option<Vec<String>> = names
                    .iter()
                    .map(|n| n.as_str().map(str::to_string))
                    .collect();
                match names {
                    Some(names) => Some(names),
                    None => {
                        out.push(Reply::error(
                            "bad-event",
                            "detect: `names` must be a list of strings".into(),
                        ));
                        return;
                    }
                }
            }
            Some(other) => {
                out.push(Reply::error(
                    "bad-event",
                    format!("detect: `names` must be a list of strings, not {other}"),
                ));
                return;
            }
        };
        if let Some(names) = &names {
            let unknown: Vec<&str> = names
                .iter()
                .filter(|n| !self.shared.keywords.contains(n))
                .map(String::as_str)
                .collect();
            if !unknown.is_empty() {
                out.push(Reply::error(
                    "unknown-wake-word",
                    format!(
                        "detect: no wake word {}; this server has {}; the previous choice stays",
                        unknown.join(", "),
                        self.shared.keywords.join(", ")
                    ),
                ));
                return;
            }
        }
        self.selected = names.filter(|n| !n.is_empty());
        self.context = data.get("context").filter(|c| !c.is_null()).cloned();
    }

    fn audio_start(&mut self, data: &Map<String, Value>, out: &mut Vec<Reply>) {
        let converter =
            match pcm_format(data).and_then(|f| PcmConverter::new(f).map_err(|e| e.to_string())) {
                Ok(c) => c,
                Err(e) => {
                    self.stream = None;
                    out.push(Reply::error("bad-audio", format!("audio-start: {e}")));
                    return;
                }
            };
        match &mut self.detector {
            Some(detector) => detector.reset(),
            None => match load_detector(self.shared) {
                Ok(detector) => self.detector = Some(detector),
                Err(e) => {
                    out.push(Reply::error("engine", format!("audio-start: {e}")));
                    return;
                }
            },
        }
        self.stream = Some(Stream {
            converter,
            detected: false,
        });
    }

    fn audio_chunk(&mut self, event: &Event, out: &mut Vec<Reply>) {
        let Some(stream) = &mut self.stream else {
            out.push(Reply::error(
                "not-streaming",
                "audio-chunk before audio-start; ignored".into(),
            ));
            return;
        };
        let format = match pcm_format(&event.data) {
            Ok(f) => f,
            Err(e) => {
                out.push(Reply::error(
                    "bad-audio",
                    format!("audio-chunk: {e}; ignored"),
                ));
                return;
            }
        };
        if format != stream.converter.format() {
            // A format change mid-stream: end the old conversion, start one for the new format.
            let converter = match PcmConverter::new(format) {
                Ok(c) => c,
                Err(e) => {
                    out.push(Reply::error(
                        "bad-audio",
                        format!("audio-chunk: {e}; ignored"),
                    ));
                    return;
                }
            };
            self.samples.clear();
            let finished = stream.converter.finish(&mut self.samples);
            stream.converter = converter;
            if let Err(e) = finished {
                out.push(Reply::error("bad-audio", format!("audio-chunk: {e}")));
            }
            self.push_samples(out);
        }
        for piece in event.payload.chunks(PUSH_BYTES) {
            self.samples.clear();
            let Some(stream) = &mut self.stream else {
                return;
            };
            if let Err(e) = stream.converter.push(piece, &mut self.samples) {
                out.push(Reply::error("bad-audio", format!("audio-chunk: {e}")));
                return;
            }
            self.push_samples(out);
        }
    }

    fn audio_stop(&mut self, out: &mut Vec<Reply>) {
        let Some(stream) = &mut self.stream else {
            out.push(Reply::error(
                "not-streaming",
                "audio-stop without audio-start; ignored".into(),
            ));
            return;
        };
        self.samples.clear();
        if let Err(e) = stream.converter.finish(&mut self.samples) {
            out.push(Reply::error("bad-audio", format!("audio-stop: {e}")));
        }
        self.push_samples(out);
        if self.stream.take().is_some_and(|s| !s.detected) {
            out.push(Reply {
                kind: "not-detected",
                data: self.with_context(json!({})),
            });
        }
    }

    /// Feeds `self.samples` to the detector and replies with the selected detections.
    fn push_samples(&mut self, out: &mut Vec<Reply>) {
        let (Some(detector), Some(stream)) = (&mut self.detector, &mut self.stream) else {
            return;
        };
        self.detections.clear();
        if let Err(e) = detector.push_f32(&self.samples, &mut self.detections) {
            out.push(Reply::error("engine", e.to_string()));
        }
        let selected = self.selected.as_ref();
        for d in self.detections.drain(..) {
            if selected.is_some_and(|names| !names.contains(&d.keyword)) {
                continue;
            }
            stream.detected = true;
            let data = json!({
                "name": d.keyword,
                "timestamp": d.position * 1000 / u64::from(TARGET_SAMPLE_RATE),
                "speaker": Value::Null,
            });
            out.push(Reply {
                kind: "detection",
                data: match &self.context {
                    Some(c) => with_context(data, c),
                    None => data,
                },
            });
        }
    }

    fn with_context(&self, data: Value) -> Value {
        match &self.context {
            Some(c) => with_context(data, c),
            None => data,
        }
    }
}

fn with_context(mut data: Value, context: &Value) -> Value {
    data["context"] = context.clone();
    data
}

/// `rate`, `width`, `channels` of an audio event.
fn pcm_format(data: &Map<String, Value>) -> Result<PcmFormat, String> {
    let field = |name: &str| -> Result<u64, String> {
        match data.get(name) {
            Some(v) => v
                .as_u64()
                .ok_or_else(|| format!("`{name}` {v} is not a whole number")),
            None => Err(format!("`{name}` is missing")),
        }
    };
    let narrow = |name: &str, v: u64| -> Result<u32, String> {
        u32::try_from(v).map_err(|_| format!("`{name}` {v} is out of range"))
    };
    Ok(PcmFormat {
        rate: narrow("rate", field("rate")?)?,
        width: u16::try_from(field("width")?).unwrap_or(u16::MAX),
        channels: u16::try_from(field("channels")?).unwrap_or(u16::MAX),
    })
}

fn load_detector(shared: &Shared) -> Result<Detector, String> {
    let models = shared
        .models
        .iter()
        .map(|(name, bytes)| WakeWordModel::from_bytes(bytes, name).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    Detector::new(models, shared.config.clone()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENERGY: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/models/energy.onnx"
    ));

    fn shared() -> Shared {
        Shared {
            models: vec![("energy".into(), ENERGY.to_vec())],
            config: DetectorConfig {
                pre_roll_ms: 0,
                ..DetectorConfig::default()
            },
            keywords: vec!["beep".into()],
            info: json!({"wake": []}),
        }
    }

    fn event(kind: &str, data: Value, payload: Vec<u8>) -> Event {
        let Value::Object(data) = data else { panic!() };
        Event {
            kind: kind.into(),
            data,
            payload,
        }
    }

    fn pcm16(samples: &[f32]) -> Vec<u8> {
        samples
            .iter()
            .flat_map(|s| ((s * 32767.0) as i16).to_le_bytes())
            .collect()
    }

    fn tone(n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| if (i / 18) % 2 == 0 { 0.5 } else { -0.5 })
            .collect()
    }

    fn run(session: &mut Session, events: &[Event]) -> Vec<Reply> {
        let mut out = Vec::new();
        for e in events {
            session.handle(e, &mut out);
        }
        out
    }

    fn stream(audio: &[f32], names: Value) -> Vec<Event> {
        let format = json!({"rate": 16000, "width": 2, "channels": 1});
        let mut events = vec![
            event("detect", json!({ "names": names }), vec![]),
            event("audio-start", format.clone(), vec![]),
        ];
        for chunk in pcm16(audio).chunks(2048) {
            events.push(event("audio-chunk", format.clone(), chunk.to_vec()));
        }
        events.push(event("audio-stop", json!({}), vec![]));
        events
    }

    #[test]
    fn a_tone_is_detected_silence_is_not_and_names_filter() {
        let shared = shared();
        let mut session = Session::new(&shared);
        let mut audio = vec![0.0; 8000];
        audio.extend(tone(8000));
        let replies = run(&mut session, &stream(&audio, Value::Null));
        assert_eq!(replies.len(), 1, "{replies:?}");
        assert_eq!(replies[0].kind, "detection");
        assert_eq!(replies[0].data["name"], "beep");
        let ms = replies[0].data["timestamp"].as_u64().unwrap();
        assert!((500..1000).contains(&ms), "{ms}");

        // Same connection, a new stream: state was reset, silence gives not-detected.
        let replies = run(&mut session, &stream(&vec![0.0; 16000], json!(["beep"])));
        assert_eq!(
            replies,
            [Reply {
                kind: "not-detected",
                data: json!({})
            }]
        );

        let replies = run(&mut session, &stream(&audio, json!(["nope"])));
        assert_eq!(replies[0].kind, "error");
        assert_eq!(replies[0].data["code"], "unknown-wake-word");
        assert_eq!(replies[1].kind, "detection");
    }

    #[test]
    fn misplaced_and_unknown_events_get_errors_and_the_session_goes_on() {
        let shared = shared();
        let mut session = Session::new(&shared);
        let format = json!({"rate": 16000, "width": 2, "channels": 1});
        let replies = run(
            &mut session,
            &[
                event("audio-chunk", format.clone(), vec![0; 4]),
                event("audio-stop", json!({}), vec![]),
                event("frobnicate", json!({}), vec![]),
                event(
                    "audio-start",
                    json!({"rate": 0, "width": 2, "channels": 1}),
                    vec![],
                ),
                event("audio-start", json!({"rate": 16000, "width": "2"}), vec![]),
                event("ping", json!({"text": "hi"}), vec![]),
            ],
        );
        let codes: Vec<&str> = replies
            .iter()
            .map(|r| r.data["code"].as_str().unwrap_or(r.kind))
            .collect();
        assert_eq!(
            codes,
            [
                "not-streaming",
                "not-streaming",
                "unknown-event",
                "bad-audio",
                "bad-audio",
                "pong"
            ]
        );
        assert!(replies[3].data["text"]
            .as_str()
            .unwrap()
            .contains("rate 0 Hz"));
    }
}
