//! The Rust front end against two references computed on real audio by
//! `tests/golden/make_golden.py`: librosa + scipy (the spec's definition) and
//! `training/features.py` (the numpy twin models are trained with).
//!
//! The clips (a Picovoice "jarvis" recording, a LibriSpeech FLAC, an excerpt of Speech Commands
//! background noise) are committed in `tests/data/` under the paths they have in the shared data
//! set, so the comparison runs on a fresh clone; when the shared data set is there, a second test
//! checks that the committed copies are sample for sample its recordings.
//!
//! Tolerance: 1e-3 absolute on log-mel and MFCC values (natural log units). All three compute
//! in f32 with different FFTs (rustfft, pocketfft in numpy, librosa's); their rounding is ~1e-7
//! of a frame's strongest bin, which becomes a relative error of ~1e-4 in a mel band 40 dB
//! weaker, i.e. ~1e-4 on its log. Measured gaps are at most 1.8e-4 (printed with
//! `--nocapture`); a real bug (window, filter edges, a one-sample shift, pre-emphasis) moves
//! values by 1e-2 or more, which the `golden_tolerance_has_teeth` test checks.

#[path = "fixtures/test_data.rs"]
mod test_data;

use hushword::frontend::{FrontendConfig, MfccFrontend};
use serde::Deserialize;
use std::path::{Path, PathBuf};

const TOLERANCE: f32 = 1e-3;

#[derive(Deserialize)]
struct Golden {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    clip: String,
    start: usize,
    length: usize,
    config_name: String,
    config: FrontendConfig,
    librosa: Reference,
    features_py: Reference,
}

#[derive(Deserialize)]
struct Reference {
    log_mel: Vec<Vec<f32>>,
    mfcc: Vec<Vec<f32>>,
}

/// A golden clip as committed: the whole recording, or an excerpt of it that starts at sample
/// `first` of the original (file name `<stem>.<first>-<end>.wav`).
struct Clip {
    audio: Vec<f32>,
    first: usize,
}

impl Clip {
    /// The committed copy of `clip` (a path relative to the shared data folder).
    fn committed(clip: &str) -> Clip {
        let whole = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(clip);
        if whole.is_file() {
            return Clip {
                audio: read_audio(&whole),
                first: 0,
            };
        }
        let (path, first) = excerpt_of(&whole).unwrap_or_else(|| {
            panic!("{clip}: neither it nor an excerpt <stem>.<first>-<end>.wav is in tests/data/")
        });
        Clip {
            audio: read_audio(&path),
            first,
        }
    }

    /// `length` samples from sample `start` of the original recording.
    fn samples(&self, start: usize, length: usize) -> &[f32] {
        let from = start
            .checked_sub(self.first)
            .expect("excerpt starts before the case");
        &self.audio[from..from + length]
    }
}

/// The committed excerpt of `whole` and where it starts in the original.
fn excerpt_of(whole: &Path) -> Option<(PathBuf, usize)> {
    let stem = whole.file_stem()?.to_str()?;
    std::fs::read_dir(whole.parent()?)
        .ok()?
        .flatten()
        .find_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let range = name.strip_prefix(stem)?.strip_prefix('.')?;
            let (first, _end) = range.strip_suffix(".wav")?.split_once('-')?;
            Some((entry.path(), first.parse().ok()?))
        })
}

fn golden() -> Golden {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/frontend_golden.json");
    let text = std::fs::read_to_string(&path).expect("golden file is committed");
    serde_json::from_str(&text).expect("golden file parses")
}

/// 16-bit mono audio as f32 (sample / 32768), like soundfile's float32 read.
fn read_audio(path: &Path) -> Vec<f32> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("wav") => {
            let mut reader = hound::WavReader::open(path).expect("wav opens");
            assert_eq!(reader.spec().bits_per_sample, 16);
            reader
                .samples::<i16>()
                .map(|s| s.expect("wav sample") as f32 / 32768.0)
                .collect()
        }
        Some("flac") => {
            let mut reader = claxon::FlacReader::open(path).expect("flac opens");
            assert_eq!(reader.streaminfo().bits_per_sample, 16);
            reader
                .samples()
                .map(|s| s.expect("flac sample") as f32 / 32768.0)
                .collect()
        }
        other => panic!("unexpected audio type {other:?}"),
    }
}

/// Largest absolute difference between a Rust feature matrix and a reference.
fn max_gap(got: &ndarray::Array2<f32>, want: &[Vec<f32>]) -> f32 {
    assert_eq!(got.nrows(), want.len(), "frame count");
    let mut gap = 0f32;
    for (row, want_row) in got.rows().into_iter().zip(want) {
        assert_eq!(row.len(), want_row.len(), "features per frame");
        for (&g, &w) in row.iter().zip(want_row) {
            gap = gap.max((g - w).abs());
        }
    }
    gap
}

/// Rust MFCC and log-mel of one case's excerpt, with the given kernels.
fn rust_features(
    case: &Case,
    clip: &Clip,
    scalar: bool,
) -> (ndarray::Array2<f32>, ndarray::Array2<f32>) {
    let excerpt = clip.samples(case.start, case.length);
    let make = |features| {
        let cfg = FrontendConfig {
            features,
            ..case.config.clone()
        };
        let mut f = if scalar {
            MfccFrontend::new_scalar(cfg)
        } else {
            MfccFrontend::new(cfg)
        }
        .expect("golden config is valid");
        f.compute(excerpt).expect("finite audio")
    };
    (
        make(hushword::frontend::FeatureKind::Mfcc),
        make(hushword::frontend::FeatureKind::LogMel),
    )
}

#[test]
fn rust_matches_librosa_and_features_py_on_real_audio() {
    let golden = golden();
    assert_eq!(golden.cases.len(), 6);
    assert!(golden.cases.iter().any(|c| c.config.preemphasis == 0.97));
    for case in &golden.cases {
        let clip = Clip::committed(&case.clip);
        for scalar in [false, true] {
            let (mfcc, log_mel) = rust_features(case, &clip, scalar);
            let gaps = [
                ("librosa log_mel", max_gap(&log_mel, &case.librosa.log_mel)),
                ("librosa mfcc", max_gap(&mfcc, &case.librosa.mfcc)),
                (
                    "features.py log_mel",
                    max_gap(&log_mel, &case.features_py.log_mel),
                ),
                ("features.py mfcc", max_gap(&mfcc, &case.features_py.mfcc)),
            ];
            println!(
                "{} [{}] scalar={scalar}: {gaps:?}",
                case.clip, case.config_name
            );
            for (what, gap) in gaps {
                assert!(
                    gap <= TOLERANCE,
                    "{} [{}] scalar={scalar}: {what} differs by {gap}",
                    case.clip,
                    case.config_name
                );
            }
        }
    }
}

/// The tolerance must be far below what a plausible bug does: a one-sample shift of the
/// excerpt and a missing pre-emphasis both have to fail it.
#[test]
fn golden_tolerance_has_teeth() {
    let golden = golden();
    let case = &golden.cases[0];
    let clip = Clip::committed(&case.clip);
    let shifted = Case {
        start: case.start + 1,
        clip: case.clip.clone(),
        length: case.length,
        config_name: case.config_name.clone(),
        config: case.config.clone(),
        librosa: Reference {
            log_mel: vec![],
            mfcc: vec![],
        },
        features_py: Reference {
            log_mel: vec![],
            mfcc: vec![],
        },
    };
    let (mfcc, _) = rust_features(&shifted, &clip, false);
    assert!(max_gap(&mfcc, &case.librosa.mfcc) > 20.0 * TOLERANCE);

    let pre = golden
        .cases
        .iter()
        .find(|c| c.clip == case.clip && c.config.preemphasis != 0.0)
        .expect("pre-emphasis case");
    let (mfcc, _) = rust_features(case, &clip, false);
    assert!(max_gap(&mfcc, &pre.librosa.mfcc) > 20.0 * TOLERANCE);
}

/// The committed clips are the shared data set's recordings, sample for sample (over each
/// golden excerpt and, for whole files, everywhere).
#[test]
fn committed_golden_clips_are_the_shared_recordings() {
    let Some(data) = test_data::shared("frontend_golden: committed clips against the shared set")
    else {
        return;
    };
    for case in &golden().cases {
        let original = read_audio(&data.join(&case.clip));
        let clip = Clip::committed(&case.clip);
        assert_eq!(
            clip.samples(case.start, case.length),
            &original[case.start..case.start + case.length],
            "{}",
            case.clip
        );
        if clip.first == 0 {
            assert_eq!(clip.audio, original, "{}", case.clip);
        }
    }
}
