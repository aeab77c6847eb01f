//! Front-end settings, exactly as they travel in a model's metadata (see `docs/model-format.md`).
//!
//! The engine refuses a model whose front end it would compute differently, so this struct is
//! both the knob set of [`super::MfccFrontend`] and the identity card compared against a model.

use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// The only input rate the front end supports; resample before pushing.
pub const SUPPORTED_SAMPLE_RATE: u32 = 16_000;

/// Upper bound on `fft_size`: far beyond any speech front end, it keeps a hostile model's
/// metadata from making the engine allocate gigabytes.
pub const MAX_FFT_SIZE: usize = 1 << 16;

/// Every setting that changes the numbers the front end produces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FrontendConfig {
    /// Input rate in Hz; only [`SUPPORTED_SAMPLE_RATE`] is accepted.
    pub sample_rate: u32,
    /// Samples per analysis window.
    pub frame_length: usize,
    /// Samples between the starts of consecutive frames.
    pub hop_length: usize,
    /// Real FFT length; each windowed frame is zero-padded to it.
    pub fft_size: usize,
    /// Analysis window shape (periodic).
    pub window: WindowKind,
    /// Pre-emphasis coefficient `a` in `y[n] = x[n] - a x[n-1]`; 0 disables it.
    pub preemphasis: f32,
    /// Number of triangular mel bands.
    pub n_mels: usize,
    /// Lower edge of the first mel band, Hz.
    pub fmin: f32,
    /// Upper edge of the last mel band, Hz.
    pub fmax: f32,
    /// Energies below this are clamped before the natural log, so silence stays finite.
    pub log_floor: f32,
    /// Orthonormal DCT-II coefficients kept.
    pub n_mfcc: usize,
    /// Which representation the model consumes.
    pub features: FeatureKind,
}

/// Analysis window shape. Both are periodic (`N` in the denominator, not `N - 1`), as
/// librosa/scipy `get_window(..., fftbins=True)` build them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowKind {
    /// `0.5 - 0.5 cos(2 pi n / N)`.
    Hann,
    /// `0.54 - 0.46 cos(2 pi n / N)`.
    Hamming,
}

/// What one feature frame holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeatureKind {
    /// `n_mfcc` cepstral coefficients.
    Mfcc,
    /// `n_mels` log mel energies.
    LogMel,
}

impl Default for FrontendConfig {
    fn default() -> Self {
        Self {
            sample_rate: SUPPORTED_SAMPLE_RATE,
            frame_length: 400,
            hop_length: 160,
            fft_size: 512,
            window: WindowKind::Hann,
            preemphasis: 0.0,
            n_mels: 40,
            fmin: 60.0,
            fmax: 7600.0,
            log_floor: 1e-6,
            n_mfcc: 20,
            features: FeatureKind::Mfcc,
        }
    }
}

impl FrontendConfig {
    /// Checks every field, reporting the first problem as [`Error::Config`].
    pub fn validate(&self) -> Result<()> {
        let bad = |msg: String| Err(Error::Config(format!("frontend: {msg}")));
        if self.sample_rate != SUPPORTED_SAMPLE_RATE {
            return bad(format!(
                "sample_rate {} is not supported (only {SUPPORTED_SAMPLE_RATE})",
                self.sample_rate
            ));
        }
        if self.fft_size < 2 || !self.fft_size.is_multiple_of(2) || self.fft_size > MAX_FFT_SIZE {
            return bad(format!(
                "fft_size {} must be even and in 2..={MAX_FFT_SIZE}",
                self.fft_size
            ));
        }
        if self.frame_length == 0 || self.frame_length > self.fft_size {
            return bad(format!(
                "frame_length {} must be in 1..=fft_size ({})",
                self.frame_length, self.fft_size
            ));
        }
        if self.hop_length == 0 || self.hop_length > MAX_FFT_SIZE {
            return bad(format!(
                "hop_length {} must be in 1..={MAX_FFT_SIZE}",
                self.hop_length
            ));
        }
        if !(self.preemphasis.is_finite() && (0.0..1.0).contains(&self.preemphasis)) {
            return bad(format!(
                "preemphasis {} must be in [0, 1)",
                self.preemphasis
            ));
        }
        let n_bins = self.fft_size / 2 + 1;
        if self.n_mels == 0 || self.n_mels > n_bins {
            return bad(format!(
                "n_mels {} must be in 1..={n_bins} (fft_size / 2 + 1)",
                self.n_mels
            ));
        }
        let nyquist = self.sample_rate as f32 / 2.0;
        if !(self.fmin.is_finite() && self.fmax.is_finite())
            || self.fmin < 0.0
            || self.fmin >= self.fmax
            || self.fmax > nyquist
        {
            return bad(format!(
                "need 0 <= fmin ({}) < fmax ({}) <= sample_rate / 2 ({nyquist})",
                self.fmin, self.fmax
            ));
        }
        if !(self.log_floor.is_finite() && self.log_floor > 0.0) {
            return bad(format!(
                "log_floor {} must be finite and > 0",
                self.log_floor
            ));
        }
        if self.n_mfcc == 0 || self.n_mfcc > self.n_mels {
            return bad(format!(
                "n_mfcc {} must be in 1..=n_mels ({})",
                self.n_mfcc, self.n_mels
            ));
        }
        Ok(())
    }

    /// Values per feature frame: `n_mfcc` or `n_mels`, per [`Self::features`].
    pub fn n_features(&self) -> usize {
        match self.features {
            FeatureKind::Mfcc => self.n_mfcc,
            FeatureKind::LogMel => self.n_mels,
        }
    }

    /// One line per field that differs, `"name: self vs other"`, so a model/engine mismatch
    /// error can say exactly what is wrong. Empty when the configs are equal.
    pub fn differences(&self, other: &FrontendConfig) -> Vec<String> {
        let mut out = Vec::new();
        macro_rules! cmp {
            ($($field:ident),*) => {$(
                if self.$field != other.$field {
                    out.push(format!(
                        concat!(stringify!($field), ": {:?} vs {:?}"),
                        self.$field, other.$field
                    ));
                }
            )*};
        }
        cmp!(
            sample_rate,
            frame_length,
            hop_length,
            fft_size,
            window,
            preemphasis,
            n_mels,
            fmin,
            fmax,
            log_floor,
            n_mfcc,
            features
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_matches_the_spec() {
        let c = FrontendConfig::default();
        c.validate().unwrap();
        assert_eq!(c.n_features(), 20);
        let json = serde_json::to_value(&c).unwrap();
        let spec: serde_json::Value = serde_json::from_str(
            r#"{ "sample_rate": 16000, "frame_length": 400, "hop_length": 160, "fft_size": 512,
                "window": "hann", "preemphasis": 0.0, "n_mels": 40, "fmin": 60.0, "fmax": 7600.0,
                "log_floor": 1e-6, "n_mfcc": 20, "features": "mfcc" }"#,
        )
        .unwrap();
        let back: FrontendConfig = serde_json::from_value(spec).unwrap();
        assert_eq!(back, c);
        assert_eq!(serde_json::from_value::<FrontendConfig>(json).unwrap(), c);
    }

    #[test]
    fn missing_fields_take_defaults_and_unknown_fields_are_refused() {
        let c: FrontendConfig = serde_json::from_str(r#"{"features": "log_mel"}"#).unwrap();
        assert_eq!(c.features, FeatureKind::LogMel);
        assert_eq!(c.n_features(), 40);
        assert!(serde_json::from_str::<FrontendConfig>(r#"{"n_fft": 512}"#).is_err());
    }

    #[test]
    fn validate_rejects_each_bad_field() {
        let cases: Vec<fn(&mut FrontendConfig)> = vec![
            |c| c.sample_rate = 8000,
            |c| c.fft_size = 511,
            |c| c.fft_size = 0,
            |c| c.frame_length = 0,
            |c| c.frame_length = 513,
            |c| c.hop_length = 0,
            |c| c.preemphasis = 1.0,
            |c| c.preemphasis = f32::NAN,
            |c| c.n_mels = 0,
            |c| c.n_mels = 258,
            |c| c.fmin = -1.0,
            |c| c.fmax = 8001.0,
            |c| c.fmin = 7600.0,
            |c| c.log_floor = 0.0,
            |c| c.log_floor = f32::INFINITY,
            |c| c.n_mfcc = 0,
            |c| c.n_mfcc = 41,
        ];
        for (i, break_it) in cases.iter().enumerate() {
            let mut c = FrontendConfig::default();
            break_it(&mut c);
            assert!(
                matches!(c.validate(), Err(Error::Config(_))),
                "case {i} accepted: {c:?}"
            );
        }
    }

    #[test]
    fn differences_names_every_mismatching_field() {
        let a = FrontendConfig::default();
        assert!(a.differences(&a).is_empty());
        let b = FrontendConfig {
            preemphasis: 0.97,
            n_mels: 32,
            features: FeatureKind::LogMel,
            ..a.clone()
        };
        let d = a.differences(&b);
        assert_eq!(d.len(), 3, "{d:?}");
        assert!(d[0].starts_with("preemphasis: 0.0 vs 0.97"), "{d:?}");
        assert!(d[1].starts_with("n_mels: 40 vs 32"), "{d:?}");
        assert!(d[2].starts_with("features: Mfcc vs LogMel"), "{d:?}");
    }
}
