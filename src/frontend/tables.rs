//! Constant tables built once per front end: analysis window, sparse mel filter bank and DCT.
//!
//! All are computed in f64 and rounded to f32 once, the way numpy builds them, so the tables
//! match `training/features.py` and librosa to the last bit or two.

use super::config::{FrontendConfig, WindowKind};
use super::kernels::LANES;

/// Periodic window of `len` samples (`N` in the cosine's denominator, as for spectral analysis).
pub fn window(kind: WindowKind, len: usize) -> Vec<f32> {
    let (a0, a1) = match kind {
        WindowKind::Hann => (0.5, 0.5),
        WindowKind::Hamming => (0.54, 0.46),
    };
    (0..len)
        .map(|n| {
            let phase = 2.0 * std::f64::consts::PI * n as f64 / len as f64;
            (a0 - a1 * phase.cos()) as f32
        })
        .collect()
}

/// HTK mel scale, as in `librosa.hz_to_mel(htk=True)`.
fn hz_to_mel(hz: f64) -> f64 {
    2595.0 * (1.0 + hz / 700.0).log10()
}

/// Inverse of [`hz_to_mel`].
fn mel_to_hz(mel: f64) -> f64 {
    700.0 * (10f64.powf(mel / 2595.0) - 1.0)
}

/// Triangular mel filter bank in sparse form.
///
/// Each HTK triangle touches only the FFT bins between its neighbours' centres (~500 non-zero
/// weights of 40x257 by default), so storing `start` + the non-zero run per band is several
/// times faster than a dense matrix product, even before SIMD.
#[derive(Debug, Clone)]
pub struct MelBank {
    /// First FFT bin of each band.
    pub starts: Vec<usize>,
    /// Number of weights of each band (its non-zero run, leading/trailing zeros trimmed).
    pub lens: Vec<usize>,
    /// Offset of each band's weights in [`Self::weights`]; runs are padded with zeros to a
    /// multiple of [`LANES`] so the SIMD kernel never needs a remainder loop.
    pub offsets: Vec<usize>,
    /// All bands' weights, each run padded to a multiple of [`LANES`].
    pub weights: Vec<f32>,
}

impl MelBank {
    /// `librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax, htk=True, norm=None)`, sparse.
    pub fn new(cfg: &FrontendConfig) -> Self {
        let dense = mel_dense(cfg);
        let n_bins = cfg.fft_size / 2 + 1;
        let mut bank = MelBank {
            starts: Vec::with_capacity(cfg.n_mels),
            lens: Vec::with_capacity(cfg.n_mels),
            offsets: Vec::with_capacity(cfg.n_mels),
            weights: Vec::new(),
        };
        for row in dense.chunks_exact(n_bins) {
            let first = row.iter().position(|&w| w != 0.0);
            let last = row.iter().rposition(|&w| w != 0.0);
            let (start, len) = match (first, last) {
                (Some(f), Some(l)) => (f, l + 1 - f),
                // A band narrower than one bin has no weight: its energy is 0 (librosa warns).
                _ => (0, 0),
            };
            bank.starts.push(start);
            bank.lens.push(len);
            bank.offsets.push(bank.weights.len());
            bank.weights.extend_from_slice(&row[start..start + len]);
            let padded = len.div_ceil(LANES) * LANES;
            bank.weights
                .resize(bank.offsets[bank.offsets.len() - 1] + padded, 0.0);
        }
        bank
    }

    /// Bins the SIMD kernel may read past `n_bins` (zero-padded power spectrum length).
    pub fn padded_bins(&self, n_bins: usize) -> usize {
        self.starts
            .iter()
            .zip(&self.lens)
            .map(|(&s, &l)| s + l.div_ceil(LANES) * LANES)
            .max()
            .unwrap_or(0)
            .max(n_bins)
    }
}

/// Dense `n_mels x (fft_size/2 + 1)` weights, row-major, rounded to f32 like librosa's output.
pub fn mel_dense(cfg: &FrontendConfig) -> Vec<f32> {
    let n_bins = cfg.fft_size / 2 + 1;
    let sr = cfg.sample_rate as f64;
    // Same rounding as np.fft.rfftfreq(n, d=1/sr), which librosa uses: j * (1 / (n * d)).
    let bin_step = 1.0 / (cfg.fft_size as f64 * (1.0 / sr));
    let bin_hz: Vec<f64> = (0..n_bins).map(|j| j as f64 * bin_step).collect();
    let (mel_lo, mel_hi) = (hz_to_mel(cfg.fmin as f64), hz_to_mel(cfg.fmax as f64));
    let n_edges = cfg.n_mels + 2;
    // np.linspace(mel_lo, mel_hi, n_edges): lo + i * step, with the last point exact.
    let step = (mel_hi - mel_lo) / (n_edges - 1) as f64;
    let edges_hz: Vec<f64> = (0..n_edges)
        .map(|i| {
            let mel = if i == n_edges - 1 {
                mel_hi
            } else {
                mel_lo + i as f64 * step
            };
            mel_to_hz(mel)
        })
        .collect();
    let mut out = vec![0f32; cfg.n_mels * n_bins];
    for b in 0..cfg.n_mels {
        let (lo, mid, hi) = (edges_hz[b], edges_hz[b + 1], edges_hz[b + 2]);
        for (j, &f) in bin_hz.iter().enumerate() {
            let rising = (f - lo) / (mid - lo);
            let falling = (hi - f) / (hi - mid);
            out[b * n_bins + j] = rising.min(falling).max(0.0) as f32;
        }
    }
    out
}

/// Orthonormal DCT-II basis, `n_mfcc x n_mels` row-major (scipy `dct(type=2, norm="ortho")`).
pub fn dct_matrix(n_mfcc: usize, n_mels: usize) -> Vec<f32> {
    let n = n_mels as f64;
    let mut out = Vec::with_capacity(n_mfcc * n_mels);
    for i in 0..n_mfcc {
        let scale = if i == 0 {
            (1.0 / n).sqrt()
        } else {
            (2.0 / n).sqrt()
        };
        for b in 0..n_mels {
            let angle = std::f64::consts::PI * i as f64 * (2 * b + 1) as f64 / (2.0 * n);
            out.push((scale * angle.cos()) as f32);
        }
    }
    out
}

/// The DCT basis transposed to `n_mels x stride` with `stride = n_mfcc` rounded up to
/// [`LANES`] (zero columns), so the SIMD kernel accumulates whole output lanes per mel band.
pub fn dct_transposed_padded(dct: &[f32], n_mfcc: usize, n_mels: usize) -> (Vec<f32>, usize) {
    let stride = n_mfcc.div_ceil(LANES) * LANES;
    let mut out = vec![0f32; n_mels * stride];
    for i in 0..n_mfcc {
        for b in 0..n_mels {
            out[b * stride + i] = dct[i * n_mels + b];
        }
    }
    (out, stride)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hann_is_periodic() {
        let w = window(WindowKind::Hann, 400);
        assert_eq!(w[0], 0.0);
        assert!((w[200] - 1.0).abs() < 1e-7);
        // periodic: symmetric around N/2, not (N-1)/2
        assert!((w[1] - w[399]).abs() < 1e-7);
        let h = window(WindowKind::Hamming, 4);
        assert!((h[0] - 0.08).abs() < 1e-7 && (h[2] - 1.0).abs() < 1e-7);
    }

    #[test]
    fn mel_triangles_peak_at_one_and_sparse_matches_dense() {
        let cfg = FrontendConfig::default();
        let dense = mel_dense(&cfg);
        let bank = MelBank::new(&cfg);
        let n_bins = 257;
        let mut nonzero = 0;
        for b in 0..cfg.n_mels {
            let row = &dense[b * n_bins..(b + 1) * n_bins];
            assert!(row.iter().all(|&w| (0.0..=1.0).contains(&w)));
            assert!(row.iter().cloned().fold(0.0, f32::max) > 0.5, "band {b}");
            for (j, &dense_weight) in row.iter().enumerate() {
                let (s, l, o) = (bank.starts[b], bank.lens[b], bank.offsets[b]);
                let sparse = if (s..s + l).contains(&j) {
                    bank.weights[o + j - s]
                } else {
                    0.0
                };
                assert_eq!(sparse, dense_weight, "band {b} bin {j}");
            }
            nonzero += bank.lens[b];
        }
        assert!(nonzero < 600, "{nonzero} weights: not sparse");
        assert!(bank.padded_bins(n_bins) >= n_bins);
    }

    #[test]
    fn dct_is_orthonormal() {
        let (m, n) = (40, 40);
        let d = dct_matrix(m, n);
        for i in 0..m {
            for k in 0..m {
                let dot: f64 = (0..n)
                    .map(|b| d[i * n + b] as f64 * d[k * n + b] as f64)
                    .sum();
                let want = if i == k { 1.0 } else { 0.0 };
                assert!((dot - want).abs() < 1e-6, "{i},{k}: {dot}");
            }
        }
    }
}
