//! Block-by-block resampling to 16 kHz that gives exactly the samples a whole-signal pass
//! gives: the same rubato calls in the same order, the delay dropped from the front and the
//! output cut to `round(len * 16000 / rate)` once the input's length is known.

use super::TARGET_SAMPLE_RATE;
use rubato::{FftFixedInOut, Resampler};

/// Input frames per resampler call; the FFT resampler rounds it up to a whole number of
/// `rate / gcd(rate, 16000)` blocks.
const RESAMPLE_CHUNK: usize = 4096;

pub(crate) struct StreamResampler {
    resampler: FftFixedInOut<f32>,
    rate: u32,
    /// Input not yet handed to the resampler (less than one of its blocks).
    pending: Vec<f32>,
    /// Output samples still to drop: the resampler's delay.
    to_drop: usize,
    input_total: u64,
    output_total: u64,
}

impl StreamResampler {
    pub fn new(rate: u32) -> Result<Self, String> {
        let resampler = FftFixedInOut::<f32>::new(
            rate as usize,
            TARGET_SAMPLE_RATE as usize,
            RESAMPLE_CHUNK,
            1,
        )
        .map_err(|e| e.to_string())?;
        Ok(Self {
            to_drop: resampler.output_delay(),
            pending: Vec::with_capacity(resampler.input_frames_max()),
            resampler,
            rate,
            input_total: 0,
            output_total: 0,
        })
    }

    /// Feeds `input` (mono at the source rate) and appends what is ready to `out`.
    pub fn push(&mut self, mut input: &[f32], out: &mut Vec<f32>) -> Result<(), String> {
        self.input_total += input.len() as u64;
        loop {
            let needed = self.resampler.input_frames_next();
            let take = (needed - self.pending.len()).min(input.len());
            self.pending.extend_from_slice(&input[..take]);
            input = &input[take..];
            if self.pending.len() < needed {
                return Ok(());
            }
            let block = self
                .resampler
                .process(&[&self.pending[..]], None)
                .map_err(|e| e.to_string())?;
            self.pending.clear();
            self.emit(&block[0], u64::MAX, out);
        }
    }

    /// Flushes the rest once the input has ended, and starts a fresh stream (a raw PCM
    /// stream's converter is reused for the next stream).
    pub fn finish(&mut self, out: &mut Vec<f32>) -> Result<(), String> {
        let rate = u64::from(self.rate);
        let wanted = (self.input_total * u64::from(TARGET_SAMPLE_RATE) + rate / 2) / rate;
        if !self.pending.is_empty() {
            let block = self
                .resampler
                .process_partial(Some(&[&self.pending[..]]), None)
                .map_err(|e| e.to_string())?;
            self.pending.clear();
            self.emit(&block[0], wanted, out);
        }
        while self.output_total < wanted {
            let block = self
                .resampler
                .process_partial::<&[f32]>(None, None)
                .map_err(|e| e.to_string())?;
            self.emit(&block[0], wanted, out);
        }
        self.resampler.reset();
        self.to_drop = self.resampler.output_delay();
        (self.input_total, self.output_total) = (0, 0);
        Ok(())
    }

    /// Appends `block` past the delay, up to `limit` output samples in all.
    fn emit(&mut self, block: &[f32], limit: u64, out: &mut Vec<f32>) {
        let drop = self.to_drop.min(block.len());
        self.to_drop -= drop;
        let room = usize::try_from(limit - self.output_total.min(limit)).unwrap_or(usize::MAX);
        let kept = &block[drop..][..(block.len() - drop).min(room)];
        out.extend_from_slice(kept);
        self.output_total += kept.len() as u64;
    }
}
