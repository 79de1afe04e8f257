//! The Firehose data-transformation handler: every record of the request gets exactly one answer.
//!
//! - a record with one log event (a line, a Kinesis Agent JSON record, a CloudWatch Logs envelope
//!   with one event) ─▶ `Ok`, its data the enriched document (a line that does not parse still
//!   becomes a document, tagged `_parse_failure`);
//! - a CloudWatch Logs `CONTROL_MESSAGE`, or a record with no event at all ─▶ `Dropped`;
//! - data that is not text, corrupt or oversized gzip ─▶ `ProcessingFailed` (Firehose keeps the
//!   record in its S3 `processing-failed/` prefix);
//! - a record holding several events ─▶ `ProcessingFailed`: OpenSearch indexes one document per
//!   Firehose record, so such sources belong behind kinesis-enricher, which fans them out;
//! - the response must stay under Lambda's 6 MB limit. Enrichment makes records several times
//!   larger, so once an answer would not fit, the remaining enriched records are answered
//!   `ProcessingFailed` with their original data instead: never omitted, never dropped.

use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use enrichment::settings::open_geoip;
use enrichment::{Enricher, EventContext, StartupError, Timestamp};
use lambda_shell::emf::MetricsTarget;
pub use lambda_shell::event::{FirehoseRecord, TransformationRequest};
use lambda_shell::records::{RecordContent, decode_record};
use lambda_shell::{Handler, Settings};
use serde::Serialize;

/// What the response may weigh: under Lambda's 6 MB (6,291,456-byte) limit for synchronous
/// responses, with room to spare.
pub const RESPONSE_BUDGET_BYTES: usize = 6_000_000;

/// The result of one record, serialized exactly as Firehose expects it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum TransformResult {
    Ok,
    Dropped,
    ProcessingFailed,
}

impl TransformResult {
    fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "Ok",
            Self::Dropped => "Dropped",
            Self::ProcessingFailed => "ProcessingFailed",
        }
    }
}

/// One answer. `data` is base64; `Dropped` records carry none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseRecord {
    pub record_id: String,
    pub result: TransformResult,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}

impl ResponseRecord {
    /// Its size in the serialized response, without serializing it.
    fn json_len(&self) -> usize {
        // {"recordId":<id>,"result":"<result>"[,"data":"<base64>"]}
        let id_len = serde_json::to_string(&self.record_id).map_or(self.record_id.len() + 2, |s| s.len());
        let data_len = self.data.as_ref().map_or(0, |data| r#","data":"""#.len() + data.len());
        r#"{"recordId":,"result":""}"#.len() + id_len + self.result.as_str().len() + data_len
    }
}

/// The transformation response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransformationResponse {
    pub records: Vec<ResponseRecord>,
}

lambda_shell::invocation_summary! {
    /// What one invocation did; logged as one INFO line and written as EMF metrics.
    pub struct Summary {
        records_in => "RecordsIn": Count,
        ok => "RecordsOk": Count,
        dropped => "RecordsDropped": Count,
        processing_failed => "RecordsProcessingFailed": Count,
        /// Records that were not text, or corrupt or oversized gzip.
        undecodable => "UndecodableRecords": Count,
        /// Records holding more than one event.
        multi_event => "MultiEventRecords": Count,
        /// Enriched records answered `ProcessingFailed` to keep the response under the limit.
        over_response_limit => "OverResponseLimit": Count,
        parse_failures => "ParseFailures": Count,
        geoip_misses => "GeoIpMisses": Count,
        bytes_in => "BytesIn": Bytes,
        bytes_out => "BytesOut": Bytes,
    }
}

impl Summary {
    fn count(&mut self, result: TransformResult) {
        match result {
            TransformResult::Ok => self.ok += 1,
            TransformResult::Dropped => self.dropped += 1,
            TransformResult::ProcessingFailed => self.processing_failed += 1,
        }
    }
}

/// The handler and everything it keeps between invocations.
#[derive(Debug)]
pub struct Transformer {
    enricher: Enricher,
    max_decompressed_bytes: usize,
    metrics: MetricsTarget,
    document: Vec<u8>,
}

impl Transformer {
    /// Reads the settings and opens the databases, once. Returns the warnings to log (an optional
    /// City database that is missing).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<(Self, Vec<String>), StartupError> {
        let settings = Settings::from_lookup(&lookup)?;
        let opened = open_geoip(&settings.geoip)?;
        let enricher = Enricher::new(settings.enrichment, opened.geoip);
        Ok((Self::new(enricher, settings.max_decompressed_bytes, settings.metrics), opened.warnings))
    }

    pub fn new(enricher: Enricher, max_decompressed_bytes: usize, metrics: MetricsTarget) -> Self {
        Self { enricher, max_decompressed_bytes, metrics, document: Vec::with_capacity(4096) }
    }

    /// Answers every record of `event`, in order.
    pub fn handle(&mut self, event: &TransformationRequest) -> (TransformationResponse, Summary) {
        let mut summary = Summary { records_in: event.records.len() as u64, ..Summary::default() };
        // What answering every record not yet handled with its original data would weigh: the
        // answer that always fits, since those bytes came in within the request limit.
        let fallbacks: Vec<ResponseRecord> = event.records.iter().map(failed_with_original).collect();
        let mut reserved: usize = r#"{"records":[]}"#.len()
            + event.records.len().saturating_sub(1)
            + fallbacks.iter().map(ResponseRecord::json_len).sum::<usize>();
        let mut used = 0;
        let mut records = Vec::with_capacity(event.records.len());
        for (record, fallback) in event.records.iter().zip(fallbacks) {
            reserved -= fallback.json_len();
            summary.bytes_in += record.data.len() as u64;
            let mut answer = self.transform(record, &mut summary);
            if answer.result == TransformResult::Ok
                && used + answer.json_len() + reserved > RESPONSE_BUDGET_BYTES
            {
                summary.over_response_limit += 1;
                answer = fallback;
            }
            used += answer.json_len();
            summary.count(answer.result);
            if answer.result == TransformResult::Ok {
                summary.bytes_out += answer.data.as_ref().map_or(0, |d| d.len() as u64);
            }
            records.push(answer);
        }
        if summary.over_response_limit > 0 {
            tracing::warn!(
                records = summary.over_response_limit,
                "enriched records would push the response over Lambda's 6 MB limit: answered ProcessingFailed \
                 with their original data (lower the Firehose processor buffer size)"
            );
        }
        (TransformationResponse { records }, summary)
    }

    fn transform(&mut self, record: &FirehoseRecord, summary: &mut Summary) -> ResponseRecord {
        let record_id = record.record_id.clone();
        let undecodable = |summary: &mut Summary, error: &dyn std::fmt::Display| {
            summary.undecodable += 1;
            tracing::warn!(record_id = record.record_id, %error, "record cannot be read: ProcessingFailed");
            failed_with_original(record)
        };
        let data = match BASE64.decode(&record.data) {
            Ok(data) => data,
            Err(error) => return undecodable(summary, &format_args!("data is not base64: {error}")),
        };
        let content = match decode_record(&data, self.max_decompressed_bytes) {
            Ok(content) => content,
            Err(error) => return undecodable(summary, &error),
        };
        let event = match content {
            RecordContent::Control => {
                return ResponseRecord { record_id, result: TransformResult::Dropped, data: None };
            }
            RecordContent::Events(events) => match events.as_slice() {
                [] => return ResponseRecord { record_id, result: TransformResult::Dropped, data: None },
                [event] => event.clone(),
                several => {
                    summary.multi_event += 1;
                    tracing::warn!(
                        record_id,
                        events = several.len(),
                        "record holds several events; Firehose indexes one document per record, so it is \
                         ProcessingFailed: send this source through kinesis-enricher"
                    );
                    return failed_with_original(record);
                }
            },
        };
        let received_at = record
            .approximate_arrival_timestamp
            .and_then(Timestamp::from_unix_millis_f64)
            .unwrap_or_else(Timestamp::now);
        let context = EventContext { event_id: Some(&record_id), received_at };
        self.document.clear();
        let outcome = self.enricher.enrich_line(event.as_bytes(), &context, &mut self.document);
        summary.parse_failures += u64::from(outcome.parse_failure);
        summary.geoip_misses += u64::from(outcome.geoip_lookup_failure);
        self.document.push(b'\n');
        let data = BASE64.encode(&self.document);
        ResponseRecord { record_id, result: TransformResult::Ok, data: Some(data) }
    }
}

impl Handler for Transformer {
    type Event = TransformationRequest;
    type Response = TransformationResponse;
    type Summary = Summary;

    /// Firehose waits for the answer; there is nothing to retry against the deadline.
    async fn handle(
        &mut self,
        event: &TransformationRequest,
        _deadline: SystemTime,
    ) -> (TransformationResponse, Summary) {
        Transformer::handle(self, event)
    }

    fn metrics_target(&self) -> &MetricsTarget {
        &self.metrics
    }
}

/// `ProcessingFailed` with the data as it came (its base64 text, unchanged).
fn failed_with_original(record: &FirehoseRecord) -> ResponseRecord {
    ResponseRecord {
        record_id: record.record_id.clone(),
        result: TransformResult::ProcessingFailed,
        data: Some(record.data.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_formula_matches_the_serialized_record() {
        let records = [
            ResponseRecord {
                record_id: "4965000100000".into(),
                result: TransformResult::Ok,
                data: Some("eyJ9Cg==".into()),
            },
            ResponseRecord {
                record_id: "id \"quoted\"".into(),
                result: TransformResult::ProcessingFailed,
                data: Some(String::new()),
            },
            ResponseRecord { record_id: String::new(), result: TransformResult::Dropped, data: None },
        ];
        for record in records {
            assert_eq!(record.json_len(), serde_json::to_vec(&record).unwrap().len(), "{record:?}");
        }
    }

    #[test]
    fn results_serialize_to_firehose_strings() {
        for (result, text) in [
            (TransformResult::Ok, "\"Ok\""),
            (TransformResult::Dropped, "\"Dropped\""),
            (TransformResult::ProcessingFailed, "\"ProcessingFailed\""),
        ] {
            assert_eq!(serde_json::to_string(&result).unwrap(), text);
        }
    }
}
