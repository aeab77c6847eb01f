//! Helpers shared by the subcommands: model loading, detector settings, error lines, time.

use super::default_model;
use clap::Args;
use hushword::detector::{Detector, DetectorConfig, MAX_ROLL_MS, MAX_SMOOTHING};
use hushword::model::WakeWordModel;
use hushword::profile::{Profile, ProfileMode};
use hushword::Error;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// Prints one `hushword: <message>` line to stderr.
pub fn report_error(message: &str) {
    let _ = writeln!(std::io::stderr(), "hushword: {message}");
}

/// Prints what the audio reader noted about a file (e.g. a WAV data size read around) as one
/// `hushword: <file>: note: ...` line on stderr.
pub fn report_note(path: &Path, note: &str) {
    report_error(&format!("{}: note: {note}", path.display()));
}

/// Loads the `--model` files, or the embedded default model when none was given.
pub fn load_models(paths: &[PathBuf]) -> Result<Vec<WakeWordModel>, String> {
    if paths.is_empty() {
        return Ok(vec![default_model::load()?]);
    }
    paths
        .iter()
        .map(|p| WakeWordModel::from_path(p).map_err(|e| e.to_string()))
        .collect()
}

/// `--profile` and `--only-enrolled`, shared by every command that detects.
#[derive(Debug, Clone, clap::Args)]
pub struct ProfileArgs {
    /// Speaker profile made by `hushword enroll` for one of the models (repeat for several).
    #[arg(long = "profile", value_name = "PATH")]
    pub profiles: Vec<PathBuf>,
    /// Only voices matching a profile fire (a speaker gate); without it a profile only adds.
    #[arg(long, requires = "profiles")]
    pub only_enrolled: bool,
}

impl ProfileArgs {
    /// The profiles, read and validated, with their paths as names.
    pub fn load(&self) -> Result<Vec<(Profile, String)>, String> {
        self.profiles
            .iter()
            .map(|p| {
                Profile::from_path(p)
                    .map(|profile| (profile, p.display().to_string()))
                    .map_err(|e| e.to_string())
            })
            .collect()
    }

    pub fn mode(&self) -> ProfileMode {
        if self.only_enrolled {
            ProfileMode::OnlyEnrolled
        } else {
            ProfileMode::Adds
        }
    }

    /// Adds every profile to the detector (each to the model it was enrolled with).
    pub fn apply(&self, detector: &mut Detector) -> Result<(), String> {
        for (profile, name) in self.load()? {
            detector
                .add_profile(profile, self.mode(), &name)
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

/// The detector settings `detect`, `listen` and `eval` share, defined once so the three
/// commands take the same flags with the same defaults (those of [`DetectorConfig`]).
#[derive(Debug, Clone, Args)]
pub struct DetectorArgs {
    /// Audio before each detection handed out (e.g. `--save-clips`), in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = DetectorConfig::default().pre_roll_ms,
          value_parser = parse_roll_ms)]
    pub pre_roll_ms: u32,
    /// Audio after each detection added to its saved clip, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = DetectorConfig::default().post_roll_ms,
          value_parser = parse_roll_ms)]
    pub post_roll_ms: u32,
    /// Moving average of the scores over this many evaluations (1 = raw scores).
    #[arg(long, value_name = "N", default_value_t = DetectorConfig::default().smoothing,
          value_parser = parse_smoothing)]
    pub smoothing: usize,
    /// After a detection, the same keyword cannot fire again for this long, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = DetectorConfig::default().refractory_ms,
          value_parser = parse_refractory_ms)]
    pub refractory_ms: u32,
}

impl DetectorArgs {
    /// These settings over the defaults, thresholds left to the models.
    pub fn config(&self) -> DetectorConfig {
        DetectorConfig {
            pre_roll_ms: self.pre_roll_ms,
            post_roll_ms: self.post_roll_ms,
            smoothing: self.smoothing,
            refractory_ms: self.refractory_ms,
            ..DetectorConfig::default()
        }
    }
}

/// clap parser for a pre- or post-roll in milliseconds (0..=MAX_ROLL_MS).
fn parse_roll_ms(s: &str) -> Result<u32, String> {
    parse_ms_in(s, 0..=MAX_ROLL_MS)
}

/// clap parser for a refractory period in milliseconds (0..=600000).
fn parse_refractory_ms(s: &str) -> Result<u32, String> {
    parse_ms_in(s, 0..=600_000)
}

fn parse_ms_in(s: &str, range: std::ops::RangeInclusive<u32>) -> Result<u32, String> {
    match s.parse::<u32>() {
        Ok(ms) if range.contains(&ms) => Ok(ms),
        _ => Err(format!(
            "`{s}` must be a whole number of milliseconds in {}..={}",
            range.start(),
            range.end()
        )),
    }
}

/// clap parser for the smoothing length in evaluations (1..=MAX_SMOOTHING).
pub fn parse_smoothing(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if (1..=MAX_SMOOTHING).contains(&n) => Ok(n),
        _ => Err(format!(
            "`{text}` must be a whole number in 1..={MAX_SMOOTHING}"
        )),
    }
}

/// Builds the detector from `settings`, applying `--threshold` to every keyword of every
/// model.
pub fn build_detector(
    models: Vec<WakeWordModel>,
    threshold: Option<f32>,
    settings: &DetectorArgs,
) -> Result<Detector, String> {
    let config = with_threshold(settings.config(), &models, threshold);
    Detector::new(models, config).map_err(|e| e.to_string())
}

/// Default detector settings plus a `--threshold` override for every keyword (`serve`,
/// which takes no [`DetectorArgs`]).
pub fn detector_config(models: &[WakeWordModel], threshold: Option<f32>) -> DetectorConfig {
    with_threshold(DetectorConfig::default(), models, threshold)
}

/// `config` with `--threshold`, when given, for every keyword of every model.
fn with_threshold(
    config: DetectorConfig,
    models: &[WakeWordModel],
    threshold: Option<f32>,
) -> DetectorConfig {
    match threshold {
        Some(t) => config.with_threshold_for_all(models, t),
        None => config,
    }
}

/// clap parser for a detection threshold: a number in [0, 1].
pub fn parse_threshold(s: &str) -> Result<f32, String> {
    let t: f32 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if (0.0..=1.0).contains(&t) {
        Ok(t)
    } else {
        Err(format!("{t} is outside [0, 1]"))
    }
}

/// clap parser for a chunk length in milliseconds (1..=10000).
pub fn parse_chunk_ms(s: &str) -> Result<u32, String> {
    let ms: u32 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a whole number of milliseconds"))?;
    if (1..=10_000).contains(&ms) {
        Ok(ms)
    } else {
        Err(format!("{ms} ms is outside 1..=10000"))
    }
}

/// `<file>: <cause>` for an error met while processing `path`, without naming the file twice.
pub fn file_error(path: &Path, e: &Error) -> String {
    match e {
        Error::File { path: p, reason } if p == path => format!("{}: {reason}", path.display()),
        Error::File { .. } => e.to_string(),
        other => format!("{}: {other}", path.display()),
    }
}

/// `N files, M failed[: a, b]`.
pub fn batch_summary(total: usize, failed: &[String]) -> String {
    if failed.is_empty() {
        format!("{total} files, 0 failed")
    } else {
        format!(
            "{total} files, {} failed: {}",
            failed.len(),
            failed.join(", ")
        )
    }
}

/// UTC time as RFC 3339 with milliseconds, e.g. `2024-05-01T12:34:56.789Z`.
pub fn rfc3339(time: SystemTime) -> String {
    let d = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, day) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

/// Proleptic Gregorian (year, month, day) of a day count since 1970-01-01 (H. Hinnant).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(951_827_696_789); // leap day 2000
        assert_eq!(rfc3339(t), "2000-02-29T12:34:56.789Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_735_689_599); // last second of 2024
        assert_eq!(rfc3339(t), "2024-12-31T23:59:59.000Z");
    }

    #[test]
    fn thresholds_and_chunks_are_validated() {
        assert_eq!(parse_threshold("0.25"), Ok(0.25));
        assert!(parse_threshold("1.5").is_err());
        assert!(parse_threshold("NaN").is_err());
        assert!(parse_chunk_ms("0").is_err());
        assert_eq!(parse_chunk_ms("10"), Ok(10));
    }
}
