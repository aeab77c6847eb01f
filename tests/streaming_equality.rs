//! The streaming forms of each shipped model (the native kernel with each matrix-vector
//! implementation, and the streaming ONNX graph) give the full-window form's scores on real
//! audio (`data/*.wav`), through the model API and through the detector, including after a
//! reset; and a model with a broken streaming form is refused with a message naming it.

use std::path::{Path, PathBuf};

use hushword::model::{Execution, MatvecImpl};
use hushword::{audio::read_audio, Detector, DetectorConfig, MfccFrontend, WakeWordModel};

/// Puts a freshly loaded model into one execution.
type Setup = fn(&mut WakeWordModel);

/// The streaming executions under test.
const EXECUTIONS: [(&str, Setup); 4] = [
    ("native kernel (best matvec)", |_| {}),
    ("native kernel (scalar matvec)", |m| {
        m.set_kernel_matvec(MatvecImpl::Scalar)
    }),
    ("native kernel (portable matvec)", |m| {
        m.set_kernel_matvec(MatvecImpl::Portable)
    }),
    ("streaming graph", |m| m.use_streaming_graph()),
];

/// Both forms compute the same float32 convolutions in a different grouping (tract picks
/// kernels per shape), so they agree to rounding: measured max difference ~1e-6.
const TOLERANCE: f32 = 1e-4;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn shipped(word: &str) -> PathBuf {
    root().join("models").join(format!("{word}.onnx"))
}

fn wavs() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(root().join("data"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "wav"))
        .collect();
    out.sort();
    assert!(out.len() >= 3, "data/ holds the sample clips");
    out
}

/// Scores at every evaluation: full window (`evaluate`) and `evaluate_next` (streaming).
fn both_forms(word: &str, wav: &Path, setup: fn(&mut WakeWordModel)) -> (Vec<f32>, Vec<f32>) {
    let mut full = WakeWordModel::from_path(shipped(word)).unwrap();
    let mut streaming = WakeWordModel::from_path(shipped(word)).unwrap();
    assert!(streaming.is_streaming(), "{word} ships a streaming form");
    setup(&mut streaming);
    let frames = MfccFrontend::new(full.metadata().frontend.clone())
        .unwrap()
        .compute(&read_audio(wav).unwrap())
        .unwrap();
    let (n_frames, n) = frames.dim();
    let (window, hop) = (full.window_frames(), full.metadata().hop_frames);
    let time_last = |first: usize, count: usize| -> Vec<f32> {
        (0..n)
            .flat_map(|f| (first..first + count).map(move |t| (f, t)))
            .map(|(f, t)| frames[[t, f]])
            .collect()
    };
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let mut score = [0.0f32];
    for last in (window - 1..n_frames).step_by(hop) {
        full.evaluate(&time_last(last + 1 - window, window), &mut score)
            .unwrap();
        a.push(score[0]);
        let count = streaming.frames_needed();
        assert_eq!(count, if b.is_empty() { window } else { hop });
        streaming
            .evaluate_next(&time_last(last + 1 - count, count), &mut score)
            .unwrap();
        b.push(score[0]);
    }
    (a, b)
}

fn max_difference(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn streaming_scores_equal_full_window_scores_on_real_audio() {
    for word in ["alexa", "computer"] {
        let model = WakeWordModel::from_path(shipped(word)).unwrap();
        assert_eq!(
            model.execution(),
            Execution::NativeKernel,
            "{word} ships the kernel"
        );
        for ((execution, setup), wav) in EXECUTIONS
            .iter()
            .flat_map(|e| wavs().into_iter().map(move |w| (e, w)))
        {
            let (full, streaming) = both_forms(word, &wav, *setup);
            assert!(
                full.len() > 50,
                "{}: {} evaluations",
                wav.display(),
                full.len()
            );
            let diff = max_difference(&full, &streaming);
            eprintln!(
                "{word} {execution} {}: {} evaluations, max |streaming - full| = {diff:.2e}, max score {:.3}",
                wav.display(),
                full.len(),
                full.iter().fold(0.0f32, |m, &s| m.max(s))
            );
            assert!(
                diff <= TOLERANCE,
                "{word} {execution} {}: {diff}",
                wav.display()
            );
        }
    }
}

/// Smoothed scores the detector reports over `samples`, twice with a reset in between.
fn detector_scores(model: WakeWordModel, samples: &[f32]) -> Vec<f32> {
    let mut detector = Detector::new(vec![model], DetectorConfig::default()).unwrap();
    let mut scores = Vec::new();
    let mut events = Vec::new();
    for _ in 0..2 {
        for chunk in samples.chunks(480) {
            detector
                .push_f32_observed(chunk, &mut events, |s| scores.push(s.score))
                .unwrap();
        }
        detector.reset();
    }
    scores
}

#[test]
fn detector_scores_equal_in_both_forms_across_a_reset() {
    let wav = root().join("data/alexa_kokoro.wav");
    let samples = read_audio(&wav).unwrap();
    let streaming = WakeWordModel::from_path(shipped("alexa")).unwrap();
    let mut full = WakeWordModel::from_path(shipped("alexa")).unwrap();
    full.use_full_window();
    assert!(!full.is_streaming());
    let a = detector_scores(full, &samples);
    let b = detector_scores(streaming, &samples);
    assert!(a.len() > 100);
    let half = a.len() / 2;
    assert_eq!(a[..half], a[half..], "a reset starts the stream over");
    let diff = max_difference(&a, &b);
    eprintln!(
        "detector: {} scores, max |streaming - full| = {diff:.2e}",
        a.len()
    );
    assert!(diff <= TOLERANCE, "{diff}");
}

#[test]
fn evaluate_next_refuses_a_wrong_length_and_starts_over() {
    let mut model = WakeWordModel::from_path(shipped("alexa")).unwrap();
    let window = vec![0.0f32; model.window_len()];
    let mut score = [0.0f32];
    model.evaluate_next(&window, &mut score).unwrap();
    assert_eq!(model.frames_needed(), model.metadata().hop_frames);
    let e = model
        .evaluate_next(&window, &mut score)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("evaluate_next needs") && e.contains("alexa.onnx"),
        "{e}"
    );
    assert_eq!(
        model.frames_needed(),
        model.window_frames(),
        "a failure resets"
    );
}

/// The shipped alexa model with its metadata props rewritten by `edit`.
fn alexa_with(edit: impl FnOnce(&mut Vec<tract_onnx::pb::StringStringEntryProto>)) -> Vec<u8> {
    use prost::Message;
    let bytes = std::fs::read(shipped("alexa")).unwrap();
    let mut proto = tract_onnx::pb::ModelProto::decode(&bytes[..]).unwrap();
    edit(&mut proto.metadata_props);
    proto.encode_to_vec()
}

fn set_json(
    props: &mut [tract_onnx::pb::StringStringEntryProto],
    f: impl FnOnce(&mut serde_json::Value),
) {
    let entry = props.iter_mut().find(|p| p.key == "hushword").unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&entry.value).unwrap();
    f(&mut json);
    entry.value = json.to_string();
}

#[test]
fn broken_streaming_forms_are_refused_by_name() {
    let missing = alexa_with(|props| props.retain(|p| p.key != "hushword.streaming"));
    let not_base64 = alexa_with(|props| {
        let entry = props
            .iter_mut()
            .find(|p| p.key == "hushword.streaming")
            .unwrap();
        entry.value = "not base64 !".to_string();
    });
    let wrong_state = alexa_with(|props| {
        set_json(props, |j| {
            j["streaming"]["states"][1]["shape"] = serde_json::json!([1, 64, 5])
        })
    });
    let wrong_name = alexa_with(|props| {
        set_json(props, |j| {
            j["streaming"]["states"][0]["output"] = serde_json::json!("nope")
        })
    });
    let cases = [
        (missing, "no `hushword.streaming` entry"),
        (not_base64, "not base64"),
        (wrong_state, "has shape"),
        (wrong_name, "no output `nope`"),
    ];
    for (bytes, needle) in cases {
        let e = WakeWordModel::from_bytes(&bytes, "edited.onnx")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("edited.onnx") && e.contains("streaming form") && e.contains(needle),
            "{e}"
        );
    }
    // Without the `streaming` and `kernel` objects the same file is a full-window model, as
    // before.
    let old_style = alexa_with(|props| {
        set_json(props, |j| {
            j.as_object_mut().unwrap().remove("streaming");
            j.as_object_mut().unwrap().remove("kernel");
        })
    });
    assert!(!WakeWordModel::from_bytes(&old_style, "old")
        .unwrap()
        .is_streaming());
}

/// The kernel blob of the shipped alexa model, rewritten by `edit` (as raw bytes).
fn alexa_kernel_with(edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    alexa_with(|props| {
        let entry = props
            .iter_mut()
            .find(|p| p.key == "hushword.kernel")
            .unwrap();
        let mut raw = b64.decode(&entry.value).unwrap();
        edit(&mut raw);
        entry.value = b64.encode(&raw);
    })
}

#[test]
fn broken_kernels_are_refused_by_name() {
    let missing = alexa_with(|props| props.retain(|p| p.key != "hushword.kernel"));
    let short = alexa_kernel_with(|raw| raw.truncate(raw.len() - 4));
    // One output row of the last pointwise layer changed: the right size, the wrong network.
    let tampered = alexa_kernel_with(|raw| {
        let at = raw.len() - 4 * (64 + 1 + 64 + 256);
        for w in raw[at..at + 4 * 64].chunks_exact_mut(4) {
            w.copy_from_slice(&3.0f32.to_le_bytes());
        }
    });
    let not_finite = alexa_kernel_with(|raw| raw[8..12].copy_from_slice(&f32::NAN.to_le_bytes()));
    let arch = alexa_with(|props| set_json(props, |j| j["kernel"]["arch"] = "gru".into()));
    let too_wide = alexa_with(|props| set_json(props, |j| j["kernel"]["channels"] = 4096.into()));
    let cases = [
        (missing, "no `hushword.kernel` entry"),
        (short, "needs"),
        (tampered, "differ from the full-window graph"),
        (not_finite, "not finite"),
        (arch, "arch `gru`"),
        (too_wide, "channels 4096"),
    ];
    for (bytes, needle) in cases {
        let e = WakeWordModel::from_bytes(&bytes, "edited.onnx")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("edited.onnx") && e.contains("kernel") && e.contains(needle),
            "{needle}: {e}"
        );
    }
    // Without the `kernel` object the model runs its streaming graph.
    let graph_only = alexa_with(|props| {
        set_json(props, |j| {
            j.as_object_mut().unwrap().remove("kernel");
        })
    });
    let model = WakeWordModel::from_bytes(&graph_only, "graph").unwrap();
    assert_eq!(model.execution(), Execution::StreamingGraph);
}
