//! `hushword enroll`: a few clips of the user saying the wake word in, a speaker profile out
//! (docs/enroll.md). The learning is the library's (`hushword::profile::enrol`); this reads
//! the clips, names them in refusals and prints what was learned.

use super::common::{file_error, load_models};
use clap::Args;
use hushword::audio::{read_audio, read_audio_bytes};
use hushword::profile::enrol::{enrol, EnrolError, EnrolOptions};
use hushword::profile::{Profile, MAX_CLIPS, MIN_CLIPS};
use hushword::WakeWordModel;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Speech without the wake word that every enrolment checks its operating point against.
const SHIPPED_NEGATIVES: &[u8] = include_bytes!("../../data/no_wakeword.wav");

/// Most seconds of `--negatives` audio read (the check aligns every evaluation with every
/// template, so it grows with both).
const MAX_NEGATIVE_SECONDS: usize = 300;

#[derive(Debug, Args)]
pub struct EnrollArgs {
    /// The model the profile is for (default: the embedded model).
    #[arg(long, value_name = "PATH")]
    model: Option<PathBuf>,
    /// Where to write the profile.
    #[arg(long, value_name = "PATH")]
    out: PathBuf,
    /// Keyword to enrol (needed for models with several keywords).
    #[arg(long)]
    keyword: Option<String>,
    /// Speech without the word to check the operating point against, besides the shipped
    /// data/no_wakeword.wav (files; at most 300 s in all are read).
    #[arg(long, value_name = "FILE")]
    negatives: Vec<PathBuf>,
    /// Operating point: the worst distance between your clips times this.
    #[arg(long, value_name = "X", default_value_t = EnrolOptions::default().margin,
          value_parser = parse_margin)]
    margin: f32,
    /// Clips of one person saying the word once each (WAV or FLAC, any rate), 3 to 10.
    #[arg(required = true, value_name = "CLIP", num_args = MIN_CLIPS..=MAX_CLIPS)]
    clips: Vec<PathBuf>,
}

fn parse_margin(text: &str) -> Result<f32, String> {
    match text.parse::<f32>() {
        Ok(m) if (1.0..=4.0).contains(&m) => Ok(m),
        _ => Err(format!("`{text}` must be a number in 1..=4")),
    }
}

pub fn run(args: EnrollArgs) -> Result<ExitCode, String> {
    let mut model = load_models(args.model.as_slice())?.remove(0);
    let mut clips = Vec::new();
    let mut unreadable = Vec::new();
    for path in &args.clips {
        match read_audio(path) {
            Ok(samples) => clips.push(samples),
            Err(e) => unreadable.push(file_error(path, &e)),
        }
    }
    if !unreadable.is_empty() {
        return Err(unreadable.join("\nhushword: "));
    }
    let negatives = read_negatives(&args.negatives)?;
    let options = EnrolOptions {
        keyword: args.keyword.clone(),
        margin: args.margin,
        ..EnrolOptions::default()
    };
    let profile = match enrol(&mut model, &clips, &negatives, &options) {
        Ok(profile) => profile,
        Err(EnrolError::Clips(problems)) => {
            let lines: Vec<String> = problems
                .iter()
                .map(|(i, p)| format!("{}: {p}", args.clips[*i].display()))
                .collect();
            return Err(format!(
                "{}\nhushword: nothing enrolled; fix or replace the clip(s) above and run again",
                lines.join("\nhushword: ")
            ));
        }
        Err(e) => return Err(e.to_string()),
    };
    profile.save(&args.out).map_err(|e| e.to_string())?;
    let size = std::fs::metadata(&args.out).map_or(0, |m| m.len());
    let report = describe(&profile, &model, &args.clips, &args.out, size);
    let _ = std::io::stdout().write_all(report.as_bytes());
    Ok(ExitCode::SUCCESS)
}

/// The shipped negative speech plus `--negatives`, up to [`MAX_NEGATIVE_SECONDS`].
fn read_negatives(paths: &[PathBuf]) -> Result<Vec<Vec<f32>>, String> {
    let shipped = read_audio_bytes(SHIPPED_NEGATIVES, Path::new("data/no_wakeword.wav"))
        .map_err(|e| e.to_string())?;
    let mut budget = MAX_NEGATIVE_SECONDS * 16_000 - shipped.len();
    let mut out = vec![shipped];
    for path in paths {
        let mut samples = read_audio(path).map_err(|e| file_error(path, &e))?;
        samples.truncate(budget);
        budget -= samples.len();
        out.push(samples);
    }
    Ok(out)
}

fn describe(
    profile: &Profile,
    model: &WakeWordModel,
    clips: &[PathBuf],
    out: &Path,
    size: u64,
) -> String {
    let e = &profile.enrolment;
    let threshold = model.metadata().threshold;
    let mut text = format!(
        "enrolled {} clips of `{}` for model {} (fingerprint {})\n",
        clips.len(),
        profile.keyword,
        model.name(),
        profile.model_fingerprint
    );
    for (i, clip) in clips.iter().enumerate() {
        text += &format!(
            "  {}: peak score {:.3}, distance to your other clips {:.3}\n",
            clip.display(),
            e.peak_scores[i],
            e.leave_one_out[i]
        );
    }
    let lowest = e.peak_scores.iter().copied().fold(1.0f32, f32::min);
    let verdict = if lowest >= threshold {
        "the model already hears every clip; the profile adds a margin"
    } else {
        "the model alone would miss some of these clips; the profile lets them through"
    };
    text += &format!(
        "your voice: lowest peak score {lowest:.3} against the threshold {threshold:.3} ({verdict})\n\
         operating point: from score {:.3}, a match within distance {:.3} of a template fires \
         (nearest of {} negative evaluations: {:.3})\n\
         wrote {} ({size} bytes: activations of the model, no audio); delete the file to forget them\n",
        profile.profile_threshold,
        profile.max_distance,
        e.negative_evaluations,
        e.nearest_negative,
        out.display()
    );
    text
}
