//! Per-model feature history: the last `window_frames` frames, laid out for the model.
//!
//! Frames arrive one at a time (frame-major) but models eat `[feature][frame]` windows (time
//! last, the fast layout for tract's convolutions), so each evaluation transposes the ring
//! into a reused buffer instead of shifting memory on every frame.

use super::preroll::wipe;

/// A ring of the most recent `window_frames` feature frames.
#[derive(Debug)]
pub struct FrameHistory {
    /// `window_frames` frames of `n_features`, frame-major, in ring order.
    frames: Box<[f32]>,
    n_features: usize,
    window_frames: usize,
    /// Ring slot the next frame goes to.
    next: usize,
    /// Frames held, at most `window_frames`.
    filled: usize,
}

impl FrameHistory {
    /// An empty history of `window_frames` frames of `n_features` values.
    pub fn new(n_features: usize, window_frames: usize) -> Self {
        Self {
            frames: vec![0.0; n_features * window_frames].into_boxed_slice(),
            n_features,
            window_frames,
            next: 0,
            filled: 0,
        }
    }

    /// Adds the newest frame (`n_features` values), dropping the oldest once full.
    pub fn push(&mut self, frame: &[f32]) {
        let start = self.next * self.n_features;
        self.frames[start..start + self.n_features].copy_from_slice(frame);
        self.next = (self.next + 1) % self.window_frames;
        self.filled = (self.filled + 1).min(self.window_frames);
    }

    /// True once a whole window of frames is held.
    pub fn is_full(&self) -> bool {
        self.filled == self.window_frames
    }

    /// Writes the window time-last: `out[f * window_frames + t]` is feature `f` of the
    /// `t`-th oldest frame. `out` must hold `n_features * window_frames` values.
    #[cfg(test)]
    pub fn copy_time_last(&self, out: &mut [f32]) {
        self.copy_newest_time_last(self.window_frames, out);
    }

    /// Writes the newest `count` (at most `window_frames`) frames of a full history
    /// time-last, oldest first: `out[f * count + t]`. A streaming model needs only its new
    /// hop, so only that is transposed. `out` must hold `n_features * count` values.
    pub fn copy_newest_time_last(&self, count: usize, out: &mut [f32]) {
        let (n, w) = (self.n_features, self.window_frames);
        // Once full, `next` is the oldest slot; before that, slot 0 is.
        let oldest = if self.is_full() { self.next } else { 0 };
        let first = oldest + w - count.min(w);
        for t in 0..count.min(w) {
            let slot = (first + t) % w;
            let frame = &self.frames[slot * n..(slot + 1) * n];
            for (f, &value) in frame.iter().enumerate() {
                out[f * count + t] = value;
            }
        }
    }

    /// Forgets all frames (and wipes them: features are derived from the user's audio).
    pub fn clear(&mut self) {
        wipe(&mut self.frames);
        self.next = 0;
        self.filled = 0;
    }

    /// Heap bytes held.
    pub fn memory_bytes(&self) -> usize {
        std::mem::size_of_val(&*self.frames)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_is_time_last_and_oldest_first_after_wrapping() {
        let (n, w) = (3, 4);
        let mut history = FrameHistory::new(n, w);
        let mut out = vec![0.0; n * w];
        for k in 0..11 {
            let frame: Vec<f32> = (0..n).map(|f| (k * 10 + f) as f32).collect();
            history.push(&frame);
            assert_eq!(history.is_full(), k + 1 >= w);
            if history.is_full() {
                history.copy_time_last(&mut out);
                for f in 0..n {
                    for t in 0..w {
                        let frame_index = k + 1 - w + t;
                        assert_eq!(out[f * w + t], (frame_index * 10 + f) as f32);
                    }
                }
            }
        }
        let mut newest = vec![0.0; n * 2];
        history.copy_newest_time_last(2, &mut newest);
        for f in 0..n {
            assert_eq!(newest[f * 2], (9 * 10 + f) as f32);
            assert_eq!(newest[f * 2 + 1], (10 * 10 + f) as f32);
        }
        history.clear();
        assert!(!history.is_full());
        history.copy_time_last(&mut out);
        assert!(out.iter().all(|&v| v == 0.0));
    }
}
