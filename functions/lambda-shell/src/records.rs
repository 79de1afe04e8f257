//! Stream records into log events, shared by both functions.
//!
//! A Kinesis or Firehose record holds one of:
//! - plain text: one access-log line, or several (`\n`-separated; a final line ending is not an
//!   extra event). Kinesis Agent records, `LOGTOJSON` included, are plain text too;
//! - a CloudWatch Logs subscription envelope: gzip JSON with `messageType` `DATA_MESSAGE` (its
//!   `logEvents` are the events) or `CONTROL_MESSAGE` (no events).
//!
//! Gzip is decompressed with a hard cap on the output, so a gzip bomb costs at most the cap.
//! Data that is not UTF-8 text, corrupt gzip and envelopes that are not CloudWatch Logs JSON are
//! errors: the caller keeps such a record whole (Firehose: `ProcessingFailed`).

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
    /// A text record: each of its [`lines`] is an event. Kept as the text, so reading a record
    /// costs no allocation.
    Text(&'a str),
    /// A CloudWatch Logs envelope's `logEvents`, in order, without their line endings, and the
    /// group and stream they were logged to.
    LogEvents { log_group: String, log_stream: String, events: Vec<String> },
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
    LogEvents(std::slice::Iter<'a, String>),
}

impl<'a> Iterator for Events<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        match self {
            Self::Lines(lines) => lines.next(),
            Self::LogEvents(events) => events.next().map(String::as_str),
        }
    }
}

/// Why a record could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("record is not UTF-8 text (invalid byte at offset {offset})")]
    NotText { offset: usize },
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
    log_group: String,
    #[serde(default)]
    log_stream: String,
    #[serde(default)]
    log_events: Vec<LogEvent>,
}

#[derive(Deserialize)]
struct LogEvent {
    message: String,
}

/// Reads one record's data.
pub fn decode_record(data: &[u8], max_decompressed_bytes: usize) -> Result<RecordContent<'_>, DecodeError> {
    if data.starts_with(&GZIP_MAGIC) {
        let json = gunzip_capped(data, max_decompressed_bytes)?;
        return cloudwatch_envelope(&json);
    }
    let text =
        std::str::from_utf8(data).map_err(|error| DecodeError::NotText { offset: error.valid_up_to() })?;
    Ok(RecordContent::Text(text))
}

/// The lines of a text record: `\n` or `\r\n` separated, the last line ending optional.
pub fn lines(text: &str) -> Lines<'_> {
    let text = text.strip_suffix('\n').unwrap_or(text);
    Lines { rest: (!text.is_empty()).then_some(text) }
}

/// The iterator of [`lines`].
#[derive(Debug, Clone)]
pub struct Lines<'a> {
    rest: Option<&'a str>,
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest?;
        let (line, rest) = match rest.split_once('\n') {
            Some((line, rest)) => (line, Some(rest)),
            None => (rest, None),
        };
        self.rest = rest;
        Some(line.strip_suffix('\r').unwrap_or(line))
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
            log_group: envelope.log_group,
            log_stream: envelope.log_stream,
            events: envelope
                .log_events
                .into_iter()
                .map(|mut event| {
                    let without_line_ending = event.message.trim_end_matches(['\n', '\r']).len();
                    event.message.truncate(without_line_ending);
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

    fn events(content: RecordContent<'_>) -> Vec<String> {
        assert_ne!(content, RecordContent::Control);
        content.events().map(str::to_owned).collect()
    }

    #[test]
    fn text_records() {
        let cases: &[(&str, &[u8], &[&str])] = &[
            ("one line with its newline", b"a b c\n", &["a b c"]),
            ("one line without", b"a b c", &["a b c"]),
            ("crlf", b"a\r\nb\r\n", &["a", "b"]),
            ("several lines", b"a\nb\nc", &["a", "b", "c"]),
            ("an empty line in the middle is an event", b"a\n\nb\n", &["a", "", "b"]),
            ("empty record", b"", &[]),
            ("just a newline", b"\n", &[]),
            ("kinesis agent json", b"{\"host\":\"::1\"}\n", &["{\"host\":\"::1\"}"]),
        ];
        for (name, data, expected) in cases {
            assert_eq!(events(decode_record(data, 1024).unwrap()), *expected, "{name}");
        }
    }

    #[test]
    fn not_text() {
        assert_eq!(decode_record(b"ok\xff\xfe", 1024), Err(DecodeError::NotText { offset: 2 }));
    }

    #[test]
    fn cloudwatch_logs_envelopes() {
        let data = gzip(br#"{"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"/ecs/web","logStream":"web/apache/1","subscriptionFilters":["to-kinesis"],"logEvents":[{"id":"1","timestamp":1795239468000,"message":"line one\n"},{"id":"2","timestamp":1795239468001,"message":"line two"}]}"#);
        let content = decode_record(&data, 1024).unwrap();
        assert_eq!(
            content.log_origin(),
            Some(LogOrigin::CloudWatch { log_group: "/ecs/web", log_stream: "web/apache/1" })
        );
        assert_eq!(events(content), ["line one", "line two"]);
        assert_eq!(decode_record(b"a line", 1024).unwrap().log_origin(), None, "a host's line says nothing");
        let control = gzip(br#"{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1795239468000,"message":"CWL CONTROL MESSAGE: Checking health of destination Kinesis stream."}]}"#);
        assert_eq!(decode_record(&control, 1024).unwrap(), RecordContent::Control);
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
