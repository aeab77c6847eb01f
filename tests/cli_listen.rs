//! `hushword listen` on piped stdin.

#[path = "cli_support/mod.rs"]
mod support;

use support::*;

fn s16le(samples: &[f32]) -> Vec<u8> {
    samples
        .iter()
        .flat_map(|&x| ((x * 32767.0).round() as i16).to_le_bytes())
        .collect()
}

#[test]
fn listen_prints_detections_from_stdin_and_exits_at_eof() {
    let audio = quiet_with_bursts(7.0, &[1.0, 4.0], 1.0, 9);
    let out = hushword_stdin(&["listen", "--model", s(&energy())], &s16le(&audio));
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    for (line, onset) in lines.iter().zip([1.0, 4.0]) {
        let f: Vec<&str> = line.split_whitespace().collect();
        // RFC 3339 UTC wall-clock time first.
        assert_eq!(f[0].len(), "2024-01-01T00:00:00.000Z".len(), "{line}");
        assert!(f[0].ends_with('Z') && f[0].as_bytes()[10] == b'T', "{line}");
        assert_eq!(f[1], "beep");
        assert_eq!((f[2], f[4], f[6]), ("score", "at", "s"), "{line}");
        let t: f64 = f[5].parse().unwrap();
        assert!(t > onset && t < onset + 0.5, "{line}");
    }
    let err = stderr(&out);
    assert!(
        err.contains("end of input after 7.00 s of audio, 2 detections"),
        "{err}"
    );
}

#[test]
fn listen_json_and_an_odd_trailing_byte() {
    let audio = quiet_with_bursts(3.0, &[1.0], 1.0, 10);
    let mut bytes = s16le(&audio);
    bytes.push(0x7f);
    let out = hushword_stdin(&["listen", "--json", "--model", s(&energy())], &bytes);
    assert!(out.status.success(), "{}", stderr(&out));
    let events: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["keyword"], "beep");
    assert!(events[0]["time"].as_str().unwrap().ends_with('Z'));
    let t = events[0]["stream_s"].as_f64().unwrap();
    assert!(t > 1.0 && t < 1.5);
    let err = stderr(&out);
    assert!(err.contains("ignored a trailing odd byte"), "{err}");
    assert!(err.contains("3.00 s of audio, 1 detection"), "{err}");
}

#[test]
fn listen_refuses_a_bad_model() {
    let m = model("no_metadata.onnx");
    let out = hushword_stdin(&["listen", "--model", s(&m)], &[0, 0]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        error_lines(&stderr(&out), s(&m)).len(),
        1,
        "{}",
        stderr(&out)
    );
}

#[test]
fn listen_reads_a_wav_stream_by_its_header() {
    let dir = tempfile::tempdir().unwrap();
    let audio = quiet_with_bursts(7.0, &[1.0, 4.0], 1.0, 9);
    let raw = hushword_stdin(
        &["listen", "--json", "--model", s(&energy())],
        &s16le(&audio),
    );
    let times = |out: &std::process::Output| -> Vec<f64> {
        stdout(out)
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["stream_s"]
                    .as_f64()
                    .unwrap()
            })
            .collect()
    };
    assert_eq!(times(&raw).len(), 2);
    // As arecord writes to a pipe: 16 kHz mono WAV whose header cannot know the length.
    let wav = dir.path().join("mono.wav");
    write_wav(&wav, &audio, 16_000);
    set_data_size(&wav, u32::MAX);
    let out = hushword_stdin(
        &["listen", "--json", "--model", s(&energy())],
        &std::fs::read(&wav).unwrap(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(times(&out), times(&raw), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("reading a WAV stream, 16000 Hz, 1 channel(s)"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("7.00 s of audio, 2 detections"),
        "{}",
        stderr(&out)
    );
    // 44.1 kHz stereo: converted as `detect` converts files.
    let wav = dir.path().join("stereo.wav");
    write_wav_channels(&wav, &at_rate(&audio, 44_100), 44_100, 2);
    let out = hushword_stdin(
        &["listen", "--json", "--model", s(&energy())],
        &std::fs::read(&wav).unwrap(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let got = times(&out);
    assert_eq!(got.len(), 2, "{}", stderr(&out));
    for (a, b) in got.iter().zip(times(&raw)) {
        assert!((a - b).abs() < 0.05, "{got:?}");
    }
    assert!(
        stderr(&out).contains("44100 Hz, 2 channel(s) (converted to 16 kHz mono)"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn listen_saves_clips_with_the_post_roll() {
    let dir = tempfile::tempdir().unwrap();
    let clips = dir.path().join("clips");
    let audio = quiet_with_bursts(7.0, &[1.0, 4.0], 1.0, 9);
    let out = hushword_stdin(
        &[
            "listen",
            "--json",
            "--save-clips",
            s(&clips),
            "--post-roll-ms",
            "1000",
            "--model",
            s(&energy()),
        ],
        &s16le(&audio),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let events: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 2);
    for e in &events {
        let path = e["clip"].as_str().unwrap();
        let reader = hound::WavReader::open(path).unwrap();
        // Up to 2 s of pre-roll (the default; less near the start) + 1 s of post-roll.
        let position = (e["stream_s"].as_f64().unwrap() * 16_000.0).round() as u32;
        assert_eq!(reader.len(), position.min(32_000) + 16_000, "{path}");
    }
}
