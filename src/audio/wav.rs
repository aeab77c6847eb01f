//! A streaming WAV (RIFF) decoder: the header is parsed once, then the data chunk is read in
//! large byte blocks and converted straight to f32 by [`super::pcm`] (no per-sample calls, no
//! intermediate integer buffer; raw PCM streams go through the same loops). Used for files, byte slices and pipes alike, so every tool sees the same
//! samples and the same handling of odd data sizes.
//!
//! Streaming writers (arecord to a pipe, crashed recorders) leave the data chunk's size as 0,
//! 0xFFFFFFFF or larger than what follows. All three mean "read to the end of the input";
//! the decoder says so in a [`note`](WavDecoder::note) rather than refusing or silently
//! stopping.

use super::pcm::{decode_mono, Encoding};
use super::read_up_to;
use std::io::Read;

/// Bytes read from the data chunk per call: big reads keep the system-call and copy cost
/// per hour of audio negligible.
const READ_BYTES: usize = 64 * 1024;

/// Largest `fmt ` chunk accepted (WAVE_FORMAT_EXTENSIBLE is 40 bytes).
const MAX_FMT_BYTES: u32 = 4096;

/// Data size a streaming writer leaves when it cannot seek back: "unknown".
const UNKNOWN_SIZE: u32 = u32::MAX;

/// A WAV stream positioned at its data chunk.
pub(crate) struct WavDecoder<R> {
    reader: R,
    pub channels: usize,
    pub sample_rate: u32,
    encoding: Encoding,
    /// Bytes of the data chunk still to read; `None` = read to the end of the input.
    remaining: Option<u64>,
    /// What the header promised, for the note when the input ends first.
    promised: Option<u64>,
    /// Data bytes read so far.
    read: u64,
    raw: Vec<u8>,
    /// Bytes of an incomplete frame at the start of `raw`, from the previous read.
    carry: usize,
    note: Option<String>,
    done: bool,
}

impl<R: Read> WavDecoder<R> {
    /// Parses the RIFF header up to the data chunk. `reader` starts at the `RIFF` tag.
    pub fn new(mut reader: R) -> Result<Self, String> {
        let bad = |why: &str| format!("not a readable WAV file: {why}");
        let mut riff = [0u8; 12];
        if read_up_to(&mut reader, &mut riff).map_err(|e| bad(&e.to_string()))? < 12 {
            return Err(bad("the header ends before the WAVE tag"));
        }
        if &riff[0..4] != b"RIFF" || &riff[8..12] != b"WAVE" {
            return Err(bad("no RIFF/WAVE tags"));
        }
        let mut format: Option<(Encoding, usize, u32)> = None;
        loop {
            let mut head = [0u8; 8];
            let got = read_up_to(&mut reader, &mut head).map_err(|e| bad(&e.to_string()))?;
            if got < 8 {
                return Err(bad(if format.is_some() {
                    "no data chunk"
                } else {
                    "no fmt chunk"
                }));
            }
            let size = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
            match &head[0..4] {
                b"fmt " => {
                    if !(16..=MAX_FMT_BYTES).contains(&size) {
                        return Err(bad(&format!("fmt chunk of {size} bytes")));
                    }
                    let mut fmt = vec![0u8; (size + size % 2) as usize];
                    let got = read_up_to(&mut reader, &mut fmt).map_err(|e| bad(&e.to_string()))?;
                    if got < size as usize {
                        return Err(bad("the fmt chunk is cut off"));
                    }
                    format = Some(parse_fmt(&fmt)?);
                }
                b"data" => {
                    let Some((encoding, channels, sample_rate)) = format else {
                        return Err(bad("the data chunk comes before the fmt chunk"));
                    };
                    return Ok(Self::at_data(reader, encoding, channels, sample_rate, size));
                }
                _ => {
                    let skip = u64::from(size) + u64::from(size % 2);
                    let skipped =
                        std::io::copy(&mut (&mut reader).take(skip), &mut std::io::sink())
                            .map_err(|e| bad(&e.to_string()))?;
                    if skipped < skip {
                        return Err(bad("no data chunk"));
                    }
                }
            }
        }
    }

    fn at_data(
        reader: R,
        encoding: Encoding,
        channels: usize,
        sample_rate: u32,
        size: u32,
    ) -> Self {
        let (remaining, note) = match size {
            0 => (
                None,
                Some("the WAV header gives the data size as 0 (as a streaming writer leaves it): read to the end".to_string()),
            ),
            UNKNOWN_SIZE => (
                None,
                Some("the WAV header gives the data size as 0xFFFFFFFF (unknown, as a streaming writer leaves it): read to the end".to_string()),
            ),
            n => (Some(u64::from(n)), None),
        };
        let frame = encoding.bytes() * channels;
        Self {
            reader,
            channels,
            sample_rate,
            encoding,
            promised: remaining,
            remaining,
            read: 0,
            raw: Vec::with_capacity(READ_BYTES / frame * frame + frame),
            carry: 0,
            note,
            done: false,
        }
    }

    /// Anything the caller should tell the user about the data size (see the module doc);
    /// complete once [`Self::read_mono`] has returned 0.
    pub fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }

    /// Appends the next block of frames to `out`, down-mixed to mono by the mean of the
    /// channels; returns how many (0 only at the end of the data). One `read` call per
    /// block, so a live pipe delivers what it has without waiting for a full buffer; bytes
    /// of a frame split across reads are carried to the next call.
    pub fn read_mono(&mut self, out: &mut Vec<f32>) -> Result<usize, String> {
        let frame = self.encoding.bytes() * self.channels;
        loop {
            if self.done {
                return Ok(0);
            }
            let mut want = (READ_BYTES / frame).max(1) * frame;
            if let Some(left) = self.remaining {
                want = want.min(self.carry + usize::try_from(left).unwrap_or(usize::MAX));
            }
            self.raw.resize(want.max(self.carry), 0);
            let got = loop {
                match self.reader.read(&mut self.raw[self.carry..want]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        return Err(format!(
                            "reading the audio data failed after {} bytes: {e}",
                            self.read
                        ))
                    }
                }
            };
            self.read += got as u64;
            if let Some(left) = &mut self.remaining {
                *left -= got as u64;
            }
            let total = self.carry + got;
            let whole = total / frame * frame;
            self.carry = total - whole;
            if got == 0 || self.remaining == Some(0) {
                self.done = true;
                self.finish_note(self.carry);
            }
            let n = self.decode(whole, out);
            self.raw.copy_within(whole..total, 0);
            if n > 0 {
                return Ok(n);
            }
        }
    }

    /// Decodes the first `bytes` (whole frames) of the buffer into `out`.
    fn decode(&self, bytes: usize, out: &mut Vec<f32>) -> usize {
        decode_mono(self.encoding, &self.raw[..bytes], self.channels, out)
    }

    /// Whether samples are stored as floats (which may be non-finite or absurd; integers
    /// cannot be).
    pub fn is_float(&self) -> bool {
        self.encoding == Encoding::F32
    }

    /// Records, at the end of the data, that the input ended before the header's size or
    /// in the middle of a sample frame.
    fn finish_note(&mut self, partial: usize) {
        let mut parts = Vec::new();
        if let Some(promised) = self.promised.filter(|&p| self.read < p) {
            parts.push(format!(
                "the WAV header promises {promised} bytes of audio data, the file holds {}: read to the end",
                self.read
            ));
        }
        if partial > 0 {
            parts.push(format!(
                "the data ends in the middle of a sample frame: its last {partial} bytes were dropped"
            ));
        }
        if !parts.is_empty() {
            let text = parts.join("; ");
            self.note = Some(match self.note.take() {
                Some(first) => format!("{first}; {text}"),
                None => text,
            });
        }
    }
}

/// (encoding, channels, rate) from a `fmt ` chunk's bytes.
fn parse_fmt(fmt: &[u8]) -> Result<(Encoding, usize, u32), String> {
    let u16_at = |i: usize| u16::from_le_bytes([fmt[i], fmt[i + 1]]);
    let mut tag = u16_at(0);
    let channels = u16_at(2);
    let sample_rate = u32::from_le_bytes([fmt[4], fmt[5], fmt[6], fmt[7]]);
    let bits = u16_at(14);
    // WAVE_FORMAT_EXTENSIBLE: the real format is the first two bytes of the sub-format GUID.
    if tag == 0xFFFE && fmt.len() >= 26 {
        tag = u16_at(24);
    }
    if channels == 0 || sample_rate == 0 {
        return Err(format!(
            "header says {channels} channels at {sample_rate} Hz"
        ));
    }
    let encoding = match (tag, bits) {
        (1, 8) => Encoding::U8,
        (1, 16) => Encoding::I16,
        (1, 24) => Encoding::I24,
        (1, 32) => Encoding::I32,
        (3, 32) => Encoding::F32,
        (1, b) => return Err(format!("unsupported WAV encoding: {b}-bit integer PCM")),
        (3, b) => return Err(format!("unsupported WAV encoding: {b}-bit float")),
        (t, _) => {
            return Err(format!(
                "unsupported WAV encoding: format tag 0x{t:04X} (compressed); convert it with `ffmpeg -i in.wav -ar 16000 -ac 1 out.wav`"
            ))
        }
    };
    Ok((encoding, usize::from(channels), sample_rate))
}
