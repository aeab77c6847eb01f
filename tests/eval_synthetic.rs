//! `hushword::eval` on a synthetic set whose answer is known by construction, with the energy
//! fixture ("beep" fires on a loud tone): 4 positives with a tone, 1 positive without (always
//! missed), a quiet negative and a negative with 3 tone bursts (3 false accepts).

#[path = "cli_support/mod.rs"]
mod support;

use hushword::detector::{Detector, DetectorConfig};
use hushword::eval::{self, events_from_scores, score_stream, EvalConfig, EvalModel, EvalReport};
use hushword::model::WakeWordModel;
use std::path::Path;
use support::*;

struct Set {
    _dir: tempfile::TempDir,
    pos: std::path::PathBuf,
    neg: std::path::PathBuf,
    noise: std::path::PathBuf,
}

fn make_set() -> Set {
    let dir = tempfile::tempdir().unwrap();
    let pos = dir.path().join("pos");
    let neg = dir.path().join("neg");
    let noise = dir.path().join("noise");
    for d in [&pos, &neg, &noise, &pos.join("sub")] {
        std::fs::create_dir_all(d).unwrap();
    }
    for i in 0..4 {
        // Found recursively, in a subfolder for half of them.
        let d = if i % 2 == 0 {
            pos.clone()
        } else {
            pos.join("sub")
        };
        write_wav(&d.join(format!("beep{i}.wav")), &tone(0.8), 16_000);
    }
    write_wav(&pos.join("silent_word.wav"), &quiet(0.8, 5), 16_000);
    std::fs::write(pos.join("notes.txt"), "ignored: not audio by name").unwrap();
    write_wav(&neg.join("a_quiet.wav"), &quiet(60.0, 6), 16_000);
    write_wav(
        &neg.join("b_bursts.wav"),
        &quiet_with_bursts(30.0, &[5.0, 15.0, 25.0], 0.8, 7),
        16_000,
    );
    write_wav(
        &noise.join("hiss.wav"),
        &quiet(5.0, 8).iter().map(|x| x * 100.0).collect::<Vec<_>>(),
        16_000,
    );
    Set {
        _dir: dir,
        pos,
        neg,
        noise,
    }
}

fn config(set: &Set) -> EvalConfig {
    EvalConfig {
        positives: vec![set.pos.clone()],
        negatives: vec![set.neg.clone()],
        seed: 11,
        // 1 s gaps exactly, speech drawn from the first 10 s of the quiet negative only.
        gap_ms: (1000, 1000),
        gap_pool_seconds: 10.0,
        ..EvalConfig::default()
    }
}

fn models() -> Vec<EvalModel> {
    vec![EvalModel::from_path(&energy()).unwrap()]
}

fn run(config: &EvalConfig) -> EvalReport {
    eval::run(config, &models(), &|_| {}).unwrap()
}

#[test]
fn rates_counts_and_curve_are_exact() {
    let set = make_set();
    let mut cfg = config(&set);
    cfg.target_fa_per_hour = Some(0.0);
    let r = run(&cfg);
    assert_eq!(r.positives, 5);
    assert_eq!(r.negatives, 2);
    assert_eq!(r.negative_file_seconds, 90.0);
    // Per positive: 1 s gap before + (1 s gap after - 1 s detection window) = 1 s.
    assert_eq!(r.gap_seconds, 5.0);
    assert!(r.skipped.is_empty());
    assert_eq!(r.results.len(), 1);
    let res = &r.results[0];
    let hours = 95.0 / 3600.0;
    assert_eq!(res.negative_hours, hours);

    let d = &res.at_default;
    assert_eq!(d.threshold, 0.5);
    assert_eq!((d.missed, d.false_accepts), (1, 3));
    assert_eq!(d.frr, 0.2);
    assert_eq!(d.fa_per_hour, 3.0 / hours);
    assert_eq!(res.missed.len(), 1);
    assert_eq!(res.missed[0].file, set.pos.join("silent_word.wav"));
    // A deaf spot, not a near miss: its best score is far below the threshold.
    assert!(
        res.missed[0].best_score.unwrap() < 0.1,
        "{:?}",
        res.missed[0]
    );
    assert!(res.missed[0].best_time_s.unwrap() >= 0.0);
    let fa_times: Vec<f64> = res.false_accepts.iter().map(|f| f.time_s).collect();
    assert_eq!(res.false_accepts.len(), 3);
    for (fa, burst) in res.false_accepts.iter().zip([5.0, 15.0, 25.0]) {
        assert_eq!(fa.file, set.neg.join("b_bursts.wav"));
        assert_eq!(fa.role, "negative");
        assert!(fa.time_s > burst && fa.time_s < burst + 0.5, "{fa_times:?}");
    }
    // The tone fires ~0.1-0.3 s after it starts, i.e. before the 0.8 s clip ends.
    assert_eq!(res.latency.detected, 4);
    let median = res.latency.median_s.unwrap();
    assert!(median > -0.75 && median < -0.4, "{median}");

    // Every grid threshold sits between the quiet scores (~0) and the tone scores (~1).
    let grid = eval::threshold_grid();
    for t in &grid {
        let p = res
            .curve
            .iter()
            .find(|p| p.threshold == *t)
            .expect("grid point in curve");
        assert_eq!((p.missed, p.false_accepts), (1, 3), "threshold {t}");
        assert_eq!(p.fa_per_hour, 3.0 / hours);
        assert_eq!(p.frr, 0.2);
    }
    // 0.1, 0.5 and 1 FA/h need zero false accepts in 95 s: only a threshold above every
    // score, where every positive is missed.
    assert_eq!(res.at_fa_per_hour.len(), 3);
    for p in res.at_fa_per_hour.iter().chain(&res.target) {
        assert_eq!(
            (p.missed, p.false_accepts, p.frr, p.fa_per_hour),
            (5, 0, 1.0, 0.0)
        );
        assert!(p.threshold > 0.9999);
    }
    // A rate that allows the 3 bursts keeps the detections.
    cfg.target_fa_per_hour = Some(3.0 / hours);
    let r2 = run(&cfg);
    let t = r2.results[0].target.as_ref().unwrap();
    assert_eq!(t.false_accepts, 3);
    assert_eq!(t.missed, 1);
    // Anything above the quiet audio's scores (~1e-7) allows exactly those 3.
    assert!(t.threshold < 0.01, "{}", t.threshold);

    // CSV: header plus one row per curve point, counts and rates as above.
    let csv = eval::curve_csv(&r);
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "model,condition,threshold,frr,fa_per_hour,missed,positives,false_accepts,negative_hours"
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), res.curve.len());
    let row = rows.iter().find(|r| r[2] == "0.5").unwrap();
    assert_eq!(row[1], "clean");
    assert_eq!(row[3].parse::<f64>().unwrap(), 0.2);
    assert_eq!((row[5], row[6], row[7]), ("1", "5", "3"));
}

#[test]
fn offline_events_equal_the_detectors_own() {
    // Bursts at various spacings, some inside the 1.5 s refractory period of the previous one.
    let audio = quiet_with_bursts(20.0, &[1.0, 2.0, 3.2, 6.0, 7.4, 9.0, 12.0, 12.9], 0.3, 12);
    for threshold in [None, Some(0.05), Some(0.9)] {
        let model = WakeWordModel::from_path(energy()).unwrap();
        let mut cfg = DetectorConfig::default();
        if let Some(t) = threshold {
            cfg.thresholds = vec![("beep".into(), t)];
        }
        let mut det = Detector::new(vec![model], cfg).unwrap();
        let mut online = Vec::new();
        for c in audio.chunks(160) {
            det.push_f32(c, &mut online).unwrap();
        }
        let trace = score_stream(&mut det, 0, &audio, 160).unwrap();
        let t = det.threshold("beep").unwrap();
        let offline = events_from_scores(&trace, t, det.refractory_samples());
        let online: Vec<(u64, f32)> = online.iter().map(|d| (d.position, d.score)).collect();
        let offline: Vec<(u64, f32)> = offline.iter().map(|e| (e.position, e.score)).collect();
        assert!(online.len() >= 4, "{online:?}");
        assert_eq!(online, offline, "threshold {t}");
    }
}

#[test]
fn results_do_not_depend_on_threads_and_noise_is_seeded() {
    let set = make_set();
    let mut cfg = config(&set);
    cfg.noise = vec![set.noise.clone()];
    cfg.snrs_db = vec![20.0, 0.0];
    cfg.threads = Some(1);
    let one = run(&cfg);
    cfg.threads = Some(2);
    let two = run(&cfg);
    assert_eq!(one, two);
    assert_eq!(one.results.len(), 3);
    let names: Vec<&str> = one.results.iter().map(|r| r.condition.as_str()).collect();
    assert_eq!(names, ["clean", "snr_20db", "snr_0db"]);
    // Clean results are unaffected by adding noisy conditions.
    let clean = run(&config(&set));
    assert_eq!(clean.results[0], one.results[0]);
    // Another seed moves the gaps (not the clean counts).
    cfg.seed = 12;
    cfg.gap_ms = (1000, 3000);
    let other = run(&cfg);
    let mut cfg13 = cfg.clone();
    cfg13.seed = 13;
    assert_ne!(other.gap_seconds, run(&cfg13).gap_seconds);
}

#[test]
fn unreadable_files_are_skipped_and_counted() {
    let set = make_set();
    let clean = run(&config(&set));
    std::fs::write(set.neg.join("broken.wav"), "not a wav").unwrap();
    write_wav(&set.pos.join("empty.wav"), &[], 16_000);
    let r = run(&config(&set));
    let skipped: Vec<(&str, &Path)> = r
        .skipped
        .iter()
        .map(|s| (s.role.as_str(), s.path.as_path()))
        .collect();
    assert_eq!(
        skipped,
        vec![
            ("positive", set.pos.join("empty.wav").as_path()),
            ("negative", set.neg.join("broken.wav").as_path())
        ]
    );
    assert!(r.skipped.iter().all(|s| !s.reason.is_empty()));
    // Counts, curve and event lists are unchanged. (Seeds follow file order, so the skipped
    // clip shifts which gap audio the later clips get, and with it their latency a little.)
    let (a, b) = (&r.results[0], &clean.results[0]);
    assert_eq!(a.at_default, b.at_default);
    assert_eq!(a.curve, b.curve);
    assert_eq!(a.missed, b.missed);
    assert_eq!(a.false_accepts, b.false_accepts);
    assert_eq!((r.positives, r.negatives), (5, 2));
}

#[test]
fn configuration_errors_are_typed() {
    let set = make_set();
    let mut cfg = config(&set);
    cfg.snrs_db = vec![5.0];
    assert!(matches!(
        eval::run(&cfg, &models(), &|_| {}),
        Err(hushword::Error::Config(_))
    ));
    let mut cfg = config(&set);
    cfg.positives = vec![set.pos.join("does-not-exist")];
    let e = eval::run(&cfg, &models(), &|_| {}).unwrap_err();
    assert!(e.to_string().contains("does-not-exist"), "{e}");
    let cfg = config(&set);
    let two = vec![EvalModel::from_path(&model("two_keywords.onnx")).unwrap()];
    let e = eval::run(&cfg, &two, &|_| {}).unwrap_err();
    assert!(e.to_string().contains("--keyword"), "{e}");
    let bad = vec![EvalModel::from_path(&model("no_metadata.onnx")).unwrap()];
    assert!(matches!(
        eval::run(&cfg, &bad, &|_| {}),
        Err(hushword::Error::Model { .. })
    ));
}

/// Mean square of a signal.
fn power(x: &[f32]) -> f64 {
    x.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>() / x.len() as f64
}

/// The noisy conditions hand the model noise at the stated SNR, and the noise changes what it
/// scores. Negative: quiet white noise. Noise: the loud tone the energy model fires on. At SNR
/// `s` the tone must reach the model at `sqrt(P / (Pn 10^(s/10)))` times its file level (P,
/// Pn: the negative's and the noise file's power); the test builds that mix itself, asks a
/// detector whether it fires, and expects the evaluation's negative false accepts to agree at
/// every SNR of a 2 dB grid that spans the level where the model starts firing. The SNR the
/// model sees is thereby measured to within 2 dB, at every step.
#[test]
fn noise_reaches_the_model_at_the_stated_snr() {
    let dir = tempfile::tempdir().unwrap();
    let (pos, neg, noise) = (
        dir.path().join("pos"),
        dir.path().join("neg"),
        dir.path().join("noise"),
    );
    for d in [&pos, &neg, &noise] {
        std::fs::create_dir_all(d).unwrap();
    }
    write_wav(&pos.join("beep.wav"), &tone(0.8), 16_000);
    write_wav(&neg.join("quiet.wav"), &quiet(20.0, 21), 16_000);
    write_wav(&noise.join("tone.wav"), &tone(3.0), 16_000);
    // What the evaluation reads: the files as written (16-bit).
    let negative = hushword::audio::read_audio(&neg.join("quiet.wav")).unwrap();
    let tone_file = hushword::audio::read_audio(&noise.join("tone.wav")).unwrap();
    let (p, pn) = (power(&negative), power(&tone_file));

    let snrs: Vec<f32> = (0..=30).map(|i| -70.0 + 2.0 * i as f32).collect();
    let fires_at = |snr: f32| {
        let gain = (p / (pn * 10f64.powf(f64::from(snr) / 10.0))).sqrt();
        let mixed: Vec<f32> = negative
            .iter()
            .zip(tone_file.iter().cycle())
            .map(|(&x, &n)| (f64::from(x) + gain * f64::from(n)) as f32)
            .collect();
        let model = WakeWordModel::from_path(energy()).unwrap();
        let mut det = Detector::new(vec![model], DetectorConfig::default()).unwrap();
        let mut events = Vec::new();
        for c in mixed.chunks(160) {
            det.push_f32(c, &mut events).unwrap();
        }
        !events.is_empty()
    };
    let expected: Vec<bool> = snrs.iter().map(|&s| fires_at(s)).collect();
    let firing = expected.iter().filter(|&&f| f).count();
    assert!(
        (3..=snrs.len() - 3).contains(&firing),
        "the grid must span the firing level with room on both sides: {expected:?}"
    );

    let cfg = EvalConfig {
        positives: vec![pos],
        negatives: vec![neg],
        noise: vec![noise],
        snrs_db: snrs.clone(),
        seed: 5,
        ..EvalConfig::default()
    };
    let report = run(&cfg);
    let negative_fas = |r: &eval::ConditionResult| {
        r.false_accepts
            .iter()
            .filter(|f| f.role == "negative")
            .count()
    };
    assert_eq!(report.results[0].condition, "clean");
    assert_eq!(negative_fas(&report.results[0]), 0, "clean quiet noise");
    for ((snr, want), result) in snrs.iter().zip(&expected).zip(&report.results[1..]) {
        assert_eq!(result.snr_db, Some(*snr));
        assert_eq!(
            negative_fas(result) > 0,
            *want,
            "at {snr} dB: the evaluation's noise does not reach the model at that SNR \
             (false accepts {:?})",
            result.false_accepts
        );
    }
}
