//! Direct delivery: each call one `_bulk` request to the OpenSearch domain, signed for `es` with
//! the function's role, its per-item results mapped to the delivery loop's.
//!
//! The entries are written as `_bulk` lines already (a `create` action with the document's id and
//! index, then the document: see [`crate::EntryFormat`]), so the body is the entries one after the
//! other, optionally gzip-compressed. `create` with an id makes delivery exactly-once: a document
//! sent again (a retry in another execution environment, a replay) meets a 409 conflict, which
//! means it is there already.
//!
//! | answer | meaning |
//! |---|---|
//! | item 200/201 | delivered |
//! | item 409 | already there (delivered) |
//! | item 429, 5xx, `es_rejected_execution_exception` | sent again with backoff |
//! | item 403/404 (a block, a missing index that may not be created) | sent again: the setup can fix it |
//! | item 400 and other 4xx (mapping errors) | refused: kept in the backup bucket with the error |
//! | call 429, 5xx, no answer | the whole call again |
//! | call 401/403 | permanent: the role is not mapped or the access policy does not admit it |
//! | call 413 | permanent: `OPENSEARCH_MAX_BULK_BYTES` is over the domain's request limit |

use std::io::Write as _;
use std::sync::Arc;

use aws_clients::signed::{Answer, SignedClient};
use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use serde::Deserialize;

use crate::delivery::{CallError, CallLimits, EntryResult, RecordBatchSink};
use crate::settings::{OPENSEARCH_MAX_BULK_BYTES, OpenSearchSettings};

/// How many documents one `_bulk` request holds at most (the body's size limits it first for
/// documents over 1 KB).
pub const MAX_DOCUMENTS_PER_BULK: usize = 10_000;

/// `_bulk` requests to one domain.
#[derive(Debug, Clone)]
pub struct BulkSink {
    client: Arc<SignedClient>,
    max_bulk_bytes: usize,
    gzip: bool,
}

impl BulkSink {
    pub fn new(client: SignedClient, settings: &OpenSearchSettings) -> Self {
        Self { client: Arc::new(client), max_bulk_bytes: settings.max_bulk_bytes, gzip: settings.gzip }
    }
}

impl RecordBatchSink for BulkSink {
    fn limits(&self) -> CallLimits {
        CallLimits { max_entries: MAX_DOCUMENTS_PER_BULK, max_bytes: self.max_bulk_bytes }
    }

    async fn send_batch(&self, entries: &[&[u8]]) -> Result<Vec<EntryResult>, CallError> {
        let length: usize = entries.iter().map(|entry| entry.len()).sum();
        let (body, encoding) = if self.gzip {
            let mut encoder = GzEncoder::new(Vec::with_capacity(length / 4), Compression::fast());
            for entry in entries {
                encoder.write_all(entry).map_err(|error| CallError::Permanent(format!("gzip: {error}")))?;
            }
            let compressed =
                encoder.finish().map_err(|error| CallError::Permanent(format!("gzip: {error}")))?;
            (compressed, Some("gzip"))
        } else {
            (entries.concat(), None)
        };
        let mut headers = vec![("content-type", "application/x-ndjson")];
        headers.extend(encoding.map(|encoding| ("content-encoding", encoding)));
        let answer = self
            .client
            .send("POST", "/_bulk", &headers, Bytes::from(body))
            .await
            .map_err(CallError::Retryable)?;
        bulk_results(&answer, entries.len(), length)
    }
}

/// The per-entry results of a `_bulk` answer to `entries` entries (`length` bytes before
/// compression), or why the whole call failed.
pub fn bulk_results(answer: &Answer, entries: usize, length: usize) -> Result<Vec<EntryResult>, CallError> {
    let status = answer.status;
    let text = || {
        let body = String::from_utf8_lossy(&answer.body);
        let mut text: String = body.chars().take(300).collect();
        if text.len() < body.len() {
            text.push('…');
        }
        text
    };
    match status {
        200 => {}
        401 | 403 => {
            return Err(CallError::Permanent(format!(
                "{status} from the domain's _bulk: the function's role may not write there (it needs \
                 indices:data/write/bulk* and indices:data/write/index on the index pattern, which the \
                 stack's setup maps, and the domain's access policy must admit it): {}",
                text()
            )));
        }
        413 => {
            return Err(CallError::Permanent(format!(
                "413 from the domain's _bulk: a body of {length} bytes is over its request limit; set \
                 {} below it: {}",
                OPENSEARCH_MAX_BULK_BYTES.env,
                text()
            )));
        }
        429 | 500..=599 => {
            return Err(CallError::Retryable(format!("{status} from the domain's _bulk: {}", text())));
        }
        _ => return Err(CallError::Permanent(format!("{status} from the domain's _bulk: {}", text()))),
    }
    let response: BulkResponse = serde_json::from_slice(&answer.body).map_err(|error| {
        CallError::Retryable(format!("an answer to _bulk that is not its JSON ({error}): {}", text()))
    })?;
    if !response.errors && response.items.len() == entries {
        return Ok(vec![EntryResult::Delivered; entries]);
    }
    Ok(response.items.iter().map(BulkItem::result).collect())
}

/// The parts of a `_bulk` answer read here.
#[derive(Debug, Deserialize)]
struct BulkResponse {
    #[serde(default)]
    errors: bool,
    #[serde(default)]
    items: Vec<BulkItem>,
}

/// One item: `{"create": {"status": 201, "error": {...}}}`.
#[derive(Debug, Deserialize)]
struct BulkItem {
    #[serde(alias = "index")]
    create: ItemResult,
}

#[derive(Debug, Deserialize)]
struct ItemResult {
    status: u16,
    error: Option<ItemError>,
}

#[derive(Debug, Deserialize)]
struct ItemError {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    reason: String,
}

impl BulkItem {
    fn result(&self) -> EntryResult {
        let ItemResult { status, ref error } = self.create;
        let reason = || match error {
            Some(ItemError { kind, reason }) => format!("{status} {kind}: {reason}"),
            None => status.to_string(),
        };
        match status {
            200..=299 => EntryResult::Delivered,
            409 => EntryResult::AlreadyThere,
            403 | 404 | 408 | 429 | 500..=599 => EntryResult::Retry(reason()),
            _ => EntryResult::Refused(reason()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Answer {
        Answer { status, body: Bytes::from(body.to_owned()) }
    }

    #[test]
    fn each_item_is_delivered_already_there_retried_or_refused() {
        let body = r#"{"took":3,"errors":true,"items":[
            {"create":{"_index":"weblogs-2026-11-21","_id":"a","status":201,"result":"created"}},
            {"create":{"_index":"weblogs-2026-11-21","_id":"b","status":409,"error":{"type":"version_conflict_engine_exception","reason":"[b]: version conflict, document already exists"}}},
            {"create":{"_index":"weblogs-2026-11-21","_id":"c","status":429,"error":{"type":"es_rejected_execution_exception","reason":"rejected execution"}}},
            {"create":{"_index":"weblogs-2026-11-21","_id":"d","status":400,"error":{"type":"mapper_parsing_exception","reason":"failed to parse field [source.ip] of type [ip]"}}},
            {"create":{"_index":"weblogs-2026-11-21","_id":"e","status":503,"error":{"type":"unavailable_shards_exception","reason":"primary shard is not active"}}}
        ]}"#;
        let results = bulk_results(&answer(200, body), 5, 100).unwrap();
        assert_eq!(
            results,
            [
                EntryResult::Delivered,
                EntryResult::AlreadyThere,
                EntryResult::Retry("429 es_rejected_execution_exception: rejected execution".into()),
                EntryResult::Refused(
                    "400 mapper_parsing_exception: failed to parse field [source.ip] of type [ip]".into()
                ),
                EntryResult::Retry("503 unavailable_shards_exception: primary shard is not active".into()),
            ]
        );
        let clean =
            r#"{"took":1,"errors":false,"items":[{"create":{"status":201}},{"create":{"status":201}}]}"#;
        assert_eq!(bulk_results(&answer(200, clean), 2, 10).unwrap(), vec![EntryResult::Delivered; 2]);
        // Fewer items than entries: the loop counts the missing ones as failed.
        assert_eq!(bulk_results(&answer(200, clean), 3, 10).unwrap().len(), 2);
    }

    #[test]
    fn whole_call_answers() {
        let forbidden = r#"{"message":"User: arn:aws:sts::123456789012:assumed-role/x is not authorized"}"#;
        let Err(CallError::Permanent(error)) = bulk_results(&answer(403, forbidden), 1, 10) else { panic!() };
        assert!(
            error.starts_with("403 from the domain's _bulk") && error.contains("indices:data/write/bulk*"),
            "{error}"
        );
        assert!(error.contains("is not authorized"), "{error}");
        let Err(CallError::Permanent(error)) = bulk_results(&answer(413, ""), 1, 12_345) else { panic!() };
        assert!(error.contains("12345 bytes") && error.contains("OPENSEARCH_MAX_BULK_BYTES"), "{error}");
        for status in [429, 500, 502, 503, 504] {
            assert!(
                matches!(bulk_results(&answer(status, "busy"), 1, 10), Err(CallError::Retryable(_))),
                "{status}"
            );
        }
        assert!(matches!(bulk_results(&answer(400, "{}"), 1, 10), Err(CallError::Permanent(_))));
        assert!(matches!(bulk_results(&answer(200, "<html>"), 1, 10), Err(CallError::Retryable(_))));
        let long = "x".repeat(5_000);
        let Err(CallError::Retryable(error)) = bulk_results(&answer(503, &long), 1, 10) else { panic!() };
        assert!(error.len() < 400, "an answer's text is cut for the log");
    }
}
