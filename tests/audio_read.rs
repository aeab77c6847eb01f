//! read_audio: every supported encoding decodes to the right values, and every kind of bad
//! file is refused with an error that names it.

#[path = "fixtures/test_data.rs"]
mod test_data;

use hound::{SampleFormat, WavSpec, WavWriter};
use hushword::audio::{load_audio, read_audio, stream_audio, write_wav_i16};
use hushword::Error;
use std::path::{Path, PathBuf};

/// A short signal whose values every encoding represents closely.
fn signal(n: usize) -> Vec<f32> {
    (0..n).map(|i| 0.8 * ((i as f32) * 0.05).sin()).collect()
}

fn write_int(path: &Path, bits: u16, channels: &[Vec<f32>], rate: u32) {
    let spec = WavSpec {
        channels: channels.len() as u16,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: SampleFormat::Int,
    };
    let mut w = WavWriter::create(path, spec).unwrap();
    // Full scale is 2^(bits-1), as the reader divides by it; clamp the positive end.
    let scale = (1i64 << (bits - 1)) as f64;
    for i in 0..channels[0].len() {
        for ch in channels {
            let v = (f64::from(ch[i]) * scale).round().min(scale - 1.0) as i32;
            match bits {
                8 => w.write_sample(v as i8).unwrap(),
                16 => w.write_sample(v as i16).unwrap(),
                _ => w.write_sample(v).unwrap(),
            }
        }
    }
    w.finalize().unwrap();
}

fn write_float(path: &Path, samples: &[f32], rate: u32) {
    let spec = WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 32,
        sample_format: SampleFormat::Float,
    };
    let mut w = WavWriter::create(path, spec).unwrap();
    samples.iter().for_each(|&s| w.write_sample(s).unwrap());
    w.finalize().unwrap();
}

fn max_error(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// The reason of an `Error::File` for `path`, checking the path is the one named.
fn file_error(path: &Path) -> String {
    match read_audio(path) {
        Err(Error::File {
            path: named,
            reason,
        }) => {
            assert_eq!(named, path);
            reason
        }
        other => panic!("{}: expected a file error, got {other:?}", path.display()),
    }
}

#[test]
fn integer_wavs_of_every_width_decode() {
    let dir = tempfile::tempdir().unwrap();
    let x = signal(1000);
    for (bits, tolerance) in [
        (8u16, 0.5 / 128.0 + 1e-6),
        (16, 0.5 / 32768.0 + 1e-7),
        (24, 2e-7),
        (32, 1e-7),
    ] {
        let path = dir.path().join(format!("int{bits}.wav"));
        write_int(&path, bits, std::slice::from_ref(&x), 16_000);
        let y = read_audio(&path).unwrap();
        let err = max_error(&x, &y);
        assert!(err < tolerance, "{bits}-bit: error {err}");
    }
}

#[test]
fn float_wav_decodes_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f32.wav");
    let x = signal(1234);
    write_float(&path, &x, 16_000);
    assert_eq!(read_audio(&path).unwrap(), x);
}

#[test]
fn stereo_is_down_mixed_by_mean() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stereo.wav");
    let left = signal(500);
    let right: Vec<f32> = left.iter().map(|v| 0.2 - v).collect();
    write_int(&path, 16, &[left, right], 16_000);
    let y = read_audio(&path).unwrap();
    assert_eq!(y.len(), 500);
    assert!(y.iter().all(|v| (v - 0.1).abs() < 1e-4), "{:?}", &y[..4]);
}

#[test]
fn other_rates_are_resampled_keeping_length_and_pitch() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("44k.wav");
    let rate = 44_100;
    let seconds = 1.5;
    let n = (rate as f64 * seconds) as usize;
    let tone: Vec<f32> = (0..n)
        .map(|i| 0.5 * (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / rate as f64).sin() as f32)
        .collect();
    write_float(&path, &tone, rate);
    let y = read_audio(&path).unwrap();
    assert_eq!(y.len(), 24_000);
    // Frequency from upward zero crossings in the steady middle second: 1000 per second.
    let middle = &y[4000..20_000];
    let crossings = middle
        .windows(2)
        .filter(|w| w[0] < 0.0 && w[1] >= 0.0)
        .count();
    assert!((999..=1001).contains(&crossings), "{crossings}");
    // Amplitude kept (the low-pass is far above 1 kHz) and no delay: phase matches the
    // ideal 16 kHz tone.
    let ideal: Vec<f32> = (0..y.len())
        .map(|i| 0.5 * (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / 16_000.0).sin() as f32)
        .collect();
    let err = max_error(&y[2000..22_000], &ideal[2000..22_000]);
    assert!(err < 0.01, "resampled tone differs from the ideal by {err}");
}

#[test]
fn missing_file_is_named() {
    let path = PathBuf::from("/nonexistent/dir/missing.wav");
    assert!(file_error(&path).contains("cannot open"));
}

#[test]
fn not_a_wav_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.wav");
    std::fs::write(&path, "just some text, not audio").unwrap();
    assert!(file_error(&path).contains("not a WAV"));
    let path = dir.path().join("tiny.wav");
    std::fs::write(&path, "RI").unwrap();
    assert!(file_error(&path).contains("not a WAV"));
    let path = dir.path().join("riff_junk.wav");
    std::fs::write(&path, "RIFF1234AVI LIST").unwrap();
    assert!(file_error(&path).contains("not a readable WAV"));
}

/// Sets the WAV data chunk's size field of the file at `path` to `size`.
fn set_data_size(path: &Path, size: u32) {
    let mut bytes = std::fs::read(path).unwrap();
    let at = bytes.windows(4).position(|w| w == b"data").unwrap() + 4;
    bytes[at..at + 4].copy_from_slice(&size.to_le_bytes());
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn wav_data_sizes_left_by_streaming_writers_mean_read_to_the_end() {
    let dir = tempfile::tempdir().unwrap();
    for (bits, float) in [(16u16, false), (24, false), (32, true)] {
        let path = dir.path().join(format!("w{bits}.wav"));
        let write = |path: &Path| {
            if float {
                write_float(path, &signal(1000), 16_000);
            } else {
                write_int(path, bits, &[signal(1000)], 16_000);
            }
        };
        write(&path);
        let honest = load_audio(&path).unwrap();
        assert_eq!(honest.note, None);
        assert_eq!(honest.samples.len(), 1000);
        for (size, says) in [
            (0u32, "data size as 0 "),
            (u32::MAX, "0xFFFFFFFF"),
            (10_000_000, "promises 10000000 bytes"),
        ] {
            write(&path);
            set_data_size(&path, size);
            let read = load_audio(&path).unwrap();
            assert_eq!(read.samples, honest.samples, "{bits}-bit, size {size}");
            let note = read.note.unwrap_or_default();
            assert!(
                note.contains(says) && note.contains("read to the end"),
                "{note}"
            );
            // The streaming reader gives the same samples and note.
            let mut streamed = Vec::new();
            let info = stream_audio(&path, 160, |b| {
                streamed.extend_from_slice(b);
                Ok(())
            })
            .unwrap();
            assert_eq!(streamed, honest.samples);
            assert_eq!(info.note.as_deref(), Some(note.as_str()));
        }
        // A file cut short (also mid-sample) is read to its end, with a note saying so.
        write(&path);
        let bytes = std::fs::read(&path).unwrap();
        let frame = usize::from(bits / 8);
        let data_start = bytes.windows(4).position(|w| w == b"data").unwrap() + 8;
        for cut in [(bytes.len() - data_start) / 3 / frame * frame, 1] {
            std::fs::write(&path, &bytes[..bytes.len() - cut]).unwrap();
            let read = load_audio(&path).unwrap();
            let kept = (bytes.len() - cut - data_start) / frame;
            assert_eq!(
                read.samples[..],
                honest.samples[..kept],
                "{bits}-bit cut {cut}"
            );
            let note = read.note.unwrap_or_default();
            assert!(note.contains("read to the end"), "{note}");
            if cut == 1 {
                assert!(note.contains("middle of a sample frame"), "{note}");
            }
        }
    }
}

#[test]
fn mp3_and_ogg_errors_say_how_to_convert() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes, kind) in [
        ("song.mp3", &b"ID3\x04\0\0\0\0\0\0"[..], "MP3"),
        ("frame.mp3", &[0xFF, 0xFB, 0x90, 0x64][..], "MP3"),
        ("talk.ogg", &b"OggS\0\x02"[..], "Ogg"),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let reason = file_error(&path);
        assert!(reason.contains(kind), "{reason}");
        assert!(reason.contains("ffmpeg -i in."), "{reason}");
        assert!(reason.contains("-ar 16000 -ac 1 out.wav"), "{reason}");
    }
}

#[test]
fn empty_wav_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.wav");
    write_float(&path, &[], 16_000);
    assert!(file_error(&path).contains("no samples"));
}

#[test]
fn non_finite_samples_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bad) in [("nan.wav", f32::NAN), ("inf.wav", f32::INFINITY)] {
        let path = dir.path().join(name);
        let mut x = signal(100);
        x[42] = bad;
        write_float(&path, &x, 16_000);
        let reason = file_error(&path);
        assert!(
            reason.contains("not finite") && reason.contains("42"),
            "{reason}"
        );
    }
}

#[test]
fn written_wav_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.wav");
    let x = signal(800);
    write_wav_i16(&path, &x, 16_000).unwrap();
    let y = read_audio(&path).unwrap();
    assert!(max_error(&x, &y) < 1e-4);
    assert!(matches!(
        write_wav_i16(Path::new("/nonexistent/dir/out.wav"), &x, 16_000),
        Err(Error::File { .. })
    ));
}

/// A real FLAC committed with the repository (LibriSpeech, 16 kHz mono; tests/data/README.md).
fn real_flac() -> PathBuf {
    test_data::committed("speech/librispeech-test-other/1688/1688-142285-0007.flac")
}

#[test]
fn flac_decodes_and_truncated_flac_is_refused() {
    let path = real_flac();
    let y = read_audio(&path).unwrap();
    let info = claxon::FlacReader::open(&path).unwrap().streaminfo();
    assert_eq!(info.sample_rate, 16_000);
    assert_eq!(y.len() as u64, info.samples.unwrap());
    assert!(y.iter().all(|v| (-1.0..1.0).contains(v)));
    assert!(y.iter().any(|v| v.abs() > 0.01), "speech is not silent");

    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.flac");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let reason = file_error(&cut);
    assert!(reason.contains("truncated"), "{reason}");
}

/// Every FLAC of the shared LibriSpeech excerpt decodes whole, to its declared length.
#[test]
fn every_shared_flac_decodes_to_its_declared_length() {
    let Some(data) = test_data::shared("audio_read: the shared LibriSpeech FLACs") else {
        return;
    };
    let files = test_data::audio_files(&data.join("speech/librispeech-test-other"));
    assert!(files.len() >= 100, "{} FLACs", files.len());
    for path in files {
        let y = read_audio(&path).unwrap_or_else(|e| panic!("{e}"));
        let info = claxon::FlacReader::open(&path).unwrap().streaminfo();
        assert_eq!(y.len() as u64, info.samples.unwrap(), "{}", path.display());
        assert!(
            y.iter().any(|v| v.abs() > 0.01),
            "{} is silent",
            path.display()
        );
    }
}

/// Every block `stream_audio` delivers, concatenated, or its error text.
fn streamed(path: &Path, block: usize) -> Result<Vec<f32>, String> {
    let mut out = Vec::new();
    let mut sizes = Vec::new();
    let info = stream_audio(path, block, |b| {
        sizes.push(b.len());
        out.extend_from_slice(b);
        Ok(())
    })
    .map_err(|e| e.to_string())?;
    assert_eq!(info.samples as usize, out.len());
    assert!(sizes.iter().all(|&s| s > 0 && s <= block), "{sizes:?}");
    Ok(out)
}

#[test]
fn streaming_a_file_gives_read_audio_samples_in_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let x = signal(40_003);
    let y: Vec<f32> = x.iter().map(|v| -0.5 * v).collect();
    let cases = [
        ("stereo16.wav", 16_000u32, true),
        ("mono24.wav", 16_000, false),
        ("float.wav", 16_000, false),
        ("stereo44k.wav", 44_100, true), // another rate: resampled block by block
        ("mono8k.wav", 8_000, false),
    ];
    for (name, rate, stereo) in cases {
        let path = dir.path().join(name);
        match name {
            "float.wav" => write_float(&path, &x, rate),
            "mono24.wav" | "mono8k.wav" => write_int(&path, 24, std::slice::from_ref(&x), rate),
            _ if stereo => write_int(&path, 16, &[x.clone(), y.clone()], rate),
            _ => unreachable!(),
        }
        let whole = read_audio(&path).unwrap();
        for block in [1, 160, 16_000, 100_000] {
            assert_eq!(
                streamed(&path, block).unwrap(),
                whole,
                "{name} in blocks of {block}"
            );
        }
    }
}

#[test]
fn streaming_reports_bad_samples_by_file() {
    let dir = tempfile::tempdir().unwrap();

    let nan = dir.path().join("nan.wav");
    let mut x = signal(20_000);
    x[17_001] = f32::NAN;
    write_float(&nan, &x, 16_000);
    let e = streamed(&nan, 4_000).unwrap_err();
    assert!(
        e.contains("nan.wav") && e.contains("sample frame 17001 is not finite"),
        "{e}"
    );

    let empty = dir.path().join("empty.wav");
    write_float(&empty, &[], 16_000);
    let e = streamed(&empty, 160).unwrap_err();
    assert!(e.contains("holds no samples"), "{e}");
    let e = streamed(&dir.path().join("missing.wav"), 160).unwrap_err();
    assert!(
        e.contains("missing.wav") && e.contains("cannot open"),
        "{e}"
    );
}

/// Raw little-endian PCM bytes of `channels` (interleaved), `bits` wide, as `write_int` scales.
fn pcm_bytes(bits: u16, channels: &[Vec<f32>]) -> Vec<u8> {
    let scale = (1i64 << (bits - 1)) as f64;
    let width = usize::from(bits / 8);
    let mut out = Vec::new();
    for i in 0..channels[0].len() {
        for ch in channels {
            let v = (f64::from(ch[i]) * scale).round().min(scale - 1.0) as i32;
            out.extend_from_slice(&v.to_le_bytes()[..width]);
        }
    }
    out
}

/// A PCM stream converted in uneven chunks (frames split between chunks) equals `read_audio`
/// of the same samples in a WAV file, for every width, channel count and rate: the Wyoming
/// server and the file reader convert by the same code.
#[test]
fn pcm_streams_convert_exactly_as_files_read() {
    use hushword::audio::{PcmConverter, PcmFormat};
    let dir = tempfile::tempdir().unwrap();
    for (bits, rate, n_channels) in [
        (16, 16_000, 1),
        (8, 16_000, 2),
        (24, 48_000, 2),
        (32, 44_100, 1),
        (16, 22_050, 3),
    ] {
        let channels: Vec<Vec<f32>> = (0..n_channels)
            .map(|c| {
                signal(30_000)
                    .iter()
                    .map(|s| s * (1.0 - 0.3 * c as f32))
                    .collect()
            })
            .collect();
        let path = dir.path().join(format!("{bits}_{rate}_{n_channels}.wav"));
        write_int(&path, bits, &channels, rate);
        let from_file = read_audio(&path).unwrap();

        let bytes = pcm_bytes(bits, &channels);
        let format = PcmFormat {
            rate,
            width: bits / 8,
            channels: n_channels as u16,
        };
        let mut converter = PcmConverter::new(format).unwrap();
        let mut streamed = Vec::new();
        let mut rest = &bytes[..];
        for size in [1, 7, 1000, 3, 4099].iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (chunk, tail) = rest.split_at((*size).min(rest.len()));
            converter.push(chunk, &mut streamed).unwrap();
            rest = tail;
        }
        converter.finish(&mut streamed).unwrap();
        assert_eq!(streamed, from_file, "{bits}-bit {rate} Hz x{n_channels}");

        // The converter is reusable: a second stream gives the same samples again.
        let mut again = Vec::new();
        converter.push(&bytes, &mut again).unwrap();
        converter.finish(&mut again).unwrap();
        assert_eq!(again, from_file, "second stream, {bits}-bit {rate} Hz");
    }
}

#[test]
fn pcm_formats_out_of_range_are_refused_by_name() {
    use hushword::audio::{PcmConverter, PcmFormat};
    let format = |rate, width, channels| PcmFormat {
        rate,
        width,
        channels,
    };
    for (f, needle) in [
        (format(0, 2, 1), "rate 0 Hz"),
        (format(16_000, 5, 1), "width 5"),
        (format(16_000, 0, 1), "width 0"),
        (format(16_000, 2, 0), "0 channels"),
        (format(16_000, 2, 65), "65 channels"),
    ] {
        let e = PcmConverter::new(f).unwrap_err().to_string();
        assert!(e.contains(needle), "{e}");
    }
}
