//! Per-keyword decision state: score smoothing, threshold and refractory period.

/// Turns one keyword's raw scores into events.
#[derive(Debug)]
pub struct KeywordTrack {
    /// Fires when the smoothed score reaches this.
    pub threshold: f32,
    /// The last `smoothing` raw scores, in ring order.
    recent: Box<[f32]>,
    next: usize,
    filled: usize,
    /// Absolute sample position before which this keyword may not fire again.
    quiet_until: u64,
}

impl KeywordTrack {
    /// A track averaging the last `smoothing` (>= 1) evaluations.
    pub fn new(threshold: f32, smoothing: usize) -> Self {
        Self {
            threshold,
            recent: vec![0.0; smoothing.max(1)].into_boxed_slice(),
            next: 0,
            filled: 0,
            quiet_until: 0,
        }
    }

    /// Records a raw score; returns the moving average over the last `smoothing`
    /// evaluations (over fewer while fewer have happened).
    pub fn smooth(&mut self, raw: f32) -> f32 {
        self.recent[self.next] = raw;
        self.next = (self.next + 1) % self.recent.len();
        self.filled = (self.filled + 1).min(self.recent.len());
        // Summing afresh (a handful of values) avoids a running sum's drift.
        let sum: f32 = self.recent[..self.filled].iter().sum();
        sum / self.filled as f32
    }

    /// Whether `smoothed` at `position` is an event; if so, starts the refractory period.
    pub fn decide(&mut self, smoothed: f32, position: u64, refractory: u64) -> bool {
        if smoothed >= self.threshold && position >= self.quiet_until {
            self.quiet_until = position.saturating_add(refractory);
            true
        } else {
            false
        }
    }

    /// Forgets scores and the refractory period.
    pub fn clear(&mut self) {
        self.recent.fill(0.0);
        self.next = 0;
        self.filled = 0;
        self.quiet_until = 0;
    }

    /// Heap bytes held.
    pub fn memory_bytes(&self) -> usize {
        std::mem::size_of_val(&*self.recent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moving_average_over_the_last_evaluations() {
        let mut track = KeywordTrack::new(0.5, 3);
        assert_eq!(track.smooth(0.3), 0.3);
        assert!((track.smooth(0.9) - 0.6).abs() < 1e-6);
        assert!((track.smooth(0.0) - 0.4).abs() < 1e-6);
        assert!((track.smooth(0.6) - 0.5).abs() < 1e-6);
    }

    #[test]
    fn refractory_blocks_then_releases() {
        let mut track = KeywordTrack::new(0.5, 1);
        assert!(!track.decide(0.49, 100, 1000));
        assert!(track.decide(0.5, 100, 1000));
        assert!(!track.decide(0.9, 1099, 1000));
        assert!(track.decide(0.9, 1100, 1000));
        track.clear();
        assert!(track.decide(0.9, 1101, 1000));
    }
}
