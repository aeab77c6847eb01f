//! Interleaved little-endian PCM bytes to mono f32: the one sample conversion and down-mix
//! behind WAV data ([`super::wav`]) and raw PCM streams ([`PcmConverter`], for the Wyoming
//! server and the Python package), so a stream and a file holding the same samples give the
//! same 16 kHz signal.

use super::resample::StreamResampler;
use super::{SAMPLE_RATE_RANGE, TARGET_SAMPLE_RATE};
use crate::{Error, Result};

/// The factor taking a signed integer sample of `bits` bits to [-1, 1): `1 / 2^(bits-1)`.
/// WAV data, raw PCM streams and FLAC are all scaled by this one rule.
pub(super) const fn int_scale(bits: u32) -> f64 {
    1.0 / (1u64 << (bits - 1)) as f64
}

/// How samples are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Encoding {
    /// Unsigned 8-bit, offset 128 (WAV's 8-bit).
    U8,
    /// Signed 8-bit (a raw stream's 1-byte width).
    I8,
    I16,
    I24,
    I32,
    F32,
}

impl Encoding {
    pub(super) fn bytes(self) -> usize {
        match self {
            Self::U8 | Self::I8 => 1,
            Self::I16 => 2,
            Self::I24 => 3,
            Self::I32 | Self::F32 => 4,
        }
    }

    /// One sample at the start of `b` as f32 in [-1, 1) (int) or as stored (float). Integer
    /// scaling is by a power of two ([`int_scale`], folded to a constant), exact in f32 for
    /// up to 24 bits.
    #[inline(always)]
    fn decode(self, b: &[u8]) -> f32 {
        match self {
            Self::U8 => f32::from(i16::from(b[0]) - 128) * const { int_scale(8) as f32 },
            Self::I8 => f32::from(b[0] as i8) * const { int_scale(8) as f32 },
            Self::I16 => {
                f32::from(i16::from_le_bytes([b[0], b[1]])) * const { int_scale(16) as f32 }
            }
            Self::I24 => {
                (i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8) as f32
                    * const { int_scale(24) as f32 }
            }
            Self::I32 => {
                (f64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])) * const { int_scale(32) })
                    as f32
            }
            Self::F32 => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        }
    }
}

/// Appends the whole frames of `bytes` (`channels` samples of `encoding` each) to `out` as
/// mono, the mean of the channels; returns how many frames. One loop per encoding, each with
/// its conversion inlined, so each is a straight loop the compiler can vectorise (a
/// per-sample `match` cost more than the rest of reading put together).
pub(super) fn decode_mono(
    encoding: Encoding,
    bytes: &[u8],
    channels: usize,
    out: &mut Vec<f32>,
) -> usize {
    let before = out.len();
    match encoding {
        Encoding::U8 => decode_frames::<1>(bytes, channels, out, |b| Encoding::U8.decode(b)),
        Encoding::I8 => decode_frames::<1>(bytes, channels, out, |b| Encoding::I8.decode(b)),
        Encoding::I16 => decode_frames::<2>(bytes, channels, out, |b| Encoding::I16.decode(b)),
        Encoding::I24 => decode_frames::<3>(bytes, channels, out, |b| Encoding::I24.decode(b)),
        Encoding::I32 => decode_frames::<4>(bytes, channels, out, |b| Encoding::I32.decode(b)),
        Encoding::F32 => decode_frames::<4>(bytes, channels, out, |b| Encoding::F32.decode(b)),
    }
    out.len() - before
}

/// Appends the frames of `bytes` (samples of `N` bytes, `channels` per frame) to `out` as
/// mono, converting each sample with `one` (a closure over a constant encoding, so its
/// `match` folds away once inlined).
#[inline(always)]
fn decode_frames<const N: usize>(
    bytes: &[u8],
    channels: usize,
    out: &mut Vec<f32>,
    one: impl Fn(&[u8]) -> f32 + Copy,
) {
    if channels == 1 {
        out.extend(bytes.chunks_exact(N).map(one));
    } else {
        out.extend(
            bytes
                .chunks_exact(N * channels)
                .map(|f| f.chunks_exact(N).map(one).sum::<f32>() / channels as f32),
        );
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
/// the file reader's code: the same sample conversion and down-mix as WAV data, and other
/// rates resampled by the same streaming FFT resampler with its delay removed, so that a
/// stream converted in any chunking equals [`super::read_audio`] of the same samples in a
/// WAV file. A frame split between chunks is carried over.
pub struct PcmConverter {
    format: PcmFormat,
    encoding: Encoding,
    /// The bytes of a frame split between two chunks.
    carry: Vec<u8>,
    /// Mono at the stream's rate, before resampling.
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
        let encoding = match width {
            1 => Encoding::I8,
            2 => Encoding::I16,
            3 => Encoding::I24,
            4 => Encoding::I32,
            _ => return bad(format!("width {width} bytes is not 1, 2, 3 or 4")),
        };
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
            encoding,
            carry: Vec::with_capacity(usize::from(width) * usize::from(channels)),
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
        let channels = usize::from(self.format.channels);
        let frame = self.encoding.bytes() * channels;
        // Without a resampler the samples go straight to `out`.
        let mono = match self.resampler {
            Some(_) => {
                self.mono.clear();
                &mut self.mono
            }
            None => &mut *out,
        };
        if !self.carry.is_empty() {
            let take = (frame - self.carry.len()).min(bytes.len());
            self.carry.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.carry.len() < frame {
                return Ok(());
            }
            decode_mono(self.encoding, &self.carry, channels, mono);
            self.carry.clear();
        }
        let whole = bytes.len() / frame * frame;
        decode_mono(self.encoding, &bytes[..whole], channels, mono);
        self.carry.extend_from_slice(&bytes[whole..]);
        match &mut self.resampler {
            Some(r) => r
                .push(&self.mono, out)
                .map_err(|e| resample_error(self.format, e)),
            None => Ok(()),
        }
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
}

fn resample_error(format: PcmFormat, e: String) -> Error {
    Error::Audio(format!("resampling from {} Hz failed: {e}", format.rate))
}
