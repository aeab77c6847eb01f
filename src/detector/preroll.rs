//! The only memory in the detector that holds raw audio.
//!
//! Keeping audio in one place is a privacy property: these buffers are sized once at
//! construction (no hidden growth, no stray copies), wiped on [`PreRoll::clear`] /
//! [`PostRoll::clear`] (called by `Detector::reset`) and wiped again when dropped, with
//! volatile writes so the compiler cannot elide the wipe of memory about to be freed.

use std::sync::atomic::{compiler_fence, Ordering};

/// A fixed-capacity ring of the most recent input samples, from which a detection's
/// pre-roll (the audio that ended at the trigger) is copied.
#[derive(Debug)]
pub struct PreRoll {
    buf: Box<[f32]>,
    /// Index the next sample goes to.
    write: usize,
    /// Valid samples, at most `buf.len()`.
    filled: usize,
}

impl PreRoll {
    /// A ring holding the last `capacity` samples (zero capacity holds nothing).
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            buf: vec![0.0; capacity].into_boxed_slice(),
            write: 0,
            filled: 0,
        }
    }

    /// Most samples the ring can hold.
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// Samples currently held (grows to `capacity` and stays there).
    pub fn len(&self) -> usize {
        self.filled
    }

    /// True before anything was pushed (or after [`Self::clear`]).
    pub fn is_empty(&self) -> bool {
        self.filled == 0
    }

    /// Appends samples, overwriting the oldest; only the last `capacity` of a long slice stay.
    pub fn push(&mut self, samples: &[f32]) {
        let cap = self.buf.len();
        if cap == 0 {
            return;
        }
        let samples = &samples[samples.len().saturating_sub(cap)..];
        let first = samples.len().min(cap - self.write);
        self.buf[self.write..self.write + first].copy_from_slice(&samples[..first]);
        let rest = &samples[first..];
        self.buf[..rest.len()].copy_from_slice(rest);
        self.write = (self.write + samples.len()) % cap;
        self.filled = (self.filled + samples.len()).min(cap);
    }

    /// Appends the last `min(n, len)` samples to `out`, oldest first; returns how many.
    pub fn copy_last(&self, n: usize, out: &mut Vec<f32>) -> usize {
        let [older, newer] = self.last(n);
        out.extend_from_slice(older);
        out.extend_from_slice(newer);
        older.len() + newer.len()
    }

    /// The last `min(n, len)` samples as two slices of the ring, oldest first (the second
    /// is empty unless they wrap): lets a caller copy them out without allocating.
    pub fn last(&self, n: usize) -> [&[f32]; 2] {
        let n = n.min(self.filled);
        let cap = self.buf.len();
        if n == 0 {
            return [&[], &[]];
        }
        let start = (self.write + cap - n) % cap;
        if start + n <= cap {
            [&self.buf[start..start + n], &[]]
        } else {
            [&self.buf[start..], &self.buf[..start + n - cap]]
        }
    }

    /// Forgets and wipes everything held.
    pub fn clear(&mut self) {
        wipe(&mut self.buf);
        self.write = 0;
        self.filled = 0;
    }

    /// The raw storage, for checking that a wipe happened.
    pub fn raw(&self) -> &[f32] {
        &self.buf
    }

    /// Heap bytes held.
    pub fn memory_bytes(&self) -> usize {
        std::mem::size_of_val(&*self.buf)
    }
}

impl Drop for PreRoll {
    fn drop(&mut self) {
        wipe(&mut self.buf);
    }
}

/// Audio after a trigger, captured as it arrives until the host drains it.
///
/// A detection arms it for the next `capacity` samples; a detection while armed re-arms it
/// (the window then ends `capacity` samples after the newer trigger). Samples are kept in a
/// ring of `capacity`, so if the host drains less often than that, the oldest undrained
/// post-roll samples are overwritten; [`PostRoll::drain`] always yields samples in order.
#[derive(Debug)]
pub struct PostRoll {
    ring: PreRoll,
    /// Samples still to capture for the current trigger.
    remaining: usize,
    /// Captured samples not yet drained (at most the ring's capacity).
    pending: usize,
}

impl PostRoll {
    /// Post-roll of `capacity` samples per trigger (zero disables it).
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            ring: PreRoll::with_capacity(capacity),
            remaining: 0,
            pending: 0,
        }
    }

    /// Starts capturing the next `capacity` samples.
    pub fn arm(&mut self) {
        self.remaining = self.ring.capacity();
    }

    /// Offers new input; keeps the part that falls inside an armed window.
    pub fn capture(&mut self, samples: &[f32]) {
        if self.remaining == 0 {
            return;
        }
        let take = self.remaining.min(samples.len());
        self.ring.push(&samples[..take]);
        self.remaining -= take;
        self.pending = (self.pending + take).min(self.ring.capacity());
    }

    /// Appends the captured, undrained samples to `out` (oldest first); returns how many.
    pub fn drain(&mut self, out: &mut Vec<f32>) -> usize {
        let n = self.ring.copy_last(self.pending, out);
        self.pending = 0;
        n
    }

    /// Stops capturing and wipes everything held.
    pub fn clear(&mut self) {
        self.ring.clear();
        self.remaining = 0;
        self.pending = 0;
    }

    /// The raw storage, for checking that a wipe happened.
    pub fn raw(&self) -> &[f32] {
        self.ring.raw()
    }

    /// Heap bytes held.
    pub fn memory_bytes(&self) -> usize {
        self.ring.memory_bytes()
    }
}

/// Overwrites `buf` with zeros in a way the optimizer must keep even right before a free.
pub(crate) fn wipe<T: Copy + Default>(buf: &mut [T]) {
    for sample in buf.iter_mut() {
        // SAFETY: `sample` is a valid, aligned, exclusive reference to a `T`.
        unsafe { std::ptr::write_volatile(sample, T::default()) };
    }
    compiler_fence(Ordering::SeqCst);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(from: usize, to: usize) -> Vec<f32> {
        (from..to).map(|i| i as f32).collect()
    }

    #[test]
    fn keeps_exactly_the_last_samples_across_wraps() {
        let mut ring = PreRoll::with_capacity(10);
        let mut pushed = Vec::new();
        for (i, len) in [3usize, 4, 9, 1, 25, 2].into_iter().enumerate() {
            let chunk = ramp(i * 100, i * 100 + len);
            ring.push(&chunk);
            pushed.extend_from_slice(&chunk);
            for n in [0, 1, 5, 10, 11] {
                let mut out = Vec::new();
                let got = ring.copy_last(n, &mut out);
                let want = &pushed[pushed.len() - n.min(pushed.len()).min(10)..];
                assert_eq!(got, want.len());
                assert_eq!(out, want, "after chunk {i}, last {n}");
            }
        }
    }

    #[test]
    fn clear_wipes_the_storage() {
        let mut ring = PreRoll::with_capacity(8);
        ring.push(&ramp(1, 20));
        assert!(ring.raw().iter().any(|&s| s != 0.0));
        ring.clear();
        assert!(ring.raw().iter().all(|&s| s == 0.0));
        assert!(ring.is_empty());
        let mut out = Vec::new();
        assert_eq!(ring.copy_last(8, &mut out), 0);
    }

    #[test]
    fn wipe_zeroes_every_sample() {
        let mut buf = ramp(1, 100);
        wipe(&mut buf);
        assert!(buf.iter().all(|&s| s == 0.0));
    }

    #[test]
    fn zero_capacity_holds_nothing() {
        let mut ring = PreRoll::with_capacity(0);
        ring.push(&[1.0, 2.0]);
        let mut out = Vec::new();
        assert_eq!(ring.copy_last(2, &mut out), 0);
        let mut post = PostRoll::with_capacity(0);
        post.arm();
        post.capture(&[1.0]);
        assert_eq!(post.drain(&mut out), 0);
    }

    #[test]
    fn post_roll_captures_only_the_armed_window() {
        let mut post = PostRoll::with_capacity(5);
        post.capture(&[9.0, 9.0]);
        post.arm();
        post.capture(&[1.0, 2.0]);
        let mut out = Vec::new();
        assert_eq!(post.drain(&mut out), 2);
        post.capture(&[3.0, 4.0, 5.0, 6.0]);
        assert_eq!(post.drain(&mut out), 3);
        assert_eq!(out, vec![1.0, 2.0, 3.0, 4.0, 5.0]);
        post.capture(&[7.0]);
        assert_eq!(post.drain(&mut out), 0);
        post.arm();
        post.capture(&[8.0]);
        post.clear();
        assert!(post.raw().iter().all(|&s| s == 0.0));
        assert_eq!(post.drain(&mut out), 0);
    }
}
