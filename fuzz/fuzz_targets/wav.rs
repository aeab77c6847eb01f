//! WAV/FLAC bytes -> `read_audio_bytes` (decode, down-mix, resample). Any input must give
//! either an error or finite 16 kHz samples; never a panic, a hang or a huge allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(samples) = hushword::audio::read_audio_bytes(bytes, Path::new("fuzz.wav")) {
        assert!(!samples.is_empty(), "an empty decode must be an error");
        assert!(samples.iter().all(|s| s.is_finite()), "non-finite output");
    }
});
