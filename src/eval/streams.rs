//! Test-stream construction: file discovery, background gaps around positives, noise mixing.
//!
//! Everything random is drawn from a ChaCha stream seeded by (run seed, role, file index), so a
//! file's stream does not depend on which thread builds it or in what order.

use crate::{Error, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::{Path, PathBuf};

/// Sample rate every evaluation stream runs at.
pub const SAMPLE_RATE: u32 = 16_000;

/// Every `.wav` / `.flac` file under `roots` (a root may also be a single file), recursively,
/// sorted by path so runs are repeatable. A root that does not exist is an error.
pub fn collect_audio_files(roots: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for root in roots {
        let meta = std::fs::metadata(root).map_err(|e| Error::File {
            path: root.clone(),
            reason: format!("cannot open folder: {e}"),
        })?;
        if meta.is_file() {
            files.push(root.clone());
        } else {
            walk(root, &mut files)?;
        }
    }
    files.sort();
    files.dedup();
    Ok(files)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::File {
        path: dir.to_path_buf(),
        reason: format!("cannot list folder: {e}"),
    })?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::File {
            path: dir.to_path_buf(),
            reason: format!("cannot list folder: {e}"),
        })?;
        let path = entry.path();
        // Follow symlinks: metadata() not symlink_metadata().
        match std::fs::metadata(&path) {
            Ok(m) if m.is_dir() => walk(&path, out)?,
            Ok(_) if is_audio(&path) => out.push(path),
            // Non-audio files are not part of the set; a dangling link that looks like audio is
            // kept so that reading it reports the problem.
            Ok(_) => {}
            Err(_) if is_audio(&path) => out.push(path),
            Err(_) => {}
        }
    }
    Ok(())
}

fn is_audio(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("wav") || e.eq_ignore_ascii_case("flac"))
}

/// SplitMix64 finaliser: decorrelates (seed, role, index) into one 64-bit seed.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// What a random stream is drawn for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Role {
    PositiveGaps = 1,
    PositiveNoise = 2,
    NegativeNoise = 3,
}

/// The random generator of one (role, file) pair.
pub(crate) fn rng_for(seed: u64, role: Role, index: usize) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(mix(mix(seed ^ mix(role as u64)) ^ index as u64))
}

/// A positive clip placed inside background audio.
#[derive(Debug, Clone)]
pub(crate) struct PositiveStream {
    pub samples: Vec<f32>,
    pub clip_start: usize,
    pub clip_end: usize,
}

/// Builds `[gap][clip][gap]`, each gap `gap_range` samples long (uniform, inclusive), filled
/// with silence or (half the time, when `pool` has audio) an excerpt of negative speech.
pub(crate) fn positive_stream(
    clip: &[f32],
    pool: &[f32],
    gap_range: (usize, usize),
    rng: &mut ChaCha8Rng,
) -> PositiveStream {
    let mut samples = Vec::new();
    let gap = |samples: &mut Vec<f32>, rng: &mut ChaCha8Rng| {
        let len = rng.random_range(gap_range.0..=gap_range.1);
        let speech = rng.random_bool(0.5);
        let offset = rng.random_range(0..pool.len().max(1));
        if speech && !pool.is_empty() {
            samples.extend((0..len).map(|i| pool[(offset + i) % pool.len()]));
        } else {
            samples.resize(samples.len() + len, 0.0);
        }
    };
    gap(&mut samples, rng);
    let clip_start = samples.len();
    samples.extend_from_slice(clip);
    let clip_end = samples.len();
    gap(&mut samples, rng);
    PositiveStream {
        samples,
        clip_start,
        clip_end,
    }
}

/// Frames of 10 ms used to find a signal's active part.
const ACTIVE_FRAME: usize = (SAMPLE_RATE / 100) as usize;

/// Mean power of each 10 ms frame, and a frame counts as active when it is within 30 dB of the
/// loudest one. `None` for digital silence.
fn active_frames(samples: &[f32]) -> Option<(Vec<f64>, f64)> {
    let mut powers = FramePowers::default();
    powers.push(samples);
    powers.finish()
}

/// [`active_frames`] fed block by block, for a signal too long to hold: the same frames and
/// the same sums in the same order, whatever the blocks.
#[derive(Debug, Default)]
pub(crate) struct FramePowers {
    powers: Vec<f64>,
    /// Sum of squares and length of the frame in progress.
    partial: (f64, usize),
}

impl FramePowers {
    pub fn push(&mut self, samples: &[f32]) {
        for &x in samples {
            self.partial.0 += f64::from(x) * f64::from(x);
            self.partial.1 += 1;
            if self.partial.1 == ACTIVE_FRAME {
                self.powers.push(self.partial.0 / ACTIVE_FRAME as f64);
                self.partial = (0.0, 0);
            }
        }
    }

    /// Frame powers and the activity floor, `None` for digital silence.
    fn finish(mut self) -> Option<(Vec<f64>, f64)> {
        if self.partial.1 > 0 {
            self.powers.push(self.partial.0 / self.partial.1 as f64);
        }
        let max = self.powers.iter().copied().fold(0.0f64, f64::max);
        (max > 0.0).then_some((self.powers, max * 1e-3))
    }

    /// [`active_power`] of everything pushed.
    pub fn active_power(self) -> f64 {
        let Some((powers, floor)) = self.finish() else {
            return 0.0;
        };
        let active: Vec<f64> = powers.into_iter().filter(|&p| p >= floor).collect();
        active.iter().sum::<f64>() / active.len() as f64
    }
}

/// Mean power of a signal's active part: 10 ms frames within 30 dB of the loudest frame.
/// Zero for digital silence.
pub fn active_power(samples: &[f32]) -> f64 {
    let mut powers = FramePowers::default();
    powers.push(samples);
    powers.active_power()
}

/// End (exclusive, in samples) of a signal's active part: the last 10 ms frame within 30 dB of
/// the loudest one, the same criterion as [`active_power`]. Recorded clips often carry a second of
/// silence after the word, so trigger latency is measured from here rather than from the file's
/// end. The whole length for digital silence.
pub fn active_end(samples: &[f32]) -> usize {
    let Some((powers, floor)) = active_frames(samples) else {
        return samples.len();
    };
    let last = powers.iter().rposition(|&p| p >= floor).unwrap_or(0);
    ((last + 1) * ACTIVE_FRAME).min(samples.len())
}

/// Where a noise excerpt comes from: one of the noise files (chosen by the rng) from a random
/// offset, looping if the file is shorter. Samples are looked up by index, so an excerpt as
/// long as an hour-long negative is never built.
pub(crate) struct NoiseExcerpt<'a> {
    noise: &'a [f32],
    offset: usize,
}

impl<'a> NoiseExcerpt<'a> {
    /// Draws the file and the offset (in that order) from `rng`.
    pub fn pick(noises: &'a [Vec<f32>], rng: &mut ChaCha8Rng) -> Self {
        if noises.is_empty() {
            return Self {
                noise: &[],
                offset: 0,
            };
        }
        let noise = &noises[rng.random_range(0..noises.len())];
        let offset = rng.random_range(0..noise.len());
        Self { noise, offset }
    }

    /// Sample `i` of the excerpt (silence when there is no noise).
    pub fn at(&self, i: usize) -> f32 {
        if self.noise.is_empty() {
            0.0
        } else {
            self.noise[(self.offset + i) % self.noise.len()]
        }
    }

    /// The gain [`mix_at_snr`] gives this excerpt, `len` samples long, against a signal of
    /// active power `reference_power`; `None` when it leaves the signal unchanged.
    pub fn gain(&self, len: usize, reference_power: f64, snr_db: f32) -> Option<f64> {
        let power = (0..len)
            .map(|i| f64::from(self.at(i)) * f64::from(self.at(i)))
            .sum::<f64>()
            / len.max(1) as f64;
        snr_gain(reference_power, power, snr_db)
    }
}

/// A noise excerpt of `len` samples (see [`NoiseExcerpt`]).
pub(crate) fn noise_excerpt(noises: &[Vec<f32>], len: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let excerpt = NoiseExcerpt::pick(noises, rng);
    (0..len).map(|i| excerpt.at(i)).collect()
}

/// The noise gain giving `snr_db` against a signal of `reference_power`; `None` when either
/// power is zero (the signal is then left unchanged).
fn snr_gain(reference_power: f64, noise_power: f64, snr_db: f32) -> Option<f64> {
    if reference_power <= 0.0 || noise_power <= 0.0 {
        return None;
    }
    Some((reference_power / (noise_power * 10f64.powf(f64::from(snr_db) / 10.0))).sqrt())
}

/// `signal + g * noise` with `g` chosen so that `reference_power / (g^2 * noise power)` is
/// `snr_db`. A silent reference or silent noise leaves the signal unchanged.
pub fn mix_at_snr(signal: &[f32], noise: &[f32], reference_power: f64, snr_db: f32) -> Vec<f32> {
    let noise_power = noise
        .iter()
        .map(|&x| f64::from(x) * f64::from(x))
        .sum::<f64>()
        / noise.len().max(1) as f64;
    let Some(gain) = snr_gain(reference_power, noise_power, snr_db) else {
        return signal.to_vec();
    };
    signal
        .iter()
        .zip(noise)
        .map(|(&s, &n)| (f64::from(s) + gain * f64::from(n)) as f32)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixing_hits_the_requested_snr() {
        let signal: Vec<f32> = (0..16000).map(|i| (i as f32 * 0.05).sin() * 0.3).collect();
        let mut rng = rng_for(7, Role::PositiveNoise, 0);
        let noise: Vec<f32> = (0..16000).map(|_| rng.random_range(-1.0f32..1.0)).collect();
        let p = active_power(&signal);
        let mixed = mix_at_snr(&signal, &noise, p, 6.0);
        let residual: Vec<f32> = mixed.iter().zip(&signal).map(|(m, s)| m - s).collect();
        let pn =
            residual.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / residual.len() as f64;
        let snr = 10.0 * (p / pn).log10();
        assert!((snr - 6.0).abs() < 1e-3, "snr {snr}");
    }

    #[test]
    fn streamed_power_and_noise_match_the_whole_signal_versions() {
        let mut rng = rng_for(3, Role::NegativeNoise, 1);
        let signal: Vec<f32> = (0..16_037)
            .map(|_| rng.random_range(-0.3f32..0.3))
            .collect();
        let noises = vec![(0..999)
            .map(|i| (i as f32 * 0.01).sin())
            .collect::<Vec<f32>>()];
        for block in [1, 160, 161, 5000] {
            let mut powers = FramePowers::default();
            signal.chunks(block).for_each(|b| powers.push(b));
            assert_eq!(
                powers.active_power(),
                active_power(&signal),
                "block {block}"
            );
        }
        let whole = noise_excerpt(
            &noises,
            signal.len(),
            &mut rng_for(3, Role::NegativeNoise, 2),
        );
        let excerpt = NoiseExcerpt::pick(&noises, &mut rng_for(3, Role::NegativeNoise, 2));
        let reference = active_power(&signal);
        let gain = excerpt.gain(signal.len(), reference, 5.0).unwrap();
        let streamed: Vec<f32> = signal
            .iter()
            .enumerate()
            .map(|(i, &s)| (f64::from(s) + gain * f64::from(excerpt.at(i))) as f32)
            .collect();
        assert_eq!(streamed, mix_at_snr(&signal, &whole, reference, 5.0));
    }

    #[test]
    fn active_end_is_the_end_of_the_last_loud_frame() {
        let mut x = vec![0.0f32; 1600];
        x.extend(std::iter::repeat_n(0.5f32, 800));
        x.extend(vec![0.0001f32; 3200]);
        assert_eq!(active_end(&x), 2400);
        assert_eq!(active_end(&[0.0; 500]), 500);
    }

    #[test]
    fn active_power_ignores_silence_around_speech() {
        let mut x = vec![0.0f32; 32000];
        x[16000..17600].iter_mut().for_each(|s| *s = 0.5);
        assert!((active_power(&x) - 0.25).abs() < 1e-9);
        assert_eq!(active_power(&[0.0; 100]), 0.0);
    }

    #[test]
    fn positive_stream_layout_is_seeded() {
        let clip = vec![0.25f32; 8000];
        let pool = vec![0.1f32; 1000];
        let a = positive_stream(
            &clip,
            &pool,
            (16000, 48000),
            &mut rng_for(1, Role::PositiveGaps, 3),
        );
        let b = positive_stream(
            &clip,
            &pool,
            (16000, 48000),
            &mut rng_for(1, Role::PositiveGaps, 3),
        );
        assert_eq!(a.samples, b.samples);
        assert!((16000..=48000).contains(&a.clip_start));
        assert_eq!(a.clip_end - a.clip_start, 8000);
        assert!((16000..=48000).contains(&(a.samples.len() - a.clip_end)));
        assert_eq!(&a.samples[a.clip_start..a.clip_end], &clip[..]);
    }
}
