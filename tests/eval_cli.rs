//! `hushword eval` end to end: outputs, thread independence, skipped files, bad arguments.

#[path = "cli_support/mod.rs"]
mod support;

use support::*;

fn make_set(
    root: &std::path::Path,
) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let pos = root.join("pos");
    let neg = root.join("neg");
    let noise = root.join("noise");
    for d in [&pos, &neg, &noise] {
        std::fs::create_dir_all(d).unwrap();
    }
    for i in 0..3 {
        write_wav(&pos.join(format!("beep{i}.wav")), &tone(0.8), 16_000);
    }
    write_wav(&pos.join("nothing.wav"), &quiet(0.8, 1), 16_000);
    write_wav(&neg.join("quiet.wav"), &quiet(20.0, 2), 16_000);
    write_wav(
        &neg.join("zz_bursts.wav"),
        &quiet_with_bursts(10.0, &[2.0, 6.0], 0.8, 3),
        16_000,
    );
    write_wav(
        &noise.join("hiss.wav"),
        &quiet(3.0, 4).iter().map(|x| x * 50.0).collect::<Vec<_>>(),
        16_000,
    );
    (pos, neg, noise)
}

#[test]
fn eval_writes_json_csv_and_svg_identically_for_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let (pos, neg, noise) = make_set(dir.path());
    let run = |threads: &str| {
        let json = dir.path().join(format!("r{threads}.json"));
        let csv = dir.path().join(format!("r{threads}.csv"));
        let svg = dir.path().join(format!("r{threads}.svg"));
        let out = hushword(&[
            "eval",
            "--positives",
            s(&pos),
            "--negatives",
            s(&neg),
            "--model",
            s(&energy()),
            "--model",
            s(&energy()),
            "--noise",
            s(&noise),
            "--snr",
            "10",
            "--snr",
            "-5",
            "--seed",
            "7",
            "--threads",
            threads,
            "--target-fa-per-hour",
            "1000",
            "--json",
            s(&json),
            "--csv",
            s(&csv),
            "--plot",
            s(&svg),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        (
            out,
            std::fs::read_to_string(json).unwrap(),
            std::fs::read_to_string(csv).unwrap(),
            std::fs::read_to_string(svg).unwrap(),
        )
    };
    let (out1, json1, csv1, svg1) = run("1");
    let (out2, json2, csv2, svg2) = run("2");
    assert_eq!(json1, json2);
    assert_eq!(csv1, csv2);
    assert_eq!(svg1, svg2);
    assert_eq!(stdout(&out1), stdout(&out2));
    assert!(stderr(&out1).contains("seed 7"), "{}", stderr(&out1));

    let v: serde_json::Value = serde_json::from_str(&json1).unwrap();
    assert_eq!(v["seed"], 7);
    assert_eq!(v["positives"], 4);
    assert_eq!(v["negatives"], 2);
    assert_eq!(v["negative_file_seconds"], 30.0);
    // 2 models x (clean, 10 dB, -5 dB), model-major.
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 6);
    let conds: Vec<&str> = results
        .iter()
        .map(|r| r["condition"].as_str().unwrap())
        .collect();
    assert_eq!(
        conds,
        ["clean", "snr_10db", "snr_-5db", "clean", "snr_10db", "snr_-5db"]
    );
    // The same model twice sees the same streams and noise: identical numbers.
    for i in 0..3 {
        let (a, b) = (&results[i], &results[i + 3]);
        assert_eq!(a["at_default"], b["at_default"]);
        assert_eq!(a["curve"], b["curve"]);
    }
    let clean = &results[0];
    assert_eq!(clean["at_default"]["missed"], 1);
    // zz_bursts.wav holds two tone bursts 4 s apart (beyond the refractory period): exactly two
    // false accepts in the negative files, one in each burst. The gaps around the positives draw
    // from the same negatives (bursts included), so the total also counts those, each listed.
    let fas = clean["false_accepts"].as_array().unwrap();
    assert_eq!(clean["at_default"]["false_accepts"], fas.len(), "{fas:?}");
    let in_negatives: Vec<f64> = fas
        .iter()
        .filter(|f| f["role"] == "negative")
        .map(|f| {
            assert_eq!(f["file"], s(&neg.join("zz_bursts.wav")), "{f}");
            f["time_s"].as_f64().unwrap()
        })
        .collect();
    assert_eq!(in_negatives.len(), 2, "{fas:?}");
    assert!((2.0..2.8).contains(&in_negatives[0]), "{fas:?}");
    assert!((6.0..6.8).contains(&in_negatives[1]), "{fas:?}");
    assert!(
        fas.iter()
            .all(|f| f["role"] == "negative" || f["role"] == "positive_gap"),
        "{fas:?}"
    );
    assert_eq!(clean["missed"][0]["file"], s(&pos.join("nothing.wav")));
    let best = clean["missed"][0]["best_score"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&best), "{best}");
    assert!(clean["missed"][0]["best_time_s"].as_f64().is_some());
    assert!(clean["target"]["fa_per_hour"].as_f64().unwrap() <= 1000.0);
    // Noise is mixed at the SNR relative to each file's own level: hiss at 10 dB (or -5 dB)
    // under zz_bursts.wav's tone bursts is loud enough to fire the energy model all along that
    // file, while under quiet.wav (60 dB quieter) it stays quiet and never fires.
    let negative_fas = |r: &serde_json::Value, file: &str| {
        r["false_accepts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["role"] == "negative" && f["file"] == s(&neg.join(file)))
            .count()
    };
    for noisy in &results[1..3] {
        let bursts = negative_fas(noisy, "zz_bursts.wav");
        assert!(
            bursts >= 5,
            "{}: {bursts} in zz_bursts.wav",
            noisy["condition"]
        );
        assert_eq!(
            negative_fas(noisy, "quiet.wav"),
            0,
            "{}",
            noisy["condition"]
        );
        assert_ne!(noisy["curve"], clean["curve"]);
    }
    assert_eq!(clean["at_fa_per_hour"].as_array().unwrap().len(), 3);

    // CSV rows = every curve point of every result.
    let points: usize = results
        .iter()
        .map(|r| r["curve"].as_array().unwrap().len())
        .sum();
    assert_eq!(csv1.lines().count(), points + 1);
    assert!(
        svg1.starts_with("<svg") || svg1.starts_with("<?xml"),
        "{}",
        &svg1[..80.min(svg1.len())]
    );
    assert!(svg1.contains("clean"));

    // The same report as PNG: a real 900x600 RGB image, identical for any thread count.
    let png_of = |threads: &str| {
        let png = dir.path().join(format!("r{threads}.png"));
        let out = hushword(&[
            "eval",
            "--positives",
            s(&pos),
            "--negatives",
            s(&neg),
            "--model",
            s(&energy()),
            "--seed",
            "7",
            "--threads",
            threads,
            "--plot",
            s(&png),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        std::fs::read(png).unwrap()
    };
    let (png1, png2) = (png_of("1"), png_of("2"));
    assert_eq!(png1, png2);
    assert_eq!(&png1[..8], b"\x89PNG\r\n\x1a\n");
    let mut reader = png::Decoder::new(std::io::Cursor::new(&png1))
        .read_info()
        .unwrap();
    let mut rgb = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut rgb).unwrap();
    assert_eq!((info.width, info.height), (900, 600));
    // Something was drawn (axes, curves, glyphs), and text was rasterized: anti-aliased glyph
    // edges give many grey levels that the flat colours of lines alone would not.
    let ink = rgb.chunks(3).filter(|p| p != &[255, 255, 255]).count();
    assert!(ink > 5_000, "{ink} non-white pixels");
    let greys: std::collections::BTreeSet<u8> = rgb
        .chunks(3)
        .filter(|p| p[0] == p[1] && p[1] == p[2])
        .map(|p| p[0])
        .collect();
    assert!(greys.len() > 20, "{} grey levels", greys.len());

    // The text report shows counts and hours beside rates, and the misses.
    let text = stdout(&out1);
    assert!(
        text.contains("4 positive clips, 2 negative files"),
        "{text}"
    );
    assert!(text.contains("FRR  25.00% (1/4)"), "{text}");
    assert!(text.contains("nothing.wav"), "{text}");
}

#[test]
fn eval_reports_skips_bad_files_and_exits_nonzero() {
    let dir = tempfile::tempdir().unwrap();
    let (pos, neg, _) = make_set(dir.path());
    let broken = neg.join("broken.wav");
    std::fs::write(&broken, "RIFF but not really").unwrap();
    let truncated = pos.join("truncated.flac");
    std::fs::write(&truncated, "fLaC").unwrap();
    let json = dir.path().join("r.json");
    let out = hushword(&[
        "eval",
        "--positives",
        s(&pos),
        "--negatives",
        s(&neg),
        "--model",
        s(&energy()),
        "--json",
        s(&json),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(error_lines(&err, s(&broken)).len(), 1, "{err}");
    assert_eq!(error_lines(&err, s(&truncated)).len(), 1, "{err}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["skipped"].as_array().unwrap().len(), 2);
    assert_eq!(v["positives"], 4);
    assert_eq!(v["negatives"], 2);
    let text = stdout(&out);
    assert!(text.contains("2 skipped"), "{text}");
    assert!(text.contains("2 files skipped:"), "{text}");
}

#[test]
fn eval_refuses_bad_arguments_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let (pos, neg, _) = make_set(dir.path());
    let missing = dir.path().join("no-such-dir");
    let gif = dir.path().join("plot.gif");
    let model = energy();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--negatives", s(&missing)], s(&missing)),
        (vec!["--negatives", s(&neg), "--plot", s(&gif)], s(&gif)),
        (vec!["--negatives", s(&neg), "--snr", "5"], "noise"),
        (vec!["--negatives", s(&neg), "--keyword", "nope"], "nope"),
    ];
    for (extra, needle) in cases {
        let mut args = vec!["eval", "--positives", s(&pos), "--model", s(&model)];
        args.extend(extra);
        let out = hushword(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = stderr(&out);
        let errors: Vec<&str> = err
            .lines()
            .filter(|l| l.starts_with("hushword: ") && !l.starts_with("hushword eval:"))
            .collect();
        assert_eq!(errors.len(), 1, "{err}");
        assert!(errors[0].contains(needle), "{err}");
    }
}

#[test]
fn eval_smoothing_is_applied_recorded_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let (pos, neg, _) = make_set(dir.path());
    let model = energy();
    let eval = |extra: &[&str]| {
        let mut args = vec![
            "eval",
            "--positives",
            s(&pos),
            "--negatives",
            s(&neg),
            "--model",
            s(&model),
        ];
        args.extend_from_slice(extra);
        hushword(&args)
    };
    let report = |smoothing: &str| {
        let json = dir.path().join(format!("s{smoothing}.json"));
        let out = eval(&["--smoothing", smoothing, "--json", s(&json)]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(
            stdout(&out).contains(&format!("smoothing {smoothing}\n")),
            "{}",
            stdout(&out)
        );
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        assert_eq!(
            v["models"][0]["smoothing"],
            smoothing.parse::<u64>().unwrap()
        );
        v["results"][0]["latency"]["median_s"].as_f64().unwrap()
    };
    // The test model's scores are steps from 0 to 1: averaged over 8 evaluations they cross its
    // threshold (0.5) 3 evaluations later than raw, so every detection comes later.
    let (raw, smoothed) = (report("1"), report("8"));
    assert!(
        smoothed > raw,
        "median latency {raw} s raw, {smoothed} s smoothed"
    );

    let out = eval(&["--smoothing", "0"]);
    assert_ne!(out.status.code(), Some(0));
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains("--smoothing") && err.contains("`0`"), "{err}");
}
