//! Offline re-derivation of detector events from a recorded score trace.
//!
//! The detector decides online; evaluation records every smoothed score once and then asks
//! "which events would a threshold `t` have produced?" for many `t`. The rule here must be the
//! detector's own rule exactly (a test holds the two equal at the model's default threshold).

use serde::Serialize;

/// One smoothed score, at the absolute sample position (samples consumed) where the
/// evaluation ran.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ScorePoint {
    /// Samples consumed from the start of the stream when the model was evaluated.
    pub position: u64,
    /// Smoothed score of the keyword, as the detector compares it with its threshold.
    pub score: f32,
}

/// Calls `on_event` for every event the detector would fire on `trace` at `threshold`:
/// a score at or above the threshold fires unless the previous event of the same keyword is
/// fewer than `refractory` samples before it.
pub fn for_each_event(
    trace: &[ScorePoint],
    threshold: f32,
    refractory: u64,
    mut on_event: impl FnMut(ScorePoint),
) {
    let mut last: Option<u64> = None;
    for &point in trace {
        if point.score < threshold {
            continue;
        }
        if let Some(prev) = last {
            if point.position.saturating_sub(prev) < refractory {
                continue;
            }
        }
        last = Some(point.position);
        on_event(point);
    }
}

/// The events (position and score) the detector would fire on `trace` at `threshold`.
pub fn events_from_scores(
    trace: &[ScorePoint],
    threshold: f32,
    refractory: u64,
) -> Vec<ScorePoint> {
    let mut events = Vec::new();
    for_each_event(trace, threshold, refractory, |e| events.push(e));
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace(points: &[(u64, f32)]) -> Vec<ScorePoint> {
        points
            .iter()
            .map(|&(position, score)| ScorePoint { position, score })
            .collect()
    }

    #[test]
    fn refractory_suppresses_close_events_only() {
        let t = trace(&[
            (0, 0.9),
            (100, 0.95),
            (199, 0.9),
            (200, 0.6),
            (300, 0.2),
            (450, 0.5),
        ]);
        let events = events_from_scores(&t, 0.5, 200);
        let positions: Vec<u64> = events.iter().map(|e| e.position).collect();
        assert_eq!(positions, vec![0, 200, 450]);
    }

    #[test]
    fn threshold_is_inclusive_and_zero_refractory_fires_every_time() {
        let t = trace(&[(10, 0.5), (20, 0.49), (30, 0.5)]);
        assert_eq!(events_from_scores(&t, 0.5, 0).len(), 2);
        assert_eq!(events_from_scores(&t, 0.51, 0).len(), 0);
    }
}
