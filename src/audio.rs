//! Reading and writing audio files for tools, tests and examples, and converting raw PCM streams
//! ([`PcmConverter`], by the same rules as the files); [`stream_audio`] reads long
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
    let scale = int_scale(spec.bits_per_sample);
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
        down_mix_into(&interleaved, channels, &mut mono);
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
            let scale = int_scale(bits);
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
    let scale = int_scale(info.bits_per_sample.min(32) as u16);
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
    let mut mono = Vec::with_capacity(interleaved.len() / channels.max(1));
    down_mix_into(interleaved, channels, &mut mono);
    mono
}

/// [`down_mix`] appending to `mono`: the one down-mix of files and streams alike.
fn down_mix_into(interleaved: &[f32], channels: usize, mono: &mut Vec<f32>) {
    if channels == 1 {
        mono.extend_from_slice(interleaved);
    } else {
        mono.extend(
            interleaved
                .chunks_exact(channels)
                .map(|frame| frame.iter().sum::<f32>() / channels as f32),
        );
    }
}

/// The factor taking a signed integer sample of `bits` bits to [-1, 1): `1 / 2^(bits-1)`.
/// Files (WAV, FLAC) and raw PCM streams are scaled by this one rule.
fn int_scale(bits: u16) -> f64 {
    1.0 / (1u64 << (bits.clamp(1, 32) - 1)) as f64
}

/// Resamples a whole signal to 16 kHz, compensating the resampler's delay.
fn resample(mono: &[f32], rate: u32) -> std::result::Result<Vec<f32>, String> {
    let mut resampler = StreamResampler::new(rate)?;
    let wanted = resampled_len(mono.len() as u64, rate) as usize;
    let mut out = Vec::with_capacity(wanted + resampler.resampler.output_frames_max());
    resampler.push(mono, &mut out)?;
    resampler.finish(&mut out)?;
    Ok(out)
}

/// Samples at 16 kHz that `len` samples at `rate` become: `round(len * 16000 / rate)`.
fn resampled_len(len: u64, rate: u32) -> u64 {
    (len * u64::from(TARGET_SAMPLE_RATE) + u64::from(rate) / 2) / u64::from(rate)
}

/// rubato's `FftFixedInOut` fed any number of samples at a time, its delay removed: the
/// output of any chunking is the output of [`resample`] on the whole signal, because the
/// resampler only ever sees the same fixed blocks (the input is buffered up to a block).
struct StreamResampler {
    resampler: FftFixedInOut<f32>,
    rate: u32,
    /// Input short of a whole block, waiting for more.
    pending: Vec<f32>,
    /// Output samples still to drop at the start (the resampler's delay).
    to_skip: usize,
    /// Input samples pushed so far.
    consumed: u64,
    /// Output samples handed out so far.
    emitted: u64,
}

impl StreamResampler {
    fn new(rate: u32) -> std::result::Result<Self, String> {
        let resampler = FftFixedInOut::<f32>::new(
            rate as usize,
            TARGET_SAMPLE_RATE as usize,
            RESAMPLE_CHUNK,
            1,
        )
        .map_err(|e| e.to_string())?;
        Ok(Self {
            to_skip: resampler.output_delay(),
            pending: Vec::with_capacity(resampler.input_frames_max()),
            resampler,
            rate,
            consumed: 0,
            emitted: 0,
        })
    }

    /// Appends the 16 kHz samples that whole input blocks yield; the rest waits for more.
    fn push(&mut self, mut input: &[f32], out: &mut Vec<f32>) -> std::result::Result<(), String> {
        self.consumed += input.len() as u64;
        let block = self.resampler.input_frames_next();
        if !self.pending.is_empty() {
            let take = (block - self.pending.len()).min(input.len());
            self.pending.extend_from_slice(&input[..take]);
            input = &input[take..];
            if self.pending.len() < block {
                return Ok(());
            }
            let produced = self
                .resampler
                .process(&[&self.pending], None)
                .map_err(|e| e.to_string())?;
            self.pending.clear();
            self.emit(&produced[0], out);
        }
        while input.len() >= block {
            let produced = self
                .resampler
                .process(&[&input[..block]], None)
                .map_err(|e| e.to_string())?;
            input = &input[block..];
            self.emit(&produced[0], out);
        }
        self.pending.extend_from_slice(input);
        Ok(())
    }

    /// Flushes the buffered input (zero-padded) until the output holds
    /// `round(consumed * 16000 / rate)` samples in all, and starts a fresh stream.
    fn finish(&mut self, out: &mut Vec<f32>) -> std::result::Result<(), String> {
        let wanted = resampled_len(self.consumed, self.rate);
        while self.emitted < wanted {
            let produced = if self.pending.is_empty() {
                self.resampler.process_partial::<&[f32]>(None, None)
            } else {
                self.resampler.process_partial(Some(&[&self.pending]), None)
            }
            .map_err(|e| e.to_string())?;
            self.pending.clear();
            self.emit(&produced[0], out);
        }
        let excess = (self.emitted - wanted) as usize;
        out.truncate(out.len() - excess);
        self.resampler.reset();
        self.to_skip = self.resampler.output_delay();
        (self.consumed, self.emitted) = (0, 0);
        Ok(())
    }

    fn emit(&mut self, produced: &[f32], out: &mut Vec<f32>) {
        let skip = self.to_skip.min(produced.len());
        self.to_skip -= skip;
        out.extend_from_slice(&produced[skip..]);
        self.emitted += (produced.len() - skip) as u64;
    }
}

/// The encoding of raw interleaved little-endian signed-integer PCM, as a stream (the
/// Wyoming protocol's `rate`, `width`, `channels`) describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PcmFormat {
    /// Frames per second.
    pub rate: u32,
    /// Bytes per sample: 1 (signed 8-bit), 2, 3 or 4.
    pub width: u16,
    /// Interleaved channels per frame.
    pub channels: u16,
}

/// Most channels a PCM stream may declare (a frame must fit the converter's small carry).
pub const MAX_PCM_CHANNELS: u16 = 64;

/// Converts raw PCM chunks of any [`PcmFormat`] to mono f32 at 16 kHz, chunk by chunk, by
/// the file reader's rules: integers scaled by `1 / 2^(bits-1)`, channels down-mixed by
/// their mean, other rates resampled by the same FFT resampler with its delay removed, so
/// that a stream converted in any chunking equals [`read_audio`] of the same samples in a
/// WAV file. A frame split between chunks is carried over.
pub struct PcmConverter {
    format: PcmFormat,
    /// The bytes of a frame split between two chunks.
    carry: Vec<u8>,
    interleaved: Vec<f32>,
    mono: Vec<f32>,
    /// None at 16 kHz.
    resampler: Option<StreamResampler>,
}

impl std::fmt::Debug for PcmConverter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PcmConverter")
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

impl PcmConverter {
    /// A converter for `format`; [`Error::Audio`] if the rate is outside
    /// [`SAMPLE_RATE_RANGE`], the width is not 1 to 4 bytes or the channels not
    /// 1..=[`MAX_PCM_CHANNELS`].
    pub fn new(format: PcmFormat) -> Result<Self> {
        let PcmFormat {
            rate,
            width,
            channels,
        } = format;
        let bad = |what: String| Err(Error::Audio(what));
        if !SAMPLE_RATE_RANGE.contains(&rate) {
            return bad(format!(
                "rate {rate} Hz is outside the supported {}..={} Hz",
                SAMPLE_RATE_RANGE.start(),
                SAMPLE_RATE_RANGE.end()
            ));
        }
        if !(1..=4).contains(&width) {
            return bad(format!("width {width} bytes is not 1, 2, 3 or 4"));
        }
        if !(1..=MAX_PCM_CHANNELS).contains(&channels) {
            return bad(format!(
                "{channels} channels is outside 1..={MAX_PCM_CHANNELS}"
            ));
        }
        let resampler = if rate == TARGET_SAMPLE_RATE {
            None
        } else {
            Some(
                StreamResampler::new(rate)
                    .map_err(|e| Error::Audio(format!("cannot resample from {rate} Hz: {e}")))?,
            )
        };
        Ok(Self {
            format,
            carry: Vec::with_capacity(usize::from(width) * usize::from(channels)),
            interleaved: Vec::new(),
            mono: Vec::new(),
            resampler,
        })
    }

    /// The format this converter reads.
    pub fn format(&self) -> PcmFormat {
        self.format
    }

    /// Appends the 16 kHz mono samples `bytes` complete (a resampled stream lags by up to
    /// one resampler block until [`Self::finish`]).
    pub fn push(&mut self, mut bytes: &[u8], out: &mut Vec<f32>) -> Result<()> {
        let width = usize::from(self.format.width);
        let frame = width * usize::from(self.format.channels);
        self.interleaved.clear();
        if !self.carry.is_empty() {
            let take = (frame - self.carry.len()).min(bytes.len());
            self.carry.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.carry.len() < frame {
                return Ok(());
            }
            decode_pcm(&self.carry, width, &mut self.interleaved);
            self.carry.clear();
        }
        let whole = bytes.len() / frame * frame;
        decode_pcm(&bytes[..whole], width, &mut self.interleaved);
        self.carry.extend_from_slice(&bytes[whole..]);
        self.convert(out)
    }

    /// Ends the stream: appends what the resampler still holds, drops a trailing partial
    /// frame, and leaves the converter ready for a new stream of the same format.
    pub fn finish(&mut self, out: &mut Vec<f32>) -> Result<()> {
        self.carry.clear();
        match &mut self.resampler {
            Some(r) => r.finish(out).map_err(|e| resample_error(self.format, e)),
            None => Ok(()),
        }
    }

    fn convert(&mut self, out: &mut Vec<f32>) -> Result<()> {
        let channels = usize::from(self.format.channels);
        match &mut self.resampler {
            None => down_mix_into(&self.interleaved, channels, out),
            Some(r) => {
                self.mono.clear();
                down_mix_into(&self.interleaved, channels, &mut self.mono);
                r.push(&self.mono, out)
                    .map_err(|e| resample_error(self.format, e))?;
            }
        }
        Ok(())
    }
}

fn resample_error(format: PcmFormat, e: String) -> Error {
    Error::Audio(format!("resampling from {} Hz failed: {e}", format.rate))
}

/// Appends little-endian signed samples of `width` bytes, scaled by [`int_scale`].
fn decode_pcm(bytes: &[u8], width: usize, out: &mut Vec<f32>) {
    let scale = int_scale(width as u16 * 8);
    out.extend(bytes.chunks_exact(width).map(|s| {
        // Sign-extend by placing the sample in the top bytes of an i32.
        let mut word = [0u8; 4];
        word[4 - width..].copy_from_slice(s);
        let value = i32::from_le_bytes(word) >> (8 * (4 - width));
        (f64::from(value) * scale) as f32
    }));
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
