//! `hushword features` and `hushword info`.

#[path = "cli_support/mod.rs"]
mod support;

use hushword::frontend::{FeatureKind, FrontendConfig, MfccFrontend};
use support::*;

/// Parses an NPY v1 float32 C-order file: (shape, data).
fn read_npy(bytes: &[u8]) -> ((usize, usize), Vec<f32>) {
    assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
    let len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    assert_eq!((10 + len) % 64, 0, "data must be 64-byte aligned");
    let header = std::str::from_utf8(&bytes[10..10 + len]).unwrap();
    assert!(header.contains("'descr': '<f4'"), "{header}");
    assert!(header.contains("'fortran_order': False"), "{header}");
    let shape = header
        .split("'shape': (")
        .nth(1)
        .unwrap()
        .split(')')
        .next()
        .unwrap();
    let dims: Vec<usize> = shape
        .split(',')
        .map(|d| d.trim().parse().unwrap())
        .collect();
    let data: Vec<f32> = bytes[10 + len..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    assert_eq!(data.len(), dims[0] * dims[1]);
    ((dims[0], dims[1]), data)
}

fn expected(wav: &std::path::Path, config: FrontendConfig) -> Vec<f32> {
    let samples = hushword::audio::read_audio(wav).unwrap();
    let frames = MfccFrontend::new(config)
        .unwrap()
        .compute(&samples)
        .unwrap();
    frames.iter().copied().collect()
}

#[test]
fn features_writes_the_front_end_frames_as_npy() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("a.wav");
    write_wav(&wav, &quiet_with_bursts(1.0, &[0.3], 0.2, 3), 16_000);
    let npy = dir.path().join("a.npy");
    let out = hushword(&["features", s(&wav), "-o", s(&npy)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (shape, data) = read_npy(&std::fs::read(&npy).unwrap());
    // (16000 - 400) / 160 + 1 frames of 20 MFCCs.
    assert_eq!(shape, (98, 20));
    assert_eq!(data, expected(&wav, FrontendConfig::default()));

    let out = hushword(&["features", s(&wav), "-o", s(&npy), "--log-mel"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (shape, data) = read_npy(&std::fs::read(&npy).unwrap());
    assert_eq!(shape, (98, 40));
    let cfg = FrontendConfig {
        features: FeatureKind::LogMel,
        ..FrontendConfig::default()
    };
    assert_eq!(data, expected(&wav, cfg));
}

#[test]
fn features_reads_a_config_file_and_rejects_bad_ones() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("a.wav");
    write_wav(&wav, &quiet(0.5, 4), 16_000);
    let npy = dir.path().join("a.npy");
    let cfg = dir.path().join("fe.json");
    std::fs::write(&cfg, r#"{"n_mfcc": 13, "hop_length": 320}"#).unwrap();
    let out = hushword(&["features", s(&wav), "-o", s(&npy), "--config", s(&cfg)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (shape, _) = read_npy(&std::fs::read(&npy).unwrap());
    assert_eq!(shape, ((8000 - 400) / 320 + 1, 13));

    for (name, text) in [
        ("bad.json", "{not json"),
        ("range.json", r#"{"n_mfcc": 99}"#),
        ("typo.json", r#"{"n_mfc": 13}"#),
    ] {
        let bad = dir.path().join(name);
        std::fs::write(&bad, text).unwrap();
        let out = hushword(&["features", s(&wav), "-o", s(&npy), "--config", s(&bad)]);
        assert_eq!(out.status.code(), Some(1), "{name}");
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert_eq!(error_lines(&err, s(&bad)).len(), 1, "{err}");
    }
    let missing = dir.path().join("nope.wav");
    let out = hushword(&["features", s(&missing), "-o", s(&npy)]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        error_lines(&stderr(&out), s(&missing)).len(),
        1,
        "{}",
        stderr(&out)
    );
}

#[test]
fn info_prints_metadata_and_names_bad_models() {
    let out = hushword(&["info", s(&energy())]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.lines()
            .any(|l| l.starts_with("keywords") && l.trim_end().ends_with("beep")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("threshold") && l.contains("0.5")),
        "{text}"
    );
    assert!(text.contains("30 frames"), "{text}");

    let out = hushword(&["info", "--json", s(&model("two_keywords.onnx"))]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["keywords"], serde_json::json!(["loud", "quiet"]));
    assert_eq!(v["window_frames"], 40);
    assert_eq!(v["n_features"], 20);

    for bad in ["no_metadata.onnx", "not_onnx.onnx", "malformed_json.onnx"] {
        let m = model(bad);
        let out = hushword(&["info", s(&m)]);
        assert_eq!(out.status.code(), Some(1));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert_eq!(error_lines(&err, s(&m)).len(), 1, "{err}");
    }
}
