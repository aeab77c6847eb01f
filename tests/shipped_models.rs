//! Every model shipped in `models/` must load in the engine and reproduce, on the committed sample
//! clips in `data/`, the scores recorded by the training pipeline at export time
//! (`models/<word>.reference.json`, computed with onnxruntime on `training/features.py` features).
//! This holds the Rust front end + tract runtime equal to the Python training stack end to end.
//!
//! And what the shipped models must do on real recordings, whatever model file ships: each bound
//! is stated against the model's own metadata threshold and today's measured figure with a
//! margin, so that a better model passes and a worse one fails.

#[path = "fixtures/test_data.rs"]
mod test_data;

use std::io::Write;
use std::path::{Path, PathBuf};

use hushword::eval::{self, EvalConfig, EvalModel, EvalReport};
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

fn shipped(word: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("models")
        .join(format!("{word}.onnx"))
}

/// A line for the terminal even under the harness's output capture: the figures these tests
/// measure are worth seeing on every run.
fn report(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// `hushword eval` (the library) at each model's own threshold, default detector settings (the
/// CLI's), one thread so the test does not crowd the machine.
fn evaluate(models: &[&str], positives: Vec<PathBuf>, negatives: Vec<PathBuf>) -> EvalReport {
    let config = EvalConfig {
        positives,
        negatives,
        seed: 42,
        threads: Some(1),
        ..EvalConfig::default()
    };
    let models: Vec<EvalModel> = models
        .iter()
        .map(|w| EvalModel::from_path(&shipped(w)).unwrap())
        .collect();
    let report = eval::run(&config, &models, &|_| {}).unwrap();
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    report
}

/// The result of model `index` in the clean condition.
fn clean(report: &EvalReport, index: usize) -> &eval::ConditionResult {
    report
        .results
        .iter()
        .find(|r| r.model_index == index && r.snr_db.is_none())
        .expect("a clean result per model")
}

/// The default model must stay under its threshold on the committed sentence without the word,
/// with room to spare: raw scores (before the detector's smoothing, so the strictest view) stay
/// at least `REQUIRED_MARGIN` below the metadata threshold. Measured 2026-12-05 with the model
/// on main: peak 0.871 against 0.9, a margin of 0.029. The required margin is set under that,
/// honestly small: it catches a model that creeps up to its threshold on ordinary speech, and
/// a retrained model that scores this clip higher fails here first.
#[test]
fn default_model_stays_under_its_threshold_on_speech_without_the_word() {
    const REQUIRED_MARGIN: f32 = 0.02;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut model = WakeWordModel::from_path(shipped("alexa")).unwrap();
    let threshold = model.metadata().threshold;
    let scores = scores_for(&mut model, &root.join("data/no_wakeword.wav"));
    assert!(scores.len() > 100, "{} evaluations", scores.len());
    let peak = scores.iter().copied().fold(0.0f32, f32::max);
    let margin = threshold - peak;
    report(&format!(
        "models/alexa.onnx on data/no_wakeword.wav: peak raw score {peak:.4}, threshold \
         {threshold}, margin {margin:.4} (required: at least {REQUIRED_MARGIN})"
    ));
    assert!(
        margin >= REQUIRED_MARGIN,
        "models/alexa.onnx scores {peak} on data/no_wakeword.wav: only {margin} under its \
         threshold {threshold} (at least {REQUIRED_MARGIN} required)"
    );
}

/// On the committed real recordings (tests/data/): "computer" fires on real "computer" clips
/// and neither model fires on the real speech without its word, gaps around the clips
/// included. The six clips are ones the model on main detects clearly (smoothed score past
/// 0.99, far above its threshold 0.875): one miss among them is allowed, two is a model that
/// lost clear real voices.
#[test]
fn shipped_models_on_the_committed_real_recordings() {
    let computer = test_data::committed("wakewords/computer");
    let clips = test_data::audio_files(&computer);
    assert_eq!(clips.len(), 6, "{clips:?}");
    let speech = vec![
        test_data::committed("speech/librispeech-test-other/1688/1688-142285-0007.flac"),
        test_data::committed("wakewords/jarvis/008a6329-b20c-4cfc-9ad4-9e7034bc5148.wav"),
    ];
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let positives = vec![computer.clone(), root.join("data/alexa_kokoro.wav")];
    let r = evaluate(&["computer", "alexa"], positives, speech);
    for (index, word) in ["computer", "alexa"].iter().enumerate() {
        let result = clean(&r, index);
        assert!(
            result.false_accepts.is_empty(),
            "{word} fired on real speech without its word: {:?}",
            result.false_accepts
        );
    }
    let missed: Vec<&PathBuf> = clean(&r, 0)
        .missed
        .iter()
        .map(|m| &m.file)
        .filter(|p| p.starts_with(&computer))
        .collect();
    report(&format!(
        "models/computer.onnx on the {} committed real \"computer\" clips: {} missed",
        clips.len(),
        missed.len()
    ));
    assert!(missed.len() <= 1, "computer missed real clips: {missed:?}");
    // The positive of the default model: found, and no computer clip sets it off.
    let alexa = clean(&r, 1);
    assert!(
        !alexa
            .missed
            .iter()
            .any(|m| m.file == root.join("data/alexa_kokoro.wav")),
        "alexa missed data/alexa_kokoro.wav"
    );
}

/// The shared real speech without "computer", "jarvis" or "alexa" (LibriSpeech, Precise's other
/// words and wake words, Picovoice's "snowboy"), plus `more` folders of `data`.
fn shared_speech(data: &Path, more: &[&str]) -> Vec<PathBuf> {
    [
        "speech/librispeech-test-other",
        "precise/not-wake-words-en",
        "precise/not-wake-words-es",
        "precise/amelia",
        "precise/athena",
        "precise/heychatterbox",
        "wakewords/snowboy",
    ]
    .iter()
    .chain(more)
    .map(|d| data.join(d))
    .collect()
}

/// Detection rate of "computer" on all 468 real recordings of the word in the shared set, and
/// false accepts of both models on its real speech without their words (LibriSpeech, Precise's
/// other words and wake words, Picovoice's "jarvis" and "snowboy": 1.71 h with the gaps).
///
/// Measured 2026-12-05 with the models on main (seed 42, this test): computer detects 66.9%
/// (313 of 468; the card's `hushword eval` figure, FRR 33.1%); 0 false accepts for either
/// model. Bounds: at least 60% detected (today's figure less 7 points, for the gap draws and a
/// replacement that trades a little recall for fewer false accepts); at most 1 false accept per
/// model, about 0.6 per hour: the cards document 0 in 2.1-2.2 h of real speech that includes
/// these files, and 0.5 per hour is the operating point the README reports.
#[test]
fn shipped_models_on_the_shared_real_recordings() {
    const MIN_DETECTED: f64 = 0.60;
    const MAX_FALSE_ACCEPTS: usize = 1;
    let Some(data) = test_data::shared("shipped_models: real \"computer\" clips and real speech")
    else {
        return;
    };
    let positives = vec![
        data.join("wakewords/computer"),
        data.join("precise/computer"),
    ];
    let negatives = shared_speech(&data, &["wakewords/jarvis"]);
    let r = evaluate(&["computer", "alexa"], positives, negatives);
    assert_eq!(r.positives, 468, "real \"computer\" recordings");
    let computer = clean(&r, 0);
    let detected = 1.0 - computer.at_default.frr;
    report(&format!(
        "models/computer.onnx on {} real \"computer\" recordings: {:.1}% detected at its threshold \
         {} (required: {:.0}%)",
        r.positives,
        100.0 * detected,
        r.models[0].default_threshold,
        100.0 * MIN_DETECTED
    ));
    assert!(
        detected >= MIN_DETECTED,
        "computer detects {:.1}% of the real recordings, under {:.0}%",
        100.0 * detected,
        100.0 * MIN_DETECTED
    );
    for (index, word) in ["computer", "alexa"].iter().enumerate() {
        let result = clean(&r, index);
        report(&format!(
            "models/{word}.onnx: {} false accepts in {:.3} h of real speech without its word \
             (allowed: {MAX_FALSE_ACCEPTS})",
            result.at_default.false_accepts,
            r.negative_hours()
        ));
        assert!(
            result.at_default.false_accepts <= MAX_FALSE_ACCEPTS,
            "{word}: {:?}",
            result.false_accepts
        );
    }
}

/// Detection rate of "jarvis" on the 384 real "jarvis" recordings of the shared set (never
/// trained on) and its false accepts on the shared real speech without the word (as above, with
/// the real "computer" recordings in place of the "jarvis" ones).
///
/// Measured 2026-12-05 with the model on main (seed 42, this test): 54.7% detected (210 of
/// 384; its card: FRR 45.3% against 5.52 h), 0 false accepts in 1.70 h. Bounds:
/// today's figure less about 7 points, and at most 1 false accept, as for "computer" above.
#[test]
fn jarvis_on_the_shared_real_recordings() {
    const MIN_DETECTED: f64 = 0.48;
    const MAX_FALSE_ACCEPTS: usize = 1;
    let Some(data) = test_data::shared("shipped_models: real \"jarvis\" clips and real speech")
    else {
        return;
    };
    let negatives = shared_speech(&data, &["precise/computer", "wakewords/computer"]);
    let r = evaluate(&["jarvis"], vec![data.join("wakewords/jarvis")], negatives);
    assert_eq!(r.positives, 384, "real \"jarvis\" recordings");
    let jarvis = clean(&r, 0);
    let detected = 1.0 - jarvis.at_default.frr;
    report(&format!(
        "models/jarvis.onnx on {} real \"jarvis\" recordings: {:.1}% detected at its threshold {} \
         (required: {:.0}%); {} false accepts in {:.3} h of real speech without the word \
         (allowed: {MAX_FALSE_ACCEPTS})",
        r.positives,
        100.0 * detected,
        r.models[0].default_threshold,
        100.0 * MIN_DETECTED,
        jarvis.at_default.false_accepts,
        r.negative_hours()
    ));
    assert!(
        detected >= MIN_DETECTED,
        "jarvis detects {:.1}% of the real recordings, under {:.0}%",
        100.0 * detected,
        100.0 * MIN_DETECTED
    );
    assert!(
        jarvis.at_default.false_accepts <= MAX_FALSE_ACCEPTS,
        "jarvis: {:?}",
        jarvis.false_accepts
    );
}
