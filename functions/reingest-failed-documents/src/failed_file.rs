//! Firehose's failed-record files: what it writes to the backup bucket's `failed/` prefix when it
//! could not deliver documents to OpenSearch within its retry duration. A file is gzip (the
//! stack's `CompressionFormat`) or plain, and holds one JSON record per document, one after the
//! other:
//!
//! ```json
//! {"attemptsMade":4,"arrivalTimestamp":1796638807000,"errorCode":"400",
//!  "errorMessage":"mapper_parsing_exception ...","attemptEndingTimestamp":1796646007000,
//!  "rawData":"eyJAdGltZXN0YW1wIjoi...","subsequenceNumber":0,"esDocumentId":"...",
//!  "esIndexName":"weblogs-2026-12-07","esTypeName":""}
//! ```
//!
//! `rawData` is the document as it was put into the stream, base64-encoded. A file is taken whole
//! or not at all: any record that is not such a document makes the file malformed, so nothing of
//! it is sent and it is kept for a person to look at.

use std::io::Read;
use std::ops::Range;

use flate2::read::MultiGzDecoder;
use serde::Deserialize;
use serde_json::Value;

use firehose_delivery::MAX_ENTRY_BYTES;
use lambda_shell::base64;

/// The most a file may hold decompressed: Firehose's backup buffer is at most 128 MiB, the stack's
/// 5 MiB; anything far larger is not one of its files (or a gzip bomb).
pub const MAX_FILE_BYTES: usize = 256 << 20;

/// One document Firehose gave up on, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedRecord {
    /// The document, as it was put into the delivery stream.
    pub document: Vec<u8>,
    /// OpenSearch's (or Firehose's) error code and message, empty when the record has none.
    pub error_code: String,
    pub error_message: String,
    /// Where the record's JSON text is in the file's (decompressed) text.
    span: Range<usize>,
}

/// A file's records, and its decompressed text (to write back the records not yet delivered).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedFile {
    text: Vec<u8>,
    pub records: Vec<FailedRecord>,
}

/// Why a file is not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MalformedFile {
    #[error("corrupt gzip: {0}")]
    Gzip(String),
    #[error("more than {0} bytes decompressed: not a Firehose failed-record file")]
    TooLarge(usize),
    #[error("no records")]
    Empty,
    #[error("not JSON records (after {records} records): {reason}")]
    Json { records: usize, reason: String },
    #[error(
        "records the processor refused (they name a lambdaArn): their rawData is log data, not documents; \
         they are not sent"
    )]
    ProcessingFailed,
    #[error("record {record}: {reason}")]
    Record { record: usize, reason: String },
}

/// The fields read from a record; the others are left alone.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RecordFields {
    raw_data: Option<Value>,
    error_code: Option<Value>,
    error_message: Option<Value>,
    lambda_arn: Option<Value>,
}

impl FailedFile {
    /// The records of a file as S3 holds it (gzip, possibly several members, or plain).
    pub fn parse(object: &[u8]) -> Result<Self, MalformedFile> {
        Self::parse_within(object, MAX_FILE_BYTES)
    }

    fn parse_within(object: &[u8], limit: usize) -> Result<Self, MalformedFile> {
        let text = if object.starts_with(&[0x1f, 0x8b]) {
            let mut text = Vec::new();
            MultiGzDecoder::new(object)
                .take(limit as u64 + 1)
                .read_to_end(&mut text)
                .map_err(|error| MalformedFile::Gzip(error.to_string()))?;
            text
        } else {
            object.to_vec()
        };
        if text.len() > limit {
            return Err(MalformedFile::TooLarge(limit));
        }
        let mut records = Vec::new();
        let mut values = serde_json::Deserializer::from_slice(&text).into_iter::<RecordFields>();
        let mut start = 0;
        while let Some(fields) = values.next() {
            let fields = fields
                .map_err(|error| MalformedFile::Json { records: records.len(), reason: error.to_string() })?;
            if fields.lambda_arn.is_some() {
                return Err(MalformedFile::ProcessingFailed);
            }
            let end = values.byte_offset();
            let record = records.len() + 1;
            records.push(
                record_of(fields, start..end).map_err(|reason| MalformedFile::Record { record, reason })?,
            );
            start = end;
        }
        if records.is_empty() {
            return Err(MalformedFile::Empty);
        }
        Ok(Self { text, records })
    }

    /// The records at `indices` as a file of the same kind (gzip), for what is left to deliver.
    pub fn with_only(&self, indices: &[usize]) -> Vec<u8> {
        let mut text = Vec::new();
        for &index in indices {
            text.extend_from_slice(self.text[self.records[index].span.clone()].trim_ascii());
            text.push(b'\n');
        }
        gzip(&text)
    }
}

/// The record's document, or why it is not one.
fn record_of(fields: RecordFields, span: Range<usize>) -> Result<FailedRecord, String> {
    let Some(Value::String(raw_data)) = fields.raw_data else {
        return Err("no rawData string".into());
    };
    let mut document = Vec::with_capacity(raw_data.len() / 4 * 3);
    base64::decode_append(&raw_data, &mut document).map_err(|_| "rawData is not base64".to_owned())?;
    if document.len() > MAX_ENTRY_BYTES {
        return Err(format!("the document has {} bytes, over Firehose's record limit", document.len()));
    }
    if !matches!(serde_json::from_slice::<Value>(&document), Ok(Value::Object(_))) {
        return Err("rawData is not a JSON document".into());
    }
    Ok(FailedRecord {
        document,
        error_code: text_of(fields.error_code),
        error_message: text_of(fields.error_message),
        span,
    })
}

/// A code or message as text, whether the record gives a string or a number.
fn text_of(value: Option<Value>) -> String {
    match value {
        Some(Value::String(text)) => text,
        None | Some(Value::Null) => String::new(),
        Some(other) => other.to_string(),
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(data);
    encoder.finish().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base64_of(data: &[u8]) -> String {
        let mut text = Vec::new();
        base64::encode_append(data, &mut text);
        String::from_utf8(text).unwrap_or_default()
    }

    fn record(document: &str, code: &str) -> String {
        json!({
            "attemptsMade": 4, "arrivalTimestamp": 1_796_638_807_000_u64, "errorCode": code,
            "errorMessage": "mapper_parsing_exception: failed to parse field [url.port]",
            "attemptEndingTimestamp": 1_796_646_007_000_u64, "rawData": base64_of(document.as_bytes()),
            "subsequenceNumber": 0, "esDocumentId": "49655...", "esIndexName": "weblogs-2026-12-07", "esTypeName": "",
        })
        .to_string()
    }

    #[test]
    fn records_one_per_line_or_back_to_back_in_gzip_or_plain() {
        let (first, second) = (r#"{"a":1}"#, "{\"b\":\"\u{e9}\"}\n");
        let lines = format!("{}\n{}\n", record(first, "400"), record(second, "429"));
        let joined = format!("{}{}", record(first, "400"), record(second, "429"));
        let members =
            [test_gzip(record(first, "400").as_bytes()), test_gzip(record(second, "429").as_bytes())]
                .concat();
        for object in [lines.as_bytes().to_vec(), joined.into_bytes(), test_gzip(lines.as_bytes()), members] {
            let file = FailedFile::parse(&object).unwrap();
            let documents: Vec<&[u8]> = file.records.iter().map(|r| r.document.as_slice()).collect();
            assert_eq!(documents, [first.as_bytes(), second.as_bytes()]);
            assert_eq!(file.records[1].error_code, "429");
            assert_eq!(
                file.records[0].error_message,
                "mapper_parsing_exception: failed to parse field [url.port]"
            );
        }
    }

    #[test]
    fn what_is_left_is_written_back_as_the_records_were() {
        let text = format!(
            "{}\n{}\n{}\n",
            record("{\"n\":1}", "400"),
            record("{\"n\":2}", "400"),
            record("{\"n\":3}", "400")
        );
        let file = FailedFile::parse(text.as_bytes()).unwrap();
        let left = FailedFile::parse(&file.with_only(&[0, 2])).unwrap();
        assert_eq!(left.records.len(), 2);
        assert_eq!(
            (left.records[0].document.as_slice(), left.records[1].document.as_slice()),
            (&b"{\"n\":1}"[..], &b"{\"n\":3}"[..])
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(left.text, format!("{}\n{}\n", lines[0], lines[2]).into_bytes(), "each record's own text");
    }

    #[test]
    fn a_file_that_is_not_documents_is_refused_whole() {
        let good = record("{}", "400");
        let cases: Vec<(Vec<u8>, MalformedFile)> = vec![
            (Vec::new(), MalformedFile::Empty),
            (b"  \n".to_vec(), MalformedFile::Empty),
            (vec![0x1f, 0x8b, 8, 0, 1, 2, 3], MalformedFile::Gzip("unexpected end of file".into())),
            (
                format!("{good}\n{{\"rawData\":\"not base64!\"}}").into_bytes(),
                MalformedFile::Record { record: 2, reason: "rawData is not base64".into() },
            ),
            (
                format!("{good}{}", json!({"rawData": base64_of(b"10.0.0.1 - - [07/Dec/2026] \"GET /\"")}))
                    .into_bytes(),
                MalformedFile::Record { record: 2, reason: "rawData is not a JSON document".into() },
            ),
            (
                b"{\"errorCode\":\"400\"}".to_vec(),
                MalformedFile::Record { record: 1, reason: "no rawData string".into() },
            ),
            (
                json!({"rawData": base64_of(b"x"), "lambdaArn": "arn:aws:lambda:eu-west-1:1:function:t"})
                    .to_string()
                    .into_bytes(),
                MalformedFile::ProcessingFailed,
            ),
        ];
        for (object, expected) in cases {
            assert_eq!(FailedFile::parse(&object), Err(expected), "{}", String::from_utf8_lossy(&object));
        }
        let Err(MalformedFile::Json { records: 1, reason }) =
            FailedFile::parse(format!("{good}\nnot json").as_bytes())
        else {
            panic!("a record that is not JSON");
        };
        assert!(reason.starts_with("expected ident"), "{reason}");
        let huge = json!({"rawData": base64_of(format!("{{\"a\":\"{}\"}}", "x".repeat(MAX_ENTRY_BYTES)).as_bytes())});
        assert!(matches!(
            FailedFile::parse(huge.to_string().as_bytes()),
            Err(MalformedFile::Record { record: 1, reason }) if reason.ends_with("over Firehose's record limit")
        ));
    }

    #[test]
    fn a_gzip_bomb_stops_at_the_limit() {
        let bomb = test_gzip(&vec![b' '; 1 << 20]);
        assert_eq!(FailedFile::parse_within(&bomb, 64 << 10), Err(MalformedFile::TooLarge(64 << 10)));
        assert!(bomb.len() < 4 << 10);
    }

    fn test_gzip(data: &[u8]) -> Vec<u8> {
        gzip(data)
    }
}
