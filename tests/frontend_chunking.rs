//! Frames must not depend on how the stream is cut: any chunking gives bit-identical frames
//! to one whole-signal push, for f32 and i16 input, including across `reset`.

use hushword::frontend::{FeatureKind, FrontendConfig, MfccFrontend};
use proptest::prelude::*;

fn frames_f32(f: &mut MfccFrontend, signal: &[f32], chunks: &[usize]) -> Vec<Vec<f32>> {
    let mut out = Vec::new();
    let mut rest = signal;
    let mut sizes = chunks.iter().cycle();
    while !rest.is_empty() {
        let n = (*sizes.next().unwrap()).min(rest.len());
        f.push_f32(&rest[..n], |x| out.push(x.to_vec())).unwrap();
        rest = &rest[n..];
    }
    out
}

fn frames_i16(f: &mut MfccFrontend, signal: &[i16], chunks: &[usize]) -> Vec<Vec<f32>> {
    let mut out = Vec::new();
    let mut rest = signal;
    let mut sizes = chunks.iter().cycle();
    while !rest.is_empty() {
        let n = (*sizes.next().unwrap()).min(rest.len());
        f.push_i16(&rest[..n], |x| out.push(x.to_vec()));
        rest = &rest[n..];
    }
    out
}

fn config(preemphasis: bool, log_mel: bool, hop: usize) -> FrontendConfig {
    FrontendConfig {
        preemphasis: if preemphasis { 0.97 } else { 0.0 },
        features: if log_mel {
            FeatureKind::LogMel
        } else {
            FeatureKind::Mfcc
        },
        hop_length: hop,
        ..FrontendConfig::default()
    }
}

fn chunkings() -> impl Strategy<Value = Vec<usize>> {
    prop_oneof![
        Just(vec![1]),
        Just(vec![7]),
        Just(vec![160]),
        Just(vec![16000]),
        prop::collection::vec(1usize..2000, 1..20),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn f32_frames_do_not_depend_on_chunking(
        signal in prop::collection::vec(-1.0f32..1.0, 0..6000),
        chunks in chunkings(),
        preemphasis: bool,
        log_mel: bool,
        hop in prop::sample::select(vec![160usize, 400, 517]),
    ) {
        let cfg = config(preemphasis, log_mel, hop);
        let mut whole = MfccFrontend::new(cfg.clone()).unwrap();
        let want = frames_f32(&mut whole, &signal, &[signal.len().max(1)]);
        let mut chunked = MfccFrontend::new(cfg).unwrap();
        let got = frames_f32(&mut chunked, &signal, &chunks);
        prop_assert_eq!(&got, &want);
        prop_assert_eq!(chunked.frames_emitted(), want.len() as u64);
        prop_assert_eq!(chunked.samples_consumed(), signal.len() as u64);
        // After reset the same object reproduces the stream exactly.
        chunked.reset();
        prop_assert_eq!(frames_f32(&mut chunked, &signal, &chunks), want);
    }

    #[test]
    fn i16_frames_do_not_depend_on_chunking_and_equal_scaled_f32(
        signal in prop::collection::vec(any::<i16>(), 0..6000),
        chunks in chunkings(),
        preemphasis: bool,
    ) {
        let cfg = config(preemphasis, false, 160);
        let mut whole = MfccFrontend::new(cfg.clone()).unwrap();
        let want = frames_i16(&mut whole, &signal, &[signal.len().max(1)]);
        let mut chunked = MfccFrontend::new(cfg.clone()).unwrap();
        prop_assert_eq!(&frames_i16(&mut chunked, &signal, &chunks), &want);
        let scaled: Vec<f32> = signal.iter().map(|&s| s as f32 / 32768.0).collect();
        let mut f = MfccFrontend::new(cfg).unwrap();
        prop_assert_eq!(frames_f32(&mut f, &scaled, &chunks), want);
    }
}
