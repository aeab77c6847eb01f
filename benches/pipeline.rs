//! Cost of one model evaluation and of the whole pipeline (front end + model + detector) per
//! second of audio, for the shipped default model and for the tiny test fixture model.
//!
//! `cargo bench --bench pipeline -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hushword::model::Execution;
use hushword::{Detector, DetectorConfig, WakeWordModel};

/// The models to measure: the shipped ones in `models/` and the fixture `energy.onnx`.
fn models() -> Vec<(String, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for word in ["alexa", "computer"] {
        let p = root.join("models").join(format!("{word}.onnx"));
        if p.exists() {
            out.push((word.to_string(), p));
        }
    }
    out.push((
        "fixture-energy".to_string(),
        root.join("tests/fixtures/models/energy.onnx"),
    ));
    out
}

/// Speech-like test signal: a noisy, amplitude-modulated harmonic tone.
fn signal(n: usize) -> Vec<i16> {
    let mut state = 0x2545_f491_u32;
    (0..n)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let t = i as f32 / 16_000.0;
            let envelope = 0.5 + 0.5 * (2.0 * std::f32::consts::PI * 3.0 * t).sin();
            let voice = (2.0 * std::f32::consts::PI * 140.0 * t).sin()
                + 0.5 * (2.0 * std::f32::consts::PI * 280.0 * t).sin();
            let noise = (state as f32 / u32::MAX as f32) - 0.5;
            ((0.25 * envelope * voice + 0.05 * noise) * 32767.0) as i16
        })
        .collect()
}

fn model_evaluation(c: &mut Criterion) {
    let mut group = c.benchmark_group("model_evaluation");
    for (name, path) in models() {
        let mut model = WakeWordModel::from_path(&path).unwrap();
        let window = vec![0.1f32; model.n_features() * model.metadata().window_frames];
        let mut scores = vec![0.0f32; model.metadata().keywords.len()];
        group.bench_function(format!("{name}/full_window"), |b| {
            b.iter(|| {
                model.evaluate(black_box(&window), &mut scores).unwrap();
                black_box(scores[0])
            })
        });
        // One streaming evaluation (the newest hop into a warm state), by each execution.
        for (form, execution) in [
            ("kernel_hop", Execution::NativeKernel),
            ("streaming_graph_hop", Execution::StreamingGraph),
        ] {
            if execution == Execution::StreamingGraph {
                model.use_streaming_graph();
            }
            if model.execution() != execution {
                continue;
            }
            model.reset_stream();
            model.evaluate_next(&window, &mut scores).unwrap();
            let hop = vec![0.1f32; model.n_features() * model.frames_needed()];
            group.bench_function(format!("{name}/{form}"), |b| {
                b.iter(|| {
                    model.evaluate_next(black_box(&hop), &mut scores).unwrap();
                    black_box(scores[0])
                })
            });
        }
    }
    group.finish();
}

/// One second of audio through the whole detector, pushed in 10 ms chunks as a device would.
fn pipeline_per_second(c: &mut Criterion) {
    let audio = signal(16_000 * 10);
    let mut group = c.benchmark_group("pipeline_per_second_of_audio");
    group.throughput(Throughput::Elements(10));
    for (name, path) in models() {
        for execution in [
            Execution::NativeKernel,
            Execution::StreamingGraph,
            Execution::FullWindow,
        ] {
            let mut model = WakeWordModel::from_path(&path).unwrap();
            match execution {
                Execution::NativeKernel => {}
                Execution::StreamingGraph => model.use_streaming_graph(),
                Execution::FullWindow => model.use_full_window(),
            }
            if model.execution() != execution {
                continue; // the model lacks this form: another pass measured what it runs
            }
            let form = match execution {
                Execution::NativeKernel => "kernel",
                Execution::StreamingGraph => "streaming_graph",
                Execution::FullWindow => "full_window",
            };
            let mut detector = Detector::new(vec![model], DetectorConfig::default()).unwrap();
            let mut events = Vec::new();
            group.bench_function(format!("{name}/{form}"), |b| {
                b.iter(|| {
                    for chunk in audio.chunks(160) {
                        detector.push_i16(black_box(chunk), &mut events);
                    }
                    events.clear();
                })
            });
        }
    }
    group.finish();
}

// No plots: criterion's built-in plotter panics on machines without system fonts (it cannot
// find one to draw with), and the numbers are what these benches are for.
criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = model_evaluation, pipeline_per_second
}
criterion_main!(benches);
