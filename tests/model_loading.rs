//! Loading refuses every kind of broken model with a message naming the model and the cause,
//! and a good model scores windows as its fixture definition says.

#[path = "fixtures/signals.rs"]
mod signals;

use hushword::{Error, FrontendConfig, WakeWordModel};
use signals::{model, model_path};

/// Loads a fixture expecting a refusal; returns the reason after checking the model is named.
fn refusal(name: &str) -> String {
    let path = model_path(name);
    match WakeWordModel::from_path(&path) {
        Ok(_) => panic!("{name} was accepted"),
        Err(Error::Model {
            source_name,
            reason,
        }) => {
            assert_eq!(source_name, path, "error names the model");
            reason
        }
        Err(other) => panic!("{name}: unexpected error kind {other:?}"),
    }
}

fn assert_mentions(name: &str, needles: &[&str]) {
    let reason = refusal(name);
    for needle in needles {
        assert!(
            reason.contains(needle),
            "{name}: `{reason}` lacks `{needle}`"
        );
    }
}

#[test]
fn good_model_loads_with_its_metadata() {
    let m = model("energy.onnx");
    let meta = m.metadata();
    assert_eq!(meta.format, 1);
    assert_eq!(meta.keywords, vec!["beep".to_string()]);
    assert_eq!(meta.frontend, FrontendConfig::default());
    assert_eq!((meta.window_frames, meta.hop_frames), (30, 2));
    assert_eq!(meta.threshold, 0.5);
    assert_eq!(meta.word_duration_ms, 300);
    assert_eq!(
        (m.n_features(), m.window_len(), m.n_keywords()),
        (20, 600, 1)
    );
    assert!(m.name().ends_with("energy.onnx"));
}

#[test]
fn from_bytes_uses_the_given_name() {
    let bytes = std::fs::read(model_path("no_metadata.onnx")).unwrap();
    match WakeWordModel::from_bytes(&bytes, "my-model") {
        Err(Error::Model { source_name, .. }) => assert_eq!(source_name, "my-model"),
        other => panic!("{other:?}"),
    }
    let bytes = std::fs::read(model_path("energy.onnx")).unwrap();
    assert_eq!(
        WakeWordModel::from_bytes(&bytes, "mine").unwrap().name(),
        "mine"
    );
}

/// Score = sigmoid(0.5 * (mean of c0 over the last 20 frames) + 10), per make_models.py.
#[test]
fn evaluate_computes_the_fixture_score() {
    let mut m = model("two_keywords.onnx");
    let (n, w) = (20, 40);
    let mut window = vec![0.0f32; n * w];
    // c0 is row 0; the model averages its last 20 frames only, so early frames must not count.
    for (t, c0) in window[..w].iter_mut().enumerate() {
        *c0 = if t < w - 20 {
            1000.0
        } else {
            -16.0 + (t % 2) as f32 * 2.0
        };
    }
    window[w..].iter_mut().for_each(|v| *v = 55.0); // other coefficients are ignored
    let mut scores = [0.0f32; 2];
    m.evaluate(&window, &mut scores).unwrap();
    let logit = 0.5f32 * -15.0 + 10.0;
    let loud = 1.0 / (1.0 + (-logit).exp());
    assert!((scores[0] - loud).abs() < 1e-5, "{scores:?} vs {loud}");
    assert!((scores[1] - (1.0 - loud)).abs() < 1e-5, "{scores:?}");
    // Repeated evaluation reuses buffers and gives the same answer; a new window a new one.
    let again = scores;
    m.evaluate(&window, &mut scores).unwrap();
    assert_eq!(scores, again);
    window[..w].iter_mut().for_each(|v| *v = -87.0);
    m.evaluate(&window, &mut scores).unwrap();
    assert!(scores[0] < 1e-6 && scores[1] > 0.999999, "{scores:?}");
}

#[test]
fn evaluate_refuses_wrong_buffer_sizes() {
    let mut m = model("energy.onnx");
    let mut scores = [0.0f32; 1];
    assert!(matches!(
        m.evaluate(&[0.0; 599], &mut scores),
        Err(Error::Model { .. })
    ));
    assert!(matches!(
        m.evaluate(&[0.0; 600], &mut [0.0; 2]),
        Err(Error::Model { .. })
    ));
}

#[test]
fn missing_metadata_is_refused() {
    assert_mentions("no_metadata.onnx", &["hushword", "metadata_props"]);
}

#[test]
fn malformed_metadata_json_is_refused() {
    assert_mentions("malformed_json.onnx", &["metadata", "not valid JSON"]);
}

#[test]
fn each_bad_metadata_field_is_named() {
    assert_mentions("bad_threshold.onnx", &["`threshold`", "1.5"]);
    assert_mentions("empty_keywords.onnx", &["`keywords`"]);
    assert_mentions("bad_hop.onnx", &["`hop_frames`", "31"]);
    assert_mentions("bad_format.onnx", &["`format`", "2"]);
    assert_mentions("missing_window.onnx", &["`window_frames`", "missing"]);
    assert_mentions("bad_frontend.onnx", &["`frontend`", "n_mfcc"]);
}

#[test]
fn input_shape_that_does_not_fit_is_refused() {
    assert_mentions("wrong_input.onnx", &["input", "[1, 13, 30]", "[1, 20, 30]"]);
}

#[test]
fn output_shape_that_does_not_fit_is_refused() {
    assert_mentions("wrong_output.onnx", &["output shape [1, 1]", "[1, 2]"]);
}

#[test]
fn not_onnx_is_refused() {
    let reason = refusal("not_onnx.onnx");
    assert!(reason.contains("ONNX"), "{reason}");
    match WakeWordModel::from_bytes(&[], "empty") {
        Err(Error::Model { reason, .. }) => assert!(reason.contains("ONNX"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn missing_file_is_refused_naming_it() {
    let reason = refusal("does_not_exist.onnx");
    assert!(reason.contains("cannot read"), "{reason}");
}
