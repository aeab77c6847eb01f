//! Bad and extreme audio files, fed to `read_audio_bytes` as bytes.

use super::alloc_count::peak_growth;
use super::{expect, Case};
use std::path::Path;

/// A canonical 44-byte WAV header followed by `data`; `claimed` is the data chunk's size.
fn wav(format: u16, channels: u16, rate: u32, bits: u16, claimed: u32, data: &[u8]) -> Vec<u8> {
    let block = channels * bits.div_ceil(8);
    let mut v = Vec::new();
    v.extend_from_slice(b"RIFF");
    v.extend_from_slice(&(36 + claimed).to_le_bytes());
    v.extend_from_slice(b"WAVEfmt ");
    v.extend_from_slice(&16u32.to_le_bytes());
    v.extend_from_slice(&format.to_le_bytes());
    v.extend_from_slice(&channels.to_le_bytes());
    v.extend_from_slice(&rate.to_le_bytes());
    v.extend_from_slice(&(rate.wrapping_mul(u32::from(block))).to_le_bytes());
    v.extend_from_slice(&block.to_le_bytes());
    v.extend_from_slice(&bits.to_le_bytes());
    v.extend_from_slice(b"data");
    v.extend_from_slice(&claimed.to_le_bytes());
    v.extend_from_slice(data);
    v
}

/// 16-bit mono PCM at `rate` with `n` samples of a ramp, header honest.
fn pcm16(rate: u32, n: usize) -> Vec<u8> {
    let data: Vec<u8> = (0..n)
        .flat_map(|i| ((i as i16).wrapping_mul(97)).to_le_bytes())
        .collect();
    wav(1, 1, rate, 16, data.len() as u32, &data)
}

/// 32-bit float mono at 16 kHz holding `samples`.
fn float32(samples: &[f32]) -> Vec<u8> {
    let data: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    wav(3, 1, 16_000, 32, data.len() as u32, &data)
}

fn read(bytes: &[u8]) -> hushword::Result<Vec<f32>> {
    hushword::audio::read_audio_bytes(bytes, Path::new("clip.wav"))
}

/// Passes if reading fails with a message containing `needle`; observed = the message.
fn refused(bytes: &[u8], needle: &str) -> Result<String, String> {
    match read(bytes) {
        Ok(s) => Err(format!("accepted {} samples", s.len())),
        Err(e) => expect(e.to_string().contains(needle), format!("error: {e}")),
    }
}

/// Passes if reading gives exactly `n` finite samples and a note containing `needle`.
fn noted(bytes: &[u8], n: usize, needle: &str) -> Result<String, String> {
    match hushword::audio::load_audio_from(bytes, Path::new("clip.wav")) {
        Ok(a) => {
            let note = a.note.unwrap_or_default();
            expect(
                a.samples.len() == n && note.contains(needle),
                format!("{} samples; note: {note}", a.samples.len()),
            )
        }
        Err(e) => Err(format!("error: {e}")),
    }
}

/// Passes if reading gives exactly `n` finite samples.
fn accepted(bytes: &[u8], n: usize) -> Result<String, String> {
    match read(bytes) {
        Ok(s) => expect(
            s.len() == n && s.iter().all(|v| v.is_finite()),
            format!("{} finite samples at 16 kHz", s.len()),
        ),
        Err(e) => Err(format!("error: {e}")),
    }
}

pub fn cases() -> Vec<Case> {
    const AREA: &str = "audio file";
    vec![
        Case {
            area: AREA,
            input: "empty file (0 bytes)",
            expected: "error: not WAV or FLAC",
            check: || refused(&[], "not a WAV (RIFF) or FLAC file"),
        },
        Case {
            area: AREA,
            input: "text file (`hello world`)",
            expected: "error: not WAV or FLAC",
            check: || refused(b"hello world", "not a WAV (RIFF) or FLAC file"),
        },
        Case {
            area: AREA,
            input: "`RIFF` and nothing else (4 bytes)",
            expected: "error: not a readable WAV",
            check: || refused(b"RIFF", "not a readable WAV file"),
        },
        Case {
            area: AREA,
            input: "header-only WAV (44 bytes, data chunk of 0 bytes)",
            expected: "error: holds no samples",
            check: || refused(&pcm16(16_000, 0), "holds no samples"),
        },
        Case {
            area: AREA,
            input: "WAV with 1 sample",
            expected: "1 sample",
            check: || accepted(&pcm16(16_000, 1), 1),
        },
        Case {
            area: AREA,
            input: "WAV with 399 samples (less than one 400-sample frame)",
            expected: "399 samples",
            check: || accepted(&pcm16(16_000, 399), 399),
        },
        Case {
            area: AREA,
            input: "WAV whose data size is 0 (a streaming writer's placeholder), 500 samples follow",
            expected: "500 samples, read to the end, with a note",
            check: || {
                let mut bytes = pcm16(16_000, 500);
                bytes[40..44].copy_from_slice(&0u32.to_le_bytes());
                noted(&bytes, 500, "read to the end")
            },
        },
        Case {
            area: AREA,
            input: "WAV whose data size is 0xFFFFFFFF (unknown length), 500 samples follow",
            expected: "500 samples, read to the end, with a note",
            check: || {
                let mut bytes = pcm16(16_000, 500);
                bytes[40..44].copy_from_slice(&u32::MAX.to_le_bytes());
                noted(&bytes, 500, "read to the end")
            },
        },
        Case {
            area: AREA,
            input: "truncated WAV: header promises 1000 samples, file holds 500",
            expected: "500 samples, read to the end, with a note giving both sizes",
            check: || {
                let mut bytes = pcm16(16_000, 1000);
                bytes.truncate(44 + 1000);
                noted(&bytes, 500, "promises 2000 bytes of audio data, the file holds 1000")
            },
        },
        Case {
            area: AREA,
            input: "truncated WAV cut mid-sample (odd byte count)",
            expected: "the 3 whole samples, with a note",
            check: || {
                let mut bytes = pcm16(16_000, 10);
                bytes.truncate(44 + 7);
                noted(&bytes, 3, "middle of a sample frame")
            },
        },
        Case {
            area: AREA,
            input: "44-byte WAV whose header claims 4 GiB of samples",
            expected: "error: holds no samples; under 8 MiB allocated (not what the header claims)",
            check: || {
                let bytes = wav(1, 1, 16_000, 16, u32::MAX - 37, &[]);
                let (result, peak) = peak_growth(|| refused(&bytes, "holds no samples"));
                let result = result?;
                expect(peak < 8 << 20, format!("{result}; peak heap growth {} KiB", peak >> 10))
                    .map(|_| format!("{result}; peak heap growth under 8 MiB"))
            },
        },
        Case {
            area: AREA,
            input: "MP3 file (ID3 tag)",
            expected: "error: says how to convert it with ffmpeg",
            check: || refused(b"ID3\x04\0\0\0\0\0\0", "ffmpeg -i in.mp3 -ar 16000 -ac 1 out.wav"),
        },
        Case {
            area: AREA,
            input: "WAV with sample rate 0",
            expected: "error naming the rate",
            check: || refused(&wav(1, 1, 0, 16, 2, &[1, 0]), "0 Hz"),
        },
        Case {
            area: AREA,
            input: "WAV at 2 147 483 629 Hz (found in review: the resampler planned a 2-billion-point FFT)",
            expected: "error: rate outside the supported range",
            check: || refused(&wav(1, 1, 2_147_483_629, 16, 2, &[1, 0]), "outside the supported"),
        },
        Case {
            area: AREA,
            input: "WAV at 999 Hz (below the supported range)",
            expected: "error: rate outside the supported range",
            check: || refused(&wav(1, 1, 999, 16, 2, &[1, 0]), "outside the supported"),
        },
        Case {
            area: AREA,
            input: "WAV at 44 101 Hz (odd rate, 4410 samples)",
            expected: "resampled to round(n * 16000 / rate) = 1600 samples",
            check: || accepted(&pcm16(44_101, 4410), 1600),
        },
        Case {
            area: AREA,
            input: "WAV with 0 channels",
            expected: "error",
            check: || refused(&wav(1, 0, 16_000, 16, 2, &[1, 0]), "clip.wav"),
        },
        Case {
            area: AREA,
            input: "WAV, 12-bit PCM",
            expected: "error: unsupported or unreadable",
            check: || refused(&wav(1, 1, 16_000, 12, 2, &[1, 0]), "clip.wav"),
        },
        Case {
            area: AREA,
            input: "32-bit float WAV holding NaN",
            expected: "error: sample not finite, with its index",
            check: || refused(&float32(&[0.0, f32::NAN]), "sample frame 1 is not finite"),
        },
        Case {
            area: AREA,
            input: "32-bit float WAV holding +inf",
            expected: "error: sample not finite, with its index",
            check: || refused(&float32(&[f32::INFINITY]), "sample frame 0 is not finite"),
        },
        Case {
            area: AREA,
            input: "32-bit float WAV holding -inf",
            expected: "error: sample not finite, with its index",
            check: || refused(&float32(&[0.5, f32::NEG_INFINITY]), "sample frame 1 is not finite"),
        },
        Case {
            area: AREA,
            input: "32-bit float WAV at +-1e30 (finite, absurd)",
            expected: "error: beyond 1e6, not audio",
            check: || refused(&float32(&[0.5, 1e30, -1e30]), "sample frame 1 is 1e30"),
        },
        Case {
            area: AREA,
            input: "fuzz crash (`wav`): 48 kHz float WAV with samples up to 2.4e38; resampling overflowed to inf",
            expected: "error: not audio (was: non-finite samples returned)",
            check: || refused(
                include_bytes!("../fixtures/fuzz/wav_resampler_overflow.wav"),
                "not audio",
            ),
        },
        Case {
            area: AREA,
            input: "fuzz crash (`wav`): 48 kHz float WAV with samples near 1e37; rubato panicked",
            expected: "error: not audio",
            check: || refused(include_bytes!("../fixtures/fuzz/wav_resampler_panic.wav"), "not audio"),
        },
        Case {
            area: AREA,
            input: "`fLaC` followed by garbage",
            expected: "error: not a readable FLAC",
            check: || refused(b"fLaC\x00\x00\x00\x22garbage", "not a readable FLAC file"),
        },
    ]
}
