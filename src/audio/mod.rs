//! Reading and writing audio files for tools, tests and examples, and converting raw PCM
//! streams ([`PcmConverter`], by the same code as the files).
//!
//! [`AudioReader`] is the one decoder behind every reader here: it recognises WAV and FLAC by
//! their first bytes (so it works on pipes, which cannot seek), and delivers mono f32 at
//! 16 kHz block by block, down-mixing channels by their mean and resampling other rates, so
//! memory stays flat however long the input is. [`read_audio`], [`load_audio`] and
//! [`stream_audio`] are built on it; `detect`, `listen`, `eval`, `bench` and `features` all use
//! one of them, so every tool reads a file the same way.
//!
//! It refuses rather than guesses on what cannot be audio (non-finite float samples, absurd
//! magnitudes, rates outside [`SAMPLE_RATE_RANGE`]), but reads around what streaming writers
//! leave behind: a WAV data size of 0, of 0xFFFFFFFF, or larger than what follows means "read
//! to the end", and the reader says so in a note ([`AudioReader::note`], [`Audio::note`],
//! [`StreamInfo::note`]) for the tool to show, since the library never prints.

mod pcm;
mod resample;
mod wav;

pub use pcm::{PcmConverter, PcmFormat, MAX_PCM_CHANNELS};

use crate::{Error, Result};
use resample::StreamResampler;
use std::io::{Chain, Cursor, Read};
use std::path::{Path, PathBuf};
use wav::WavDecoder;

/// The rate everything is converted to (the only rate the front end accepts).
pub const TARGET_SAMPLE_RATE: u32 = 16_000;

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

/// A whole file's samples (mono, 16 kHz) and what the reader noted about the file.
#[derive(Debug, Clone, PartialEq)]
pub struct Audio {
    pub samples: Vec<f32>,
    /// A header problem read around; see the module doc.
    pub note: Option<String>,
}

/// What [`stream_audio`] delivered.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamInfo {
    /// Samples at 16 kHz.
    pub samples: u64,
    /// A header problem read around; see the module doc.
    pub note: Option<String>,
}

/// The input with its first bytes (read to recognise the format) put back in front.
type Input<R> = Chain<Cursor<Vec<u8>>, R>;

enum Decoder<R: Read> {
    Wav(WavDecoder<Input<R>>),
    Flac(FlacDecoder<Input<R>>),
}

impl<R: Read> Decoder<R> {
    fn is_float(&self) -> bool {
        match self {
            Self::Wav(d) => d.is_float(),
            Self::Flac(_) => false,
        }
    }

    fn read_mono(&mut self, out: &mut Vec<f32>) -> std::result::Result<usize, String> {
        match self {
            Self::Wav(d) => d.read_mono(out),
            Self::Flac(d) => d.read_mono(out),
        }
    }
}

/// A WAV or FLAC stream read as mono f32 at 16 kHz, block by block (see the module doc).
///
/// ```
/// use hushword::audio::AudioReader;
/// use std::path::Path;
/// // 16-bit mono WAV at 8 kHz, 4 samples, written by hand.
/// let mut wav = b"RIFF\x2c\0\0\0WAVEfmt \x10\0\0\0\x01\0\x01\0\x40\x1f\0\0\x80\x3e\0\0\x02\0\x10\0data\x08\0\0\0".to_vec();
/// wav.extend([0u8, 64, 0, 64, 0, 64, 0, 64]);
/// let mut reader = AudioReader::new(&wav[..], Path::new("clip.wav"))?;
/// assert_eq!((reader.source_rate(), reader.source_channels()), (8000, 1));
/// let mut all = Vec::new();
/// while let Some(block) = reader.next_block(1024)? {
///     all.extend_from_slice(block);
/// }
/// assert_eq!(all.len(), 8); // resampled to 16 kHz
/// # Ok::<(), hushword::Error>(())
/// ```
pub struct AudioReader<R: Read> {
    source: PathBuf,
    decoder: Decoder<R>,
    source_rate: u32,
    source_channels: usize,
    resampler: Option<StreamResampler>,
    /// Mono at the source rate, as decoded.
    decoded: Vec<f32>,
    /// Mono at 16 kHz, ready to hand out from `cursor` on.
    ready: Vec<f32>,
    cursor: usize,
    /// Source frames checked so far (for the frame number in a sample error).
    frames_in: u64,
    /// Largest source magnitude so far (for the resampler overflow message).
    peak: f32,
    ended: bool,
}

impl std::fmt::Debug for AudioReader<std::fs::File> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioReader")
            .field("source", &self.source)
            .field("source_rate", &self.source_rate)
            .finish_non_exhaustive()
    }
}

impl AudioReader<std::fs::File> {
    /// Opens a WAV or FLAC file.
    pub fn open(path: &Path) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| Error::File {
            path: path.to_path_buf(),
            reason: format!("cannot open: {e}"),
        })?;
        Self::new(file, path)
    }
}

impl<R: Read> AudioReader<R> {
    /// Reads the header of a WAV or FLAC stream; `source` names it in errors. The reader
    /// need not seek. Errors name the source and the cause: unreadable, not WAV or FLAC (with
    /// how to convert MP3, Ogg and other formats), unsupported encoding or rate.
    pub fn new(mut reader: R, source: &Path) -> Result<Self> {
        let fail = |reason: String| Error::File {
            path: source.to_path_buf(),
            reason,
        };
        let mut magic = [0u8; 4];
        let got =
            read_up_to(&mut reader, &mut magic).map_err(|e| fail(format!("cannot read: {e}")))?;
        let magic = &magic[..got];
        let input = Cursor::new(magic.to_vec()).chain(reader);
        let (decoder, rate, channels) = match magic {
            b"RIFF" => {
                let d = WavDecoder::new(input).map_err(&fail)?;
                let (rate, channels) = (d.sample_rate, d.channels);
                (Decoder::Wav(d), rate, channels)
            }
            b"fLaC" => {
                let d = FlacDecoder::new(input).map_err(&fail)?;
                let (rate, channels) = (d.sample_rate, d.channels);
                (Decoder::Flac(d), rate, channels)
            }
            _ => return Err(fail(unknown_format(magic))),
        };
        if !SAMPLE_RATE_RANGE.contains(&rate) {
            return Err(fail(format!(
                "sample rate {rate} Hz is outside the supported {}..={} Hz",
                SAMPLE_RATE_RANGE.start(),
                SAMPLE_RATE_RANGE.end()
            )));
        }
        let resampler = if rate == TARGET_SAMPLE_RATE {
            None
        } else {
            Some(
                StreamResampler::new(rate)
                    .map_err(|e| fail(format!("cannot resample from {rate} Hz: {e}")))?,
            )
        };
        Ok(Self {
            source: source.to_path_buf(),
            decoder,
            source_rate: rate,
            source_channels: channels,
            resampler,
            decoded: Vec::new(),
            ready: Vec::new(),
            cursor: 0,
            frames_in: 0,
            peak: 0.0,
            ended: false,
        })
    }

    /// The input's own sample rate, before conversion to 16 kHz.
    pub fn source_rate(&self) -> u32 {
        self.source_rate
    }

    /// The input's channel count, before down-mixing.
    pub fn source_channels(&self) -> usize {
        self.source_channels
    }

    /// Anything worth telling the user that did not stop the input being read (a WAV data
    /// size read around); final once [`Self::next_block`] has returned `None`.
    pub fn note(&self) -> Option<&str> {
        match &self.decoder {
            Decoder::Wav(d) => d.note(),
            Decoder::Flac(_) => None,
        }
    }

    /// The next at most `max` samples (mono, 16 kHz), or `None` at the end. An input with no
    /// samples at all is an error; so is a non-finite sample or one beyond
    /// [`MAX_SAMPLE_MAGNITUDE`] (reported with its frame number, after the blocks before it).
    pub fn next_block(&mut self, max: usize) -> Result<Option<&[f32]>> {
        while self.cursor >= self.ready.len() {
            if self.ended {
                return Ok(None);
            }
            self.refill().map_err(|reason| Error::File {
                path: self.source.clone(),
                reason,
            })?;
        }
        let start = self.cursor;
        let end = self.ready.len().min(start + max.max(1));
        self.cursor = end;
        Ok(Some(&self.ready[start..end]))
    }

    /// Fills `out` from the front; returns how many samples (0 at the end).
    pub fn read(&mut self, out: &mut [f32]) -> Result<usize> {
        match self.next_block(out.len())? {
            Some(block) => {
                out[..block.len()].copy_from_slice(block);
                Ok(block.len())
            }
            None => Ok(0),
        }
    }

    /// Decodes the next block into `ready` (possibly nothing, while the resampler fills).
    fn refill(&mut self) -> std::result::Result<(), String> {
        self.ready.clear();
        self.cursor = 0;
        self.decoded.clear();
        let n = self.decoder.read_mono(&mut self.decoded)?;
        if n == 0 {
            self.ended = true;
            if self.frames_in == 0 {
                return Err("the file holds no samples".to_string());
            }
            if let Some(r) = &mut self.resampler {
                r.finish(&mut self.ready)
                    .map_err(|e| format!("resampling from {} Hz failed: {e}", self.source_rate))?;
            }
        } else {
            // Integer samples are always finite and within full scale.
            if self.decoder.is_float() {
                check_samples(&self.decoded, self.frames_in)?;
            }
            self.frames_in += n as u64;
            match &mut self.resampler {
                None => std::mem::swap(&mut self.decoded, &mut self.ready),
                Some(r) => {
                    self.peak = self.decoded.iter().fold(self.peak, |m, s| m.max(s.abs()));
                    r.push(&self.decoded, &mut self.ready).map_err(|e| {
                        format!("resampling from {} Hz failed: {e}", self.source_rate)
                    })?;
                }
            }
        }
        // Finite input near f32::MAX overflows the resampler's FFT (found by fuzzing `wav`).
        if self.resampler.is_some() && self.ready.iter().any(|s| !s.is_finite()) {
            return Err(format!(
                "resampling from {} Hz overflowed: samples reach {:e} in magnitude",
                self.source_rate, self.peak
            ));
        }
        Ok(())
    }
}

/// The error for input that is neither WAV nor FLAC, saying how to convert what it looks like.
fn unknown_format(magic: &[u8]) -> String {
    let convert =
        |ext: &str| format!("convert it with `ffmpeg -i in.{ext} -ar 16000 -ac 1 out.wav`");
    match magic {
        [b'I', b'D', b'3', ..] => format!(
            "an MP3 file: hushword reads WAV and FLAC; {}",
            convert("mp3")
        ),
        [0xFF, b, ..] if b & 0xE0 == 0xE0 => {
            format!(
                "an MP3 file: hushword reads WAV and FLAC; {}",
                convert("mp3")
            )
        }
        b"OggS" => format!(
            "an Ogg (Vorbis/Opus) file: hushword reads WAV and FLAC; {}",
            convert("ogg")
        ),
        _ => format!("not a WAV (RIFF) or FLAC file; {}", convert("ext")),
    }
}

/// Reads a WAV (8/16/24/32-bit int, 32-bit float; WAVE_FORMAT_EXTENSIBLE too) or FLAC file as
/// mono f32 at 16 kHz. Notes about the file are dropped: tools that show them use
/// [`load_audio`].
///
/// Channels are down-mixed by their mean. Other rates (within [`SAMPLE_RATE_RANGE`]) are
/// converted with rubato's `FftFixedInOut`, a synchronous FFT resampler: the signal is
/// resampled exactly by the ratio `16000 / rate` with an FFT-domain low-pass at the lower
/// Nyquist frequency (no interpolation error, little aliasing), its delay removed and the
/// output trimmed to `round(len * 16000 / rate)` samples. Errors are [`Error::File`] naming
/// the path and the cause: missing/unreadable, not WAV or FLAC, unsupported encoding or
/// rate, a corrupt FLAC, empty, non-finite samples or samples beyond [`MAX_SAMPLE_MAGNITUDE`].
pub fn read_audio(path: &Path) -> Result<Vec<f32>> {
    load_audio(path).map(|a| a.samples)
}

/// [`read_audio`] with the reader's note about the file.
pub fn load_audio(path: &Path) -> Result<Audio> {
    collect(AudioReader::open(path)?)
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
pub fn read_audio_from(reader: impl Read, source: &Path) -> Result<Vec<f32>> {
    load_audio_from(reader, source).map(|a| a.samples)
}

/// [`load_audio`] on any reader; `source` names it in errors.
pub fn load_audio_from(reader: impl Read, source: &Path) -> Result<Audio> {
    collect(AudioReader::new(reader, source)?)
}

fn collect<R: Read>(mut reader: AudioReader<R>) -> Result<Audio> {
    let mut samples = Vec::new();
    while let Some(block) = reader.next_block(MAX_PREALLOCATED_SAMPLES)? {
        samples.extend_from_slice(block);
    }
    Ok(Audio {
        samples,
        note: reader.note().map(str::to_string),
    })
}

/// Streams a file as mono f32 at 16 kHz in blocks of at most `block` samples, calling
/// `on_block` with each; memory stays flat however long the file is. The samples and errors
/// are [`read_audio`]'s, except that a problem found part way (a non-finite sample, a corrupt
/// FLAC frame) is reported after the blocks before it were delivered. An error returned by
/// `on_block` stops the stream and is returned as is.
pub fn stream_audio(
    path: &Path,
    block: usize,
    on_block: impl FnMut(&[f32]) -> Result<()>,
) -> Result<StreamInfo> {
    stream_reader(AudioReader::open(path)?, block, on_block)
}

/// [`stream_audio`] on any reader (e.g. stdin); `source` names it in errors.
pub fn stream_audio_from(
    reader: impl Read,
    source: &Path,
    block: usize,
    on_block: impl FnMut(&[f32]) -> Result<()>,
) -> Result<StreamInfo> {
    stream_reader(AudioReader::new(reader, source)?, block, on_block)
}

fn stream_reader<R: Read>(
    mut reader: AudioReader<R>,
    block: usize,
    mut on_block: impl FnMut(&[f32]) -> Result<()>,
) -> Result<StreamInfo> {
    let mut samples = 0u64;
    while let Some(piece) = reader.next_block(block)? {
        samples += piece.len() as u64;
        on_block(piece)?;
    }
    Ok(StreamInfo {
        samples,
        note: reader.note().map(str::to_string),
    })
}

/// A FLAC stream decoded frame by frame.
struct FlacDecoder<R: Read> {
    reader: claxon::FlacReader<R>,
    channels: usize,
    sample_rate: u32,
    scale: f64,
    /// Interleaved samples the stream info promises, when it says.
    promised: Option<u64>,
    /// Interleaved samples decoded so far.
    decoded: u64,
    buffer: Vec<i32>,
}

impl<R: Read> FlacDecoder<R> {
    fn new(reader: R) -> std::result::Result<Self, String> {
        let reader = claxon::FlacReader::new(reader)
            .map_err(|e| format!("not a readable FLAC file: {e}"))?;
        let info = reader.streaminfo();
        let channels = info.channels as usize;
        Ok(Self {
            channels,
            sample_rate: info.sample_rate,
            scale: pcm::int_scale(info.bits_per_sample.clamp(1, 32)),
            promised: info.samples.map(|frames| frames * channels as u64),
            decoded: 0,
            buffer: Vec::new(),
            reader,
        })
    }

    fn read_mono(&mut self, out: &mut Vec<f32>) -> std::result::Result<usize, String> {
        let buffer = std::mem::take(&mut self.buffer);
        let block = match self.reader.blocks().read_next_or_eof(buffer) {
            Ok(Some(block)) => block,
            Ok(None) => {
                return match self.promised {
                    Some(p) if p != self.decoded => Err(format!(
                        "truncated: the stream info promises {p} samples, the file holds {}",
                        self.decoded
                    )),
                    _ => Ok(0),
                }
            }
            Err(e) => {
                return Err(format!(
                    "truncated or corrupt FLAC: decoding failed after {} samples ({e})",
                    self.decoded
                ))
            }
        };
        let frames = block.duration();
        let channels = block.channels();
        let scale = self.scale;
        let to_f32 = |s: i32| (f64::from(s) * scale) as f32;
        if channels == 1 {
            out.extend(block.channel(0).iter().map(|&s| to_f32(s)));
        } else {
            out.extend((0..frames).map(|i| {
                (0..channels)
                    .map(|c| to_f32(block.sample(c, i)))
                    .sum::<f32>()
                    / channels as f32
            }));
        }
        self.decoded += u64::from(frames) * u64::from(channels);
        self.buffer = block.into_buffer();
        Ok(frames as usize)
    }
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
