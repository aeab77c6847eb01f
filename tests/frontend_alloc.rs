//! After construction the front end must never allocate: a counting global allocator watches
//! many seconds of audio pushed in varied chunk sizes, for both kernel sets and input types.
//! (The allocator counts this thread's allocations; `tests/alloc_count.rs` shows that it counts.)

#[path = "fixtures/alloc_count.rs"]
mod alloc_count;

use alloc_count::allocations;
use hushword::frontend::{FeatureKind, FrontendConfig, MfccFrontend};

#[test]
fn pushing_audio_allocates_nothing() {
    let seconds = 10;
    let signal: Vec<f32> = (0..16_000 * seconds)
        .map(|n| 0.2 * (n as f32 * 0.031).sin() * ((n % 977) as f32 / 977.0))
        .collect();
    let pcm: Vec<i16> = signal.iter().map(|&s| (s * 32767.0) as i16).collect();
    let chunk_sizes = [1usize, 7, 160, 333, 1024, 16_000];
    let configs = [
        FrontendConfig::default(),
        FrontendConfig {
            preemphasis: 0.97,
            features: FeatureKind::LogMel,
            ..FrontendConfig::default()
        },
    ];
    for cfg in configs {
        for mut frontend in [
            MfccFrontend::new(cfg.clone()).unwrap(),
            MfccFrontend::new_scalar(cfg.clone()).unwrap(),
        ] {
            let mut checksum = 0f32;
            let n = allocations(|| {
                let (mut rest, mut sizes) = (&signal[..], chunk_sizes.iter().cycle());
                while !rest.is_empty() {
                    let n = (*sizes.next().unwrap()).min(rest.len());
                    frontend.push_f32(&rest[..n], |f| checksum += f[0]).unwrap();
                    rest = &rest[n..];
                }
                frontend.reset();
                for chunk in pcm.chunks(4096) {
                    frontend.push_i16(chunk, |f| checksum += f[1]);
                }
            });
            assert!(frontend.frames_emitted() > 900);
            assert!(checksum.is_finite());
            assert_eq!(n, 0, "{cfg:?}: {n} allocations while streaming");
        }
    }
}
