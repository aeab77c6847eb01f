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
        // Units on every number: `score S  at T s  word A-B s`.
        assert_eq!(
            (fields[2], fields[4], fields[6]),
            ("score", "at", "s"),
            "{line}"
        );
        assert_eq!((fields[7], fields[9]), ("word", "s"), "{line}");
        let score: f64 = fields[3].parse().unwrap();
        assert!((0.5..=1.0).contains(&score), "{line}");
        let time: f64 = fields[5].parse().unwrap();
        assert!(time > onset && time < onset + 0.5, "{line}");
        let (start, end) = fields[8].split_once('-').unwrap();
        assert_eq!(end.parse::<f64>().unwrap(), time, "{line}");
        assert!(start.parse::<f64>().unwrap() < time, "{line}");
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
        let (quiet, lines): (Vec<&str>, Vec<&str>) =
            text.lines().partition(|l| l.contains("  no detection  "));
        assert_eq!(lines.len(), 1, "{text}");
        assert!(quiet.len() == 1 && quiet[0].starts_with(s(&wav)), "{text}");
        let fields: Vec<&str> = lines[0].split_whitespace().collect();
        assert_eq!((fields[0], fields[1]), (s(&kokoro), "alexa"), "{text}");
        // `FILE  KEYWORD  score S  at T s  word A-B s`
        let at = fields.iter().position(|f| *f == "at").expect("a time");
        let time: f64 = fields[at + 1].parse().unwrap();
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

#[test]
fn a_file_without_detection_gets_one_line_with_its_best_score() {
    let dir = tempfile::tempdir().unwrap();
    let quiet_wav = dir.path().join("quiet.wav");
    write_wav(&quiet_wav, &quiet(5.0, 3), 16_000);
    let beeps = dir.path().join("beeps.wav");
    write_wav(&beeps, &two_beeps(), 16_000);
    let out = hushword(&["detect", "--model", s(&energy()), s(&quiet_wav), s(&beeps)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    // One line for the quiet file, two events for the other.
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].starts_with(&format!("{}  no detection  highest score ", s(&quiet_wav))),
        "{text}"
    );
    assert!(lines[0].ends_with(" s"), "{text}");
    assert!(
        lines[1..].iter().all(|l| l.starts_with(s(&beeps))),
        "{text}"
    );

    let out = hushword(&[
        "detect",
        "--json",
        "--model",
        s(&energy()),
        s(&quiet_wav),
        s(&beeps),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let records: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 3);
    let r = &records[0];
    assert_eq!(r["file"], s(&quiet_wav));
    assert_eq!(r["detections"], serde_json::json!([]));
    let max = r["max_score"].as_f64().unwrap();
    assert!((0.0..0.5).contains(&max), "{r}");
    let t = r["max_score_time_s"].as_f64().unwrap();
    assert!(t > 0.0 && t <= 5.0, "{r}");
    assert_eq!(r["max_score_keyword"], "beep");
    assert!(records[1..].iter().all(|e| e["keyword"] == "beep"));

    // Too short for any evaluation: said so, no score.
    let short = dir.path().join("short.wav");
    write_wav(&short, &quiet(0.1, 4), 16_000);
    let out = hushword(&["detect", "--json", "--model", s(&energy()), s(&short)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let r: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert!(
        r["max_score"].is_null() && r["max_score_time_s"].is_null(),
        "{r}"
    );
    let out = hushword(&["detect", "--model", s(&energy()), s(&short)]);
    assert!(stdout(&out).contains("no detection  too short to score (0.10 s of audio)"));
}

#[test]
fn saved_clips_have_unique_names_their_path_printed_and_the_rolls_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    // Two inputs with the same file name.
    write_wav(&a.join("take.wav"), &two_beeps(), 16_000);
    write_wav(&b.join("take.wav"), &two_beeps(), 16_000);
    let clips = dir.path().join("clips");
    let out = hushword(&[
        "detect",
        "--save-clips",
        s(&clips),
        "--pre-roll-ms",
        "500",
        "--post-roll-ms",
        "250",
        "--model",
        s(&energy()),
        s(&a.join("take.wav")),
        s(&b.join("take.wav")),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let paths: Vec<&str> = text
        .lines()
        .map(|l| l.split("  clip ").nth(1).expect("clip path printed"))
        .collect();
    assert_eq!(paths.len(), 4, "{text}");
    let unique: std::collections::HashSet<&&str> = paths.iter().collect();
    assert_eq!(unique.len(), 4, "{text}");
    assert_eq!(std::fs::read_dir(&clips).unwrap().count(), 4);
    for p in paths {
        let reader = hound::WavReader::open(p).unwrap();
        // 0.5 s before the trigger + 0.25 s after it.
        assert_eq!(reader.len(), 8_000 + 4_000, "{p}");
    }
}

#[test]
fn dash_reads_a_file_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("beeps.wav");
    // 44.1 kHz stereo: stdin gets the same conversions as a file.
    write_wav_channels(&wav, &at_rate(&two_beeps(), 44_100), 44_100, 2);
    let bytes = std::fs::read(&wav).unwrap();
    let out = hushword_stdin(&["detect", "--json", "--model", s(&energy()), "-"], &bytes);
    assert!(out.status.success(), "{}", stderr(&out));
    let events: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 2, "{}", stdout(&out));
    assert_eq!(events[0]["file"], "<stdin>");
    let from_file = hushword(&["detect", "--json", "--model", s(&energy()), s(&wav)]);
    let times = |text: String| -> Vec<f64> {
        text.lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["time_s"]
                    .as_f64()
                    .unwrap()
            })
            .collect()
    };
    assert_eq!(times(stdout(&out)), times(stdout(&from_file)));
    // Garbage on stdin: one error line naming stdin.
    let out = hushword_stdin(
        &["detect", "--model", s(&energy()), "-"],
        b"ID3\x04 not audio",
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("<stdin>: an MP3 file") && err.contains("ffmpeg -i in.mp3"),
        "{err}"
    );
}

#[test]
fn detector_flags_are_the_same_in_detect_listen_and_eval() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("long_tone.wav");
    // One 4 s tone: with the default 1.5 s refractory period it fires 3 times, with 500 ms more.
    let x = quiet_with_bursts(7.0, &[1.0], 4.0, 5);
    write_wav(&wav, &x, 16_000);
    let energy = energy();
    let count = |extra: &[&str]| {
        let mut args = vec!["detect", "--model", s(&energy)];
        args.extend_from_slice(extra);
        args.push(s(&wav));
        let out = hushword(&args);
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out).lines().count()
    };
    let default = count(&[]);
    let short = count(&["--refractory-ms", "500"]);
    assert!(short > default, "{short} vs {default}");
    assert_eq!(
        count(&["--refractory-ms", "500", "--smoothing", "1"]),
        short
    );

    let flags = [
        "--pre-roll-ms",
        "300",
        "--post-roll-ms",
        "100",
        "--smoothing",
        "3",
        "--refractory-ms",
        "500",
    ];
    let mut args = vec!["listen", "--model", s(&energy)];
    args.extend_from_slice(&flags);
    let pcm: Vec<u8> = x
        .iter()
        .flat_map(|&v| ((v * 32767.0) as i16).to_le_bytes())
        .collect();
    let out = hushword_stdin(&args, &pcm);
    assert!(out.status.success(), "{}", stderr(&out));
    let pos = dir.path().join("pos");
    std::fs::create_dir_all(&pos).unwrap();
    write_wav(&pos.join("p.wav"), &two_beeps(), 16_000);
    let mut args = vec![
        "eval",
        "--model",
        s(&energy),
        "--positives",
        s(&pos),
        "--negatives",
        s(&wav),
    ];
    args.extend_from_slice(&flags);
    let out = hushword(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("refractory 0.50 s  smoothing 3"),
        "{}",
        stdout(&out)
    );
    // Out of range: refused by name, the same way everywhere.
    for cmd in ["detect", "listen", "eval"] {
        let out = hushword(&[cmd, "--post-roll-ms", "60001"]);
        assert_eq!(out.status.code(), Some(2));
        assert!(stderr(&out).contains("--post-roll-ms"), "{}", stderr(&out));
    }
}

#[test]
fn wav_data_sizes_from_streaming_writers_read_to_the_end_in_every_tool() {
    let dir = tempfile::tempdir().unwrap();
    let honest = dir.path().join("honest.wav");
    write_wav(&honest, &two_beeps(), 16_000);
    let detections = |file: &std::path::Path| {
        let out = hushword(&["detect", "--json", "--model", s(&energy()), s(file)]);
        assert!(out.status.success(), "{}", stderr(&out));
        let times: Vec<String> = stdout(&out)
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["time_s"].to_string())
            .collect();
        (times, stderr(&out))
    };
    let (expected, err) = detections(&honest);
    assert_eq!(expected.len(), 2);
    assert!(!err.contains("note"), "{err}");
    for (size, says) in [
        (0u32, "data size as 0 "),
        (u32::MAX, "0xFFFFFFFF"),
        (400_000_000, "promises 400000000 bytes"),
    ] {
        let wav = dir.path().join(format!("size_{size}.wav"));
        write_wav(&wav, &two_beeps(), 16_000);
        set_data_size(&wav, size);
        let note = format!("hushword: {}: note: ", s(&wav));
        let (got, err) = detections(&wav);
        assert_eq!(got, expected, "size {size}: {err}");
        assert!(
            err.contains(&note) && err.contains(says) && err.contains("read to the end"),
            "{err}"
        );

        let out = hushword(&["bench", "--model", s(&energy()), s(&wav)]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(
            stdout(&out).contains("audio              9.0 s"),
            "{}",
            stdout(&out)
        );
        assert!(
            stderr(&out).contains(&note) && stderr(&out).contains(says),
            "{}",
            stderr(&out)
        );

        let out = hushword(&[
            "eval",
            "--model",
            s(&energy()),
            "--positives",
            s(&honest),
            "--negatives",
            s(&wav),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(
            stdout(&out).contains("1 negative files (0.003 h)"),
            "{}",
            stdout(&out)
        );
        assert!(
            stderr(&out).contains(&note) && stderr(&out).contains(says),
            "{}",
            stderr(&out)
        );
    }
}
