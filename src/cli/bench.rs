//! `hushword bench`: CPU cost of the pipeline per hour of audio (work in `hushword::bench`).

use super::default_model;
use clap::Args;
use hushword::bench::{self, BenchAudio, BenchReport};
use hushword::model::{Execution, WakeWordModel};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// ONNX model (default: the embedded model).
    #[arg(long, value_name = "PATH")]
    model: Option<PathBuf>,
    /// Run the full-window ONNX graph every hop, even when the model has a streaming form.
    #[arg(long, conflicts_with = "streaming_graph")]
    full_window: bool,
    /// Run the streaming ONNX graph through tract, even when the model carries the native
    /// kernel.
    #[arg(long)]
    streaming_graph: bool,
    /// Length of the built-in synthetic speech when no FILE is given, in seconds.
    #[arg(long, value_name = "S", default_value = "3600")]
    seconds: u64,
    /// Seed of the synthetic speech.
    #[arg(long, default_value = "1")]
    seed: u64,
    /// Write the synthetic speech (`--seconds`, `--seed`) to this WAV and exit, e.g. to
    /// measure other engines on the same audio.
    #[arg(long, value_name = "PATH")]
    write_synthetic: Option<PathBuf>,
    /// WAV or FLAC file to stream (default: synthetic speech).
    #[arg(value_name = "FILE")]
    file: Option<PathBuf>,
}

pub fn run(args: BenchArgs) -> Result<ExitCode, String> {
    if let Some(path) = &args.write_synthetic {
        bench::write_synthetic(path, args.seconds, args.seed).map_err(|e| e.to_string())?;
        println!(
            "wrote {} s of synthetic speech to {}",
            args.seconds,
            path.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let audio = match &args.file {
        Some(path) => BenchAudio::Wav(path.clone()),
        None => BenchAudio::Synthetic {
            seconds: args.seconds,
            seed: args.seed,
        },
    };
    let load = || match &args.model {
        Some(path) => WakeWordModel::from_path(path),
        None => default_model::bytes()
            .map_err(hushword::Error::Config)
            .and_then(|b| WakeWordModel::from_bytes(b, default_model::DEFAULT_MODEL_NAME)),
    };
    let name = load().map_err(|e| e.to_string())?.name().to_string();
    let execution = if args.full_window {
        Execution::FullWindow
    } else if args.streaming_graph {
        Execution::StreamingGraph
    } else {
        Execution::NativeKernel
    };
    let report = bench::run(&audio, load, execution).map_err(|e| e.to_string())?;
    if let (Some(note), BenchAudio::Wav(path)) = (&report.audio_note, &audio) {
        super::common::report_note(path, note);
    }
    print_report(&report, &audio, &name);
    Ok(ExitCode::SUCCESS)
}

fn print_report(r: &BenchReport, audio: &BenchAudio, model: &str) {
    let source = match audio {
        BenchAudio::Wav(path) => path.display().to_string(),
        BenchAudio::Synthetic { seed, .. } => format!("synthetic speech, seed {seed}"),
    };
    let form = match r.execution {
        Execution::NativeKernel => "native streaming kernel",
        Execution::StreamingGraph => "streaming ONNX graph",
        Execution::FullWindow => "full-window ONNX graph",
    };
    let share = |s: f64| 100.0 * s / r.total_cpu_s.max(f64::MIN_POSITIVE);
    println!("audio              {:.1} s ({source})", r.audio_seconds);
    println!("model              {model} ({form})");
    println!(
        "cpu per hour       {:.3} s (whole pipeline, one thread)",
        r.per_hour(r.total_cpu_s)
    );
    println!("real-time factor   {:.0}x", r.real_time_factor());
    println!(
        "front end          {:.3} s/h ({:.0}%)",
        r.per_hour(r.frontend_cpu_s),
        share(r.frontend_cpu_s)
    );
    println!(
        "model              {:.3} s/h ({:.0}%), {:.2} us per evaluation, {} evaluations",
        r.per_hour(r.model_cpu_s),
        share(r.model_cpu_s),
        r.micros_per_evaluation(),
        r.evaluations
    );
    println!(
        "detector           {:.3} s/h ({:.0}%)",
        r.per_hour(r.detector_cpu_s),
        share(r.detector_cpu_s)
    );
    println!(
        "peak memory        {:.1} MiB resident (process), detector heap {:.1} KiB",
        r.peak_rss_bytes as f64 / (1024.0 * 1024.0),
        r.detector_heap_bytes as f64 / 1024.0
    );
    println!("detections         {}", r.detections);
}
