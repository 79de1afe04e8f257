//! Stream records into log events, shared by both functions.
//!
//! A Kinesis or Firehose record holds one of:
//! - plain text: one access-log line, or several (`\n`-separated; a final line ending is not an
//!   extra event). Kinesis Agent records, `LOGTOJSON` included, are plain text too;
//! - a CloudWatch Logs subscription envelope: gzip JSON with `messageType` `DATA_MESSAGE` (its
//!   `logEvents` are the events) or `CONTROL_MESSAGE` (no events).
//!
//! Lines are split as bytes, like `enrich-logs` splits a file: a line that is not UTF-8 (a Latin-1
//! URL, a TLS handshake sent to the plain port) is one event like any other, and the enricher keeps
//! its odd bytes as Apache writes them (`\xe9`), so one odd byte never hides a record's other lines.
//! CloudWatch Logs messages are read as bytes for the same reason.
//!
//! Gzip is decompressed with a hard cap on the output, so a gzip bomb costs at most the cap.
//! Corrupt gzip and envelopes that are not CloudWatch Logs JSON are errors: the caller keeps such a
//! record whole (Kinesis: one `_parse_failure` document; Firehose: `ProcessingFailed`).

use std::io::Read;

use enrichment::LogOrigin;
use flate2::read::GzDecoder;
use serde::Deserialize;

/// The default cap on decompressed CloudWatch Logs envelopes (`MAX_DECOMPRESSED_BYTES`).
pub const DEFAULT_MAX_DECOMPRESSED_BYTES: usize = 4 * 1024 * 1024;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// What a record holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordContent<'a> {
    /// A text record: each of its [`lines`] is an event. Kept as the record's bytes, so reading a
    /// record costs no allocation.
    Text(&'a [u8]),
    /// A CloudWatch Logs envelope's `logEvents`, in order, without their line endings, the
    /// group and stream they were logged to, and the account that owns them.
    LogEvents { owner: String, log_group: String, log_stream: String, events: Vec<Vec<u8>> },
    /// A CloudWatch Logs `CONTROL_MESSAGE` (sent when a subscription is created): nothing to index.
    Control,
}

impl RecordContent<'_> {
    /// The log events, in order.
    pub fn events(&self) -> Events<'_> {
        match self {
            Self::Text(text) => Events::Lines(lines(text)),
            Self::LogEvents { events, .. } => Events::LogEvents(events.iter()),
            Self::Control => Events::LogEvents([].iter()),
        }
    }

    /// The account that owns the log the events were written to (an envelope's `owner`).
    pub fn owner(&self) -> Option<&str> {
        match self {
            Self::LogEvents { owner, .. } => Some(owner),
            _ => None,
        }
    }

    /// Where the events were logged: a CloudWatch Logs envelope's group and stream.
    pub fn log_origin(&self) -> Option<LogOrigin<'_>> {
        match self {
            Self::LogEvents { log_group, log_stream, .. } => {
                Some(LogOrigin::CloudWatch { log_group, log_stream })
            }
            _ => None,
        }
    }
}

/// The events of a [`RecordContent`].
#[derive(Debug)]
pub enum Events<'a> {
    Lines(Lines<'a>),
    LogEvents(std::slice::Iter<'a, Vec<u8>>),
}

impl<'a> Iterator for Events<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        match self {
            Self::Lines(lines) => lines.next(),
            Self::LogEvents(events) => events.next().map(Vec::as_slice),
        }
    }
}

/// Why a record could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("corrupt gzip data: {0}")]
    CorruptGzip(String),
    #[error("gzip data decompresses to more than {limit} bytes (MAX_DECOMPRESSED_BYTES)")]
    TooLarge { limit: usize },
    #[error("gzip data is not a CloudWatch Logs subscription envelope: {0}")]
    NotCloudWatchLogs(String),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    message_type: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    log_group: String,
    #[serde(default)]
    log_stream: String,
    #[serde(default)]
    log_events: Vec<LogEvent>,
}

#[derive(Deserialize)]
struct LogEvent {
    #[serde(deserialize_with = "message_bytes")]
    message: Vec<u8>,
}

/// A JSON string's bytes, escapes decoded but not required to be UTF-8 (serde_json's
/// `deserialize_bytes`): a message with one odd byte is still its own event.
fn message_bytes<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
    struct Bytes;
    impl serde::de::Visitor<'_> for Bytes {
        type Value = Vec<u8>;
        fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            formatter.write_str("a log event's message")
        }
        fn visit_bytes<E>(self, bytes: &[u8]) -> Result<Vec<u8>, E> {
            Ok(bytes.to_vec())
        }
        fn visit_byte_buf<E>(self, bytes: Vec<u8>) -> Result<Vec<u8>, E> {
            Ok(bytes)
        }
        fn visit_str<E>(self, text: &str) -> Result<Vec<u8>, E> {
            Ok(text.as_bytes().to_vec())
        }
    }
    deserializer.deserialize_bytes(Bytes)
}

/// Reads one record's data.
pub fn decode_record(data: &[u8], max_decompressed_bytes: usize) -> Result<RecordContent<'_>, DecodeError> {
    if data.starts_with(&GZIP_MAGIC) {
        let json = gunzip_capped(data, max_decompressed_bytes)?;
        return cloudwatch_envelope(&json);
    }
    Ok(RecordContent::Text(data))
}

/// The lines of a text record: `\n` or `\r\n` separated, the last line ending optional.
pub fn lines(text: &[u8]) -> Lines<'_> {
    let text = text.strip_suffix(b"\n").unwrap_or(text);
    Lines { rest: (!text.is_empty()).then_some(text) }
}

/// The iterator of [`lines`].
#[derive(Debug, Clone)]
pub struct Lines<'a> {
    rest: Option<&'a [u8]>,
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = self.rest?;
        let (line, rest) = match memchr::memchr(b'\n', rest) {
            Some(newline) => (&rest[..newline], Some(&rest[newline + 1..])),
            None => (rest, None),
        };
        self.rest = rest;
        Some(line.strip_suffix(b"\r").unwrap_or(line))
    }
}

fn gunzip_capped(data: &[u8], limit: usize) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::new();
    let read_limit = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    GzDecoder::new(data)
        .take(read_limit)
        .read_to_end(&mut out)
        .map_err(|error| DecodeError::CorruptGzip(error.to_string()))?;
    if out.len() > limit {
        return Err(DecodeError::TooLarge { limit });
    }
    Ok(out)
}

fn cloudwatch_envelope(json: &[u8]) -> Result<RecordContent<'static>, DecodeError> {
    let envelope: Envelope =
        serde_json::from_slice(json).map_err(|error| DecodeError::NotCloudWatchLogs(error.to_string()))?;
    match envelope.message_type.as_str() {
        "CONTROL_MESSAGE" => Ok(RecordContent::Control),
        "DATA_MESSAGE" => Ok(RecordContent::LogEvents {
            owner: envelope.owner,
            log_group: envelope.log_group,
            log_stream: envelope.log_stream,
            events: envelope
                .log_events
                .into_iter()
                .map(|mut event| {
                    let line_ending = event.message.iter().rev().take_while(|&&b| b == b'\n' || b == b'\r');
                    event.message.truncate(event.message.len() - line_ending.count());
                    event.message
                })
                .collect(),
        }),
        other => Err(DecodeError::NotCloudWatchLogs(format!("unknown messageType {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::Compression;
    use flate2::write::GzEncoder;

    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    fn events(content: RecordContent<'_>) -> Vec<Vec<u8>> {
        assert_ne!(content, RecordContent::Control);
        content.events().map(<[u8]>::to_vec).collect()
    }

    #[test]
    fn text_records() {
        /// (case, record data, its events)
        type Case<'a> = (&'a str, &'a [u8], &'a [&'a [u8]]);
        let cases: &[Case] = &[
            ("one line with its newline", b"a b c\n", &[b"a b c"]),
            ("one line without", b"a b c", &[b"a b c"]),
            ("crlf", b"a\r\nb\r\n", &[b"a", b"b"]),
            ("several lines", b"a\nb\nc", &[b"a", b"b", b"c"]),
            ("an empty line in the middle is an event", b"a\n\nb\n", &[b"a", b"", b"b"]),
            ("empty record", b"", &[]),
            ("just a newline", b"\n", &[]),
            ("kinesis agent json", b"{\"host\":\"::1\"}\n", &[b"{\"host\":\"::1\"}"]),
            ("a latin-1 line among good ones", b"a\nGET /caf\xe9\nc\n", &[b"a", b"GET /caf\xe9", b"c"]),
            (
                "bytes that are no text at all",
                b"\x16\x03\x01\xff\n\x00\xfe",
                &[b"\x16\x03\x01\xff", b"\x00\xfe"],
            ),
        ];
        for (name, data, expected) in cases {
            let expected: Vec<Vec<u8>> = expected.iter().map(|line| line.to_vec()).collect();
            assert_eq!(events(decode_record(data, 1024).unwrap()), expected, "{name}");
        }
    }

    #[test]
    fn cloudwatch_logs_envelopes() {
        let data = gzip(br#"{"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"/ecs/web","logStream":"web/apache/1","subscriptionFilters":["to-kinesis"],"logEvents":[{"id":"1","timestamp":1795239468000,"message":"line one\n"},{"id":"2","timestamp":1795239468001,"message":"line two"}]}"#);
        let content = decode_record(&data, 1024).unwrap();
        assert_eq!(
            content.log_origin(),
            Some(LogOrigin::CloudWatch { log_group: "/ecs/web", log_stream: "web/apache/1" })
        );
        assert_eq!(events(content), [b"line one".to_vec(), b"line two".to_vec()]);
        assert_eq!(decode_record(b"a line", 1024).unwrap().log_origin(), None, "a host's line says nothing");
        let control = gzip(br#"{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1795239468000,"message":"CWL CONTROL MESSAGE: Checking health of destination Kinesis stream."}]}"#);
        assert_eq!(decode_record(&control, 1024).unwrap(), RecordContent::Control);
    }

    #[test]
    fn a_message_that_is_not_utf8_is_still_its_own_event() {
        // A raw Latin-1 byte inside a JSON string, and a lone surrogate escape: not text, but
        // neither hides the envelope's other events.
        let data = gzip(b"{\"messageType\":\"DATA_MESSAGE\",\"logGroup\":\"g\",\"logStream\":\"s\",\"logEvents\":[{\"message\":\"one\"},{\"message\":\"GET /caf\xe9\\n\"},{\"message\":\"x\\ud800y\"},{\"message\":\"caf\\u00e9\"}]}");
        let events = events(decode_record(&data, 1024).unwrap());
        assert_eq!(events.len(), 4);
        assert_eq!(events[0], b"one");
        assert_eq!(events[1], b"GET /caf\xe9", "the byte as sent, the escaped newline gone");
        assert!(events[2].starts_with(b"x") && events[2].ends_with(b"y"), "{:?}", events[2]);
        assert_eq!(events[3], "café".as_bytes(), "escapes decoded");
    }

    #[test]
    fn broken_gzip_and_envelopes() {
        let good = gzip(br#"{"messageType":"DATA_MESSAGE","logEvents":[]}"#);
        assert!(matches!(decode_record(&good[..good.len() - 5], 1024), Err(DecodeError::CorruptGzip(_))));
        assert!(matches!(decode_record(&[0x1f, 0x8b, 0, 0], 1024), Err(DecodeError::CorruptGzip(_))));
        assert!(matches!(decode_record(&gzip(b"not json"), 1024), Err(DecodeError::NotCloudWatchLogs(_))));
        let unknown = gzip(br#"{"messageType":"OTHER","logEvents":[]}"#);
        assert!(
            matches!(decode_record(&unknown, 1024), Err(DecodeError::NotCloudWatchLogs(m)) if m.contains("OTHER"))
        );
    }

    #[test]
    fn gzip_bomb_stops_at_the_cap() {
        // 64 MiB of zeros compress to ~64 KiB; reading stops one byte past the 1 MiB cap.
        let bomb = gzip(&vec![0u8; 64 * 1024 * 1024]);
        assert!(bomb.len() < 100 * 1024);
        assert_eq!(decode_record(&bomb, 1024 * 1024), Err(DecodeError::TooLarge { limit: 1024 * 1024 }));
    }
}
