//! `hushword enroll` and `--profile` end to end with the shipped alexa model and the committed
//! clips in data/: a profile is learned, lets a clip through that the base model misses at a
//! stricter threshold, is refused by another model, and every bad-clip refusal names the clip
//! and says why. The C API loads a profile too.

#[path = "cli_support/mod.rs"]
mod support;

use hushword::audio::read_audio;
use hushword::capi::*;
use std::ffi::{c_int, CString};
use std::path::{Path, PathBuf};
use std::ptr::{null, null_mut};
use support::*;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn alexa() -> PathBuf {
    repo("models/alexa.onnx")
}

/// Three clips of one (synthetic) voice saying "alexa": clean, at 10 dB, and clean at -6 dB.
fn good_clips(dir: &Path) -> Vec<PathBuf> {
    let quieter: Vec<f32> = read_audio(&repo("data/alexa_kokoro.wav"))
        .unwrap()
        .iter()
        .map(|s| s * 0.5)
        .collect();
    let third = dir.join("quieter.wav");
    write_wav(&third, &quieter, 16_000);
    vec![
        repo("data/alexa_kokoro.wav"),
        repo("data/alexa_noisy.wav"),
        third,
    ]
}

fn enroll(out: &Path, clips: &[PathBuf]) -> std::process::Output {
    let model = alexa();
    let mut args = vec!["enroll", "--model", s(&model), "--out", s(out)];
    args.extend(clips.iter().map(|c| s(c)));
    hushword(&args)
}

#[test]
fn enrolment_writes_a_profile_that_lets_the_voice_through() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("me.profile");
    let out = enroll(&profile, &good_clips(dir.path()));
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("enrolled 3 clips of `alexa`"), "{text}");
    assert!(text.contains("operating point"), "{text}");
    let json = std::fs::read_to_string(&profile).unwrap();
    assert!(json.contains("\"format\":\"hushword-profile\""));
    assert!(
        json.len() < 200_000,
        "a profile is small: {} bytes",
        json.len()
    );

    // At a threshold above the noisy clip's peak the base model misses it; the profile,
    // whose templates came from that very voice, lets it through, also as a speaker gate.
    let (model, noisy, none) = (
        alexa(),
        repo("data/alexa_noisy.wav"),
        repo("data/no_wakeword.wav"),
    );
    let base = [
        "detect",
        "--model",
        s(&model),
        "--threshold",
        "0.999",
        s(&noisy),
    ];
    let out = hushword(&base);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(detection_lines(&out), 0, "{}", stdout(&out));
    let gates: [&[&str]; 2] = [
        &["--profile", s(&profile)],
        &["--profile", s(&profile), "--only-enrolled"],
    ];
    for extra in gates {
        let args: Vec<&str> = base.iter().copied().chain(extra.iter().copied()).collect();
        let out = hushword(&args);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(detection_lines(&out), 1, "{:?}: {}", extra, stdout(&out));
    }

    // Speech without the word does not become a detection with the profile.
    let out = hushword(&[
        "detect",
        "--model",
        s(&model),
        "--profile",
        s(&profile),
        "--only-enrolled",
        s(&none),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(detection_lines(&out), 0, "{}", stdout(&out));

    // eval takes the same flag.
    let out = hushword(&[
        "eval",
        "--model",
        s(&model),
        "--positives",
        s(&noisy),
        "--negatives",
        s(&none),
        "--profile",
        s(&profile),
        "--threads",
        "1",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));

    // Another model refuses the profile, naming it.
    let computer = repo("models/computer.onnx");
    let out = hushword(&[
        "detect",
        "--model",
        s(&computer),
        "--profile",
        s(&profile),
        s(&noisy),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("me.profile") && err.contains("enrolled with model"),
        "{err}"
    );
}

#[test]
fn a_file_that_is_not_a_profile_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.profile");
    std::fs::write(&bad, "{\"format\": \"something else\"}").unwrap();
    let (model, noisy) = (alexa(), repo("data/alexa_noisy.wav"));
    let out = hushword(&[
        "detect",
        "--model",
        s(&model),
        "--profile",
        s(&bad),
        s(&noisy),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("not a profile"), "{}", stderr(&out));
    let out = hushword(&["detect", "--model", s(&model), "--only-enrolled", s(&noisy)]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "--only-enrolled needs --profile"
    );
}

/// Enrols two good clips and `bad`; the refusal must name `bad` and contain `why`.
fn refused(bad: &[f32], why: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut clips = good_clips(dir.path());
    clips.truncate(2);
    let path = dir.path().join("bad.wav");
    write_wav(&path, bad, 16_000);
    clips.push(path);
    let profile = dir.path().join("me.profile");
    let out = enroll(&profile, &clips);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let err = stderr(&out);
    let lines = error_lines(&err, "bad.wav");
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].contains(why), "`{why}` not in: {err}");
    assert!(err.contains("nothing enrolled"), "{err}");
    assert!(!profile.exists(), "a refused enrolment writes nothing");
}

#[test]
fn silence_is_too_quiet() {
    refused(&vec![0.0; 32_000], "too quiet");
}

#[test]
fn steady_noise_holds_no_speech() {
    let noise: Vec<f32> = quiet(2.0, 7).iter().map(|s| s * 100.0).collect();
    refused(&noise, "no speech");
}

#[test]
fn a_clipped_recording_is_refused() {
    let loud: Vec<f32> = read_audio(&repo("data/alexa_kokoro.wav"))
        .unwrap()
        .iter()
        .map(|s| (s * 30.0).clamp(-1.0, 1.0))
        .collect();
    refused(&loud, "clipped");
}

#[test]
fn a_clip_too_short_is_refused() {
    refused(&tone(0.1), "s long");
}

#[test]
fn a_clip_without_the_word_is_refused() {
    // A loud 100 Hz hum for 0.6 s in quiet noise passes the audio checks but is no word: the
    // alexa model peaks at 0.005 on it (the 440 Hz square bursts of `quiet_with_bursts`
    // reach 0.19, above MIN_WORD_SCORE, so they cannot stand for "no word").
    let mut hum = quiet(2.0, 3);
    for (i, s) in hum.iter_mut().enumerate().skip(8_000).take(9_600) {
        *s = 0.3 * (2.0 * std::f32::consts::PI * 100.0 * i as f32 / 16_000.0).sin();
    }
    refused(&hum, "wake word was not found");
}

#[test]
fn speech_without_the_word_is_refused() {
    // The shipped negative speech is the bank the operating point is checked against.
    let none = read_audio(&repo("data/no_wakeword.wav")).unwrap();
    refused(&none, "without the wake word");
}

#[test]
fn clip_count_and_unreadable_clips_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let clips = good_clips(dir.path());
    let profile = dir.path().join("me.profile");
    let out = enroll(&profile, &clips[..2]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "clap refuses fewer than 3 clips"
    );
    let missing = dir.path().join("missing.wav");
    let out = enroll(&profile, &[clips[0].clone(), clips[1].clone(), missing]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        error_lines(&stderr(&out), "missing.wav").len(),
        1,
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_c_api_loads_a_profile_for_its_own_model_only() {
    const OK: c_int = HushwordStatus::Ok as c_int;
    const MODEL: c_int = HushwordStatus::Model as c_int;
    const NULL_POINTER: c_int = HushwordStatus::NullPointer as c_int;
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("me.profile");
    assert!(enroll(&profile, &good_clips(dir.path())).status.success());
    let profile = CString::new(s(&profile)).unwrap();
    for (model, want) in [("models/alexa.onnx", OK), ("models/computer.onnx", MODEL)] {
        let path = CString::new(s(&repo(model))).unwrap();
        let mut det = null_mut();
        // SAFETY: valid NUL-terminated path, writable out pointer, NULL config.
        assert_eq!(
            unsafe { hushword_detector_new_from_path(path.as_ptr(), null(), &mut det) },
            OK
        );
        // SAFETY: a live handle and a NUL-terminated path.
        assert_eq!(
            unsafe { hushword_detector_load_profile(det, profile.as_ptr(), 1) },
            want
        );
        // SAFETY: a live handle; NULL path is refused.
        assert_eq!(
            unsafe { hushword_detector_load_profile(det, null(), 0) },
            NULL_POINTER
        );
        // SAFETY: freed once.
        assert_eq!(unsafe { hushword_detector_free(det) }, OK);
    }
}

/// Lines of `hushword detect` output that are detections (a file without one gets a line
/// saying "no detection" and its highest score).
fn detection_lines(out: &std::process::Output) -> usize {
    stdout(out)
        .lines()
        .filter(|l| !l.contains("  no detection  "))
        .count()
}
