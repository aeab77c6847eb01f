//! The fixed-capacity detection queue between pushes and polls.
//!
//! Every slot owns a pre-roll buffer sized at creation, so recording a detection copies
//! samples and allocates nothing. When the queue is full, a new detection overwrites the
//! oldest unpolled one and the drop is counted. Polling swaps the oldest slot with the
//! "current" slot, whose pre-roll `hushword_copy_pre_roll` then reads.

use crate::detector::preroll::wipe;
use crate::detector::{DetectionEvent, DetectionSink};

/// One recorded detection with its own pre-roll storage.
#[derive(Debug)]
pub(crate) struct Slot {
    pub keyword_index: usize,
    pub score: f32,
    pub position: u64,
    pub start: u64,
    pub end: u64,
    /// Holds `pre_roll_len` valid samples at the front.
    pre_roll: Box<[i16]>,
    pre_roll_len: usize,
}

impl Slot {
    fn with_capacity(pre_roll_samples: usize) -> Self {
        Self {
            keyword_index: 0,
            score: 0.0,
            position: 0,
            start: 0,
            end: 0,
            pre_roll: vec![0; pre_roll_samples].into_boxed_slice(),
            pre_roll_len: 0,
        }
    }

    /// The valid pre-roll samples.
    pub fn pre_roll(&self) -> &[i16] {
        &self.pre_roll[..self.pre_roll_len]
    }

    fn record(&mut self, event: &DetectionEvent<'_>) {
        self.keyword_index = event.keyword_index;
        self.score = event.score;
        self.position = event.position;
        self.start = event.start;
        self.end = event.end;
        let samples = event.pre_roll_parts().into_iter().flatten();
        let mut len = 0;
        for (out, &sample) in self.pre_roll.iter_mut().zip(samples) {
            // Exact for audio that came in as i16 (scaled by 1/32768).
            *out = (sample * 32768.0).round().clamp(-32768.0, 32767.0) as i16;
            len += 1;
        }
        self.pre_roll_len = len;
    }

    fn wipe(&mut self) {
        wipe(&mut self.pre_roll);
        self.pre_roll_len = 0;
    }
}

/// Detections waiting to be polled, plus the one polled last.
#[derive(Debug)]
pub(crate) struct DetectionQueue {
    slots: Box<[Slot]>,
    /// Index of the oldest waiting detection.
    head: usize,
    waiting: usize,
    current: Slot,
    has_current: bool,
    dropped: u64,
}

impl DetectionQueue {
    /// A queue of `capacity` (>= 1) detections with up to `pre_roll_samples` each.
    pub fn new(capacity: usize, pre_roll_samples: usize) -> Self {
        Self {
            slots: (0..capacity.max(1))
                .map(|_| Slot::with_capacity(pre_roll_samples))
                .collect(),
            head: 0,
            waiting: 0,
            current: Slot::with_capacity(pre_roll_samples),
            has_current: false,
            dropped: 0,
        }
    }

    /// Moves the oldest waiting detection to "current" and returns it.
    pub fn poll(&mut self) -> Option<&Slot> {
        if self.waiting == 0 {
            return None;
        }
        std::mem::swap(&mut self.current, &mut self.slots[self.head]);
        self.slots[self.head].wipe();
        self.head = (self.head + 1) % self.slots.len();
        self.waiting -= 1;
        self.has_current = true;
        Some(&self.current)
    }

    /// The detection returned by the last [`Self::poll`], if any since the last clear.
    pub fn current(&self) -> Option<&Slot> {
        self.has_current.then_some(&self.current)
    }

    /// Detections overwritten unpolled because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Forgets everything and wipes the pre-roll copies (the drop counter stays).
    pub fn clear(&mut self) {
        self.slots.iter_mut().for_each(Slot::wipe);
        self.current.wipe();
        self.head = 0;
        self.waiting = 0;
        self.has_current = false;
    }

    /// Heap bytes held: every slot's pre-roll storage.
    pub fn memory_bytes(&self) -> usize {
        (self.slots.len() + 1) * std::mem::size_of_val(&*self.current.pre_roll)
            + std::mem::size_of_val(&*self.slots)
    }
}

impl DetectionSink for DetectionQueue {
    fn on_detection(&mut self, event: &DetectionEvent<'_>) {
        let capacity = self.slots.len();
        if self.waiting == capacity {
            self.head = (self.head + 1) % capacity;
            self.waiting -= 1;
            self.dropped += 1;
        }
        self.slots[(self.head + self.waiting) % capacity].record(event);
        self.waiting += 1;
    }
}

impl Drop for DetectionQueue {
    fn drop(&mut self) {
        self.clear();
    }
}
