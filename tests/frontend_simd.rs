//! Every SIMD kernel against its scalar reference on random inputs, then whole frames.
//!
//! Tolerance: 1e-5 relative, with an absolute floor of 1e-5 times the input's scale for
//! results near zero (a sum of large terms that cancels carries the terms' rounding, not its
//! own). Window, power and DCT are expected bit-identical on x86-64; mel sums in another order
//! and `ln` is `wide`'s polynomial.

use hushword::frontend::kernels::{scalar, simd, DctTables};
use hushword::frontend::tables::MelBank;
use hushword::frontend::{FeatureKind, FrontendConfig, MfccFrontend, WindowKind};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use realfft::num_complex::Complex;

const REL: f32 = 1e-5;

fn assert_close(what: &str, got: &[f32], want: &[f32], scale: f32) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let tol = REL * w.abs().max(scale);
        assert!(
            (g - w).abs() <= tol,
            "{what}[{i}]: simd {g} vs scalar {w} (tol {tol})"
        );
    }
}

fn random(rng: &mut ChaCha8Rng, n: usize, lo: f32, hi: f32) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(lo..hi)).collect()
}

/// Log-uniform positive values: energies span many decades.
fn energies(rng: &mut ChaCha8Rng, n: usize) -> Vec<f32> {
    (0..n)
        .map(|_| 10f32.powf(rng.random_range(-9.0..6.0)))
        .collect()
}

fn configs() -> Vec<FrontendConfig> {
    let d = FrontendConfig::default();
    vec![
        d.clone(),
        FrontendConfig {
            window: WindowKind::Hamming,
            preemphasis: 0.97,
            n_mels: 64,
            n_mfcc: 13,
            ..d.clone()
        },
        FrontendConfig {
            frame_length: 321,
            fft_size: 1024,
            n_mels: 33,
            n_mfcc: 33,
            fmin: 0.0,
            fmax: 8000.0,
            ..d.clone()
        },
        FrontendConfig {
            frame_length: 7,
            hop_length: 3,
            fft_size: 14,
            n_mels: 5,
            n_mfcc: 3,
            fmin: 1000.0,
            ..d
        },
    ]
}

#[test]
fn window_kernels_agree() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for len in [1, 7, 8, 9, 400, 401, 512] {
        let frame = random(&mut rng, len, -1.0, 1.0);
        let win = random(&mut rng, len, 0.0, 1.0);
        let mut a = vec![f32::NAN; len + 37];
        let mut b = vec![f32::NAN; len + 37];
        scalar::window(&frame, &win, &mut a);
        simd::window(&frame, &win, &mut b);
        assert!(a[len..].iter().all(|&x| x == 0.0), "padding zeroed");
        assert_close("window", &b, &a, 1.0);
    }
}

#[test]
fn power_kernels_agree() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    for n in [1, 3, 4, 5, 257, 513] {
        let spec: Vec<Complex<f32>> = (0..n)
            .map(|_| {
                Complex::new(
                    rng.random_range(-300.0..300.0),
                    rng.random_range(-300.0..300.0),
                )
            })
            .collect();
        let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
        scalar::power(&spec, &mut a);
        simd::power(&spec, &mut b);
        for (j, c) in spec.iter().enumerate() {
            assert!((a[j] - (c.re * c.re + c.im * c.im)).abs() <= 1e-6 * a[j].max(1.0));
        }
        assert_close("power", &b, &a, 1e-6);
    }
}

#[test]
fn mel_kernels_agree() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for cfg in configs() {
        let bank = MelBank::new(&cfg);
        let n_bins = cfg.fft_size / 2 + 1;
        let mut power = vec![0.0; bank.padded_bins(n_bins)];
        power[..n_bins].copy_from_slice(&energies(&mut rng, n_bins));
        let (mut a, mut b) = (vec![0.0; cfg.n_mels], vec![0.0; cfg.n_mels]);
        scalar::mel(&power, &bank, &mut a);
        simd::mel(&power, &bank, &mut b);
        assert!(a.iter().any(|&x| x > 0.0));
        assert_close("mel", &b, &a, 0.0);
    }
}

#[test]
fn log_kernels_agree() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    for n in [1, 5, 8, 13, 40, 64, 1000] {
        let mut mel = energies(&mut rng, n);
        mel[0] = 0.0; // below the floor
        let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
        scalar::log(&mel, 1e-6, &mut a);
        simd::log(&mel, 1e-6, &mut b);
        assert_eq!(a[0], 1e-6f32.ln());
        // ln is ~0 near 1: errors there are absolute (a few 1e-8), hence the floor of 1.
        assert_close("log", &b, &a, 1.0);
    }
}

#[test]
fn dct_kernels_agree() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for (n_mfcc, n_mels) in [(20, 40), (13, 40), (1, 1), (33, 33), (9, 64)] {
        let dct = DctTables::new(n_mfcc, n_mels);
        let log_mel = random(&mut rng, n_mels, -14.0, 12.0);
        let (mut a, mut b) = (vec![0.0; n_mfcc], vec![0.0; n_mfcc]);
        scalar::dct(&log_mel, &dct, &mut a);
        simd::dct(&log_mel, &dct, &mut b);
        let scale = log_mel.iter().map(|x| x.abs()).fold(0.0, f32::max);
        assert_close("dct", &b, &a, scale);
    }
}

#[test]
fn whole_frame_pipelines_agree() {
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    for cfg in configs() {
        for features in [FeatureKind::Mfcc, FeatureKind::LogMel] {
            let cfg = FrontendConfig {
                features,
                ..cfg.clone()
            };
            // Speech-like level plus a quiet stretch that hits the log floor.
            let mut signal = random(&mut rng, 8000, -0.3, 0.3);
            signal[2000..3000].fill(0.0);
            let fast = MfccFrontend::new(cfg.clone())
                .unwrap()
                .compute(&signal)
                .unwrap();
            let slow = MfccFrontend::new_scalar(cfg.clone())
                .unwrap()
                .compute(&signal)
                .unwrap();
            assert_eq!(fast.dim(), slow.dim());
            assert!(fast.nrows() > 10);
            for (f, s) in fast.rows().into_iter().zip(slow.rows()) {
                let scale = s.iter().map(|x| x.abs()).fold(1.0, f32::max);
                assert_close(
                    &format!("{cfg:?}"),
                    f.as_slice().unwrap(),
                    s.as_slice().unwrap(),
                    scale,
                );
            }
        }
    }
}
