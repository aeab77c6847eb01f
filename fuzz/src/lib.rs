//! Shared input types and oracles of the fuzz targets (kept out of the targets so each target
//! file says only what it feeds where).

use arbitrary::Arbitrary;
use hushword::{Detection, Detector, DetectorConfig, WakeWordModel};
use prost::Message;
use serde_json::{Map, Number, Value};
use std::sync::OnceLock;
use tract_onnx::pb::ModelProto;

/// The fixture model the detector target runs (fires on loud, tonal audio; cheap to run).
const ENERGY: &[u8] = include_bytes!("../../tests/fixtures/models/energy.onnx");

/// The shipped default model whose metadata the `model_metadata` target mutates.
const ALEXA: &[u8] = include_bytes!("../../models/alexa.onnx");

/// Most samples one detector input may stream (keeps executions fast: 10 s of audio).
const MAX_SAMPLES_PER_INPUT: usize = 160_000;

/// Replaces libFuzzer's panic hook (which aborts on every panic, even one the library catches)
/// with a silent one, once. `WakeWordModel::from_bytes` turns a panic inside tract into an
/// error; a panic that escapes the library still aborts the run, because `fuzz_target!` wraps
/// each input in `catch_unwind` and aborts when it unwinds.
pub fn quiet_caught_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| std::panic::set_hook(Box::new(|_| {})));
}

/// Drives a model that loaded: one zero window, then a detector over one second of a tone.
pub fn exercise_model(mut model: WakeWordModel) {
    let mut window = vec![0.0; model.window_len()];
    let mut scores = vec![0.0; model.n_keywords()];
    model
        .evaluate(&window, &mut scores)
        .expect("a loaded model evaluates a zero window");
    window.fill(1.0);
    assert!(model.evaluate(&window[1..], &mut scores).is_err());
    let Ok(mut detector) = Detector::new(vec![model], DetectorConfig::default()) else {
        return;
    };
    let tone: Vec<f32> = (0..16_000).map(|i| square(i, 18, 0.5)).collect();
    let mut events = Vec::new();
    detector
        .push_f32(&tone, &mut events)
        .expect("finite audio is accepted");
    assert_eq!(detector.samples_seen(), 16_000);
}

/// One square-wave sample: `amplitude` for `half_period` samples, then `-amplitude`.
fn square(i: usize, half_period: usize, amplitude: f32) -> f32 {
    if (i / half_period.max(1)) % 2 == 0 {
        amplitude
    } else {
        -amplitude
    }
}

/// How to change the shipped model's metadata.
#[derive(Arbitrary, Debug)]
pub enum MetadataEdits {
    /// Field-level edits of the real JSON (stays close to valid, reaching deep checks).
    Fields(Vec<FieldEdit>),
    /// The whole metadata value replaced by arbitrary text.
    RawText(String),
}

/// Set or remove one field of the metadata or of its `frontend` object.
#[derive(Arbitrary, Debug)]
pub struct FieldEdit {
    /// Which object: the top level or `frontend`.
    in_frontend: bool,
    /// Index into that object's existing keys (modulo their number), or a new key.
    key: KeyChoice,
    /// `None` removes the field.
    value: Option<JsonScalar>,
}

/// An existing key by index, or an arbitrary new one.
#[derive(Arbitrary, Debug)]
pub enum KeyChoice {
    Existing(u8),
    New(String),
}

/// A JSON value, biased towards what metadata fields hold.
#[derive(Arbitrary, Debug)]
pub enum JsonScalar {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Text(String),
    Texts(Vec<String>),
    Numbers(Vec<f64>),
    EmptyObject,
}

impl JsonScalar {
    fn to_value(&self) -> Value {
        let float = |f: f64| Number::from_f64(f).map_or(Value::Null, Value::Number);
        match self {
            Self::Null => Value::Null,
            Self::Bool(b) => Value::Bool(*b),
            Self::Int(i) => Value::from(*i),
            Self::UInt(u) => Value::from(*u),
            Self::Float(f) => float(*f),
            Self::Text(s) => Value::from(s.as_str()),
            Self::Texts(v) => Value::from(v.clone()),
            Self::Numbers(v) => Value::Array(v.iter().map(|&f| float(f)).collect()),
            Self::EmptyObject => Value::Object(Map::new()),
        }
    }
}

/// The decoded shipped model and its metadata JSON, parsed once.
fn shipped() -> &'static (ModelProto, Value) {
    static SHIPPED: OnceLock<(ModelProto, Value)> = OnceLock::new();
    SHIPPED.get_or_init(|| {
        let proto = ModelProto::decode(ALEXA).expect("the shipped model decodes");
        let json = proto
            .metadata_props
            .iter()
            .find(|p| p.key == hushword::model::METADATA_KEY)
            .expect("the shipped model has metadata")
            .value
            .clone();
        (
            proto,
            serde_json::from_str(&json).expect("shipped metadata is JSON"),
        )
    })
}

/// The shipped model's ONNX bytes with its metadata changed by `edits`.
pub fn shipped_model_with(edits: &MetadataEdits) -> Vec<u8> {
    let (proto, metadata) = shipped();
    let text = match edits {
        MetadataEdits::RawText(text) => text.clone(),
        MetadataEdits::Fields(fields) => {
            let mut metadata = metadata.clone();
            fields.iter().for_each(|edit| apply(edit, &mut metadata));
            metadata.to_string()
        }
    };
    let mut proto = proto.clone();
    for entry in &mut proto.metadata_props {
        if entry.key == hushword::model::METADATA_KEY {
            entry.value = text.clone();
        }
    }
    proto.encode_to_vec()
}

fn apply(edit: &FieldEdit, metadata: &mut Value) {
    let Some(top) = metadata.as_object_mut() else {
        return;
    };
    let object = if edit.in_frontend {
        match top.get_mut("frontend").and_then(Value::as_object_mut) {
            Some(frontend) => frontend,
            None => return,
        }
    } else {
        top
    };
    let key = match &edit.key {
        KeyChoice::New(key) => key.clone(),
        KeyChoice::Existing(_) if object.is_empty() => return,
        KeyChoice::Existing(i) => object
            .keys()
            .nth(usize::from(*i) % object.len())
            .cloned()
            .unwrap_or_default(),
    };
    match &edit.value {
        Some(value) => {
            object.insert(key, value.to_value());
        }
        None => {
            object.remove(&key);
        }
    }
}

/// A detector config and a stream of operations on it.
#[derive(Arbitrary, Debug)]
pub struct DetectorScript {
    pre_roll_ms: u16,
    post_roll_ms: u16,
    smoothing: u8,
    refractory_ms: u16,
    threshold: Option<f32>,
    ops: Vec<Op>,
}

/// One call on the detector.
#[derive(Arbitrary, Debug)]
pub enum Op {
    F32(Vec<f32>),
    I16(Vec<i16>),
    /// `count` copies of one value (silence, DC, clipping, a NaN burst), in chunks of `chunk`.
    Fill {
        value: Fill,
        count: u16,
        chunk: u16,
    },
    /// A square wave (the fixture model fires on loud ones), in chunks of `chunk`.
    Square {
        amplitude: i16,
        half_period: u8,
        count: u16,
        chunk: u16,
    },
    Reset,
    DrainPostRoll,
}

/// The value of a [`Op::Fill`].
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Fill {
    Float(f32),
    Pcm(i16),
    Nan,
    PlusInfinity,
    MinusInfinity,
}

/// The stream as accepted since the last reset, and what the detector said about it.
struct Segment {
    samples: Vec<f32>,
    events: Vec<Detection>,
}

/// Runs `script` and checks, after every operation: positions are exact (non-finite f32
/// chunks are refused and consume nothing), memory stays constant, each detection's pre-roll
/// is exactly the preceding accepted audio; and at every reset and at the end, that the
/// detections equal those of a second detector fed the same audio in one chunk.
pub fn run_detector_script(script: &DetectorScript) {
    let config = DetectorConfig {
        pre_roll_ms: u32::from(script.pre_roll_ms),
        post_roll_ms: u32::from(script.post_roll_ms),
        smoothing: usize::from(script.smoothing),
        refractory_ms: u32::from(script.refractory_ms),
        thresholds: script
            .threshold
            .map(|t| vec![("beep".to_string(), t)])
            .unwrap_or_default(),
    };
    let load = || WakeWordModel::from_bytes(ENERGY, "energy").expect("fixture loads");
    let Ok(mut detector) = Detector::new(vec![load()], config.clone()) else {
        return;
    };
    let mut reference = Detector::new(vec![load()], config.clone()).expect("same config");
    let memory = detector.memory_bytes();
    let mut segment = Segment {
        samples: Vec::new(),
        events: Vec::new(),
    };
    let mut streamed = 0usize;
    for op in &script.ops {
        if streamed > MAX_SAMPLES_PER_INPUT {
            break;
        }
        streamed += apply_op(op, &mut detector, &mut segment);
        if matches!(op, Op::Reset) {
            compare_with_one_chunk(&segment, &mut reference);
            detector.reset();
            segment.samples.clear();
            segment.events.clear();
        }
        assert_eq!(detector.samples_seen(), segment.samples.len() as u64);
        assert_eq!(detector.memory_bytes(), memory, "memory changed");
        check_events(&segment, &detector);
    }
    compare_with_one_chunk(&segment, &mut reference);
}

/// Applies one operation (but not the reset itself); returns samples offered.
fn apply_op(op: &Op, detector: &mut Detector, segment: &mut Segment) -> usize {
    match op {
        Op::F32(samples) => push_f32(detector, samples, segment),
        Op::I16(samples) => push_i16(detector, samples, segment),
        Op::Fill {
            value,
            count,
            chunk,
        } => {
            let count = usize::from(*count);
            let chunk = usize::from(*chunk).max(1);
            match *value {
                Fill::Pcm(v) => {
                    let pcm = vec![v; count];
                    pcm.chunks(chunk)
                        .for_each(|c| _ = push_i16(detector, c, segment));
                }
                other => {
                    let v = match other {
                        Fill::Float(v) => v,
                        Fill::Nan => f32::NAN,
                        Fill::PlusInfinity => f32::INFINITY,
                        _ => f32::NEG_INFINITY,
                    };
                    let samples = vec![v; count];
                    samples
                        .chunks(chunk)
                        .for_each(|c| _ = push_f32(detector, c, segment));
                }
            }
            count
        }
        Op::Square {
            amplitude,
            half_period,
            count,
            chunk,
        } => {
            let amplitude = f32::from(*amplitude) / 32768.0;
            let samples: Vec<f32> = (0..usize::from(*count))
                .map(|i| square(i, usize::from(*half_period), amplitude))
                .collect();
            for c in samples.chunks(usize::from(*chunk).max(1)) {
                push_f32(detector, c, segment);
            }
            samples.len()
        }
        Op::Reset => 0,
        Op::DrainPostRoll => {
            let mut post = Vec::new();
            let n = detector.drain_post_roll(&mut post);
            assert_eq!(n, post.len());
            let limit = u64::from(detector.config().post_roll_ms) * 16;
            assert!(
                n as u64 <= limit,
                "post-roll {n} exceeds its capacity {limit}"
            );
            0
        }
    }
}

fn push_f32(detector: &mut Detector, samples: &[f32], segment: &mut Segment) -> usize {
    let before = detector.samples_seen();
    let result = detector.push_f32(samples, &mut segment.events);
    if samples.iter().all(|s| s.is_finite()) {
        result.expect("finite audio is accepted");
        segment.samples.extend_from_slice(samples);
    } else {
        assert!(result.is_err(), "non-finite audio must be refused");
        assert_eq!(
            detector.samples_seen(),
            before,
            "a refused chunk consumed samples"
        );
    }
    samples.len()
}

fn push_i16(detector: &mut Detector, samples: &[i16], segment: &mut Segment) -> usize {
    detector.push_i16(samples, &mut segment.events);
    segment
        .samples
        .extend(samples.iter().map(|&s| f32::from(s) / 32768.0));
    samples.len()
}

/// Every detection's position is in the stream, its pre-roll exactly the audio before it,
/// and the same keyword never fires within the refractory period.
fn check_events(segment: &Segment, detector: &Detector) {
    let refractory = detector.refractory_samples();
    let mut last: Option<u64> = None;
    for event in &segment.events {
        let position = usize::try_from(event.position).expect("position fits");
        assert!(position <= segment.samples.len());
        let want = detector.pre_roll_samples().min(position);
        assert_eq!(event.pre_roll.len(), want, "pre-roll length");
        let expected = &segment.samples[position - want..position];
        assert!(
            event
                .pre_roll
                .iter()
                .zip(expected)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "pre-roll is not the audio before the trigger"
        );
        if let Some(last) = last {
            assert!(
                event.position >= last + refractory.max(1),
                "refractory violated"
            );
        }
        last = Some(event.position);
    }
}

/// The same audio in one chunk gives bit-identical detections.
fn compare_with_one_chunk(segment: &Segment, reference: &mut Detector) {
    reference.reset();
    let mut events = Vec::new();
    reference
        .push_f32(&segment.samples, &mut events)
        .expect("accepted audio is finite");
    assert_eq!(
        events.len(),
        segment.events.len(),
        "detections depend on chunking"
    );
    for (a, b) in events.iter().zip(&segment.events) {
        assert_eq!(a.position, b.position);
        assert_eq!(a.score.to_bits(), b.score.to_bits());
        assert_eq!(a.keyword, b.keyword);
        assert_eq!(a.pre_roll.len(), b.pre_roll.len());
    }
}
