//! `hushword detect` on synthetic files with the energy fixture: events, JSON, clips, errors.

#[path = "cli_support/mod.rs"]
mod support;

use support::*;

/// 2 s quiet, 1 s tone, 2 s quiet; then 4 s later another tone: two known events.
fn two_beeps() -> Vec<f32> {
    quiet_with_bursts(9.0, &[2.0, 6.0], 1.0, 1)
}

#[test]
fn detect_prints_one_line_per_event() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("beeps.wav");
    write_wav(&wav, &two_beeps(), 16_000);
    let out = hushword(&["detect", "--model", s(&energy()), s(&wav)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    for (line, onset) in lines.iter().zip([2.0, 6.0]) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(fields[0], s(&wav));
        assert_eq!(fields[1], "beep");
        let score: f64 = fields[2].parse().unwrap();
        assert!((0.5..=1.0).contains(&score), "{line}");
        let time: f64 = fields[3].parse().unwrap();
        assert!(time > onset && time < onset + 0.5, "{line}");
        assert!(
            fields[4].starts_with('[') && fields[4].ends_with(']'),
            "{line}"
        );
    }
}

#[test]
fn detect_json_has_every_field() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("beeps.wav");
    write_wav(&wav, &two_beeps(), 16_000);
    let out = hushword(&["detect", "--json", "--model", s(&energy()), s(&wav)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let events: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 2);
    for (e, onset) in events.iter().zip([2.0, 6.0]) {
        assert_eq!(e["file"], s(&wav));
        assert_eq!(e["keyword"], "beep");
        let time = e["time_s"].as_f64().unwrap();
        assert!(time > onset && time < onset + 0.5, "{e}");
        assert_eq!(e["end_s"].as_f64().unwrap(), time);
        // word_duration_ms of the fixture is 300.
        assert!(
            (time - e["start_s"].as_f64().unwrap() - 0.3).abs() < 1e-6,
            "{e}"
        );
        assert_eq!(e["pre_roll_s"].as_f64().unwrap(), 2.0);
    }
    // An out-of-range threshold is refused.
    let out = hushword(&[
        "detect",
        "--threshold",
        "2",
        "--model",
        s(&energy()),
        s(&wav),
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("outside [0, 1]"), "{}", stderr(&out));
}

#[test]
fn chunk_size_does_not_change_events() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("beeps.wav");
    write_wav(&wav, &two_beeps(), 16_000);
    let run = |ms: &str| {
        let out = hushword(&[
            "detect",
            "--json",
            "--chunk-ms",
            ms,
            "--model",
            s(&energy()),
            s(&wav),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
    };
    assert_eq!(run("10"), run("7"));
    assert_eq!(run("10"), run("1000"));
}

#[test]
fn save_clips_writes_the_pre_roll() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("beeps.wav");
    write_wav(&wav, &two_beeps(), 16_000);
    let clips = dir.path().join("clips");
    let out = hushword(&[
        "detect",
        "--json",
        "--save-clips",
        s(&clips),
        "--model",
        s(&energy()),
        s(&wav),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let events: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 2);
    for (n, e) in events.iter().enumerate() {
        let path = clips.join(format!("beeps_{}_beep.wav", n + 1));
        assert_eq!(e["clip"], s(&path));
        let reader = hound::WavReader::open(&path).unwrap();
        assert_eq!(reader.spec().sample_rate, 16_000);
        assert_eq!(reader.spec().channels, 1);
        // 2 s of pre-roll: exactly 32000 samples ending at the trigger.
        assert_eq!(reader.len(), 32_000);
        // The clip ends inside the tone: its last samples are loud.
        let samples: Vec<i16> = reader.into_samples().map(|s| s.unwrap()).collect();
        assert!(samples[samples.len() - 100..]
            .iter()
            .all(|s| s.unsigned_abs() > 10_000));
    }
    assert_eq!(std::fs::read_dir(&clips).unwrap().count(), 2);
}

#[test]
fn bad_files_get_one_line_each_and_the_rest_is_processed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = d.join("good.wav");
    write_wav(&good, &two_beeps(), 16_000);
    let missing = d.join("missing.wav");
    let text = d.join("text.wav");
    std::fs::write(&text, "this is not audio\n").unwrap();
    let truncated = d.join("truncated.wav");
    write_wav(&truncated, &two_beeps(), 16_000);
    let bytes = std::fs::read(&truncated).unwrap();
    std::fs::write(&truncated, &bytes[..30]).unwrap();
    let empty = d.join("empty.wav");
    write_wav(&empty, &[], 16_000);
    let nan = d.join("nan.wav");
    let mut x = two_beeps();
    x[1000] = f32::NAN;
    write_wav_f32(&nan, &x);
    let good2 = d.join("good2.wav");
    write_wav(&good2, &two_beeps(), 16_000);

    let bad = [&missing, &text, &truncated, &empty, &nan];
    let out = hushword(&[
        "detect",
        "--model",
        s(&energy()),
        s(&good),
        s(&missing),
        s(&text),
        s(&truncated),
        s(&empty),
        s(&nan),
        s(&good2),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{err}");
    for b in bad {
        let lines = error_lines(&err, s(b));
        // One line for the file, and the summary naming it.
        assert_eq!(lines.len(), 2, "{}: {err}", b.display());
    }
    assert!(
        err.contains(&format!("7 files, 5 failed: {}", s(&missing))),
        "{err}"
    );
    // Both good files still produce their events.
    let text_out = stdout(&out);
    assert_eq!(
        text_out.lines().filter(|l| l.starts_with(s(&good))).count(),
        2,
        "{text_out}"
    );
    assert_eq!(
        text_out
            .lines()
            .filter(|l| l.starts_with(s(&good2)))
            .count(),
        2,
        "{text_out}"
    );
}

#[test]
fn bad_models_are_refused_with_their_name() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("beeps.wav");
    write_wav(&wav, &two_beeps(), 16_000);
    let plain = dir.path().join("plain.onnx");
    std::fs::write(&plain, b"definitely not protobuf \xff\xff\xff").unwrap();
    for m in [
        model("not_onnx.onnx"),
        model("no_metadata.onnx"),
        plain,
        dir.path().join("absent.onnx"),
    ] {
        let out = hushword(&["detect", "--model", s(&m), s(&wav)]);
        assert_eq!(out.status.code(), Some(1), "{}", m.display());
        let err = stderr(&out);
        assert!(!err.contains("panicked"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert_eq!(error_lines(&err, s(&m)).len(), 1, "{err}");
        assert!(stdout(&out).is_empty());
    }
}

#[test]
fn without_a_model_the_default_is_used_or_explained() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("beeps.wav");
    write_wav(&wav, &two_beeps(), 16_000);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let kokoro = root.join("data/alexa_kokoro.wav");
    let out = hushword(&["detect", s(&wav), s(&kokoro)]);
    let shipped = root.join("models/alexa.onnx");
    if shipped.is_file() {
        assert!(out.status.success(), "{}", stderr(&out));
        // The embedded "alexa" model ran: silent on the beeps, one event on the clip that says
        // the word, at the word (2.51-3.11 s in data/samples.json).
        let text = stdout(&out);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1, "{text}");
        let fields: Vec<&str> = lines[0].split_whitespace().collect();
        assert_eq!((fields[0], fields[1]), (s(&kokoro), "alexa"), "{text}");
        let time: f64 = fields[3].parse().unwrap();
        assert!((2.5..=3.5).contains(&time), "{text}");
        // Exactly what the shipped file says when named.
        let named = hushword(&["detect", "--model", s(&shipped), s(&wav), s(&kokoro)]);
        assert_eq!(stdout(&named), text);
    } else {
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(
            stderr(&out).trim(),
            "hushword: no default model embedded in this build; pass --model PATH"
        );
    }
}
