//! From recorded score traces to error rates: events at any threshold, operating points,
//! latency and the FRR / FA-per-hour curve.

use super::events::{for_each_event, ScorePoint};
use serde::Serialize;

/// The score trace of one stream for one (model, condition).
#[derive(Debug, Clone, Copy)]
pub struct StreamTrace<'a> {
    /// `Some((clip_start, clip_end))` for a positive stream, `None` for a negative one.
    pub clip: Option<(u64, u64)>,
    /// For a positive stream, where the clip's speech ends (its active part; trailing silence
    /// excluded): trigger latency is measured from here. `None` falls back to the clip's end.
    pub speech_end: Option<u64>,
    /// Every smoothed score of the evaluated keyword, in stream order.
    pub trace: &'a [ScorePoint],
}

/// What one threshold yields over a set of streams.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// Indices (into the stream list) of positive streams whose clip was not detected.
    pub missed: Vec<usize>,
    /// (stream index, event) of every false accept.
    pub false_accepts: Vec<(usize, ScorePoint)>,
    /// Trigger latency in samples (event position minus the end of the clip's speech; negative
    /// when it fired before the word ended) of each detected positive.
    pub latencies: Vec<i64>,
}

/// Scores a set of streams at one threshold. A positive is detected by the first event in
/// `[clip_start, clip_end + window_after]`; every other event is a false accept.
pub fn outcome(
    streams: &[StreamTrace<'_>],
    threshold: f32,
    refractory: u64,
    window_after: u64,
) -> Outcome {
    let mut out = Outcome::default();
    for (i, s) in streams.iter().enumerate() {
        let mut detected = false;
        for_each_event(s.trace, threshold, refractory, |e| match s.clip {
            Some((start, end))
                if !detected && e.position >= start && e.position <= end + window_after =>
            {
                detected = true;
                out.latencies
                    .push(e.position as i64 - s.speech_end.unwrap_or(end) as i64);
            }
            _ => out.false_accepts.push((i, e)),
        });
        if s.clip.is_some() && !detected {
            out.missed.push(i);
        }
    }
    out
}

/// Counts only: (missed positives, false accepts) at one threshold.
pub fn counts(
    streams: &[StreamTrace<'_>],
    threshold: f32,
    refractory: u64,
    window_after: u64,
) -> (usize, usize) {
    let mut missed = 0;
    let mut fas = 0;
    for s in streams {
        let mut detected = false;
        for_each_event(s.trace, threshold, refractory, |e| match s.clip {
            Some((start, end))
                if !detected && e.position >= start && e.position <= end + window_after =>
            {
                detected = true;
            }
            _ => fas += 1,
        });
        if s.clip.is_some() && !detected {
            missed += 1;
        }
    }
    (missed, fas)
}

/// The lowest threshold among the recorded scores (plus one just above the highest, where
/// nothing fires) whose false-accept count is at most `max_false_accepts`, found by bisection
/// over the sorted distinct scores. The count only grows as the threshold falls (up to
/// refractory effects, where the bisection still returns a threshold that meets the bound).
pub fn threshold_for_false_accepts(
    streams: &[StreamTrace<'_>],
    max_false_accepts: f64,
    refractory: u64,
    window_after: u64,
) -> f32 {
    let mut scores: Vec<f32> = streams
        .iter()
        .flat_map(|s| s.trace.iter().map(|p| p.score))
        .filter(|s| s.is_finite())
        .collect();
    scores.sort_by(f32::total_cmp);
    scores.dedup();
    let above = scores.last().map_or(1.0, |&m| next_up(m.max(0.0)));
    scores.push(above);
    // Invariant: candidates[hi] meets the bound (the last one fires nothing); lo does not.
    let (mut lo, mut hi): (isize, usize) = (-1, scores.len() - 1);
    while hi as isize - lo > 1 {
        let mid = ((lo + hi as isize) / 2) as usize;
        let (_, fas) = counts(streams, scores[mid], refractory, window_after);
        if fas as f64 <= max_false_accepts {
            hi = mid;
        } else {
            lo = mid as isize;
        }
    }
    scores[hi]
}

/// The smallest f32 above a non-negative finite `x`.
fn next_up(x: f32) -> f32 {
    f32::from_bits(x.to_bits() + 1)
}

/// The thresholds of the curve: 0.01 steps, then finer towards 1 where confident models live.
pub fn threshold_grid() -> Vec<f32> {
    let mut grid: Vec<f32> = (1..100).map(|i| i as f32 / 100.0).collect();
    grid.extend((1..10).map(|i| 0.99 + i as f32 / 1000.0));
    grid.extend((1..10).map(|i| 0.999 + i as f32 / 10_000.0));
    grid
}

/// Median and 95th percentile (nearest rank) of detected positives' trigger latency.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Latency {
    /// Detected positives the statistics cover.
    pub detected: usize,
    /// Median of (event time - clip end), seconds.
    pub median_s: Option<f64>,
    /// 95th percentile of (event time - clip end), seconds.
    pub p95_s: Option<f64>,
}

impl Latency {
    /// Statistics of latencies given in samples at `sample_rate`.
    pub fn from_samples(latencies: &[i64], sample_rate: u32) -> Self {
        let mut sorted = latencies.to_vec();
        sorted.sort_unstable();
        let rank = |q: f64| -> Option<f64> {
            if sorted.is_empty() {
                return None;
            }
            let idx = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
            Some(sorted[idx] as f64 / f64::from(sample_rate))
        };
        Self {
            detected: sorted.len(),
            median_s: rank(0.5),
            p95_s: rank(0.95),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pts(v: &[(u64, f32)]) -> Vec<ScorePoint> {
        v.iter()
            .map(|&(position, score)| ScorePoint { position, score })
            .collect()
    }

    #[test]
    fn positives_and_false_accepts_are_split_by_the_window() {
        // Positive clip at [1000, 2000], window 500 after: event at 2400 detects it,
        // event at 5000 is a false accept; the negative stream has two false accepts.
        let pos = pts(&[(100, 0.1), (2400, 0.9), (2500, 0.9), (5000, 0.8)]);
        let neg = pts(&[(100, 0.7), (3000, 0.7), (3100, 0.2)]);
        let streams = [
            StreamTrace {
                clip: Some((1000, 2000)),
                speech_end: Some(1900),
                trace: &pos,
            },
            StreamTrace {
                clip: None,
                speech_end: None,
                trace: &neg,
            },
        ];
        let o = outcome(&streams, 0.5, 1000, 500);
        assert!(o.missed.is_empty());
        assert_eq!(o.latencies, vec![500]);
        assert_eq!(
            o.false_accepts
                .iter()
                .map(|(i, e)| (*i, e.position))
                .collect::<Vec<_>>(),
            vec![(0, 5000), (1, 100), (1, 3000)]
        );
        assert_eq!(counts(&streams, 0.5, 1000, 500), (0, 3));
        // Above 0.75 only the positive's events remain; above 0.9 it is missed.
        assert_eq!(counts(&streams, 0.75, 1000, 500), (0, 1));
        assert_eq!(counts(&streams, 0.91, 1000, 500), (1, 0));
        assert_eq!(threshold_for_false_accepts(&streams, 1.0, 1000, 500), 0.8);
        assert_eq!(threshold_for_false_accepts(&streams, 0.0, 1000, 500), 0.9);
        let quiet = [StreamTrace {
            clip: None,
            speech_end: None,
            trace: &neg,
        }];
        assert_eq!(
            threshold_for_false_accepts(&quiet, 0.0, 1000, 500),
            next_up(0.7)
        );
        assert_eq!(threshold_for_false_accepts(&streams, 10.0, 1000, 500), 0.1);
    }

    #[test]
    fn latency_percentiles_use_nearest_rank() {
        let l = Latency::from_samples(&[1600, -1600, 3200, 0], 16000);
        assert_eq!(l.detected, 4);
        assert_eq!(l.median_s, Some(0.0));
        assert_eq!(l.p95_s, Some(0.2));
        assert_eq!(Latency::from_samples(&[], 16000).median_s, None);
    }
}
