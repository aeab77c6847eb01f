//! Reading and writing audio files for tools, tests and examples; [`stream_audio`] reads long
//! 16 kHz WAV recordings block by block so memory stays flat.
//!
//! [`read_audio`] returns mono f32 at 16 kHz whatever the file holds, and refuses rather than
//! guesses: a file whose data ends before its header says is reported as truncated (decoders
//! stop quietly at the end of a short file, which would silently shorten evaluation audio),
//! and non-finite float samples are refused here so they never reach the front end.

use crate::{Error, Result};
use rubato::{FftFixedInOut, Resampler};
use std::io::{BufReader, Read};
use std::path::Path;

/// The rate everything is converted to (the only rate the front end accepts).
pub const TARGET_SAMPLE_RATE: u32 = 16_000;

/// Input frames per resampler call; the FFT resampler rounds it up to a whole number of
/// `rate / gcd(rate, 16000)` blocks.
const RESAMPLE_CHUNK: usize = 4096;

/// Lowest and highest file sample rates accepted. Outside this range a header is taken to be
/// corrupt: a rate like 4 294 967 291 Hz (prime) would make the FFT resampler plan a
/// transform of billions of points.
pub const SAMPLE_RATE_RANGE: std::ops::RangeInclusive<u32> = 1_000..=384_000;

/// Largest sample magnitude accepted from a file (full scale is 1). Float files may exceed
/// full scale a little; values near f32::MAX overflow the resampler's FFT (rubato then
/// panics: found by fuzzing `wav`), so anything this far out is refused as not audio.
pub const MAX_SAMPLE_MAGNITUDE: f32 = 1e6;

/// Most samples pre-allocated on the word of a header. A header is untrusted: a 44-byte file
/// may claim 2^32 samples, so buffers start at most this big and grow only with real data.
const MAX_PREALLOCATED_SAMPLES: usize = 1 << 20;

/// Reads a WAV (8/16/24/32-bit int, 32-bit float) or FLAC file as mono f32 at 16 kHz.
///
/// Channels are down-mixed by their mean. Other rates (within [`SAMPLE_RATE_RANGE`]) are
/// converted with rubato's `FftFixedInOut`, a synchronous FFT resampler: the signal is
/// resampled exactly by the ratio `16000 / rate` with an FFT-domain low-pass at the lower
/// Nyquist frequency (no interpolation error, little aliasing), its delay removed and the
/// output trimmed to `round(len * 16000 / rate)` samples. Errors are [`Error::File`] naming
/// the path and the cause: missing/unreadable, not WAV or FLAC, unsupported encoding or
/// rate, truncated, empty, non-finite samples or samples beyond [`MAX_SAMPLE_MAGNITUDE`].
pub fn read_audio(path: &Path) -> Result<Vec<f32>> {
    let file = std::fs::File::open(path).map_err(|e| Error::File {
        path: path.to_path_buf(),
        reason: format!("cannot open: {e}"),
    })?;
    read_audio_from(BufReader::new(file), path)
}

/// [`read_audio`] on bytes already in memory; `source` names them in errors.
///
/// ```
/// use std::path::Path;
/// let err = hushword::audio::read_audio_bytes(b"RIFF", Path::new("clip.wav")).unwrap_err();
/// assert!(err.to_string().starts_with("clip.wav: not a readable WAV file"));
/// ```
pub fn read_audio_bytes(bytes: &[u8], source: &Path) -> Result<Vec<f32>> {
    read_audio_from(bytes, source)
}

/// [`read_audio`] on any reader (a file, a socket, a slice); `source` names it in errors.
/// The format is recognised from the first four bytes, which are then fed back to the decoder,
/// so the reader need not seek.
pub fn read_audio_from(mut reader: impl Read, source: &Path) -> Result<Vec<f32>> {
    let fail = |reason: String| Error::File {
        path: source.to_path_buf(),
        reason,
    };
    let mut magic = [0u8; 4];
    let got = read_up_to(&mut reader, &mut magic).map_err(|e| fail(format!("cannot read: {e}")))?;
    let whole = (&magic[..got]).chain(reader);
    let decoded = match &magic[..got] {
        b"RIFF" => read_wav(whole),
        b"fLaC" => read_flac(whole),
        _ => Err("not a WAV (RIFF) or FLAC file".to_string()),
    }
    .map_err(&fail)?;
    let Decoded { mono, sample_rate } = decoded;
    if !SAMPLE_RATE_RANGE.contains(&sample_rate) {
        return Err(fail(format!(
            "sample rate {sample_rate} Hz is outside the supported {}..={} Hz",
            SAMPLE_RATE_RANGE.start(),
            SAMPLE_RATE_RANGE.end()
        )));
    }
    if mono.is_empty() {
        return Err(fail("the file holds no samples".to_string()));
    }
    check_samples(&mono, 0).map_err(&fail)?;
    if sample_rate == TARGET_SAMPLE_RATE {
        Ok(mono)
    } else {
        let resampled = resample(&mono, sample_rate)
            .map_err(|e| fail(format!("resampling from {sample_rate} Hz failed: {e}")))?;
        // Finite input near f32::MAX overflows the resampler's FFT (found by fuzzing `wav`).
        if resampled.iter().any(|s| !s.is_finite()) {
            let peak = mono.iter().fold(0f32, |m, s| m.max(s.abs()));
            return Err(fail(format!(
                "resampling from {sample_rate} Hz overflowed: samples reach {peak:e} in magnitude"
            )));
        }
        Ok(resampled)
    }
}

/// Streams a file as mono f32 at 16 kHz in blocks of at most `block` samples, calling
/// `on_block` with each, and returns the number of samples streamed.
///
/// A WAV file already at 16 kHz (any channel count, any encoding [`read_audio`] reads) is read
/// block by block, so memory stays flat however long the file is; anything else (FLAC, other
/// rates) is read whole with [`read_audio`] first. The samples and the errors are
/// [`read_audio`]'s, with one difference a stream cannot avoid: a problem found part way (a
/// non-finite sample, a truncated data chunk) is reported after the blocks before it were
/// delivered. An error returned by `on_block` stops the stream and is returned as is.
pub fn stream_audio(
    path: &Path,
    block: usize,
    mut on_block: impl FnMut(&[f32]) -> Result<()>,
) -> Result<u64> {
    let fail = |reason: String| Error::File {
        path: path.to_path_buf(),
        reason,
    };
    let block = block.max(1);
    let file = std::fs::File::open(path).map_err(|e| fail(format!("cannot open: {e}")))?;
    let mut reader = BufReader::new(file);
    let mut magic = [0u8; 4];
    let got = read_up_to(&mut reader, &mut magic).map_err(|e| fail(format!("cannot read: {e}")))?;
    if &magic[..got] == b"RIFF" {
        let wav = hound::WavReader::new((&magic[..got]).chain(reader))
            .map_err(|e| fail(format!("not a readable WAV file: {e}")))?;
        let spec = wav.spec();
        let supported = matches!(
            (spec.sample_format, spec.bits_per_sample),
            (hound::SampleFormat::Float, 32) | (hound::SampleFormat::Int, 8 | 16 | 24 | 32)
        );
        if spec.sample_rate == TARGET_SAMPLE_RATE && spec.channels > 0 && supported {
            return stream_wav(wav, block, &fail, on_block);
        }
    }
    let samples = read_audio(path)?;
    for piece in samples.chunks(block) {
        on_block(piece)?;
    }
    Ok(samples.len() as u64)
}

/// The block-by-block half of [`stream_audio`]: a 16 kHz WAV of a supported encoding.
fn stream_wav<R: Read>(
    mut wav: hound::WavReader<R>,
    block: usize,
    fail: &dyn Fn(String) -> Error,
    mut on_block: impl FnMut(&[f32]) -> Result<()>,
) -> Result<u64> {
    let spec = wav.spec();
    let channels = usize::from(spec.channels);
    let promised = wav.len() as usize;
    let scale = 1.0 / (1u64 << (spec.bits_per_sample.clamp(1, 32) - 1)) as f64;
    let float = spec.sample_format == hound::SampleFormat::Float;
    let mut interleaved: Vec<f32> = Vec::with_capacity(block * channels);
    let mut mono: Vec<f32> = Vec::with_capacity(block);
    let (mut read, mut frames) = (0usize, 0u64);
    loop {
        interleaved.clear();
        while interleaved.len() < block * channels && read < promised {
            let sample = if float {
                wav.samples::<f32>().next()
            } else {
                wav.samples::<i32>()
                    .next()
                    .map(|r| r.map(|v| (f64::from(v) * scale) as f32))
            };
            match sample {
                Some(Ok(v)) => interleaved.push(v),
                Some(Err(e)) => return Err(fail(wav_read_failed(promised, read, &e))),
                None => return Err(fail(wav_short(promised, read))),
            }
            read += 1;
        }
        mono.clear();
        mono.extend(
            interleaved
                .chunks_exact(channels)
                .map(|frame| frame.iter().sum::<f32>() / channels as f32),
        );
        check_samples(&mono, frames).map_err(fail)?;
        if mono.is_empty() {
            break;
        }
        on_block(&mono)?;
        frames += mono.len() as u64;
    }
    if frames == 0 {
        return Err(fail("the file holds no samples".to_string()));
    }
    Ok(frames)
}

/// Writes mono 16-bit PCM, clamping to [-1, 1] (samples are scaled by 32767).
pub fn write_wav_i16(path: &Path, samples: &[f32], sample_rate: u32) -> Result<()> {
    let fail = |e: hound::Error| Error::File {
        path: path.to_path_buf(),
        reason: format!("cannot write WAV: {e}"),
    };
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).map_err(fail)?;
    for &s in samples {
        let value = if s.is_finite() {
            (s.clamp(-1.0, 1.0) * 32767.0).round() as i16
        } else {
            0
        };
        writer.write_sample(value).map_err(fail)?;
    }
    writer.finalize().map_err(fail)
}

/// Mono samples at the file's own rate.
struct Decoded {
    mono: Vec<f32>,
    sample_rate: u32,
}

fn read_wav(reader: impl Read) -> std::result::Result<Decoded, String> {
    let reader =
        hound::WavReader::new(reader).map_err(|e| format!("not a readable WAV file: {e}"))?;
    let spec = reader.spec();
    let channels = usize::from(spec.channels);
    if channels == 0 || spec.sample_rate == 0 {
        return Err(format!(
            "header says {channels} channels at {} Hz",
            spec.sample_rate
        ));
    }
    let promised = reader.len() as usize;
    let interleaved: Vec<f32> = match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Float, 32) => {
            collect_wav(reader.into_samples::<f32>(), promised, |s| s)?
        }
        (hound::SampleFormat::Int, bits @ (8 | 16 | 24 | 32)) => {
            let scale = 1.0 / (1u64 << (bits - 1)) as f64;
            collect_wav(reader.into_samples::<i32>(), promised, |s| {
                (f64::from(s) * scale) as f32
            })?
        }
        (format, bits) => return Err(format!("unsupported WAV encoding: {bits}-bit {format:?}")),
    };
    Ok(Decoded {
        mono: down_mix(&interleaved, channels),
        sample_rate: spec.sample_rate,
    })
}

/// Reads every sample the header promises, reporting a short or broken data chunk.
fn collect_wav<S, R: Read>(
    samples: hound::WavIntoSamples<R, S>,
    promised: usize,
    convert: impl Fn(S) -> f32,
) -> std::result::Result<Vec<f32>, String>
where
    S: hound::Sample,
{
    let mut out = Vec::with_capacity(promised.min(MAX_PREALLOCATED_SAMPLES));
    for sample in samples {
        match sample {
            Ok(s) => out.push(convert(s)),
            Err(e) => return Err(wav_read_failed(promised, out.len(), &e)),
        }
    }
    if out.len() != promised {
        return Err(wav_short(promised, out.len()));
    }
    Ok(out)
}

/// A WAV data chunk that failed part way.
fn wav_read_failed(promised: usize, read: usize, e: &hound::Error) -> String {
    format!("truncated or corrupt: the header promises {promised} samples, reading failed after {read} ({e})")
}

/// A WAV data chunk shorter than its header says.
fn wav_short(promised: usize, read: usize) -> String {
    format!("truncated: the header promises {promised} samples, the file holds {read}")
}

/// Refuses non-finite samples and samples beyond [`MAX_SAMPLE_MAGNITUDE`]; `first` is the
/// frame number of `mono[0]` in the file, so the message points at the right sample.
fn check_samples(mono: &[f32], first: u64) -> std::result::Result<(), String> {
    if let Some(i) = mono.iter().position(|s| !s.is_finite()) {
        return Err(format!(
            "sample frame {} is not finite ({})",
            first + i as u64,
            mono[i]
        ));
    }
    if let Some(i) = mono.iter().position(|s| s.abs() > MAX_SAMPLE_MAGNITUDE) {
        return Err(format!(
            "sample frame {} is {:e}, beyond {MAX_SAMPLE_MAGNITUDE:e}: not audio",
            first + i as u64,
            mono[i]
        ));
    }
    Ok(())
}

fn read_flac(reader: impl Read) -> std::result::Result<Decoded, String> {
    let mut reader =
        claxon::FlacReader::new(reader).map_err(|e| format!("not a readable FLAC file: {e}"))?;
    let info = reader.streaminfo();
    let channels = info.channels as usize;
    let scale = 1.0 / (1u64 << (info.bits_per_sample - 1)) as f64;
    let promised = info.samples.map(|frames| frames as usize * channels);
    let mut interleaved = Vec::with_capacity(promised.unwrap_or(0).min(MAX_PREALLOCATED_SAMPLES));
    for sample in reader.samples() {
        match sample {
            Ok(s) => interleaved.push((f64::from(s) * scale) as f32),
            Err(e) => {
                return Err(format!(
                    "truncated or corrupt FLAC: decoding failed after {} samples ({e})",
                    interleaved.len()
                ))
            }
        }
    }
    if let Some(promised) = promised {
        if interleaved.len() != promised {
            return Err(format!(
                "truncated: the stream info promises {promised} samples, the file holds {}",
                interleaved.len()
            ));
        }
    }
    Ok(Decoded {
        mono: down_mix(&interleaved, channels),
        sample_rate: info.sample_rate,
    })
}

/// Mean of the channels of each frame (a trailing partial frame is dropped).
fn down_mix(interleaved: &[f32], channels: usize) -> Vec<f32> {
    if channels == 1 {
        return interleaved.to_vec();
    }
    interleaved
        .chunks_exact(channels)
        .map(|frame| frame.iter().sum::<f32>() / channels as f32)
        .collect()
}

/// Resamples a whole signal to 16 kHz, compensating the resampler's delay.
fn resample(mono: &[f32], rate: u32) -> std::result::Result<Vec<f32>, String> {
    let mut resampler = FftFixedInOut::<f32>::new(
        rate as usize,
        TARGET_SAMPLE_RATE as usize,
        RESAMPLE_CHUNK,
        1,
    )
    .map_err(|e| e.to_string())?;
    let delay = resampler.output_delay();
    let wanted = ((mono.len() as u64 * u64::from(TARGET_SAMPLE_RATE) + u64::from(rate) / 2)
        / u64::from(rate)) as usize;
    let mut out = Vec::with_capacity(wanted + delay + resampler.output_frames_max());
    let mut position = 0;
    while out.len() < wanted + delay {
        let needed = resampler.input_frames_next();
        let block = if position + needed <= mono.len() {
            let block = resampler.process(&[&mono[position..position + needed]], None);
            position += needed;
            block
        } else if position < mono.len() {
            let block = resampler.process_partial(Some(&[&mono[position..]]), None);
            position = mono.len();
            block
        } else {
            resampler.process_partial::<&[f32]>(None, None)
        }
        .map_err(|e| e.to_string())?;
        out.extend_from_slice(&block[0]);
    }
    out.drain(..delay);
    out.truncate(wanted);
    Ok(out)
}

/// Fills as much of `buf` as the reader has (fewer bytes only at end of file).
fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}
