//! The per-frame hot stages, each twice: [`scalar`] is the readable reference, [`simd`] the
//! `wide` version the engine runs. Tests hold them equal (`tests/frontend_simd.rs`).
//!
//! Both sets take identical arguments so a front end can switch between them per stage
//! ([`KernelSet`]). Tables come pre-shaped for the SIMD side (zero-padded to whole lanes), so
//! no kernel needs a remainder loop over its inputs or allocates.

use super::tables::MelBank;
use realfft::num_complex::Complex;

/// f32 lanes the SIMD kernels work in; tables are padded to a multiple of it.
pub const LANES: usize = 8;

/// Which implementation of the kernels a front end runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelSet {
    /// `wide` SIMD kernels: the default.
    Simd,
    /// Plain scalar reference, for tests and benchmarks.
    Scalar,
}

/// The DCT basis in the two layouts the kernels want.
#[derive(Debug, Clone)]
pub struct DctTables {
    /// `n_mfcc x n_mels`, row-major (scalar: one dot product per coefficient).
    pub matrix: Vec<f32>,
    /// `n_mels x stride`, zero-padded columns (SIMD: whole lanes of coefficients per band).
    pub transposed: Vec<f32>,
    /// Row length of [`Self::transposed`]: `n_mfcc` rounded up to [`LANES`].
    pub stride: usize,
    /// Coefficients kept.
    pub n_mfcc: usize,
    /// Input bands.
    pub n_mels: usize,
}

impl DctTables {
    /// Orthonormal DCT-II keeping `n_mfcc` of `n_mels` coefficients.
    pub fn new(n_mfcc: usize, n_mels: usize) -> Self {
        let matrix = super::tables::dct_matrix(n_mfcc, n_mels);
        let (transposed, stride) = super::tables::dct_transposed_padded(&matrix, n_mfcc, n_mels);
        Self {
            matrix,
            transposed,
            stride,
            n_mfcc,
            n_mels,
        }
    }
}

/// Scalar references: the definition of each stage, written for clarity.
pub mod scalar {
    use super::*;

    /// `out[n] = frame[n] * win[n]`, then zeros to the end of `out` (FFT zero-padding; the
    /// FFT uses its input as scratch, so the padding must be rewritten every frame).
    pub fn window(frame: &[f32], win: &[f32], out: &mut [f32]) {
        let (head, tail) = out.split_at_mut(frame.len());
        for ((o, &x), &w) in head.iter_mut().zip(frame).zip(win) {
            *o = x * w;
        }
        tail.fill(0.0);
    }

    /// `out[j] = |spec[j]|^2` for every bin of `spec`.
    pub fn power(spec: &[Complex<f32>], out: &mut [f32]) {
        for (o, c) in out.iter_mut().zip(spec) {
            *o = c.re * c.re + c.im * c.im;
        }
    }

    /// `out[b] = sum_j W[b][j] power[j]` over each band's non-zero run.
    pub fn mel(power: &[f32], bank: &MelBank, out: &mut [f32]) {
        for (b, o) in out.iter_mut().enumerate() {
            let (start, len, offset) = (bank.starts[b], bank.lens[b], bank.offsets[b]);
            let weights = &bank.weights[offset..offset + len];
            let mut acc = 0.0f32;
            for (&w, &p) in weights.iter().zip(&power[start..start + len]) {
                acc += w * p;
            }
            *o = acc;
        }
    }

    /// `out[b] = ln(max(mel[b], floor))`.
    pub fn log(mel: &[f32], floor: f32, out: &mut [f32]) {
        for (o, &m) in out.iter_mut().zip(mel) {
            *o = m.max(floor).ln();
        }
    }

    /// `out[i] = sum_b D[i][b] log_mel[b]` (orthonormal DCT-II, truncated).
    pub fn dct(log_mel: &[f32], dct: &DctTables, out: &mut [f32]) {
        for (o, row) in out.iter_mut().zip(dct.matrix.chunks_exact(dct.n_mels)) {
            let mut acc = 0.0f32;
            for (&d, &l) in row.iter().zip(log_mel) {
                acc += d * l;
            }
            *o = acc;
        }
    }
}

/// `wide` versions. On x86-64 without target features `wide`'s `mul_add` is a separate
/// multiply and add, so window, power and DCT are bit-identical to [`scalar`]; the mel kernel
/// sums in a different order and `ln` is a polynomial, both within ~1e-7 relative.
pub mod simd {
    use super::*;
    use wide::{f32x4, f32x8};

    #[inline(always)]
    fn load8(chunk: &[f32]) -> f32x8 {
        let mut lanes = [0f32; LANES];
        lanes.copy_from_slice(chunk);
        f32x8::new(lanes)
    }

    /// See [`scalar::window`].
    pub fn window(frame: &[f32], win: &[f32], out: &mut [f32]) {
        let (head, tail) = out.split_at_mut(frame.len());
        let mut o = head.chunks_exact_mut(LANES);
        let mut x = frame.chunks_exact(LANES);
        let mut w = win.chunks_exact(LANES);
        for ((o, x), w) in (&mut o).zip(&mut x).zip(&mut w) {
            o.copy_from_slice((load8(x) * load8(w)).as_array());
        }
        scalar::window(x.remainder(), w.remainder(), o.into_remainder());
        tail.fill(0.0);
    }

    /// See [`scalar::power`]. Four interleaved complex values are de-interleaved with two
    /// rounds of unpacks (plain SSE / NEON zips), then squared and summed in lanes.
    pub fn power(spec: &[Complex<f32>], out: &mut [f32]) {
        let mut s = spec.chunks_exact(4);
        let mut o = out.chunks_exact_mut(4);
        for (c, o) in (&mut s).zip(&mut o) {
            let a = f32x4::new([c[0].re, c[0].im, c[1].re, c[1].im]);
            let b = f32x4::new([c[2].re, c[2].im, c[3].re, c[3].im]);
            let lo = a.unpack_lo(b); // re0 re2 im0 im2
            let hi = a.unpack_hi(b); // re1 re3 im1 im3
            let re = lo.unpack_lo(hi); // re0 re1 re2 re3
            let im = lo.unpack_hi(hi); // im0 im1 im2 im3
            o.copy_from_slice((re * re + im * im).as_array());
        }
        scalar::power(s.remainder(), o.into_remainder());
    }

    /// See [`scalar::mel`]. Reads each band's zero-padded run: `power` must be at least
    /// [`MelBank::padded_bins`] long, with zeros past the spectrum.
    pub fn mel(power: &[f32], bank: &MelBank, out: &mut [f32]) {
        for (b, o) in out.iter_mut().enumerate() {
            let (start, offset) = (bank.starts[b], bank.offsets[b]);
            let padded = bank.lens[b].div_ceil(LANES) * LANES;
            let weights = &bank.weights[offset..offset + padded];
            let mut acc = f32x8::ZERO;
            for (w, p) in weights
                .chunks_exact(LANES)
                .zip(power[start..start + padded].chunks_exact(LANES))
            {
                acc = load8(w).mul_add(load8(p), acc);
            }
            *o = acc.reduce_add();
        }
    }

    /// See [`scalar::log`]. `wide`'s `ln` (a Cephes-style polynomial) is within a few ulp of
    /// `f32::ln` for normal positive inputs, which the floor guarantees.
    pub fn log(mel: &[f32], floor: f32, out: &mut [f32]) {
        let floor8 = f32x8::splat(floor);
        let mut m = mel.chunks_exact(LANES);
        let mut o = out.chunks_exact_mut(LANES);
        for (m, o) in (&mut m).zip(&mut o) {
            o.copy_from_slice(load8(m).max(floor8).ln().as_array());
        }
        // The tail goes through the same SIMD ln, so every band sees the same approximation.
        let rest = m.remainder();
        if !rest.is_empty() {
            let mut lanes = [floor; LANES];
            lanes[..rest.len()].copy_from_slice(rest);
            let logs = f32x8::new(lanes).max(floor8).ln().to_array();
            let o = o.into_remainder();
            o.copy_from_slice(&logs[..o.len()]);
        }
    }

    /// See [`scalar::dct`]. Accumulates a lane of coefficients per band from the transposed
    /// basis: no horizontal sums, and the same summation order as the scalar loop.
    pub fn dct(log_mel: &[f32], dct: &DctTables, out: &mut [f32]) {
        for (lane_block, o) in out.chunks_mut(LANES).enumerate() {
            let col = lane_block * LANES;
            let mut acc = f32x8::ZERO;
            for (&l, row) in log_mel.iter().zip(dct.transposed.chunks_exact(dct.stride)) {
                acc = load8(&row[col..col + LANES]).mul_add(f32x8::splat(l), acc);
            }
            let lanes = acc.to_array();
            o.copy_from_slice(&lanes[..o.len()]);
        }
    }
}
