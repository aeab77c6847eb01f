//! Soak: hours of generated audio (speech-like noise, silence, clipping, DC offset, full-scale
//! square waves) streamed through a `Detector` over the fixture model `energy.onnx`.
//!
//! Checks: no panic or error; `Detector::memory_bytes` constant; live heap bytes (a counting
//! global allocator) bounded, not growing hour over hour; exact 64-bit sample and frame
//! counts at the end; and, over a shorter stretch, identical detections for the same audio
//! in three chunkings. The audio is generated on the fly from a fixed seed and quantised to
//! the 16-bit grid, so `push_i16` and `push_f32` see exactly the same values.
//!
//! `soak_24h` is ignored by default; `HUSHWORD_SOAK_HOURS` sets its length (default 24):
//! `HUSHWORD_SOAK_HOURS=24 cargo test --release --test soak -- --ignored --nocapture`.
//! `soak_short` (five minutes of audio) runs with the normal tests.

#[path = "fixtures/signals.rs"]
mod signals;

use hushword::{Detection, Detector, DetectorConfig};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The counting global allocator: live heap bytes of the whole test process.
#[path = "fixtures/alloc_count.rs"]
mod alloc_count;

const RATE: u64 = 16_000;
const SEED: u64 = 0x5eed_2024;
/// Largest chunk pushed at once.
const MAX_CHUNK: usize = 4096;
/// Live heap may wander by this much between checkpoints (tract scratch, test harness).
const LIVE_SLACK: usize = 1 << 20;

/// Kinds of generated audio.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Silence,
    SpeechLike,
    Clipping,
    DcOffset,
    Square,
}

/// An endless deterministic stream of 16-bit samples: segments of 0.2 to 20 s of each kind.
/// The sequence depends only on the seed, never on how much is asked for at a time.
struct AudioGenerator {
    rng: ChaCha8Rng,
    kind: Kind,
    remaining: u64,
    /// Samples into the current segment.
    t: u64,
    /// Square half period or syllable rate parameter of the segment.
    period: u64,
    lowpass: f32,
}

impl AudioGenerator {
    fn new(seed: u64) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(seed),
            kind: Kind::Silence,
            remaining: 0,
            t: 0,
            period: 1,
            lowpass: 0.0,
        }
    }

    fn next_segment(&mut self) {
        const KINDS: [Kind; 5] = [
            Kind::Silence,
            Kind::SpeechLike,
            Kind::Clipping,
            Kind::DcOffset,
            Kind::Square,
        ];
        self.kind = KINDS[self.rng.random_range(0..KINDS.len())];
        self.remaining = self.rng.random_range(RATE / 5..20 * RATE);
        self.period = self.rng.random_range(8..200);
        self.t = 0;
    }

    fn next_sample(&mut self) -> i16 {
        if self.remaining == 0 {
            self.next_segment();
        }
        self.remaining -= 1;
        self.t += 1;
        let noise = self.rng.random::<f32>() * 2.0 - 1.0;
        let value = match self.kind {
            Kind::Silence => 0.0,
            Kind::SpeechLike => {
                // Low-passed noise under a syllable-rate (2-8 Hz) envelope.
                self.lowpass += 0.3 * (noise - self.lowpass);
                let rate_hz = 2.0 + (self.period % 7) as f32;
                let phase = self.t as f32 * rate_hz / RATE as f32;
                let envelope = (std::f32::consts::PI * phase.fract()).sin();
                0.6 * envelope * self.lowpass
            }
            Kind::Clipping => (4.0 * noise).clamp(-1.0, 1.0),
            Kind::DcOffset => 0.4 + 0.05 * noise,
            Kind::Square => {
                if (self.t / self.period).is_multiple_of(2) {
                    1.0
                } else {
                    -1.0
                }
            }
        };
        (value * 32767.0).round() as i16
    }

    fn fill(&mut self, out: &mut [i16]) {
        out.iter_mut().for_each(|s| *s = self.next_sample());
    }
}

/// How a stream is cut into pushes.
#[derive(Clone, Copy, Debug)]
enum Chunking {
    /// Random lengths 1..=MAX_CHUNK, alternating `push_i16` and `push_f32`.
    RandomMixed,
    /// 160-sample `push_i16` calls.
    HopI16,
    /// Single-sample `push_f32` calls.
    SingleF32,
}

/// What a detection is, compactly, for comparing runs.
#[derive(Debug, PartialEq)]
struct EventKey {
    position: u64,
    score_bits: u32,
    pre_roll_len: usize,
    pre_roll_sum_bits: u64,
}

fn key(d: &Detection) -> EventKey {
    EventKey {
        position: d.position,
        score_bits: d.score.to_bits(),
        pre_roll_len: d.pre_roll.len(),
        pre_roll_sum_bits: d
            .pre_roll
            .iter()
            .map(|&s| f64::from(s))
            .sum::<f64>()
            .to_bits(),
    }
}

fn detector() -> Detector {
    let config = DetectorConfig {
        post_roll_ms: 500,
        ..DetectorConfig::default()
    };
    Detector::new(vec![signals::model("energy.onnx")], config).expect("fixture detector")
}

/// Streams `total` samples; calls `checkpoint` every `checkpoint_every` samples (and at the
/// end) with the detector, and `on_event` for each detection.
fn stream(
    total: u64,
    chunking: Chunking,
    checkpoint_every: u64,
    mut on_event: impl FnMut(&Detection),
    mut checkpoint: impl FnMut(&Detector),
) -> Detector {
    let mut detector = detector();
    let mut audio = AudioGenerator::new(SEED);
    let mut sizes = ChaCha8Rng::seed_from_u64(SEED ^ 1);
    let mut pcm = vec![0i16; MAX_CHUNK];
    let mut float = vec![0f32; MAX_CHUNK];
    let mut events = Vec::with_capacity(16);
    let mut post = Vec::with_capacity(RATE as usize);
    let (mut done, mut next_checkpoint, mut call) = (0u64, checkpoint_every, 0u64);
    while done < total {
        let want = match chunking {
            Chunking::RandomMixed => sizes.random_range(1..=MAX_CHUNK),
            Chunking::HopI16 => 160,
            Chunking::SingleF32 => 1,
        };
        let n = want.min((total - done) as usize);
        audio.fill(&mut pcm[..n]);
        let use_i16 = match chunking {
            Chunking::RandomMixed => call % 2 == 0,
            Chunking::HopI16 => true,
            Chunking::SingleF32 => false,
        };
        if use_i16 {
            detector.push_i16(&pcm[..n], &mut events);
        } else {
            for (f, &s) in float.iter_mut().zip(&pcm[..n]) {
                *f = f32::from(s) / 32768.0;
            }
            detector
                .push_f32(&float[..n], &mut events)
                .expect("finite audio");
        }
        events.iter().for_each(&mut on_event);
        events.clear();
        post.clear();
        detector.drain_post_roll(&mut post);
        done += n as u64;
        call += 1;
        if done >= next_checkpoint {
            checkpoint(&detector);
            next_checkpoint += checkpoint_every;
        }
    }
    checkpoint(&detector);
    assert_eq!(detector.evaluation_failures(), 0);
    detector
}

/// Runs the soak over `seconds` of audio, comparing chunkings over the first
/// `compare_seconds`.
fn soak(seconds: f64, compare_seconds: u64, checkpoint_seconds: u64) {
    let total = (seconds * RATE as f64) as u64;
    let start = std::time::Instant::now();
    let mut memory = None;
    let mut live = Vec::new();
    let mut detections = 0u64;
    let detector = stream(
        total,
        Chunking::RandomMixed,
        checkpoint_seconds * RATE,
        |_| detections += 1,
        |d| {
            let bytes = *memory.get_or_insert(d.memory_bytes());
            assert_eq!(d.memory_bytes(), bytes, "Detector::memory_bytes changed");
            live.push(alloc_count::live_bytes());
        },
    );
    assert_eq!(detector.samples_seen(), total, "64-bit sample count");
    let frames = if total < 400 {
        0
    } else {
        (total - 400) / 160 + 1
    };
    assert_eq!(detector.frames_seen(), frames, "64-bit frame count");
    // The first checkpoint is after warm-up (tract's lazily built scratch); from there on
    // the live heap must stay within a fixed band.
    let settled = &live[1.min(live.len() - 1)..];
    let (low, high) = (
        *settled.iter().min().unwrap(),
        *settled.iter().max().unwrap(),
    );
    assert!(
        high - low <= LIVE_SLACK,
        "live heap wandered from {low} to {high} bytes over the soak: {live:?}"
    );
    eprintln!(
        "soak: {:.2} h of audio ({total} samples, {frames} frames, {detections} detections) in {:.1} s; live heap {low}..{high} bytes over {} checkpoints",
        seconds / 3600.0,
        start.elapsed().as_secs_f64(),
        live.len()
    );
    assert!(detections > 0, "the generated audio must trigger sometimes");
    compare_chunkings(compare_seconds * RATE);
}

/// The same stretch of audio in three chunkings gives identical detections.
fn compare_chunkings(samples: u64) {
    let run = |chunking| {
        let mut keys = Vec::new();
        stream(samples, chunking, u64::MAX, |d| keys.push(key(d)), |_| {});
        keys
    };
    let reference = run(Chunking::RandomMixed);
    assert!(
        !reference.is_empty(),
        "the compared stretch must hold detections"
    );
    for chunking in [Chunking::HopI16, Chunking::SingleF32] {
        assert_eq!(
            run(chunking),
            reference,
            "{chunking:?} differs from RandomMixed"
        );
    }
}

#[test]
fn soak_short() {
    soak(300.0, 60, 30);
}

#[test]
#[ignore = "long: HUSHWORD_SOAK_HOURS (default 24) of audio; run in CI with a bounded length"]
fn soak_24h() {
    let hours: f64 = std::env::var("HUSHWORD_SOAK_HOURS")
        .ok()
        .map(|h| {
            h.parse()
                .expect("HUSHWORD_SOAK_HOURS must be a number of hours")
        })
        .unwrap_or(24.0);
    soak(hours * 3600.0, 600, 600);
}
