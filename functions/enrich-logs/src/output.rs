//! How `enrich-logs` writes documents: NDJSON, or OpenSearch `_bulk` request bodies.

use enrichment::{Timestamp, write_json_string};
use md5::{Digest, Md5};

/// The default `--index`: one index per UTC day of `@timestamp`, named as Firehose names the
/// stack's daily indices (`IndexName` `weblogs`, `OneDay` rotation), so a backfill of a day lands in
/// the same index as that day's live documents.
pub const DEFAULT_INDEX: &str = "weblogs-%Y-%m-%d";

#[derive(Debug, Clone, PartialEq, Eq)]
enum IndexPart {
    Text(String),
    Year,
    Month,
    Day,
    Hour,
}

/// An index name with `%Y`, `%m`, `%d`, `%H` (UTC, from `@timestamp`) and `%%`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexPattern {
    parts: Vec<IndexPart>,
}

/// Why an `--index` value is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid --index value {value:?}: {expected}")]
pub struct IndexPatternError {
    pub value: String,
    pub expected: &'static str,
}

impl IndexPattern {
    pub fn parse(pattern: &str) -> Result<Self, IndexPatternError> {
        let error = |expected| IndexPatternError { value: pattern.to_owned(), expected };
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                if c.is_ascii_uppercase() || "\\/*?\"<>| ,#:".contains(c) {
                    return Err(error(
                        "OpenSearch index names are lowercase, without spaces or \\ / * ? \" < > | , # :",
                    ));
                }
                text.push(c);
                continue;
            }
            let part = match chars.next() {
                Some('%') => {
                    text.push('%');
                    continue;
                }
                Some('Y') => IndexPart::Year,
                Some('m') => IndexPart::Month,
                Some('d') => IndexPart::Day,
                Some('H') => IndexPart::Hour,
                _ => return Err(error("the only placeholders are %Y, %m, %d, %H and %%")),
            };
            if !text.is_empty() {
                parts.push(IndexPart::Text(std::mem::take(&mut text)));
            }
            parts.push(part);
        }
        if !text.is_empty() {
            parts.push(IndexPart::Text(text));
        }
        match parts.first() {
            None => return Err(error("a non-empty index name")),
            Some(IndexPart::Text(first)) if first.starts_with(['-', '_', '+', '.']) => {
                return Err(error("an index name that does not start with - _ + or ."));
            }
            _ => {}
        }
        Ok(Self { parts })
    }

    /// Appends the index name for a document with this `@timestamp`.
    pub fn write_name(&self, timestamp: Timestamp, out: &mut Vec<u8>) {
        let utc = timestamp.to_utc();
        for part in &self.parts {
            match part {
                IndexPart::Text(text) => out.extend_from_slice(text.as_bytes()),
                IndexPart::Year => push_padded(out, u32::try_from(utc.year).unwrap_or(0), 4),
                IndexPart::Month => push_padded(out, utc.month, 2),
                IndexPart::Day => push_padded(out, utc.day, 2),
                IndexPart::Hour => push_padded(out, utc.hour, 2),
            }
        }
    }
}

/// The output of `enrich-logs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputFormat {
    /// One document per line.
    Ndjson,
    /// An `{"index":{"_index":...}}` action line before each document, ready for `POST _bulk`.
    Bulk {
        index: IndexPattern,
        /// Each action names the document's `_id` (see [`document_id`]), so indexing the same
        /// lines again overwrites them instead of adding copies.
        stable_ids: bool,
    },
}

impl OutputFormat {
    /// Appends what goes before a document: nothing, or its bulk action line. `source` names the
    /// line for its `_id`: the input's name, the line's number in it and the line.
    pub fn write_prefix(&self, timestamp: Timestamp, source: (&str, u64, &[u8]), out: &mut Vec<u8>) {
        if let Self::Bulk { index, stable_ids } = self {
            let mut name = Vec::with_capacity(32);
            index.write_name(timestamp, &mut name);
            out.extend_from_slice(br#"{"index":{"_index":"#);
            write_json_string(out, &String::from_utf8_lossy(&name));
            if *stable_ids {
                out.extend_from_slice(br#","_id":""#);
                out.extend_from_slice(document_id(source.0, source.1, source.2).as_bytes());
                out.push(b'"');
            }
            out.extend_from_slice(b"}}\n");
        }
    }
}

/// A document's `_id`: MD5 of the input's name, the line's number and the line, in hex. The same
/// line of the same file always gets the same `_id`, and two lines never share one (their numbers
/// differ), so identical lines (two hits in one second) stay two documents.
pub fn document_id(input: &str, line_number: u64, line: &[u8]) -> String {
    let mut hash = Md5::new();
    hash.update(input.as_bytes());
    hash.update([0]);
    hash.update(line_number.to_le_bytes());
    hash.update(line);
    hash.finalize().iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Appends `value` in decimal, left-padded with zeros to `width` digits.
fn push_padded(out: &mut Vec<u8>, value: u32, width: usize) {
    let mut buffer = itoa::Buffer::new();
    let text = buffer.format(value);
    out.extend(std::iter::repeat_n(b'0', width.saturating_sub(text.len())));
    out.extend_from_slice(text.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(pattern: &str, millis: i64) -> String {
        let mut out = Vec::new();
        IndexPattern::parse(pattern)
            .unwrap()
            .write_name(Timestamp::from_unix_millis(millis).unwrap(), &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn index_names_from_utc_timestamp() {
        assert_eq!(name(DEFAULT_INDEX, 1_795_239_468_000), "weblogs-2026-11-21");
        assert_eq!(name("logs-%Y-%m-%d-%H", 1_795_239_468_000), "logs-2026-11-21-05");
        assert_eq!(name("static", 0), "static");
        assert_eq!(name("pct-%%-%Y", 0), "pct-%-1970");
    }

    #[test]
    fn rejects_names_opensearch_refuses() {
        for (pattern, expected) in [
            ("Weblogs", "lowercase"),
            ("web logs", "lowercase"),
            ("", "non-empty"),
            ("_hidden", "does not start"),
            ("logs-%j", "placeholders"),
        ] {
            let error = IndexPattern::parse(pattern).unwrap_err().to_string();
            assert!(error.contains(expected), "{pattern}: {error}");
        }
    }

    #[test]
    fn bulk_action_line() {
        let mut out = Vec::new();
        let epoch = Timestamp::from_unix_millis(0).unwrap();
        let bulk =
            OutputFormat::Bulk { index: IndexPattern::parse(DEFAULT_INDEX).unwrap(), stable_ids: false };
        bulk.write_prefix(epoch, ("access.log", 1, b"line"), &mut out);
        assert_eq!(out, b"{\"index\":{\"_index\":\"weblogs-1970-01-01\"}}\n");
        out.clear();
        let with_ids =
            OutputFormat::Bulk { index: IndexPattern::parse(DEFAULT_INDEX).unwrap(), stable_ids: true };
        with_ids.write_prefix(epoch, ("access.log", 1, b"line"), &mut out);
        let id = document_id("access.log", 1, b"line");
        assert_eq!(
            String::from_utf8(out.clone()).unwrap(),
            format!("{{\"index\":{{\"_index\":\"weblogs-1970-01-01\",\"_id\":\"{id}\"}}}}\n")
        );
        assert_eq!(id.len(), 32);
        assert_ne!(id, document_id("access.log", 2, b"line"), "the same text on another line");
        assert_ne!(id, document_id("other.log", 1, b"line"));
        out.clear();
        OutputFormat::Ndjson.write_prefix(epoch, ("access.log", 1, b"line"), &mut out);
        assert!(out.is_empty());
    }
}
