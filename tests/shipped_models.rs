//! Every model shipped in `models/` must load in the engine and reproduce, on the committed sample
//! clips in `data/`, the scores recorded by the training pipeline at export time
//! (`models/<word>.reference.json`, computed with onnxruntime on `training/features.py` features).
//! This holds the Rust front end + tract runtime equal to the Python training stack end to end.

use std::path::{Path, PathBuf};

use hushword::{audio::read_audio, MfccFrontend, WakeWordModel};

/// Scores agree to this absolute tolerance. Features differ between numpy (float64 maths, then
/// float32) and the SIMD float32 front end by ~1e-4 on log values; through a small network and a
/// sigmoid that moves a probability by well under 1e-3.
const TOLERANCE: f32 = 2e-3;

fn shipped_models() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    let mut models: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "onnx"))
                .collect()
        })
        .unwrap_or_default();
    models.sort();
    models
}

fn scores_for(model: &mut WakeWordModel, wav: &Path) -> Vec<f32> {
    let samples = read_audio(wav).expect("committed sample is readable");
    let mut frontend = MfccFrontend::new(model.metadata().frontend.clone()).unwrap();
    let frames = frontend.compute(&samples).unwrap();
    let (n_frames, n_features) = frames.dim();
    let window = model.metadata().window_frames;
    let hop = model.metadata().hop_frames;
    let mut buffer = vec![0.0f32; n_features * window];
    let mut score = vec![0.0f32; model.metadata().keywords.len()];
    let mut out = Vec::new();
    let mut last = window - 1;
    while last < n_frames {
        let first = last + 1 - window;
        for f in 0..n_features {
            for t in 0..window {
                buffer[f * window + t] = frames[[first + t, f]];
            }
        }
        model.evaluate(&buffer, &mut score).unwrap();
        out.push(score[0]);
        last += hop;
    }
    out
}

#[test]
fn shipped_models_reproduce_their_export_scores() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let models = shipped_models();
    assert!(
        root.join("models/alexa.onnx").exists(),
        "the default model models/alexa.onnx must ship"
    );
    for path in models {
        let mut model = WakeWordModel::from_path(&path).unwrap();
        let reference_path = path.with_extension("reference.json");
        let text = std::fs::read_to_string(&reference_path)
            .unwrap_or_else(|e| panic!("{}: {e}", reference_path.display()));
        let reference: serde_json::Value = serde_json::from_str(&text).unwrap();
        let files = reference["files"].as_object().expect("files map");
        assert!(
            !files.is_empty(),
            "{}: no reference clips",
            reference_path.display()
        );
        for (file, entry) in files {
            let expected: Vec<f32> = entry["scores"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect();
            let got = scores_for(&mut model, &root.join(file));
            assert_eq!(got.len(), expected.len(), "{file}: evaluation count");
            let worst = got
                .iter()
                .zip(&expected)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(
                worst <= TOLERANCE,
                "{} on {file}: max score difference {worst} > {TOLERANCE}",
                path.display()
            );
        }
    }
}
