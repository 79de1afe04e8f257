//! Documents the domain refused for their content (a mapping error), kept in the backup bucket's
//! `failed/` prefix in the shape of Firehose's failed-record files, so that what brings Firehose's
//! failed documents back (reingest-failed-documents) brings these back too once the cause is
//! fixed. One gzip file per invocation that had any, under
//! `failed/opensearch-failed/YYYY/MM/DD/HH/`; each record:
//!
//! ```json
//! {"attemptsMade":1,"arrivalTimestamp":1796638807000,"errorCode":"400",
//!  "errorMessage":"mapper_parsing_exception: failed to parse ...","attemptEndingTimestamp":1796638807000,
//!  "rawData":"<the document, base64>","subsequenceNumber":0,"esDocumentId":"...",
//!  "esIndexName":"weblogs-2026-12-07","esTypeName":""}
//! ```

use std::io::Write as _;
use std::sync::Arc;
use std::time::SystemTime;

use aws_clients::signed::SignedClient;
use bytes::Bytes;
use enrichment::{Timestamp, write_json_string};
use flate2::Compression;
use flate2::write::GzEncoder;
use lambda_shell::base64;
use serde::Deserialize;

use crate::delivery::DeliveryReport;

/// Where the files go in the bucket.
pub const FAILED_PREFIX: &str = "failed/opensearch-failed/";

/// Keeps refused documents in one bucket.
#[derive(Debug, Clone)]
pub struct FailedDocuments {
    /// Signed for S3 (`SignedClient::s3`).
    client: Arc<SignedClient>,
    bucket: String,
    /// Names the files: the function that wrote them.
    writer: String,
}

impl FailedDocuments {
    pub fn new(client: SignedClient, bucket: String, writer: &str) -> Self {
        Self { client: Arc::new(client), bucket, writer: writer.to_owned() }
    }

    /// Writes one file with every `(entry, reason)` (a `_bulk` entry: its action line, then the
    /// document); returns its key, or why it could not be written.
    pub async fn keep(&self, refused: &[(&[u8], &str)], now: Timestamp) -> Result<String, String> {
        let file = failed_records_file(refused, now);
        let date = now.to_utc();
        let key = format!(
            "{FAILED_PREFIX}{:04}/{:02}/{:02}/{:02}/{}-{}-{:016x}.gz",
            date.year,
            date.month,
            date.day,
            date.hour,
            self.writer,
            now.unix_millis(),
            fastrand::u64(..)
        );
        // PutObject: the key is made of ASCII letters, digits, '/', '-' and '.' only.
        let headers = [("content-type", "application/x-ndjson"), ("content-encoding", "gzip")];
        let path = format!("/{}/{key}", self.bucket);
        let answer = self.client.send("PUT", &path, &headers, Bytes::from(file)).await;
        match answer {
            Ok(answer) if answer.status == 200 => Ok(key),
            Ok(answer) => {
                let text: String = String::from_utf8_lossy(&answer.body).chars().take(300).collect();
                Err(format!("cannot write s3://{}/{key}: {} {text}", self.bucket, answer.status))
            }
            Err(error) => Err(format!("cannot write s3://{}/{key}: {error}", self.bucket)),
        }
    }
}

/// Keeps the entries `report` says were refused in `failed` and takes them out of the report;
/// returns how many were kept. What cannot be kept (no bucket, S3 failing, no answer before
/// `deadline`) becomes undelivered, so that the caller's retry sends it again.
pub async fn keep_refused(
    failed: Option<&FailedDocuments>,
    entries: &[&[u8]],
    report: &mut DeliveryReport,
    deadline: SystemTime,
) -> u64 {
    if report.refused.is_empty() {
        return 0;
    }
    let refused = std::mem::take(&mut report.refused);
    let kept = match failed {
        Some(failed) => {
            let documents: Vec<(&[u8], &str)> =
                refused.iter().map(|(entry, reason)| (entries[*entry], reason.as_str())).collect();
            let time_left = deadline.duration_since(SystemTime::now()).unwrap_or_default();
            tokio::time::timeout(time_left, failed.keep(&documents, Timestamp::now()))
                .await
                .unwrap_or_else(|_| Err("not kept: the invocation's time ran out".to_owned()))
        }
        None => Err("no bucket to keep them in".to_owned()),
    };
    match kept {
        Ok(key) => {
            tracing::warn!(
                documents = refused.len(),
                key,
                first_error = refused[0].1,
                "documents refused by the domain for their content: kept in the backup bucket"
            );
            refused.len() as u64
        }
        Err(error) => {
            tracing::warn!(
                documents = refused.len(),
                error,
                "refused documents could not be kept: not delivered"
            );
            report.last_error = Some(error);
            report.undelivered.extend(refused.iter().map(|(entry, _)| *entry));
            report.undelivered.sort_unstable();
            0
        }
    }
}

/// The `_bulk` action line's parts kept with the document.
#[derive(Debug, Default, Deserialize)]
struct Action {
    create: Target,
}

#[derive(Debug, Default, Deserialize)]
struct Target {
    #[serde(rename = "_index", default)]
    index: String,
    #[serde(rename = "_id", default)]
    id: String,
}

/// The gzip file of Firehose failed records for `refused`: `(entry, reason)`, the reason as the
/// bulk sink words it (`"400 mapper_parsing_exception: ..."`).
pub fn failed_records_file(refused: &[(&[u8], &str)], now: Timestamp) -> Vec<u8> {
    let millis = now.unix_millis();
    let mut text = Vec::with_capacity(refused.iter().map(|(entry, _)| entry.len() * 4 / 3 + 400).sum());
    for (entry, reason) in refused {
        let (action, document) = match entry.iter().position(|&byte| byte == b'\n') {
            Some(end) => (&entry[..end], &entry[end + 1..]),
            None => (&entry[..0], *entry),
        };
        let action: Action = serde_json::from_slice(action).unwrap_or_default();
        let (code, message) = reason.split_once(' ').unwrap_or(("", reason));
        text.extend_from_slice(br#"{"attemptsMade":1,"arrivalTimestamp":"#);
        text.extend_from_slice(millis.to_string().as_bytes());
        text.extend_from_slice(br#","errorCode":"#);
        write_json_string(&mut text, code);
        text.extend_from_slice(br#","errorMessage":"#);
        write_json_string(&mut text, message);
        text.extend_from_slice(br#","attemptEndingTimestamp":"#);
        text.extend_from_slice(millis.to_string().as_bytes());
        text.extend_from_slice(br#","rawData":""#);
        base64::encode_append(document, &mut text);
        text.extend_from_slice(br#"","subsequenceNumber":0,"esDocumentId":"#);
        write_json_string(&mut text, &action.create.id);
        text.extend_from_slice(br#","esIndexName":"#);
        write_json_string(&mut text, &action.create.index);
        text.extend_from_slice(b",\"esTypeName\":\"\"}\n");
    }
    let mut encoder = GzEncoder::new(Vec::with_capacity(text.len() / 4), Compression::default());
    // Writing to a Vec cannot fail.
    let _infallible = encoder.write_all(&text);
    encoder.finish().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;

    #[test]
    fn a_refused_document_is_a_firehose_failed_record() {
        let entry = b"{\"create\":{\"_index\":\"weblogs-2026-12-07\",\"_id\":\"shardId-1:49:0\"}}\n{\"source\":{\"ip\":\"x\"}}\n";
        let now = Timestamp::from_unix_millis(1_796_638_807_000).unwrap();
        let file = failed_records_file(
            &[(&entry[..], "400 mapper_parsing_exception: failed to parse field [source.ip] of type [ip]")],
            now,
        );
        let mut text = String::new();
        flate2::read::GzDecoder::new(&file[..]).read_to_string(&mut text).unwrap();
        let record: serde_json::Value = serde_json::from_str(text.trim_end()).unwrap();
        assert_eq!(
            record,
            serde_json::json!({
                "attemptsMade": 1,
                "arrivalTimestamp": 1_796_638_807_000_i64,
                "errorCode": "400",
                "errorMessage": "mapper_parsing_exception: failed to parse field [source.ip] of type [ip]",
                "attemptEndingTimestamp": 1_796_638_807_000_i64,
                // {"source":{"ip":"x"}} and its newline
                "rawData": "eyJzb3VyY2UiOnsiaXAiOiJ4In19Cg==",
                "subsequenceNumber": 0,
                "esDocumentId": "shardId-1:49:0",
                "esIndexName": "weblogs-2026-12-07",
                "esTypeName": "",
            })
        );
    }
}
