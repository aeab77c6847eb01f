//! Command-line front end: argument parsing (clap derive) and printing; all work is done by
//! the library. One module per subcommand.

mod bench;
mod clips;
mod common;
mod default_model;
mod detect;
mod enroll;
mod eval;
mod features;
mod info;
mod listen;
mod serve;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Privacy-first, on-device wake-word detection.
#[derive(Debug, Parser)]
#[command(name = "hushword", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Detect wake words in WAV/FLAC files.
    Detect(detect::DetectArgs),
    /// Detect wake words live in audio on stdin: a WAV or FLAC stream (recognised by its
    /// header), otherwise raw s16le 16 kHz mono.
    Listen(listen::ListenArgs),
    /// Learn a speaker profile from 3-10 clips of one person saying the wake word.
    Enroll(enroll::EnrollArgs),
    /// Write a file's front-end features as a float32 .npy array [frames, features].
    Features(features::FeaturesArgs),
    /// Serve wake-word detection over the Wyoming protocol (Home Assistant).
    Serve(serve::ServeArgs),
    /// Print a model's metadata.
    Info(info::InfoArgs),
    /// Measure accuracy (FRR, false accepts per hour) on positive and negative audio.
    Eval(eval::EvalArgs),
    /// Measure CPU-seconds per hour of audio, real-time factor, stage split and memory.
    Bench(bench::BenchArgs),
}

/// The name stdin goes by in output and errors (`-` on the command line).
pub fn stdin_name() -> &'static str {
    "<stdin>"
}

/// Parses the command line and runs the subcommand; errors become one `hushword: ...` line on
/// stderr and exit status 1 (2 for usage errors, from clap).
/// tract panics on some malformed models; the library catches those and returns an error,
/// which the CLI prints as one line. Keep the default hook's multi-line report for every
/// other panic (a bug of ours), but not for tract's, which would say the same thing twice.
fn quiet_tract_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let in_tract = info
            .location()
            .is_some_and(|l| l.file().contains("/tract-"));
        if !in_tract {
            default(info);
        }
    }));
}

pub fn main() -> ExitCode {
    quiet_tract_panics();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Detect(args) => detect::run(args),
        Command::Listen(args) => listen::run(args),
        Command::Enroll(args) => enroll::run(args),
        Command::Features(args) => features::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Info(args) => info::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Bench(args) => bench::run(args),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            common::report_error(&message);
            ExitCode::FAILURE
        }
    }
}
