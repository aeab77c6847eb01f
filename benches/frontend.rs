//! Per-frame cost of the front end, SIMD vs scalar kernels, plus each kernel alone.
//!
//! `cargo bench --bench frontend -- --warm-up-time 1 --measurement-time 3`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hushword::frontend::kernels::{scalar, simd, DctTables};
use hushword::frontend::tables::{window, MelBank};
use hushword::frontend::{FeatureKind, FrontendConfig, KernelSet, MfccFrontend};
use realfft::num_complex::Complex;
use std::hint::black_box;

fn signal(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| 0.3 * (i as f32 * 0.07).sin() + 0.05 * ((i * 7919 % 101) as f32 / 101.0 - 0.5))
        .collect()
}

/// One second of audio (98 frames) pushed in 10 ms chunks; reported per frame.
fn whole_frames(c: &mut Criterion) {
    let audio = signal(16_000);
    let mut group = c.benchmark_group("frontend_frame");
    group.throughput(Throughput::Elements(98));
    for features in [FeatureKind::Mfcc, FeatureKind::LogMel] {
        for kernels in [KernelSet::Simd, KernelSet::Scalar] {
            let cfg = FrontendConfig {
                features,
                ..FrontendConfig::default()
            };
            let mut f = MfccFrontend::with_kernels(cfg, kernels).unwrap();
            let id = BenchmarkId::new(format!("{features:?}"), format!("{kernels:?}"));
            group.bench_function(id, |b| {
                b.iter(|| {
                    f.reset();
                    let mut sum = 0f32;
                    for chunk in audio.chunks(160) {
                        f.push_f32(black_box(chunk), |x| sum += x[0]).unwrap();
                    }
                    black_box(sum)
                })
            });
        }
    }
    group.finish();
}

fn kernels(c: &mut Criterion) {
    let cfg = FrontendConfig::default();
    let frame = signal(400);
    let win = window(cfg.window, 400);
    let mut fft_in = vec![0f32; 512];
    let spec: Vec<Complex<f32>> = (0..257)
        .map(|j| Complex::new(j as f32 * 0.1, 1.0 - j as f32 * 0.01))
        .collect();
    let bank = MelBank::new(&cfg);
    let mut power = vec![0f32; bank.padded_bins(257)];
    scalar::power(&spec, &mut power[..257]);
    let mut mel = vec![0f32; 40];
    scalar::mel(&power, &bank, &mut mel);
    let mut log_mel = vec![0f32; 40];
    scalar::log(&mel, 1e-6, &mut log_mel);
    let dct = DctTables::new(20, 40);
    let mut out40 = vec![0f32; 40];
    let mut out20 = vec![0f32; 20];
    let mut p257 = vec![0f32; 257];

    let mut g = c.benchmark_group("frontend_kernel");
    g.bench_function("window/scalar", |b| {
        b.iter(|| scalar::window(black_box(&frame), &win, &mut fft_in))
    });
    g.bench_function("window/simd", |b| {
        b.iter(|| simd::window(black_box(&frame), &win, &mut fft_in))
    });
    g.bench_function("power/scalar", |b| {
        b.iter(|| scalar::power(black_box(&spec), &mut p257))
    });
    g.bench_function("power/simd", |b| {
        b.iter(|| simd::power(black_box(&spec), &mut p257))
    });
    g.bench_function("mel/scalar", |b| {
        b.iter(|| scalar::mel(black_box(&power), &bank, &mut out40))
    });
    g.bench_function("mel/simd", |b| {
        b.iter(|| simd::mel(black_box(&power), &bank, &mut out40))
    });
    g.bench_function("log/scalar", |b| {
        b.iter(|| scalar::log(black_box(&mel), 1e-6, &mut out40))
    });
    g.bench_function("log/simd", |b| {
        b.iter(|| simd::log(black_box(&mel), 1e-6, &mut out40))
    });
    g.bench_function("dct/scalar", |b| {
        b.iter(|| scalar::dct(black_box(&log_mel), &dct, &mut out20))
    });
    g.bench_function("dct/simd", |b| {
        b.iter(|| simd::dct(black_box(&log_mel), &dct, &mut out20))
    });
    g.finish();
}

// No plots: criterion's built-in plotter panics on machines without system fonts (it cannot
// find one to draw with), and the numbers are what these benches are for.
criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = whole_frames, kernels
}
criterion_main!(benches);
