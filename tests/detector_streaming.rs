//! Streaming behaviour of the detector on the fixture models: shared front end, exact
//! positions, pre-/post-roll audio, refractory periods, reset and chunking invariance.

#[path = "fixtures/signals.rs"]
mod signals;

use hushword::{Detection, Detector, DetectorConfig, Error, ScoreSample};
use signals::{bits, frame_count, model, scene, RATE};

fn config() -> DetectorConfig {
    DetectorConfig {
        smoothing: 1,
        ..DetectorConfig::default()
    }
}

fn run(detector: &mut Detector, signal: &[f32], chunk: usize) -> Vec<Detection> {
    let mut events = Vec::new();
    for piece in signal.chunks(chunk) {
        detector.push_f32(piece, &mut events).unwrap();
    }
    events
}

fn energy(config: DetectorConfig) -> Detector {
    Detector::new(vec![model("energy.onnx")], config).unwrap()
}

fn of<'a>(events: &'a [Detection], keyword: &str) -> Vec<&'a Detection> {
    events.iter().filter(|e| e.keyword == keyword).collect()
}

/// energy.onnx: window 30 frames, hop 2. Evaluations happen when the frame count k satisfies
/// k >= 30 and (k - 30).is_multiple_of(2), at position (k - 1) * 160 + 400.
fn is_evaluation_position(position: u64) -> bool {
    position >= 400 && (position - 400).is_multiple_of(160) && {
        let k = (position - 400) / 160 + 1;
        k >= 30 && (k - 30).is_multiple_of(2)
    }
}

#[test]
fn several_models_share_one_front_end() {
    let signal = scene(&[(false, 1.0), (true, 0.5), (false, 1.0)]);
    let mut both = Detector::new(
        vec![model("energy.onnx"), model("two_keywords.onnx")],
        config(),
    )
    .unwrap();
    assert_eq!(
        both.keywords(),
        vec![
            (0, "beep".to_string()),
            (1, "loud".to_string()),
            (1, "quiet".to_string())
        ]
    );
    let mut scores: Vec<ScoreSample> = Vec::new();
    let mut events = Vec::new();
    for piece in signal.chunks(160) {
        both.push_f32_observed(piece, &mut events, |s| scores.push(s))
            .unwrap();
    }
    // Features were computed once per frame, not once per model.
    let frames = frame_count(signal.len());
    assert_eq!(both.frames_seen(), frames);
    assert_eq!(both.samples_seen(), signal.len() as u64);
    // Each model evaluated on its own schedule: energy every 2 frames from 30, the other
    // every 3 from 40, one score per keyword.
    let count = |model: usize, keyword: usize| {
        scores
            .iter()
            .filter(|s| s.model == model && s.keyword == keyword)
            .count() as u64
    };
    assert_eq!(count(0, 0), (frames - 30) / 2 + 1);
    assert_eq!(count(1, 0), (frames - 40) / 3 + 1);
    assert_eq!(count(1, 1), count(1, 0));
    // Both loud keywords fire once on the one burst, at their own evaluation positions.
    let beep = of(&events, "beep");
    let loud = of(&events, "loud");
    assert_eq!((beep.len(), loud.len()), (1, 1), "{events:#?}");
    assert!(is_evaluation_position(beep[0].position));
    let burst = (RATE as u64, RATE as u64 * 3 / 2);
    for e in [beep[0], loud[0]] {
        assert!(e.position > burst.0 && e.position < burst.1, "{e:?}");
    }
    // The quiet keyword fires at its first evaluation (quiet start), and again after the
    // refractory period once it is quiet again.
    let quiet = of(&events, "quiet");
    assert_eq!(quiet[0].position, 39 * 160 + 400);
    // Sharing the front end changes nothing for a model: same event as alone.
    let alone = run(&mut energy(config()), &signal, 160);
    assert_eq!(alone.len(), 1);
    assert_eq!(alone[0], *beep[0]);
}

#[test]
fn models_with_different_front_ends_are_refused_naming_both_and_the_field() {
    let err = Detector::new(
        vec![model("energy.onnx"), model("frontend_mismatch.onnx")],
        config(),
    )
    .unwrap_err();
    match err {
        Error::Model {
            source_name,
            reason,
        } => {
            assert!(
                source_name.ends_with("frontend_mismatch.onnx"),
                "{source_name}"
            );
            assert!(reason.contains("energy.onnx"), "{reason}");
            assert!(reason.contains("n_mfcc"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_detector_configs_are_refused() {
    let bad = [
        DetectorConfig {
            smoothing: 0,
            ..config()
        },
        DetectorConfig {
            thresholds: vec![("nope".into(), 0.5)],
            ..config()
        },
        DetectorConfig {
            thresholds: vec![("beep".into(), 0.0)],
            ..config()
        },
        DetectorConfig {
            thresholds: vec![("beep".into(), f32::NAN)],
            ..config()
        },
        DetectorConfig {
            pre_roll_ms: 600_000,
            ..config()
        },
    ];
    for c in bad {
        assert!(
            matches!(
                Detector::new(vec![model("energy.onnx")], c.clone()),
                Err(Error::Config(_))
            ),
            "{c:?}"
        );
    }
    assert!(matches!(
        Detector::new(vec![], config()),
        Err(Error::Config(_))
    ));
}

#[test]
fn thresholds_default_to_the_model_and_can_be_overridden() {
    let d = energy(config());
    assert_eq!(d.threshold("beep"), Some(0.5));
    assert_eq!(d.threshold("other"), None);
    assert_eq!(d.refractory_samples(), 1500 * 16);
    let d = energy(DetectorConfig {
        thresholds: vec![("beep".into(), 0.9)],
        ..config()
    });
    assert_eq!(d.threshold("beep"), Some(0.9));
    // Noise of amplitude 0.01 scores about 0.08 "loud" and 0.92 "quiet": which keywords
    // fire depends only on the thresholds in force.
    let medium = signals::noise(RATE, 0.01, 5);
    let fired = |thresholds: Vec<(String, f32)>| {
        let mut d = Detector::new(
            vec![model("two_keywords.onnx")],
            DetectorConfig {
                thresholds,
                ..config()
            },
        )
        .unwrap();
        let events = run(&mut d, &medium, 160);
        (of(&events, "loud").len(), of(&events, "quiet").len())
    };
    assert_eq!(fired(vec![]), (0, 1));
    assert_eq!(
        fired(vec![("loud".into(), 0.05), ("quiet".into(), 0.95)]),
        (1, 0)
    );
}

#[test]
fn pre_roll_is_exactly_the_input_before_the_trigger() {
    let signal = scene(&[(false, 1.2), (true, 0.5), (false, 0.3)]);
    let mut d = energy(DetectorConfig {
        pre_roll_ms: 500,
        ..config()
    });
    assert_eq!(d.pre_roll_samples(), 8000);
    let events = run(&mut d, &signal, 333);
    assert_eq!(events.len(), 1);
    let e = &events[0];
    let p = e.position as usize;
    assert!(is_evaluation_position(e.position), "{}", e.position);
    assert_eq!(bits(&e.pre_roll), bits(&signal[p - 8000..p]));
    assert_eq!(e.end, e.position);
    assert_eq!(e.start, e.position - 300 * 16);
    assert!(e.score >= 0.5 && e.score <= 1.0);
}

#[test]
fn pre_roll_near_stream_start_holds_everything_seen() {
    let signal = scene(&[(false, 0.3), (true, 0.5)]);
    let mut d = energy(DetectorConfig {
        pre_roll_ms: 2000,
        ..config()
    });
    let events = run(&mut d, &signal, 7);
    assert_eq!(events.len(), 1);
    let p = events[0].position as usize;
    assert!(p < 32_000);
    assert_eq!(bits(&events[0].pre_roll), bits(&signal[..p]));
    // The word started before the stream did? Clamped at 0.
    let early = scene(&[(true, 0.5)]);
    let events = run(&mut energy(config()), &early, 160);
    assert_eq!(events[0].start, events[0].position.saturating_sub(4800));
}

#[test]
fn refractory_gives_one_event_per_burst() {
    let one = scene(&[(false, 0.5), (true, 1.0), (false, 0.5)]);
    assert_eq!(run(&mut energy(config()), &one, 160).len(), 1);

    let two = scene(&[
        (false, 0.5),
        (true, 0.5),
        (false, 2.0),
        (true, 0.5),
        (false, 0.5),
    ]);
    let events = run(&mut energy(config()), &two, 160);
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(events[1].position - events[0].position > 2 * RATE as u64);

    // Without a long refractory period the same long burst fires repeatedly: the refractory
    // period is what keeps it to one.
    let short = DetectorConfig {
        refractory_ms: 100,
        ..config()
    };
    let events = run(&mut energy(short), &one, 160);
    assert!(events.len() >= 5, "{}", events.len());
    for pair in events.windows(2) {
        assert!(pair[1].position - pair[0].position >= 1600);
    }
}

#[test]
fn smoothing_delays_the_trigger() {
    let signal = scene(&[(false, 1.0), (true, 0.5), (false, 0.5)]);
    let raw = run(
        &mut energy(DetectorConfig {
            smoothing: 1,
            ..config()
        }),
        &signal,
        160,
    );
    let smooth = run(
        &mut energy(DetectorConfig {
            smoothing: 4,
            ..config()
        }),
        &signal,
        160,
    );
    assert_eq!((raw.len(), smooth.len()), (1, 1));
    assert!(smooth[0].position > raw[0].position);
}

#[test]
fn reset_forgets_the_stream() {
    let first = scene(&[(false, 0.5), (true, 0.3)]);
    let second = scene(&[(false, 0.4), (true, 0.5), (false, 0.2)]);
    let mut used = energy(config());
    let mut out = Vec::new();
    used.push_f32(&first, &mut out).unwrap();
    assert_eq!(out.len(), 1);
    used.reset();
    assert_eq!((used.samples_seen(), used.frames_seen()), (0, 0));
    // After reset the detector behaves exactly like a fresh one: positions from 0, the
    // pre-roll (2 s > everything since reset) holds nothing from before the reset, and the
    // refractory period of the earlier event is gone.
    let after = run(&mut used, &second, 160);
    let fresh = run(&mut energy(config()), &second, 160);
    assert_eq!(after.len(), 1);
    assert_eq!(after, fresh);
    assert_eq!(after[0].pre_roll.len() as u64, after[0].position);
}

#[test]
fn post_roll_delivers_the_samples_after_the_trigger() {
    let signal = scene(&[(false, 1.0), (true, 0.6), (false, 0.6)]);
    for chunk in [1, 160, 4000, signal.len()] {
        let mut d = energy(DetectorConfig {
            post_roll_ms: 250,
            ..config()
        });
        let mut events = Vec::new();
        let mut post = Vec::new();
        let mut drained_before_trigger = 0;
        for piece in signal.chunks(chunk) {
            d.push_f32(piece, &mut events).unwrap();
            let n = d.drain_post_roll(&mut post);
            if events.is_empty() {
                drained_before_trigger += n;
            }
        }
        assert_eq!(drained_before_trigger, 0);
        assert_eq!(events.len(), 1, "chunk {chunk}");
        let p = events[0].position as usize;
        assert_eq!(post.len(), 4000, "chunk {chunk}");
        assert_eq!(bits(&post), bits(&signal[p..p + 4000]), "chunk {chunk}");
    }
    // Disabled by default.
    let mut d = energy(config());
    let mut post = Vec::new();
    run(&mut d, &signal, 160);
    assert_eq!(d.drain_post_roll(&mut post), 0);
}

#[test]
fn detections_do_not_depend_on_chunking() {
    let signal = scene(&[
        (false, 0.7),
        (true, 0.4),
        (false, 1.8),
        (true, 0.6),
        (false, 0.3),
    ]);
    let reference = run(&mut energy(config()), &signal, signal.len());
    assert_eq!(reference.len(), 2);
    for chunk in [1, 7, 160, 4000] {
        let events = run(&mut energy(config()), &signal, chunk);
        assert_eq!(events, reference, "chunk {chunk}");
    }
    // Irregular chunks too.
    let mut d = energy(config());
    let mut events = Vec::new();
    let mut rest = &signal[..];
    let mut len = 1;
    while !rest.is_empty() {
        let (piece, tail) = rest.split_at(len.min(rest.len()));
        d.push_f32(piece, &mut events).unwrap();
        rest = tail;
        len = len * 3 % 1009 + 1;
    }
    assert_eq!(events, reference);
}

#[test]
fn push_i16_matches_push_f32_on_the_same_values() {
    let signal = scene(&[(false, 0.5), (true, 0.5), (false, 0.5)]);
    let pcm: Vec<i16> = signal
        .iter()
        .map(|&s| (s * 32768.0).round() as i16)
        .collect();
    let as_f32: Vec<f32> = pcm.iter().map(|&s| f32::from(s) / 32768.0).collect();
    let reference = run(&mut energy(config()), &as_f32, 160);
    assert_eq!(reference.len(), 1);
    for chunk in [1, 160, 5000] {
        let mut d = energy(config());
        let mut events = Vec::new();
        for piece in pcm.chunks(chunk) {
            d.push_i16(piece, &mut events);
        }
        assert_eq!(events, reference, "chunk {chunk}");
        assert_eq!(d.evaluation_failures(), 0);
    }
}

#[test]
fn non_finite_chunks_are_refused_without_consuming() {
    let signal = scene(&[(false, 0.5), (true, 0.5), (false, 0.2)]);
    let reference = run(&mut energy(config()), &signal, 160);
    let mut d = energy(config());
    let mut events = Vec::new();
    for (i, piece) in signal.chunks(160).enumerate() {
        if i == 40 {
            let mut poisoned = piece.to_vec();
            poisoned[3] = f32::NAN;
            assert!(matches!(
                d.push_f32(&poisoned, &mut events),
                Err(Error::Audio(_))
            ));
            assert_eq!(d.samples_seen(), 40 * 160);
        }
        d.push_f32(piece, &mut events).unwrap();
    }
    assert_eq!(events, reference);
}
