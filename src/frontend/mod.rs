//! Streaming MFCC / log-mel front end: audio samples in, one feature frame per hop out.
//!
//! The maths is fixed by `docs/model-format.md` and mirrored in `training/features.py`, so a
//! model sees the same numbers at training and at run time. Everything (FFT plan, tables,
//! buffers) is built in [`MfccFrontend::new`]; pushing audio afterwards never allocates, and
//! the frames do not depend on how the stream is chunked.
//!
//! ```
//! use hushword::frontend::{FrontendConfig, MfccFrontend};
//!
//! let mut frontend = MfccFrontend::new(FrontendConfig::default())?;
//! let tone: Vec<f32> = (0..16_000)
//!     .map(|n| 0.1 * (2.0 * std::f32::consts::PI * 440.0 * n as f32 / 16_000.0).sin())
//!     .collect();
//! let mut frames = 0;
//! for chunk in tone.chunks(160) {
//!     frontend.push_f32(chunk, |mfcc| {
//!         assert_eq!(mfcc.len(), 20);
//!         frames += 1;
//!     })?;
//! }
//! // 1 s at 16 kHz: (16000 - 400) / 160 + 1 frames of 25 ms every 10 ms.
//! assert_eq!(frames, 98);
//! assert_eq!(frontend.compute(&tone)?.dim(), (98, 20));
//! # Ok::<(), hushword::Error>(())
//! ```

pub mod config;
pub mod kernels;
pub mod tables;

pub use config::{FeatureKind, FrontendConfig, WindowKind};
pub use kernels::KernelSet;

use crate::{Error, Result};
use kernels::{scalar, simd, DctTables};
use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};
use std::sync::Arc;
use tables::MelBank;

/// Streaming feature extractor for one audio stream.
pub struct MfccFrontend {
    config: FrontendConfig,
    kernels: KernelSet,
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    mel_bank: MelBank,
    dct: DctTables,
    /// Pre-emphasised samples of the frame being filled (`stash_fill` valid).
    stash: Vec<f32>,
    stash_fill: usize,
    /// Samples still to drop before the next frame starts (only when hop > frame length).
    skip: usize,
    /// Last raw input sample, the `x[n-1]` of pre-emphasis.
    previous_sample: f32,
    fft_input: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    fft_scratch: Vec<Complex<f32>>,
    /// Power spectrum, zero-padded past the last bin for the SIMD mel kernel.
    power: Vec<f32>,
    mel: Vec<f32>,
    log_mel: Vec<f32>,
    mfcc: Vec<f32>,
    frames_emitted: u64,
    samples_consumed: u64,
}

impl std::fmt::Debug for MfccFrontend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfccFrontend")
            .field("config", &self.config)
            .field("kernels", &self.kernels)
            .field("frames_emitted", &self.frames_emitted)
            .field("samples_consumed", &self.samples_consumed)
            .finish_non_exhaustive()
    }
}

impl MfccFrontend {
    /// Validates `config`, plans the FFT and builds every table and buffer (SIMD kernels).
    pub fn new(config: FrontendConfig) -> Result<Self> {
        Self::with_kernels(config, KernelSet::Simd)
    }

    /// Same as [`Self::new`] with the scalar reference kernels (tests, benchmarks).
    pub fn new_scalar(config: FrontendConfig) -> Result<Self> {
        Self::with_kernels(config, KernelSet::Scalar)
    }

    /// [`Self::new`] with an explicit kernel choice.
    pub fn with_kernels(config: FrontendConfig, kernels: KernelSet) -> Result<Self> {
        config.validate()?;
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(config.fft_size);
        let n_bins = config.fft_size / 2 + 1;
        let mel_bank = MelBank::new(&config);
        let padded_bins = mel_bank.padded_bins(n_bins);
        Ok(Self {
            kernels,
            window: tables::window(config.window, config.frame_length),
            dct: DctTables::new(config.n_mfcc, config.n_mels),
            stash: vec![0.0; config.frame_length],
            stash_fill: 0,
            skip: 0,
            previous_sample: 0.0,
            fft_input: fft.make_input_vec(),
            spectrum: fft.make_output_vec(),
            fft_scratch: fft.make_scratch_vec(),
            power: vec![0.0; padded_bins],
            mel: vec![0.0; config.n_mels],
            log_mel: vec![0.0; config.n_mels],
            mfcc: vec![0.0; config.n_mfcc],
            frames_emitted: 0,
            samples_consumed: 0,
            mel_bank,
            fft,
            config,
        })
    }

    /// The settings this front end computes with.
    pub fn config(&self) -> &FrontendConfig {
        &self.config
    }

    /// Which kernel implementation runs.
    pub fn kernels(&self) -> KernelSet {
        self.kernels
    }

    /// Values per emitted frame: `n_mfcc` or `n_mels`, per `config.features`.
    pub fn n_features(&self) -> usize {
        self.config.n_features()
    }

    /// Streams f32 samples in [-1, 1), calling `on_frame(features)` for each completed frame.
    ///
    /// Non-finite samples are refused with [`Error::Audio`] before anything is consumed, so
    /// the stream state is unchanged and the caller may drop or repair the chunk.
    pub fn push_f32(&mut self, samples: &[f32], on_frame: impl FnMut(&[f32])) -> Result<()> {
        if let Some(i) = samples.iter().position(|s| !s.is_finite()) {
            return Err(Error::Audio(format!(
                "sample {i} of this chunk is {} (stream position {})",
                samples[i],
                self.samples_consumed + i as u64
            )));
        }
        self.ingest(samples, |s| s, on_frame);
        Ok(())
    }

    /// Streams 16-bit PCM (scaled by 1/32768); see [`Self::push_f32`].
    pub fn push_i16(&mut self, samples: &[i16], on_frame: impl FnMut(&[f32])) {
        self.ingest(samples, |s| s as f32 / 32768.0, on_frame);
    }

    /// Forgets the stream: the next sample starts frame 0, with `x[-1] = 0`.
    pub fn reset(&mut self) {
        // Privacy: the stash and FFT input hold the last few hundred raw samples; wipe them so
        // that no audio outlives a reset (the detector's ring is the only place audio is kept).
        self.wipe_audio();
        self.stash_fill = 0;
        self.skip = 0;
        self.previous_sample = 0.0;
        self.frames_emitted = 0;
        self.samples_consumed = 0;
    }

    /// Overwrites every buffer that holds (windowed) input samples with zeros.
    fn wipe_audio(&mut self) {
        for buffer in [&mut self.stash, &mut self.fft_input] {
            for x in buffer.iter_mut() {
                // SAFETY: `x` is a valid, aligned, exclusive reference into the buffer.
                unsafe { std::ptr::write_volatile(x, 0.0) };
            }
        }
        std::sync::atomic::compiler_fence(std::sync::atomic::Ordering::SeqCst);
    }

    /// Frames emitted since construction or [`Self::reset`].
    pub fn frames_emitted(&self) -> u64 {
        self.frames_emitted
    }

    /// Samples consumed since construction or [`Self::reset`].
    pub fn samples_consumed(&self) -> u64 {
        self.samples_consumed
    }

    /// Features of a whole signal, `frames x n_features` (resets first; allocates the result).
    pub fn compute(&mut self, samples: &[f32]) -> Result<ndarray::Array2<f32>> {
        self.reset();
        let n_features = self.n_features();
        let n_frames = frame_count(samples.len(), &self.config);
        let mut out = ndarray::Array2::<f32>::zeros((n_frames, n_features));
        let mut rows = out.rows_mut().into_iter();
        self.push_f32(samples, |frame| {
            if let Some(mut row) = rows.next() {
                row.iter_mut().zip(frame).for_each(|(r, &f)| *r = f);
            }
        })?;
        Ok(out)
    }

    /// Log-mel energies of the last emitted frame (also the MFCC input), `n_mels` long.
    pub fn last_log_mel(&self) -> &[f32] {
        &self.log_mel
    }

    /// MFCC of the last emitted frame, `n_mfcc` long (only filled when `features` is `mfcc`).
    pub fn last_mfcc(&self) -> &[f32] {
        &self.mfcc
    }

    /// Pre-emphasises and stashes samples, running the frame pipeline each time a frame is
    /// complete. Works a run of samples at a time so the per-sample path is a tight loop.
    fn ingest<T: Copy>(
        &mut self,
        samples: &[T],
        to_f32: impl Fn(T) -> f32,
        mut on_frame: impl FnMut(&[f32]),
    ) {
        let a = self.config.preemphasis;
        let frame_length = self.config.frame_length;
        let hop = self.config.hop_length;
        let mut rest = samples;
        while !rest.is_empty() {
            if self.skip > 0 {
                let n = self.skip.min(rest.len());
                self.previous_sample = to_f32(rest[n - 1]);
                self.skip -= n;
                rest = &rest[n..];
                continue;
            }
            let n = (frame_length - self.stash_fill).min(rest.len());
            let dst = &mut self.stash[self.stash_fill..self.stash_fill + n];
            let mut previous = self.previous_sample;
            for (d, &s) in dst.iter_mut().zip(&rest[..n]) {
                let x = to_f32(s);
                *d = x - a * previous;
                previous = x;
            }
            self.previous_sample = previous;
            self.stash_fill += n;
            rest = &rest[n..];
            if self.stash_fill == frame_length {
                self.process_frame();
                self.frames_emitted += 1;
                on_frame(self.features());
                if hop < frame_length {
                    self.stash.copy_within(hop.., 0);
                    self.stash_fill = frame_length - hop;
                } else {
                    self.stash_fill = 0;
                    self.skip = hop - frame_length;
                }
            }
        }
        self.samples_consumed += samples.len() as u64;
    }

    fn features(&self) -> &[f32] {
        match self.config.features {
            FeatureKind::Mfcc => &self.mfcc,
            FeatureKind::LogMel => &self.log_mel,
        }
    }

    /// Window -> FFT -> power -> mel -> log (-> DCT) on the full stash.
    fn process_frame(&mut self) {
        let n_bins = self.spectrum.len();
        let floor = self.config.log_floor;
        match self.kernels {
            KernelSet::Simd => simd::window(&self.stash, &self.window, &mut self.fft_input),
            KernelSet::Scalar => scalar::window(&self.stash, &self.window, &mut self.fft_input),
        }
        // Lengths come from the planner itself, the only error realfft can report.
        let fft_result = self.fft.process_with_scratch(
            &mut self.fft_input,
            &mut self.spectrum,
            &mut self.fft_scratch,
        );
        debug_assert!(fft_result.is_ok());
        let power = &mut self.power[..n_bins];
        match self.kernels {
            KernelSet::Simd => {
                simd::power(&self.spectrum, power);
                simd::mel(&self.power, &self.mel_bank, &mut self.mel);
                simd::log(&self.mel, floor, &mut self.log_mel);
            }
            KernelSet::Scalar => {
                scalar::power(&self.spectrum, power);
                scalar::mel(&self.power, &self.mel_bank, &mut self.mel);
                scalar::log(&self.mel, floor, &mut self.log_mel);
            }
        }
        if self.config.features == FeatureKind::Mfcc {
            match self.kernels {
                KernelSet::Simd => simd::dct(&self.log_mel, &self.dct, &mut self.mfcc),
                KernelSet::Scalar => scalar::dct(&self.log_mel, &self.dct, &mut self.mfcc),
            }
        }
    }
}

/// Frames a signal of `n_samples` yields: a frame exists once its last sample has arrived.
pub fn frame_count(n_samples: usize, config: &FrontendConfig) -> usize {
    if n_samples < config.frame_length {
        0
    } else {
        (n_samples - config.frame_length) / config.hop_length + 1
    }
}

impl Drop for MfccFrontend {
    /// Zeroes the sample buffers so that no audio lingers in freed memory.
    fn drop(&mut self) {
        self.wipe_audio();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn reset_wipes_every_buffered_sample() {
        let mut f = super::MfccFrontend::new(super::FrontendConfig::default()).unwrap();
        let audio: Vec<f32> = (0..1234)
            .map(|i| ((i % 97) as f32 - 48.0) / 100.0)
            .collect();
        f.push_f32(&audio, |_| {}).unwrap();
        assert!(
            f.stash.iter().any(|&x| x != 0.0),
            "stash holds audio before reset"
        );
        f.reset();
        assert!(f.stash.iter().all(|&x| x == 0.0));
        assert!(f.fft_input.iter().all(|&x| x == 0.0));
    }

    use super::*;

    fn tone(n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| 0.3 * (i as f32 * 0.05).sin() + 0.01 * ((i * 7919) % 13) as f32 / 13.0)
            .collect()
    }

    #[test]
    fn frame_count_follows_the_no_padding_rule() {
        let c = FrontendConfig::default();
        assert_eq!(frame_count(399, &c), 0);
        assert_eq!(frame_count(400, &c), 1);
        assert_eq!(frame_count(559, &c), 1);
        assert_eq!(frame_count(560, &c), 2);
    }

    #[test]
    fn non_finite_input_is_refused_without_consuming() {
        let mut f = MfccFrontend::new(FrontendConfig::default()).unwrap();
        f.push_f32(&tone(300), |_| {}).unwrap();
        let err = f.push_f32(&[0.0, f32::NAN, 0.0], |_| {}).unwrap_err();
        assert!(matches!(err, Error::Audio(_)), "{err}");
        assert_eq!(f.samples_consumed(), 300);
        let mut g = MfccFrontend::new(FrontendConfig::default()).unwrap();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let sig = tone(1000);
        f.push_f32(&sig[300..], |x| a.push(x.to_vec())).unwrap();
        g.push_f32(&sig, |x| b.push(x.to_vec())).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn preemphasis_matches_its_definition() {
        let sig = tone(800);
        let a = 0.97f32;
        let mut emphasised = sig.clone();
        for n in (1..sig.len()).rev() {
            emphasised[n] = sig[n] - a * sig[n - 1];
        }
        let plain = FrontendConfig::default();
        let with = FrontendConfig {
            preemphasis: a,
            ..plain.clone()
        };
        let want = MfccFrontend::new(plain)
            .unwrap()
            .compute(&emphasised)
            .unwrap();
        let got = MfccFrontend::new(with).unwrap().compute(&sig).unwrap();
        assert_eq!(got, want);
    }

    #[test]
    fn hop_longer_than_frame_skips_samples() {
        let cfg = FrontendConfig {
            frame_length: 200,
            hop_length: 300,
            fft_size: 256,
            preemphasis: 0.5,
            features: FeatureKind::LogMel,
            ..FrontendConfig::default()
        };
        let sig = tone(2000);
        let whole = MfccFrontend::new(cfg.clone())
            .unwrap()
            .compute(&sig)
            .unwrap();
        assert_eq!(whole.nrows(), frame_count(2000, &cfg));
        // Frame k must equal a fresh front end fed the frame's own samples (with x[-1]).
        let k = 3;
        let start = k * 300;
        let mut f = MfccFrontend::new(cfg.clone()).unwrap();
        let emphasised: Vec<f32> = (start..start + 200)
            .map(|n| sig[n] - 0.5 * sig[n - 1])
            .collect();
        let no_pre = FrontendConfig {
            preemphasis: 0.0,
            ..cfg
        };
        let mut g = MfccFrontend::new(no_pre).unwrap();
        let single = g.compute(&emphasised).unwrap();
        assert_eq!(single.row(0), whole.row(k));
        let mut count = 0;
        f.push_f32(&sig, |_| count += 1).unwrap();
        assert_eq!(count, whole.nrows());
    }

    #[test]
    fn features_select_mfcc_or_log_mel() {
        let sig = tone(4000);
        let mfcc_cfg = FrontendConfig::default();
        let mel_cfg = FrontendConfig {
            features: FeatureKind::LogMel,
            ..mfcc_cfg.clone()
        };
        let mut m = MfccFrontend::new(mfcc_cfg).unwrap();
        let mfcc = m.compute(&sig).unwrap();
        let last_log_mel = m.last_log_mel().to_vec();
        let mel = MfccFrontend::new(mel_cfg).unwrap().compute(&sig).unwrap();
        assert_eq!(mel.ncols(), 40);
        assert_eq!(mfcc.ncols(), 20);
        assert_eq!(mel.row(mel.nrows() - 1).to_vec(), last_log_mel);
        assert_eq!(m.last_mfcc(), mfcc.row(mfcc.nrows() - 1).to_vec());
    }
}
