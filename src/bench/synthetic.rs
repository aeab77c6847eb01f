//! Deterministic speech-like audio for benchmarks: syllables of voiced harmonics with a
//! moving pitch and two formant-like resonances, separated by pauses, over low noise.
//!
//! Speech-like matters because the cost of a pipeline can depend on its input (a detector
//! fires, a model's activations vary); the same seed always gives the same samples, so runs
//! on different machines or days measure the same work.

use std::f32::consts::TAU;

/// Sample rate of the generated audio.
pub const SAMPLE_RATE: u32 = 16_000;

/// An endless, deterministic speech-like signal in [-1, 1), produced in chunks without
/// allocating (a one-hour benchmark never holds the hour in memory).
#[derive(Debug, Clone)]
pub struct SyntheticSpeech {
    rng: u64,
    /// Samples left in the current syllable or pause.
    left: u32,
    /// Length of the current segment (for its envelope).
    length: u32,
    voiced: bool,
    phase: f32,
    pitch_hz: f32,
    pitch_slope: f32,
    /// One pitch period of the current syllable's waveform (harmonics weighted by two
    /// formants), so a sample costs a table lookup rather than a sum of sines.
    period: [f32; PERIOD_TABLE],
}

/// Points per pitch period in the waveform table.
const PERIOD_TABLE: usize = 256;

impl SyntheticSpeech {
    /// A generator whose output depends only on `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            rng: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            left: 0,
            length: 1,
            voiced: false,
            phase: 0.0,
            pitch_hz: 120.0,
            pitch_slope: 0.0,
            period: [0.0; PERIOD_TABLE],
        }
    }

    /// Fills `out` with the next samples.
    pub fn fill(&mut self, out: &mut [f32]) {
        for sample in out {
            if self.left == 0 {
                self.next_segment();
            }
            self.left -= 1;
            *sample = self.next_sample();
        }
    }

    /// Starts a syllable (120-320 ms, 80% of the time) or a pause (50-400 ms).
    fn next_segment(&mut self) {
        self.voiced = self.uniform() < 0.8;
        let ms = if self.voiced {
            120.0 + 200.0 * self.uniform()
        } else {
            50.0 + 350.0 * self.uniform()
        };
        self.length = (ms * SAMPLE_RATE as f32 / 1000.0) as u32;
        self.left = self.length;
        self.pitch_hz = 90.0 + 160.0 * self.uniform();
        self.pitch_slope = (self.uniform() - 0.5) * 80.0 / self.length as f32;
        let formants = [
            300.0 + 600.0 * self.uniform(),
            900.0 + 1600.0 * self.uniform(),
        ];
        // Harmonics up to 4 kHz, weighted by closeness to the formants.
        let harmonics = ((4000.0 / self.pitch_hz) as usize).min(24);
        for (i, value) in self.period.iter_mut().enumerate() {
            let phase = i as f32 / PERIOD_TABLE as f32;
            *value = (1..=harmonics)
                .map(|h| {
                    let f = self.pitch_hz * h as f32;
                    let weight: f32 = formants
                        .iter()
                        .map(|&formant| 1.0 / (1.0 + ((f - formant) / 150.0).powi(2)))
                        .sum();
                    weight * (TAU * phase * h as f32).sin() / h as f32
                })
                .sum();
        }
    }

    fn next_sample(&mut self) -> f32 {
        let noise = self.uniform() - 0.5;
        if !self.voiced {
            return 0.01 * noise;
        }
        let position = 1.0 - self.left as f32 / self.length as f32;
        let envelope = (std::f32::consts::PI * position).sin();
        self.pitch_hz += self.pitch_slope;
        self.phase = (self.phase + self.pitch_hz / SAMPLE_RATE as f32).fract();
        let voice = self.period[(self.phase * PERIOD_TABLE as f32) as usize % PERIOD_TABLE];
        (0.3 * envelope * voice + 0.02 * noise).clamp(-0.99, 0.99)
    }

    /// Uniform in [0, 1) from a xorshift64* generator.
    fn uniform(&mut self) -> f32 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        (self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40) as f32 / (1u64 << 24) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_deterministic_bounded_and_has_pauses_and_voice() {
        let mut a = SyntheticSpeech::new(5);
        let mut b = SyntheticSpeech::new(5);
        let (mut x, mut y) = (vec![0.0; 160_000], vec![0.0; 160_000]);
        a.fill(&mut x[..1000]);
        a.fill(&mut x[1000..]);
        b.fill(&mut y);
        assert_eq!(x, y, "chunking must not change the signal");
        assert!(x.iter().all(|v| v.abs() < 1.0));
        let rms: Vec<f32> = x
            .chunks(160)
            .map(|c| (c.iter().map(|v| v * v).sum::<f32>() / 160.0).sqrt())
            .collect();
        let quiet = rms.iter().filter(|&&r| r < 0.01).count();
        let loud = rms.iter().filter(|&&r| r > 0.05).count();
        assert!(
            quiet > 50 && loud > 300,
            "quiet {quiet}, loud {loud} of 1000 frames"
        );
        let mut c = SyntheticSpeech::new(6);
        c.fill(&mut y);
        assert_ne!(x, y, "another seed gives another signal");
    }
}
