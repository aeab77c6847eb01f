//! Bad model files, fed to `WakeWordModel::from_bytes`.

use super::{expect, Case};
use hushword::WakeWordModel;

const ALEXA: &[u8] = include_bytes!("../../models/alexa.onnx");

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(super::signals::model_path(name)).unwrap_or_default()
}

/// The name the bad bytes are loaded under; every message starts by naming it.
const NAME: &str = "m.onnx";

/// Passes if loading fails with a message that names the model and then says `needle` (the
/// part that tells this refusal from the others); observed = the message.
fn refused(bytes: &[u8], needle: &str) -> Result<String, String> {
    match WakeWordModel::from_bytes(bytes, NAME) {
        Ok(_) => Err("loaded".to_string()),
        Err(e) => {
            let text = e.to_string();
            let reason = text.strip_prefix(&format!("model {NAME}: "));
            expect(
                reason.is_some_and(|r| r.contains(needle)),
                format!("error: {e}"),
            )
        }
    }
}

/// The shipped model with `from` replaced by `to` (same length) inside its metadata JSON:
/// a byte-level edit of the protobuf string, so no length prefix changes.
fn alexa_edited(from: &str, to: &str) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let mut bytes = ALEXA.to_vec();
    if let Some(i) = bytes.windows(from.len()).position(|w| w == from.as_bytes()) {
        bytes[i..i + to.len()].copy_from_slice(to.as_bytes());
    }
    bytes
}

pub fn cases() -> Vec<Case> {
    const AREA: &str = "model file";
    vec![
        Case {
            area: AREA,
            input: "empty file",
            expected: "error: no graph",
            check: || refused(&[], "not an ONNX model: it has no graph"),
        },
        Case {
            area: AREA,
            input: "40 bytes of text",
            expected: "error: not a readable ONNX model",
            check: || refused(&fixture("not_onnx.onnx"), "not a readable ONNX model"),
        },
        Case {
            area: AREA,
            input: "shipped model cut in half",
            expected: "error: not a readable ONNX model",
            check: || refused(&ALEXA[..ALEXA.len() / 2], "not a readable ONNX model"),
        },
        Case {
            area: AREA,
            input: "ONNX without `hushword` metadata",
            expected: "error: no `hushword` entry",
            check: || refused(&fixture("no_metadata.onnx"), "no `hushword` entry"),
        },
        Case {
            area: AREA,
            input: "metadata that is not JSON (cut off)",
            expected: "error: metadata is not valid JSON",
            check: || refused(&fixture("malformed_json.onnx"), "not valid JSON"),
        },
        Case {
            area: AREA,
            input: "metadata with threshold 1.5",
            expected: "error naming field `threshold`",
            check: || refused(&fixture("bad_threshold.onnx"), "field `threshold`"),
        },
        Case {
            area: AREA,
            input: "metadata without `window_frames`",
            expected: "error naming field `window_frames`",
            check: || refused(&fixture("missing_window.onnx"), "field `window_frames`"),
        },
        Case {
            area: AREA,
            input: "shipped model, `window_frames` 99999 (hostile: huge history)",
            expected: "error naming field `window_frames`, nothing allocated for it",
            check: || {
                let bytes = alexa_edited("\"window_frames\": 100, ", "\"window_frames\":99999,");
                refused(&bytes, "field `window_frames`: 99999")
            },
        },
        Case {
            area: AREA,
            input: "shipped model, metadata JSON broken (`{\"format\": [`)",
            expected: "error: metadata is not valid JSON",
            check: || {
                refused(
                    &alexa_edited("{\"format\": 1", "{\"format\": ["),
                    "not valid JSON",
                )
            },
        },
        Case {
            area: AREA,
            input: "fuzz crash (`model_bytes`): graph output names no value (tract 0.23 panicked)",
            expected: "error naming the output",
            check: || {
                refused(
                    include_bytes!("../fixtures/fuzz/model_unknown_output_name.onnx"),
                    "is not produced by any node",
                )
            },
        },
        Case {
            area: AREA,
            input: "graph whose Reduce axis is beyond its input's rank (fuzz `model_bytes`: tract panicked)",
            expected: "error naming the model, no crash",
            check: || {
                refused(
                    include_bytes!("../fixtures/fuzz/model_reduce_axis_beyond_rank.onnx"),
                    "tract) failed on this graph",
                )
            },
        },
        Case {
            area: AREA,
            input: "metadata whose input shape does not fit the graph",
            expected: "error naming the declared and expected shapes",
            check: || {
                refused(
                    &fixture("wrong_input.onnx"),
                    "input `features` is declared [1, 13, 30] but the metadata needs [1, 20, 30]",
                )
            },
        },
        Case {
            area: AREA,
            input: "native kernel of an unknown architecture (`tcn-9`)",
            expected: "error naming the field `kernel`",
            check: || refused(&alexa_edited(r#""tcn-1""#, r#""tcn-9""#), "arch `tcn-9`"),
        },
        Case {
            area: AREA,
            input: "native kernel whose shape does not fit its weights (65 channels)",
            expected: "error: blob size against the network described",
            check: || {
                refused(
                    &alexa_edited(r#""channels": 64"#, r#""channels": 65"#),
                    "f32 values",
                )
            },
        },
        Case {
            area: AREA,
            input: "native kernel that is not the graph's network (last dilation 9, not 8)",
            expected: "error: scores differ from the full-window graph",
            check: || {
                refused(
                    &alexa_edited("[1, 2, 4, 8, 8]", "[1, 2, 4, 8, 9]"),
                    "differ from the full-window graph",
                )
            },
        },
    ]
}
