//! Builds examples/c/stream_wav.c with the system C compiler against the static library
//! cargo built alongside this test (the lib target's `staticlib` crate type), runs it on a
//! shipped recording and checks its output and its errors.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// What the static library needs from the system on Linux: the standard library's list
/// (`rustc --crate-type staticlib --print native-static-libs`; tract's kernels are bundled in
/// the archive), plus no executable stack (those kernels carry no .note.GNU-stack).
const LINK_FLAGS: &[&str] = &[
    "-lgcc_s",
    "-lutil",
    "-lrt",
    "-lpthread",
    "-lm",
    "-ldl",
    "-lc",
    "-Wl,-z,noexecstack",
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `libhushword.a` from this test's own profile directory: the test runs from
/// `target/<profile>/deps/`, where cargo also writes the library's crate types.
fn static_library() -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows its path");
    let candidates: Vec<PathBuf> = exe
        .ancestors()
        .skip(1)
        .take(2)
        .map(|dir| dir.join("libhushword.a"))
        .collect();
    let library = candidates.iter().find(|p| p.is_file()).cloned();
    library.unwrap_or_else(|| {
        panic!(
            "no libhushword.a in {candidates:?}: the [lib] crate-type in Cargo.toml must \
             include \"staticlib\" (cargo builds it with the tests)"
        )
    })
}

/// Compiles the example once per test into `dir`.
fn build_example(dir: &Path) -> PathBuf {
    let exe = dir.join("stream_wav");
    let out = Command::new("cc")
        .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-O2", "-I"])
        .arg(root().join("include"))
        .arg(root().join("examples/c/stream_wav.c"))
        .arg(static_library())
        .args(LINK_FLAGS)
        .arg("-o")
        .arg(&exe)
        .output()
        .expect("a C compiler `cc` must be installed");
    assert!(
        out.status.success(),
        "cc failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}

fn run(exe: &Path, args: &[&Path]) -> Output {
    Command::new(exe).args(args).output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `key=value` fields of a detection line.
fn field<'a>(line: &'a str, key: &str) -> &'a str {
    line.split_whitespace()
        .find_map(|f| f.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no {key}= in {line}"))
}

#[test]
fn c_example_detects_alexa_once_with_its_pre_roll() {
    let dir = tempfile::tempdir().unwrap();
    let exe = build_example(dir.path());
    let wav = root().join("data/alexa_kokoro.wav");
    let model = root().join("models/alexa.onnx");
    let out = run(&exe, &[&wav, &model]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let detections: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("detection "))
        .collect();
    assert_eq!(detections.len(), 1, "{text}");
    let line = detections[0];
    assert_eq!(field(line, "keyword"), "alexa", "{line}");
    let time: f64 = field(line, "time").parse().unwrap();
    assert!((2.5..=3.5).contains(&time), "fired at {time} s: {line}");
    // The reported score is the one that crossed the model's own threshold (the example
    // passes no override): at least the threshold, at most 1.
    let threshold = f64::from(
        hushword::WakeWordModel::from_path(&model)
            .unwrap()
            .metadata()
            .threshold,
    );
    let score: f64 = field(line, "score").parse().unwrap();
    assert!(
        (threshold..=1.0).contains(&score),
        "score {score} under the threshold {threshold}: {line}"
    );
    // 1.5 s of pre-roll configured, and the trigger is later than that into the file.
    assert_eq!(field(line, "pre_roll"), "24000", "{line}");
    let done = text.lines().last().unwrap();
    assert!(done.starts_with("done samples=70560 "), "{text}");
    assert_eq!(field(done, "dropped"), "0", "{text}");
}

#[test]
fn c_example_reports_bad_models_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let exe = build_example(dir.path());
    let wav = root().join("data/alexa_kokoro.wav");
    let text_file = dir.path().join("notes.onnx");
    std::fs::write(&text_file, "this is not a model\n").unwrap();
    let missing = dir.path().join("missing.onnx");
    for (model, problem) in [
        (&missing, "cannot read"),
        (&text_file, "not a readable ONNX model"),
    ] {
        let out = run(&exe, &[&wav, model]);
        assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("error: "), "{err}");
        assert!(err.contains(&model.display().to_string()), "{err}");
        assert!(err.contains(problem), "{err}");
        assert!(!stdout(&out).contains("detection"), "{}", stdout(&out));
    }
    let out = run(&exe, &[&text_file]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("not a RIFF/WAVE file"),
        "{}",
        stderr(&out)
    );
}
