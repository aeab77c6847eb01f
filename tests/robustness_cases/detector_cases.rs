//! Extreme sample streams, chunkings, positions and configs fed to a `Detector` over the
//! fixture model `energy.onnx` (fires on loud tonal audio).

use super::signals::{burst, model, quiet, RATE};
use super::{expect, Case};
use hushword::{Detection, Detector, DetectorConfig};

fn detector(config: DetectorConfig) -> Detector {
    Detector::new(vec![model("energy.onnx")], config).expect("fixture detector")
}

/// Frames a stream of `n` samples yields (25 ms frames every 10 ms).
fn frames_for(n: u64) -> u64 {
    if n < 400 {
        0
    } else {
        (n - 400) / 160 + 1
    }
}

/// Streams `samples` in chunks of `chunk`; returns detections, or the first error; checks
/// that positions are exact and every smoothed score is finite.
fn stream(d: &mut Detector, samples: &[f32], chunk: usize) -> Result<Vec<Detection>, String> {
    let mut events = Vec::new();
    let mut non_finite = 0usize;
    for c in samples.chunks(chunk.max(1)) {
        d.push_f32_observed(c, &mut events, |s| {
            non_finite += usize::from(!s.score.is_finite())
        })
        .map_err(|e| e.to_string())?;
    }
    if non_finite > 0 {
        return Err(format!("{non_finite} non-finite scores"));
    }
    Ok(events)
}

/// Streams a whole signal into a fresh default detector, checking exact positions.
fn run_exact(samples: &[f32], chunk: usize) -> Result<(usize, Detector), String> {
    let mut d = detector(DetectorConfig::default());
    let events = stream(&mut d, samples, chunk)?;
    let n = samples.len() as u64;
    if d.samples_seen() != n || d.frames_seen() != frames_for(n) {
        return Err(format!(
            "positions {} samples / {} frames, expected {n} / {}",
            d.samples_seen(),
            d.frames_seen(),
            frames_for(n)
        ));
    }
    Ok((events.len(), d))
}

fn exact_with(samples: Vec<f32>, detections_ok: fn(usize) -> bool) -> Result<String, String> {
    let (count, d) = run_exact(&samples, 1000)?;
    expect(
        detections_ok(count),
        format!(
            "accepted; {count} detection(s); {} samples / {} frames counted exactly",
            d.samples_seen(),
            d.frames_seen()
        ),
    )
}

/// A bad chunk between two good halves: refused, nothing consumed, and the stream goes on
/// exactly as if the chunk had never been offered.
fn refused_chunk(bad: f32) -> Result<String, String> {
    let mut good = quiet(RATE, 1);
    good.extend(burst(RATE, 2));
    let mut d = detector(DetectorConfig::default());
    let mut events = Vec::new();
    d.push_f32(&good[..RATE], &mut events)
        .map_err(|e| e.to_string())?;
    let chunk = [0.1, bad, 0.2];
    let err = match d.push_f32(&chunk, &mut events) {
        Ok(()) => return Err("accepted".to_string()),
        Err(e) => e,
    };
    if d.samples_seen() != RATE as u64 {
        return Err(format!("consumed: position {}", d.samples_seen()));
    }
    d.push_f32(&good[RATE..], &mut events)
        .map_err(|e| e.to_string())?;
    let mut clean = detector(DetectorConfig::default());
    let want = stream(&mut clean, &good, good.len())?;
    expect(
        events == want,
        format!("error: {err}; later detections identical to the stream without it"),
    )
}

/// Positions start `offset_frames` hops in: detections must equal a fresh detector's,
/// shifted by exactly `offset_frames * 160` samples.
fn shifted_positions(offset_frames: u64) -> Result<String, String> {
    let mut signal = quiet(RATE, 3);
    signal.extend(burst(RATE, 4));
    let mut fresh = detector(DetectorConfig::default());
    let want = stream(&mut fresh, &signal, 333)?;
    let mut late = detector(DetectorConfig::default());
    late.start_counters_at_frame(offset_frames)
        .map_err(|e| e.to_string())?;
    let got = stream(&mut late, &signal, 333)?;
    let offset = offset_frames * 160;
    let same = !want.is_empty()
        && got.len() == want.len()
        && got.iter().zip(&want).all(|(g, w)| {
            g.position == w.position + offset
                && g.end == w.end + offset
                && g.start == w.start + offset
                && g.score.to_bits() == w.score.to_bits()
                && g.pre_roll == w.pre_roll
        });
    let end = late.samples_seen();
    expect(
        same && end == offset + signal.len() as u64,
        format!(
            "detection at {} (fresh: {}); end position {end} = offset + {} exactly",
            got.first().map_or(0, |d| d.position),
            want.first().map_or(0, |d| d.position),
            signal.len()
        ),
    )
}

fn config_refused(config: DetectorConfig, needle: &str) -> Result<String, String> {
    match Detector::new(vec![model("energy.onnx")], config) {
        Ok(_) => Err("accepted".to_string()),
        Err(e) => expect(e.to_string().contains(needle), format!("error: {e}")),
    }
}

pub fn cases() -> Vec<Case> {
    const AREA: &str = "detector stream";
    vec![
        Case {
            area: AREA,
            input: "empty chunk (0 samples)",
            expected: "no-op: position stays 0",
            check: || exact_with(Vec::new(), |n| n == 0),
        },
        Case {
            area: AREA,
            input: "1 sample",
            expected: "consumed, no frame yet",
            check: || exact_with(vec![0.25], |n| n == 0),
        },
        Case {
            area: AREA,
            input: "399 samples (one short of a frame), then 1 more",
            expected: "0 frames after 399, 1 frame after 400",
            check: || {
                let mut d = detector(DetectorConfig::default());
                let mut events = Vec::new();
                d.push_f32(&quiet(399, 5), &mut events)
                    .map_err(|e| e.to_string())?;
                let before = d.frames_seen();
                d.push_f32(&[0.0], &mut events).map_err(|e| e.to_string())?;
                expect(
                    before == 0 && d.frames_seen() == 1,
                    format!(
                        "{before} frames after 399 samples, {} after 400",
                        d.frames_seen()
                    ),
                )
            },
        },
        Case {
            area: AREA,
            input: "10 minutes of digital silence (all zeros)",
            expected: "no detection, finite scores, exact positions",
            check: || exact_with(vec![0.0; 600 * RATE], |n| n == 0),
        },
        Case {
            area: AREA,
            input: "10 s of subnormal samples (1e-40)",
            expected: "no detection, finite scores",
            check: || exact_with(vec![1e-40; 10 * RATE], |n| n == 0),
        },
        Case {
            area: AREA,
            input: "10 s held at full scale (+1.0, clipped DC)",
            expected: "accepted, finite scores, exact positions",
            check: || exact_with(vec![1.0; 10 * RATE], |_| true),
        },
        Case {
            area: AREA,
            input: "10 s full-scale square wave (+-1.0, 444 Hz)",
            expected: "detections (loud tone), refractory respected",
            check: || {
                let signal: Vec<f32> = (0..10 * RATE)
                    .map(|i| if (i / 18) % 2 == 0 { 1.0 } else { -1.0 })
                    .collect();
                exact_with(signal, |n| (1..=7).contains(&n))
            },
        },
        Case {
            area: AREA,
            input: "10 s of quiet noise on a DC offset of 0.5",
            expected: "accepted, finite scores, exact positions",
            check: || {
                exact_with(
                    quiet(10 * RATE, 6).iter().map(|v| v + 0.5).collect(),
                    |_| true,
                )
            },
        },
        Case {
            area: AREA,
            input: "i16 extremes (-32768/32767 alternating, 5 s) via push_i16",
            expected: "accepted, exact positions",
            check: || {
                let mut d = detector(DetectorConfig::default());
                let pcm: Vec<i16> = (0..5 * RATE)
                    .map(|i| if i % 2 == 0 { i16::MIN } else { i16::MAX })
                    .collect();
                let mut events = Vec::new();
                pcm.chunks(777).for_each(|c| d.push_i16(c, &mut events));
                expect(
                    d.samples_seen() == pcm.len() as u64 && d.evaluation_failures() == 0,
                    format!(
                        "accepted; {} detection(s); position {}",
                        events.len(),
                        d.samples_seen()
                    ),
                )
            },
        },
        Case {
            area: AREA,
            input: "f32 chunk holding NaN",
            expected: "chunk refused (Error::Audio), nothing consumed, stream unaffected",
            check: || refused_chunk(f32::NAN),
        },
        Case {
            area: AREA,
            input: "f32 chunk holding +inf",
            expected: "chunk refused (Error::Audio), nothing consumed, stream unaffected",
            check: || refused_chunk(f32::INFINITY),
        },
        Case {
            area: AREA,
            input: "f32 chunk holding -inf",
            expected: "chunk refused (Error::Audio), nothing consumed, stream unaffected",
            check: || refused_chunk(f32::NEG_INFINITY),
        },
        Case {
            area: AREA,
            input: "1 s at +-f32::MAX (finite, absurd), then 2 s quiet, then a tone",
            expected: "accepted; no detection from it; detects the tone after",
            check: || {
                let mut d = detector(DetectorConfig::default());
                let mut events = Vec::new();
                let huge: Vec<f32> = (0..RATE)
                    .map(|i| if i % 2 == 0 { f32::MAX } else { -f32::MAX })
                    .collect();
                d.push_f32(&huge, &mut events).map_err(|e| e.to_string())?;
                let from_huge = events.len();
                d.push_f32(&quiet(2 * RATE, 7), &mut events)
                    .map_err(|e| e.to_string())?;
                d.push_f32(&burst(RATE, 8), &mut events)
                    .map_err(|e| e.to_string())?;
                let tone = events.len() - from_huge;
                expect(
                    from_huge == 0 && tone == 1,
                    format!(
                        "accepted; {from_huge} detection(s) from it, {tone} from the tone after"
                    ),
                )
            },
        },
        Case {
            area: AREA,
            input: "quiet + tone in 1-sample chunks",
            expected: "same detections as in one chunk",
            check: || {
                let mut signal = quiet(RATE, 9);
                signal.extend(burst(RATE, 10));
                let one = stream(
                    &mut detector(DetectorConfig::default()),
                    &signal,
                    signal.len(),
                )?;
                let tiny = stream(&mut detector(DetectorConfig::default()), &signal, 1)?;
                expect(
                    one == tiny && one.len() == 1,
                    format!(
                        "{} detection(s), identical (position {})",
                        tiny.len(),
                        tiny.first().map_or(0, |d| d.position)
                    ),
                )
            },
        },
        Case {
            area: AREA,
            input: "positions crossing 2^32 samples (counters started at 2^32 - 1 s)",
            expected: "detections exactly offset, 64-bit end position exact",
            check: || shifted_positions(((1u64 << 32) - 16_000) / 160 / 2 * 2),
        },
        Case {
            area: AREA,
            input: "positions crossing 2^53 samples (f64 no longer exact)",
            expected: "detections exactly offset, 64-bit end position exact",
            check: || shifted_positions((1u64 << 53) / 160 / 2 * 2),
        },
        Case {
            area: AREA,
            input: "config: smoothing 0",
            expected: "error naming `smoothing`",
            check: || {
                config_refused(
                    DetectorConfig {
                        smoothing: 0,
                        ..Default::default()
                    },
                    "smoothing 0",
                )
            },
        },
        Case {
            area: AREA,
            input: "config: pre_roll_ms 60 001",
            expected: "error naming `pre_roll_ms`",
            check: || {
                config_refused(
                    DetectorConfig {
                        pre_roll_ms: 60_001,
                        ..Default::default()
                    },
                    "pre_roll_ms 60001",
                )
            },
        },
        Case {
            area: AREA,
            input: "config: threshold NaN for `beep`",
            expected: "error: must be in (0, 1]",
            check: || {
                config_refused(
                    DetectorConfig {
                        thresholds: vec![("beep".into(), f32::NAN)],
                        ..Default::default()
                    },
                    "must be in (0, 1]",
                )
            },
        },
    ]
}
