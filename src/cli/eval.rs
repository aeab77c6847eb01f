//! `hushword eval`: FRR and false accepts per hour, per model and condition (docs/evaluation.md).

use super::common::{parse_chunk_ms, report_error, report_note, DetectorArgs, ProfileArgs};
use super::default_model;
use clap::Args;
use hushword::eval::{self, EvalConfig, EvalModel, EvalReport, OperatingPoint, Progress};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Missed clips and false accepts listed in the text report (all of them are in --json).
const LIST_LIMIT: usize = 20;

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Folders (searched recursively) or files of positive clips, one keyword utterance each.
    #[arg(long, value_name = "DIR", num_args = 1.., required = true)]
    positives: Vec<PathBuf>,
    /// Folders or files of negative audio (no keyword).
    #[arg(long, value_name = "DIR", num_args = 1.., required = true)]
    negatives: Vec<PathBuf>,
    /// Models to compare (repeat; default: the embedded model).
    #[arg(long = "model", value_name = "PATH")]
    models: Vec<PathBuf>,
    /// Folders or files of background noise for the noisy conditions.
    #[arg(long, value_name = "DIR", num_args = 1..)]
    noise: Vec<PathBuf>,
    /// SNR of a noisy condition in dB (repeat; default 10 when --noise is given).
    #[arg(long = "snr", value_name = "DB", allow_negative_numbers = true)]
    snrs: Vec<f32>,
    /// Also report the threshold meeting this many false accepts per hour.
    #[arg(long, value_name = "X")]
    target_fa_per_hour: Option<f64>,
    /// Keyword to evaluate (needed for models with several keywords).
    #[arg(long)]
    keyword: Option<String>,
    /// Write the full report as JSON.
    #[arg(long, value_name = "OUT")]
    json: Option<PathBuf>,
    /// Write the FRR / FA-per-hour curves as CSV.
    #[arg(long, value_name = "OUT")]
    csv: Option<PathBuf>,
    /// Plot the curves (SVG or PNG, by the file's extension).
    #[arg(long, value_name = "OUT.svg|OUT.png")]
    plot: Option<PathBuf>,
    /// Seed of the stream construction (gaps, noise excerpts).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Worker threads (default: all cores).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
    threads: Option<u32>,
    /// Samples are pushed into the detector in chunks of this many milliseconds.
    #[arg(long, value_name = "MS", default_value = "10", value_parser = parse_chunk_ms)]
    chunk_ms: u32,
    /// Detector settings, as in `detect` and `listen` (the rolls do not change the scores).
    #[command(flatten)]
    detector: DetectorArgs,
    #[command(flatten)]
    profile: ProfileArgs,
}

pub fn run(args: EvalArgs) -> Result<ExitCode, String> {
    if let Some(plot) = &args.plot {
        if eval::plot_format(plot).is_none() {
            return Err(format!(
                "{}: unknown plot format; use a .svg or .png file name",
                plot.display()
            ));
        }
    }
    let models = if args.models.is_empty() {
        vec![EvalModel {
            name: default_model::DEFAULT_MODEL_NAME.into(),
            bytes: default_model::bytes()?.to_vec(),
        }]
    } else {
        args.models
            .iter()
            .map(|p| EvalModel::from_path(p).map_err(|e| e.to_string()))
            .collect::<Result<_, _>>()?
    };
    let mut snrs = args.snrs.clone();
    if snrs.is_empty() && !args.noise.is_empty() {
        snrs.push(10.0);
    }
    let config = EvalConfig {
        positives: args.positives.clone(),
        negatives: args.negatives.clone(),
        noise: args.noise.clone(),
        snrs_db: snrs,
        seed: args.seed,
        threads: args.threads.map(|n| n as usize),
        chunk_samples: args.chunk_ms as usize * 16,
        keyword: args.keyword.clone(),
        target_fa_per_hour: args.target_fa_per_hour,
        detector: args.detector.config(),
        profiles: args.profile.load()?,
        profile_mode: args.profile.mode(),
        ..EvalConfig::default()
    };
    eprintln!("hushword eval: seed {}", config.seed);

    let tty = std::io::stderr().is_terminal();
    let bar = ProgressBar::hidden();
    let done = AtomicUsize::new(0);
    let total = AtomicUsize::new(0);
    let progress = |p: Progress<'_>| match p {
        Progress::Started { files } => {
            total.store(files, Ordering::SeqCst);
            if tty {
                bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
                bar.set_length(files as u64);
                bar.set_style(
                    ProgressStyle::with_template("{bar:40} {pos}/{len} files {elapsed}/{eta}")
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
            } else {
                eprintln!("hushword eval: {files} files");
            }
        }
        Progress::FileDone { path, error, note } => {
            let n = done.fetch_add(1, Ordering::SeqCst) + 1;
            if let Some(note) = note {
                bar.suspend(|| report_note(path, note));
            }
            if let Some(e) = error {
                bar.suspend(|| report_error(&format!("{}: {e} (skipped)", path.display())));
            }
            if tty {
                bar.inc(1);
            } else {
                let t = total.load(Ordering::SeqCst).max(1);
                let step = (t / 10).max(1);
                if n.is_multiple_of(step) || n == t {
                    eprintln!("hushword eval: {n}/{t} files");
                }
            }
        }
    };
    let report = eval::run(&config, &models, &progress);
    bar.finish_and_clear();
    let report = report.map_err(|e| e.to_string())?;

    let mut failed_outputs = Vec::new();
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        write_output(path, text.as_bytes(), &mut failed_outputs);
    }
    if let Some(path) = &args.csv {
        write_output(
            path,
            eval::curve_csv(&report).as_bytes(),
            &mut failed_outputs,
        );
    }
    if let Some(path) = &args.plot {
        if let Err(e) = eval::write_plot(&report, path) {
            report_error(&e.to_string());
            failed_outputs.push(path.display().to_string());
        }
    }
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(render(&report).as_bytes());
    let _ = out.flush();
    if report.skipped.is_empty() && failed_outputs.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::FAILURE)
    }
}

fn write_output(path: &Path, bytes: &[u8], failed: &mut Vec<String>) {
    if let Err(e) = std::fs::write(path, bytes) {
        report_error(&format!("{}: cannot write: {e}", path.display()));
        failed.push(path.display().to_string());
    }
}

fn point_line(label: &str, p: &OperatingPoint, positives: usize, hours: f64) -> String {
    let caveat = if p.below_resolution {
        format!(
            "  (not measurable: one false accept in {hours:.3} h is already {:.3}/h)",
            1.0 / hours
        )
    } else {
        String::new()
    };
    format!(
        "    {label:<16} threshold {:<10} FRR {:>6.2}% ({}/{positives})  FA {} in {hours:.3} h = {:.3}/h{caveat}\n",
        format!("{}", p.threshold),
        p.frr * 100.0,
        p.missed,
        p.false_accepts,
        p.fa_per_hour
    )
}

/// The text report printed on stdout.
pub fn render(r: &EvalReport) -> String {
    let mut s = String::new();
    let hours = r.negative_hours();
    s.push_str(&format!(
        "seed {}: {} positive clips, {} negative files ({:.3} h) + {:.3} h of gaps around positives = {:.3} h negative audio, {} skipped\n",
        r.seed,
        r.positives,
        r.negatives,
        r.negative_file_seconds / 3600.0,
        r.gap_seconds / 3600.0,
        hours,
        r.skipped.len()
    ));
    for res in &r.results {
        let m = &r.models[res.model_index];
        s.push_str(&format!(
            "\n{} [{}]  keyword {}  refractory {:.2} s  smoothing {}\n",
            res.model, res.condition, m.keyword, m.refractory_s, m.smoothing
        ));
        s.push_str(&point_line(
            "default",
            &res.at_default,
            res.positives,
            res.negative_hours,
        ));
        for p in res.at_fa_per_hour.iter().chain(&res.target) {
            let label = format!("at {} FA/h", p.requested_fa_per_hour.unwrap_or(f64::NAN));
            s.push_str(&point_line(&label, p, res.positives, res.negative_hours));
        }
        let lat = &res.latency;
        match (lat.median_s, lat.p95_s) {
            (Some(med), Some(p95)) => s.push_str(&format!(
                "    latency after the end of speech (default threshold, {} detected): median {med:.3} s, p95 {p95:.3} s\n",
                lat.detected
            )),
            _ => s.push_str("    latency: nothing detected at the default threshold\n"),
        }
        if !res.missed.is_empty() {
            s.push_str(&format!(
                "    missed at the default threshold ({}):\n",
                res.missed.len()
            ));
            for m in res.missed.iter().take(LIST_LIMIT) {
                let best = match (m.best_score, m.best_time_s) {
                    (Some(score), Some(t)) => {
                        format!("best score {score:.3} at {t:.2} s from clip start")
                    }
                    _ => "never scored".to_string(),
                };
                s.push_str(&format!("      {} ({best})\n", m.file.display()));
            }
            if res.missed.len() > LIST_LIMIT {
                s.push_str(&format!(
                    "      ... {} more (see --json)\n",
                    res.missed.len() - LIST_LIMIT
                ));
            }
        }
        if !res.false_accepts.is_empty() {
            s.push_str(&format!(
                "    false accepts at the default threshold ({}):\n",
                res.false_accepts.len()
            ));
            for fa in res.false_accepts.iter().take(LIST_LIMIT) {
                let place = if fa.role == "negative" {
                    ""
                } else {
                    " from clip start, in a gap"
                };
                s.push_str(&format!(
                    "      {} @ {:.2} s{place} (score {:.3})\n",
                    fa.file.display(),
                    fa.time_s,
                    fa.score
                ));
            }
            if res.false_accepts.len() > LIST_LIMIT {
                s.push_str(&format!(
                    "      ... {} more (see --json)\n",
                    res.false_accepts.len() - LIST_LIMIT
                ));
            }
        }
    }
    if !r.skipped.is_empty() {
        s.push_str(&format!("\n{} files skipped:\n", r.skipped.len()));
        for f in &r.skipped {
            s.push_str(&format!(
                "  {} {}: {}\n",
                f.role,
                f.path.display(),
                f.reason
            ));
        }
    }
    s
}
