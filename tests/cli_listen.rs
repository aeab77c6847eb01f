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
        let t: f64 = f[3].parse().unwrap();
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
