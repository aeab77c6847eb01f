//! Where detections go as they happen.
//!
//! The detector hands each event to a [`DetectionSink`] as a [`DetectionEvent`] that
//! borrows the keyword and the pre-roll ring, so a sink that copies into storage it
//! allocated up front (the C API's fixed queue) keeps the whole push path allocation-free.
//! `Vec<Detection>` is the convenient sink: it allocates one owned [`Detection`] per event.

use super::Detection;

/// Receives detections from [`super::Detector::push_i16_into`] and friends.
pub trait DetectionSink {
    /// Called once per event, in stream order; `event` borrows the detector's buffers.
    fn on_detection(&mut self, event: &DetectionEvent<'_>);
}

/// One event, borrowing the detector's keyword name and pre-roll ring.
#[derive(Debug, Clone, Copy)]
pub struct DetectionEvent<'a> {
    /// The keyword, as named in its model's metadata.
    pub keyword: &'a str,
    /// Index of the keyword in [`super::Detector::keywords`] order.
    pub keyword_index: usize,
    /// The smoothed score that crossed the threshold.
    pub score: f32,
    /// Samples consumed when the evaluation ran (see [`Detection::position`]).
    pub position: u64,
    /// Estimated start of the spoken word (see [`Detection::start`]).
    pub start: u64,
    /// Estimated end of the word (see [`Detection::end`]).
    pub end: u64,
    /// The pre-roll as two pieces of the ring, oldest first.
    pub(super) pre_roll: [&'a [f32]; 2],
}

impl DetectionEvent<'_> {
    /// Samples of pre-roll: the configured length, or fewer near the stream start.
    pub fn pre_roll_len(&self) -> usize {
        self.pre_roll[0].len() + self.pre_roll[1].len()
    }

    /// The pre-roll as two slices, oldest first; concatenated they are exactly the input
    /// samples `[position - pre_roll_len, position)`.
    pub fn pre_roll_parts(&self) -> [&[f32]; 2] {
        self.pre_roll
    }

    /// An owned copy (allocates the keyword and the pre-roll).
    pub fn to_detection(&self) -> Detection {
        let mut pre_roll = Vec::with_capacity(self.pre_roll_len());
        pre_roll.extend_from_slice(self.pre_roll[0]);
        pre_roll.extend_from_slice(self.pre_roll[1]);
        Detection {
            keyword: self.keyword.to_string(),
            score: self.score,
            position: self.position,
            start: self.start,
            end: self.end,
            pre_roll,
        }
    }
}

impl DetectionSink for Vec<Detection> {
    fn on_detection(&mut self, event: &DetectionEvent<'_>) {
        self.push(event.to_detection());
    }
}
