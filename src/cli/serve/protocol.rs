//! Wyoming framing (the `wyoming` PyPI package is the reference): each event is one JSON
//! header line `{"type": ..., "data"?: {...}, "data_length"?: n, "payload_length"?: n}`,
//! then `data_length` bytes of JSON merged into `data`, then `payload_length` raw bytes.
//!
//! Every length a client sends is checked against a limit before anything is allocated, so a
//! connection never holds more than [`MAX_HEADER_BYTES`] + [`MAX_DATA_BYTES`] +
//! [`MAX_PAYLOAD_BYTES`] of protocol buffers whatever it claims.

use serde_json::{Map, Value};
use std::io::{self, BufRead, Read, Write};

/// Longest header line accepted (the real ones are under 200 bytes).
pub const MAX_HEADER_BYTES: usize = 64 * 1024;
/// Largest `data_length` accepted (an `info` reply is the biggest data block, ~1 KiB).
pub const MAX_DATA_BYTES: usize = 64 * 1024;
/// Largest `payload_length` accepted: 1 MiB, 11 s of 48 kHz 16-bit stereo (clients send
/// chunks of tens of milliseconds).
pub const MAX_PAYLOAD_BYTES: usize = 1024 * 1024;

/// The `wyoming` release whose protocol this server speaks and is tested against; written in
/// every event's `version` field.
pub const PROTOCOL_VERSION: &str = "1.10.2";

/// One event as received.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub kind: String,
    pub data: Map<String, Value>,
    pub payload: Vec<u8>,
}

/// Why no event could be read.
#[derive(Debug)]
pub enum ReadError {
    /// The client closed the connection between events.
    Closed,
    /// The socket failed (including a read timeout).
    Io(io::Error),
    /// The bytes are not a Wyoming event, or exceed a limit: the framing is lost.
    Protocol(String),
}

/// Reads the next event.
pub fn read_event(reader: &mut impl BufRead) -> Result<Event, ReadError> {
    let mut line = Vec::new();
    if !read_line_bounded(reader, &mut line, MAX_HEADER_BYTES)? {
        return Err(ReadError::Closed);
    }
    let protocol = |m: String| ReadError::Protocol(m);
    let header: Value = serde_json::from_slice(&line)
        .map_err(|e| protocol(format!("the header line is not JSON: {e}")))?;
    let Value::Object(mut header) = header else {
        return Err(protocol("the header line is not a JSON object".into()));
    };
    let kind = match header.remove("type") {
        Some(Value::String(kind)) => kind,
        _ => return Err(protocol("the header has no string `type`".into())),
    };
    let mut data = match header.remove("data") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(data)) => data,
        Some(_) => return Err(protocol(format!("`{kind}`: `data` is not an object"))),
    };
    let data_length = length(&header, "data_length", MAX_DATA_BYTES, &kind)?;
    if data_length > 0 {
        let bytes = read_exactly(reader, data_length, "data", &kind)?;
        match serde_json::from_slice(&bytes) {
            Ok(Value::Object(more)) => data.extend(more),
            _ => {
                return Err(protocol(format!(
                    "`{kind}`: the data block is not a JSON object"
                )))
            }
        }
    }
    let payload_length = length(&header, "payload_length", MAX_PAYLOAD_BYTES, &kind)?;
    let payload = read_exactly(reader, payload_length, "payload", &kind)?;
    Ok(Event {
        kind,
        data,
        payload,
    })
}

/// Writes an event with a data block and no payload, as the `wyoming` package does.
pub fn write_event(writer: &mut impl Write, kind: &str, data: &Value) -> io::Result<()> {
    let data = serde_json::to_vec(data)?;
    let header = serde_json::json!({
        "type": kind,
        "version": PROTOCOL_VERSION,
        "data_length": data.len(),
    });
    let mut bytes = serde_json::to_vec(&header)?;
    bytes.push(b'\n');
    bytes.extend_from_slice(&data);
    writer.write_all(&bytes)?;
    writer.flush()
}

/// A length field: absent or null is 0; otherwise a whole number within `max`.
fn length(
    header: &Map<String, Value>,
    field: &str,
    max: usize,
    kind: &str,
) -> Result<usize, ReadError> {
    let value = match header.get(field) {
        None | Some(Value::Null) => return Ok(0),
        Some(v) => v,
    };
    let n = value.as_u64().ok_or_else(|| {
        ReadError::Protocol(format!("`{kind}`: `{field}` {value} is not a whole number"))
    })?;
    if n > max as u64 {
        return Err(ReadError::Protocol(format!(
            "`{kind}`: `{field}` {n} exceeds the {max}-byte limit"
        )));
    }
    Ok(n as usize)
}

/// Reads one line (without its `\n`) of at most `max` bytes; false at a clean end of stream.
fn read_line_bounded(
    reader: &mut impl BufRead,
    line: &mut Vec<u8>,
    max: usize,
) -> Result<bool, ReadError> {
    loop {
        let buf = match reader.fill_buf() {
            Ok(buf) => buf,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ReadError::Io(e)),
        };
        if buf.is_empty() {
            return if line.is_empty() {
                Ok(false)
            } else {
                Err(ReadError::Protocol(format!(
                    "the connection closed {} bytes into a header line",
                    line.len()
                )))
            };
        }
        let newline = buf.iter().position(|&b| b == b'\n');
        let piece = &buf[..newline.unwrap_or(buf.len())];
        if line.len() + piece.len() > max {
            return Err(ReadError::Protocol(format!(
                "the header line is longer than the {max}-byte limit"
            )));
        }
        line.extend_from_slice(piece);
        let used = piece.len() + usize::from(newline.is_some());
        reader.consume(used);
        if newline.is_some() {
            return Ok(true);
        }
    }
}

/// Reads exactly `n` bytes (already checked against a limit), naming a short read.
fn read_exactly(
    reader: &mut impl Read,
    n: usize,
    what: &str,
    kind: &str,
) -> Result<Vec<u8>, ReadError> {
    let mut bytes = vec![0u8; n];
    let mut filled = 0;
    while filled < n {
        match reader.read(&mut bytes[filled..]) {
            Ok(0) => {
                return Err(ReadError::Protocol(format!(
                    "`{kind}`: the connection closed {filled} bytes into a {n}-byte {what}"
                )))
            }
            Ok(got) => filled += got,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ReadError::Io(e)),
        }
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8]) -> Result<Event, ReadError> {
        read_event(&mut io::BufReader::with_capacity(16, bytes))
    }

    fn protocol_error(bytes: &[u8]) -> String {
        match read(bytes) {
            Err(ReadError::Protocol(m)) => m,
            other => panic!("expected a protocol error, got {other:?}"),
        }
    }

    #[test]
    fn events_round_trip_with_data_block_inline_data_and_payload() {
        let mut wire = Vec::new();
        let data = serde_json::json!({"names": ["alexa"]});
        write_event(&mut wire, "detect", &data).unwrap();
        wire.extend_from_slice(
            b"{\"type\":\"audio-chunk\",\"data\":{\"rate\":16000},\"data_length\":11,\"payload_length\":4}\n{\"width\":2}\x01\x02\x03\x04",
        );
        let mut reader = io::BufReader::with_capacity(16, &wire[..]);
        let first = read_event(&mut reader).unwrap();
        assert_eq!(first.kind, "detect");
        assert_eq!(Value::Object(first.data), data);
        let second = read_event(&mut reader).unwrap();
        assert_eq!(second.kind, "audio-chunk");
        assert_eq!(second.data["rate"], 16000);
        assert_eq!(second.data["width"], 2);
        assert_eq!(second.payload, [1, 2, 3, 4]);
        assert!(matches!(read_event(&mut reader), Err(ReadError::Closed)));
    }

    #[test]
    fn bad_framing_is_named_and_limits_hold_before_allocation() {
        assert!(protocol_error(b"not json\n").contains("not JSON"));
        assert!(protocol_error(b"[1]\n").contains("not a JSON object"));
        assert!(protocol_error(b"{\"type\":3}\n").contains("no string `type`"));
        assert!(protocol_error(b"{\"type\":\"x\"").contains("closed 11 bytes into a header"));
        let short = protocol_error(b"{\"type\":\"x\",\"payload_length\":10}\nabc");
        assert!(
            short.contains("closed 3 bytes into a 10-byte payload"),
            "{short}"
        );
        let huge = protocol_error(b"{\"type\":\"x\",\"payload_length\":99999999999}\n");
        assert!(huge.contains("exceeds the 1048576-byte limit"), "{huge}");
        let negative = protocol_error(b"{\"type\":\"x\",\"data_length\":-1}\n");
        assert!(negative.contains("not a whole number"), "{negative}");
        let long = vec![b'x'; MAX_HEADER_BYTES + 1];
        assert!(protocol_error(&long).contains("longer than"));
        let data = protocol_error(b"{\"type\":\"x\",\"data_length\":2}\n[]");
        assert!(data.contains("data block is not a JSON object"), "{data}");
    }
}
