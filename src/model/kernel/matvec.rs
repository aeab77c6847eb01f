//! `y += W x` for a weight matrix stored input-major (`w[i * n_out + o]`), the one operation
//! that carries nearly all of the native kernel's arithmetic (the 1x1 convolutions and the
//! input convolution's taps).
//!
//! Input-major storage makes the inner loop run along the outputs, so every SIMD lane owns one
//! output and the loop needs no horizontal sums. Three versions: [`scalar`] is the reference,
//! [`portable`] uses `wide` (NEON on aarch64, SSE halves on a default x86-64 build), and on
//! x86-64 [`avx2`] uses AVX2 + FMA when the CPU has them (detected once at run time, since
//! `wide` only widens at compile time). Tests hold them equal.

/// Which implementation [`matvec_acc`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatvecImpl {
    /// Plain loops: the definition.
    Scalar,
    /// `wide::f32x8`.
    Portable,
    /// AVX2 + FMA intrinsics (x86-64 CPUs that have them).
    Avx2,
}

impl MatvecImpl {
    /// The fastest implementation this CPU runs.
    pub fn best() -> Self {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return Self::Avx2;
        }
        Self::Portable
    }
}

/// `y[o] += sum_i w[i * y.len() + o] * x[i]`. `w` must hold `x.len() * y.len()` values.
#[inline]
pub fn matvec_acc(imp: MatvecImpl, w: &[f32], x: &[f32], y: &mut [f32]) {
    debug_assert_eq!(w.len(), x.len() * y.len());
    match imp {
        MatvecImpl::Scalar => scalar(w, x, y),
        MatvecImpl::Portable => portable(w, x, y),
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Avx2` is only chosen by `best()` after detecting AVX2 and FMA.
        MatvecImpl::Avx2 => unsafe { avx2(w, x, y) },
        #[cfg(not(target_arch = "x86_64"))]
        MatvecImpl::Avx2 => portable(w, x, y),
    }
}

/// Frames one [`matmul_acc`] call takes at most (accumulator registers bound it).
pub const MAX_BATCH: usize = 3;

/// [`matvec_acc`] for up to [`MAX_BATCH`] vectors at once, so each weight is loaded once for
/// all of them: `ys[b][o] += sum_i w[i * n_out + o] * xs[b][i]`, with `xs` holding the vectors
/// back to back (`n_in` each) and `ys` likewise (`n_out` each).
#[inline]
pub fn matmul_acc(
    imp: MatvecImpl,
    w: &[f32],
    xs: &[f32],
    ys: &mut [f32],
    n_in: usize,
    n_out: usize,
) {
    debug_assert_eq!(w.len(), n_in * n_out);
    debug_assert_eq!(xs.len() / n_in.max(1), ys.len() / n_out.max(1));
    match imp {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Avx2` is only chosen by `best()` after detecting AVX2 and FMA.
        MatvecImpl::Avx2 if xs.len() <= MAX_BATCH * n_in => unsafe {
            avx2_batch(w, xs, ys, n_in, n_out)
        },
        _ => {
            for (x, y) in xs.chunks_exact(n_in).zip(ys.chunks_exact_mut(n_out)) {
                matvec_acc(imp, w, x, y);
            }
        }
    }
}

/// `h[i] += w[i] * v[i]` (one depthwise tap over all channels), by the same implementations.
#[inline]
pub fn mul_acc(imp: MatvecImpl, h: &mut [f32], w: &[f32], v: &[f32]) {
    debug_assert!(w.len() == h.len() && v.len() == h.len());
    match imp {
        MatvecImpl::Scalar => {
            for ((h, &w), &v) in h.iter_mut().zip(w).zip(v) {
                *h += w * v;
            }
        }
        MatvecImpl::Portable => mul_acc_portable(h, w, v),
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Avx2` is only chosen by `best()` after detecting AVX2 and FMA.
        MatvecImpl::Avx2 => unsafe { mul_acc_avx2(h, w, v) },
        #[cfg(not(target_arch = "x86_64"))]
        MatvecImpl::Avx2 => mul_acc_portable(h, w, v),
    }
}

fn mul_acc_portable(h: &mut [f32], w: &[f32], v: &[f32]) {
    use wide::f32x8;
    let lanes = |s: &[f32]| f32x8::from(<[f32; 8]>::try_from(s).unwrap_or_default());
    let done = h.len() - h.len() % 8;
    for ((h8, w8), v8) in h[..done]
        .chunks_exact_mut(8)
        .zip(w.chunks_exact(8))
        .zip(v.chunks_exact(8))
    {
        let sum = lanes(w8).mul_add(lanes(v8), lanes(h8));
        h8.copy_from_slice(sum.as_array());
    }
    for ((h, &w), &v) in h[done..].iter_mut().zip(&w[done..]).zip(&v[done..]) {
        *h += w * v;
    }
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn mul_acc_avx2(h: &mut [f32], w: &[f32], v: &[f32]) {
    use std::arch::x86_64::*;
    let n = h.len().min(w.len()).min(v.len());
    let done = n - n % 8;
    let (hp, wp, vp) = (h.as_mut_ptr(), w.as_ptr(), v.as_ptr());
    // SAFETY: i + 8 <= done <= the length of every slice.
    for i in (0..done).step_by(8) {
        let sum = _mm256_fmadd_ps(
            _mm256_loadu_ps(wp.add(i)),
            _mm256_loadu_ps(vp.add(i)),
            _mm256_loadu_ps(hp.add(i)),
        );
        _mm256_storeu_ps(hp.add(i), sum);
    }
    for i in done..n {
        h[i] += w[i] * v[i];
    }
}

/// The reference.
pub fn scalar(w: &[f32], x: &[f32], y: &mut [f32]) {
    let n_out = y.len();
    for (row, &xi) in w.chunks_exact(n_out).zip(x) {
        for (yo, &wo) in y.iter_mut().zip(row) {
            *yo += wo * xi;
        }
    }
}

/// `wide` lanes over the outputs, scalar for the last `n_out % 8`.
pub fn portable(w: &[f32], x: &[f32], y: &mut [f32]) {
    use wide::f32x8;
    let n_out = y.len();
    let body = n_out - n_out % 8;
    for o in (0..body).step_by(8) {
        let mut acc = f32x8::from(<[f32; 8]>::try_from(&y[o..o + 8]).unwrap_or_default());
        for (i, &xi) in x.iter().enumerate() {
            let at = i * n_out + o;
            let row = <[f32; 8]>::try_from(&w[at..at + 8]).unwrap_or_default();
            acc = f32x8::from(row).mul_add(f32x8::splat(xi), acc);
        }
        y[o..o + 8].copy_from_slice(&acc.to_array());
    }
    tail(w, x, y, body);
}

/// Scalar outputs `from..` (the part no whole lane covers).
fn tail(w: &[f32], x: &[f32], y: &mut [f32], from: usize) {
    let n_out = y.len();
    for o in from..n_out {
        let mut acc = y[o];
        for (i, &xi) in x.iter().enumerate() {
            acc += w[i * n_out + o] * xi;
        }
        y[o] = acc;
    }
}

/// AVX2 + FMA: 32 outputs in four registers per pass over the inputs, then 8 at a time.
///
/// # Safety
/// The CPU must support AVX2 and FMA; `w.len() >= x.len() * y.len()`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub unsafe fn avx2(w: &[f32], x: &[f32], y: &mut [f32]) {
    use std::arch::x86_64::*;
    let n_out = y.len();
    assert!(w.len() >= x.len() * n_out);
    let (wp, yp) = (w.as_ptr(), y.as_mut_ptr());
    let mut o = 0;
    // SAFETY (all pointer arithmetic below): o + 32 <= n_out or o + 8 <= n_out, and
    // i < x.len(), so every load reads inside w (checked above) and every store inside y.
    while o + 32 <= n_out {
        let (mut a0, mut a1) = (_mm256_loadu_ps(yp.add(o)), _mm256_loadu_ps(yp.add(o + 8)));
        let (mut a2, mut a3) = (
            _mm256_loadu_ps(yp.add(o + 16)),
            _mm256_loadu_ps(yp.add(o + 24)),
        );
        for (i, &xi) in x.iter().enumerate() {
            let v = _mm256_set1_ps(xi);
            let r = wp.add(i * n_out + o);
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(r), v, a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(r.add(8)), v, a1);
            a2 = _mm256_fmadd_ps(_mm256_loadu_ps(r.add(16)), v, a2);
            a3 = _mm256_fmadd_ps(_mm256_loadu_ps(r.add(24)), v, a3);
        }
        _mm256_storeu_ps(yp.add(o), a0);
        _mm256_storeu_ps(yp.add(o + 8), a1);
        _mm256_storeu_ps(yp.add(o + 16), a2);
        _mm256_storeu_ps(yp.add(o + 24), a3);
        o += 32;
    }
    while o + 8 <= n_out {
        let mut a = _mm256_loadu_ps(yp.add(o));
        for (i, &xi) in x.iter().enumerate() {
            a = _mm256_fmadd_ps(
                _mm256_loadu_ps(wp.add(i * n_out + o)),
                _mm256_set1_ps(xi),
                a,
            );
        }
        _mm256_storeu_ps(yp.add(o), a);
        o += 8;
    }
    tail(w, x, y, o);
}

/// AVX2 + FMA over up to three vectors: for each block of 16 outputs, 2 registers per vector
/// accumulate while every weight pair is loaded once; then [`avx2`] per vector for the rest.
///
/// # Safety
/// The CPU must support AVX2 and FMA; `xs.len() <= 3 * n_in`, `w.len() >= n_in * n_out`, and
/// `ys` holds `n_out` values per vector of `xs`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2_batch(w: &[f32], xs: &[f32], ys: &mut [f32], n_in: usize, n_out: usize) {
    // A compile-time batch keeps the accumulators in registers (a run-time one spills them).
    match xs.len() / n_in.max(1) {
        1 => avx2_batch_n::<1>(w, xs, ys, n_in, n_out),
        2 => avx2_batch_n::<2>(w, xs, ys, n_in, n_out),
        _ => avx2_batch_n::<3>(w, xs, ys, n_in, n_out),
    }
}

/// [`avx2_batch`] for exactly `B` vectors.
///
/// # Safety
/// As [`avx2_batch`], with `xs.len() == B * n_in`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2_batch_n<const B: usize>(
    w: &[f32],
    xs: &[f32],
    ys: &mut [f32],
    n_in: usize,
    n_out: usize,
) {
    use std::arch::x86_64::*;
    assert!(xs.len() >= B * n_in && w.len() >= n_in * n_out && ys.len() >= B * n_out);
    let (wp, xp) = (w.as_ptr(), xs.as_ptr());
    let mut o = 0;
    // SAFETY: o + 16 <= n_out, i < n_in and b < B keep every access inside w, xs and ys.
    while o + 16 <= n_out {
        let mut acc = [[_mm256_setzero_ps(); 2]; B];
        for (b, a) in acc.iter_mut().enumerate() {
            let y = ys.as_ptr().add(b * n_out + o);
            *a = [_mm256_loadu_ps(y), _mm256_loadu_ps(y.add(8))];
        }
        for i in 0..n_in {
            let r = wp.add(i * n_out + o);
            let (w0, w1) = (_mm256_loadu_ps(r), _mm256_loadu_ps(r.add(8)));
            for (b, a) in acc.iter_mut().enumerate() {
                let v = _mm256_broadcast_ss(&*xp.add(b * n_in + i));
                a[0] = _mm256_fmadd_ps(w0, v, a[0]);
                a[1] = _mm256_fmadd_ps(w1, v, a[1]);
            }
        }
        for (b, a) in acc.iter().enumerate() {
            let y = ys.as_mut_ptr().add(b * n_out + o);
            _mm256_storeu_ps(y, a[0]);
            _mm256_storeu_ps(y.add(8), a[1]);
        }
        o += 16;
    }
    if o < n_out {
        // The outputs no block of 16 covers, one vector at a time.
        for b in 0..B {
            let x = &xs[b * n_in..(b + 1) * n_in];
            let y = &mut ys[b * n_out..(b + 1) * n_out];
            tail(w, x, y, o);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic values in [-1, 1).
    fn values(n: usize, seed: u32) -> Vec<f32> {
        let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                (s as f32 / u32::MAX as f32) * 2.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn every_implementation_equals_the_scalar_reference() {
        let imps = [MatvecImpl::Portable, MatvecImpl::best()];
        for (n_in, n_out) in [
            (1, 1),
            (3, 7),
            (20, 64),
            (64, 64),
            (64, 1),
            (17, 45),
            (5, 100),
        ] {
            let w = values(n_in * n_out, 1 + n_in as u32);
            let x = values(n_in, 2 + n_out as u32);
            let y0 = values(n_out, 3);
            let mut want = y0.clone();
            scalar(&w, &x, &mut want);
            for imp in imps {
                let mut got = y0.clone();
                matvec_acc(imp, &w, &x, &mut got);
                for (o, (g, r)) in got.iter().zip(&want).enumerate() {
                    assert!(
                        (g - r).abs() <= 1e-5 * (1.0 + r.abs()),
                        "{imp:?} {n_in}x{n_out} output {o}: {g} vs {r}"
                    );
                }
            }
        }
    }

    #[test]
    fn depthwise_taps_equal_the_scalar_reference() {
        for n in [1, 7, 8, 20, 64, 67] {
            let (w, v, h0) = (values(n, 11), values(n, 12), values(n, 13));
            let mut want = h0.clone();
            mul_acc(MatvecImpl::Scalar, &mut want, &w, &v);
            for imp in [MatvecImpl::Portable, MatvecImpl::best()] {
                let mut got = h0.clone();
                mul_acc(imp, &mut got, &w, &v);
                for (i, (g, r)) in got.iter().zip(&want).enumerate() {
                    assert!(
                        (g - r).abs() <= 1e-6 * (1.0 + r.abs()),
                        "{imp:?} n={n} [{i}]: {g} vs {r}"
                    );
                }
            }
        }
    }

    #[test]
    fn batched_products_equal_one_vector_at_a_time() {
        for (n_in, n_out) in [(1, 1), (20, 64), (64, 64), (17, 45), (5, 100), (64, 8)] {
            for batch in 1..=MAX_BATCH {
                let w = values(n_in * n_out, 5 + n_in as u32);
                let xs = values(batch * n_in, 6 + batch as u32);
                let ys0 = values(batch * n_out, 7);
                let mut want = ys0.clone();
                for (x, y) in xs.chunks_exact(n_in).zip(want.chunks_exact_mut(n_out)) {
                    scalar(&w, x, y);
                }
                for imp in [MatvecImpl::Scalar, MatvecImpl::Portable, MatvecImpl::best()] {
                    let mut got = ys0.clone();
                    matmul_acc(imp, &w, &xs, &mut got, n_in, n_out);
                    for (o, (g, r)) in got.iter().zip(&want).enumerate() {
                        assert!(
                            (g - r).abs() <= 1e-5 * (1.0 + r.abs()),
                            "{imp:?} {batch}x{n_in}x{n_out} value {o}: {g} vs {r}"
                        );
                    }
                }
            }
        }
    }
}
