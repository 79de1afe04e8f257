//! The Firehose data-transformation handler: every record of the request gets exactly one answer.
//!
//! - a record with one log event (a line, a Kinesis Agent JSON record, a CloudWatch Logs envelope
//!   with one event) ─▶ `Ok`, its data the enriched document (a line that does not parse still
//!   becomes a document, tagged `_parse_failure`; a line that is not UTF-8 is a line all the same,
//!   its odd bytes written as Apache writes them);
//! - a CloudWatch Logs `CONTROL_MESSAGE`, or a record with no event at all ─▶ `Dropped`;
//! - data that is not base64, corrupt or oversized gzip ─▶ `ProcessingFailed` (Firehose keeps the
//!   record in its S3 `processing-failed/` prefix);
//! - a record holding several events ─▶ `ProcessingFailed`: OpenSearch indexes one document per
//!   Firehose record, so such sources belong behind kinesis-enricher, which fans them out;
//! - the response must stay under Lambda's 6 MB limit. Enrichment makes records several times
//!   larger, so once an answer would not fit, the remaining enriched records are answered
//!   `ProcessingFailed` with their original data instead: never omitted, never dropped.

use std::time::SystemTime;

pub mod event;

use enrichment::{CloudOrigin, Enricher, EventContext, Timestamp, json_string_len, write_json_string};
use lambda_shell::base64;
use lambda_shell::freshness::LineTimes;
use lambda_shell::records::{RecordContent, decode_record};
use lambda_shell::{Handler, Startup};
use serde::{Deserialize, Serialize};

use crate::event::{FirehoseRecord, TransformationRequest};

/// What the response may weigh: under Lambda's 6 MB (6,291,456-byte) limit for synchronous
/// responses, with room to spare.
pub const RESPONSE_BUDGET_BYTES: usize = 6_000_000;

/// The result of one record, as Firehose expects it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TransformResult {
    Ok,
    Dropped,
    ProcessingFailed,
}

/// One answer, as Firehose reads it. `data` is base64; `Dropped` records carry none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseRecord {
    pub record_id: String,
    pub result: TransformResult,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}

/// The transformation response: `{"records":[...]}`, written as JSON by the handler itself
/// (see [`ResponseWriter`]) and handed to the Runtime API as it is.
#[derive(Debug, Clone)]
pub struct TransformationResponse(Vec<u8>);

impl TransformationResponse {
    /// The JSON Firehose receives.
    pub fn json(&self) -> &str {
        std::str::from_utf8(&self.0).expect("the response is written from UTF-8 pieces")
    }

    /// The answers, read back from the JSON.
    pub fn records(&self) -> Result<Vec<ResponseRecord>, serde_json::Error> {
        #[derive(Deserialize)]
        struct Records {
            records: Vec<ResponseRecord>,
        }
        Ok(serde_json::from_str::<Records>(self.json())?.records)
    }
}

lambda_shell::invocation_summary! {
    /// What one invocation did; logged as one INFO line and written as EMF metrics.
    pub struct Summary {
        records_in => "RecordsIn": Count,
        ok => "RecordsOk": Count,
        dropped => "RecordsDropped": Count,
        /// Records whose line a `DROP_WHEN` rule dropped, or a `SAMPLE_WHEN` rule left out
        /// (answered `Dropped`).
        dropped_lines => "DroppedLines": Count,
        sampled_out_lines => "SampledOutLines": Count,
        processing_failed => "RecordsProcessingFailed": Count,
        /// Records that were not base64, or corrupt or oversized gzip.
        undecodable => "UndecodableRecords": Count,
        /// Records holding more than one event.
        multi_event => "MultiEventRecords": Count,
        /// Enriched records answered `ProcessingFailed` to keep the response under the limit.
        over_response_limit => "OverResponseLimit": Count,
        parse_failures => "ParseFailures": Count,
        geoip_misses => "GeoIpMisses": Count,
        bytes_in => "BytesIn": Bytes,
        bytes_out => "BytesOut": Bytes,
        /// Documents whose line's age was taken when the answer was ready (parse failures, which
        /// carry the arrival time, are not), and the ages' median and maximum.
        aged_lines,
        lag_median_ms => "LagMedian": Milliseconds when aged_lines,
        lag_max_ms => "LagMax": Milliseconds when aged_lines,
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
pub struct TransformHandler {
    enricher: Enricher,
    max_decompressed_bytes: usize,
    /// The current record's data, decoded from base64.
    decoded: Vec<u8>,
    /// The current record's document.
    document: Vec<u8>,
    /// The function's region (`AWS_REGION`), for requests that do not say theirs.
    region: Option<String>,
    /// The time of each document read from a line, in the current request.
    line_times: LineTimes,
}

impl TransformHandler {
    /// The handler built at start-up: it reads no setting of its own.
    pub fn from_startup(startup: Startup<'_>) -> Self {
        Self::new(startup.enricher, startup.max_decompressed_bytes)
    }

    pub fn new(enricher: Enricher, max_decompressed_bytes: usize) -> Self {
        Self {
            enricher,
            max_decompressed_bytes,
            decoded: Vec::new(),
            document: Vec::with_capacity(4096),
            region: std::env::var("AWS_REGION").ok().filter(|region| !region.is_empty()),
            line_times: LineTimes::default(),
        }
    }

    /// Answers every record of `event`, in order.
    pub fn handle(&mut self, event: &TransformationRequest<'_>) -> (TransformationResponse, Summary) {
        let records = &event.records;
        let mut summary = Summary { records_in: records.len() as u64, ..Summary::default() };
        self.line_times.clear();
        // Owned: `self` is borrowed mutably below (one small copy per invocation).
        let own_region = self.region.clone();
        let region = event.region.as_deref().or(own_region.as_deref());
        let cloud = CloudOrigin::of_arn(event.delivery_stream_arn.as_deref(), region);
        // What answering every record not yet handled with its original data would weigh: the
        // answer that always fits, since those bytes came in within the request limit.
        let fallback_lens: Vec<usize> = records.iter().map(ResponseWriter::failed_len).collect();
        let mut later_fallbacks: usize = fallback_lens.iter().sum();
        let mut response =
            ResponseWriter::new(later_fallbacks.saturating_mul(4).min(RESPONSE_BUDGET_BYTES + 4096));
        for (index, (record, fallback_len)) in records.iter().zip(fallback_lens).enumerate() {
            later_fallbacks -= fallback_len;
            summary.bytes_in += record.data.len() as u64;
            let mut result = self.transform(record, cloud, &mut summary);
            let mark = response.start_answer();
            response.write(record, result, &self.document);
            // The whole response if every later record were answered with its original data (each
            // after a comma).
            let later_records = records.len() - index - 1;
            let projected = response.len() + later_records + later_fallbacks + ResponseWriter::END.len();
            if result == TransformResult::Ok && projected > RESPONSE_BUDGET_BYTES {
                summary.over_response_limit += 1;
                response.cut_back(mark);
                result = TransformResult::ProcessingFailed;
                response.write(record, result, &self.document);
            }
            summary.count(result);
            if result == TransformResult::Ok {
                summary.bytes_out += base64::encoded_len(self.document.len()) as u64;
            }
        }
        if summary.over_response_limit > 0 {
            tracing::warn!(
                records = summary.over_response_limit,
                "enriched records would push the response over Lambda's 6 MB limit: answered ProcessingFailed \
                 with their original data (lower the Firehose processor buffer size)"
            );
        }
        if let Some(ages) = self.line_times.ages(Timestamp::now()) {
            summary.aged_lines = ages.lines;
            summary.lag_median_ms = ages.median_ms;
            summary.lag_max_ms = ages.max_ms;
        }
        (response.finish(), summary)
    }

    /// Decodes and enriches one record: `Ok` leaves its document (newline-terminated) in
    /// `self.document`.
    fn transform(
        &mut self,
        record: &FirehoseRecord<'_>,
        cloud: CloudOrigin<'_>,
        summary: &mut Summary,
    ) -> TransformResult {
        let undecodable = |summary: &mut Summary, error: &dyn std::fmt::Display| {
            summary.undecodable += 1;
            tracing::warn!(record_id = %record.record_id, %error, "record cannot be read: ProcessingFailed");
            TransformResult::ProcessingFailed
        };
        self.decoded.clear();
        if let Err(error) = base64::decode_append(&record.data, &mut self.decoded) {
            return undecodable(summary, &format_args!("data is not base64: {error}"));
        }
        let content = match decode_record(&self.decoded, self.max_decompressed_bytes) {
            Ok(RecordContent::Control) => return TransformResult::Dropped,
            Ok(content) => content,
            Err(error) => return undecodable(summary, &error),
        };
        let mut events = content.events();
        let event = match (events.next(), events.next()) {
            (None, _) => return TransformResult::Dropped,
            (Some(event), None) => event,
            (Some(_), Some(_)) => {
                summary.multi_event += 1;
                tracing::warn!(
                    record_id = %record.record_id,
                    events = 2 + events.count(),
                    "record holds several events; Firehose indexes one document per record, so it is \
                     ProcessingFailed: send this source through kinesis-enricher"
                );
                return TransformResult::ProcessingFailed;
            }
        };
        let received_at = record
            .approximate_arrival_timestamp
            .and_then(Timestamp::from_unix_millis_f64)
            .unwrap_or_else(Timestamp::now);
        let context = EventContext {
            event_id: Some(&record.record_id),
            received_at,
            log_origin: content.log_origin(),
            cloud: Some(content.owner().map_or(cloud, |owner| cloud.owned_by(owner))),
        };
        self.document.clear();
        // A record is read alone (no file header of an earlier one applies to it), by its log
        // group's format.
        self.enricher.start_file(context.log_origin.map(|origin| origin.source_name()), None);
        let outcome = self.enricher.enrich_line(event, &context, &mut self.document);
        if !outcome.has_document() {
            // A CloudFront standard log's `#Version:`/`#Fields:` line, or a line the rules leave
            // out: no event to index.
            summary.dropped_lines += u64::from(outcome.dropped);
            summary.sampled_out_lines += u64::from(outcome.sampled_out);
            return TransformResult::Dropped;
        }
        summary.parse_failures += u64::from(outcome.parse_failure);
        summary.geoip_misses += u64::from(outcome.geoip_lookup_failure);
        if !outcome.parse_failure {
            self.line_times.push(outcome.timestamp);
        }
        self.document.push(b'\n');
        TransformResult::Ok
    }
}

impl Handler for TransformHandler {
    type Event<'a> = TransformationRequest<'a>;
    type Response = TransformationResponse;
    type Summary = Summary;

    /// Firehose waits for the answer; there is nothing to retry against the deadline.
    async fn handle(
        &mut self,
        event: &Self::Event<'_>,
        _deadline: SystemTime,
    ) -> (TransformationResponse, Summary) {
        TransformHandler::handle(self, event)
    }

    fn response_json(response: TransformationResponse) -> Vec<u8> {
        response.0
    }
}

/// Writes the response JSON as serde_json would write [`ResponseRecord`]s, straight from the
/// request's strings and the documents: one buffer, base64 encoded in place, no string escaped
/// that cannot need it.
#[derive(Debug)]
struct ResponseWriter {
    out: Vec<u8>,
    answers: usize,
}

impl ResponseWriter {
    const START: &'static [u8] = br#"{"records":["#;
    const END: &'static [u8] = b"]}";
    const RECORD_ID: &'static [u8] = br#"{"recordId":"#;

    fn new(capacity: usize) -> Self {
        let mut out = Vec::with_capacity(capacity);
        out.extend_from_slice(Self::START);
        Self { out, answers: 0 }
    }

    /// The size of `ProcessingFailed` with the record's data as it came.
    fn failed_len(record: &FirehoseRecord<'_>) -> usize {
        Self::RECORD_ID.len()
            + json_string_len(&record.record_id)
            + Self::result_text(TransformResult::ProcessingFailed).len()
            + json_string_len(&record.data)
            + 1
    }

    /// `,"result":"…"` and, for answers with data, `,"data":` after it.
    fn result_text(result: TransformResult) -> &'static str {
        match result {
            TransformResult::Ok => r#","result":"Ok","data":"#,
            TransformResult::Dropped => r#","result":"Dropped""#,
            TransformResult::ProcessingFailed => r#","result":"ProcessingFailed","data":"#,
        }
    }

    /// Opens the next answer; returns where it starts, for [`Self::cut_back`].
    fn start_answer(&mut self) -> usize {
        if self.answers > 0 {
            self.out.push(b',');
        }
        self.answers += 1;
        self.out.len()
    }

    /// The bytes written so far.
    fn len(&self) -> usize {
        self.out.len()
    }

    /// Removes the answer started at `mark`.
    fn cut_back(&mut self, mark: usize) {
        self.out.truncate(mark);
    }

    /// Writes one answer: `Ok` with `document` in base64, `ProcessingFailed` with the data as it
    /// came.
    fn write(&mut self, record: &FirehoseRecord<'_>, result: TransformResult, document: &[u8]) {
        self.out.extend_from_slice(Self::RECORD_ID);
        write_json_string(&mut self.out, &record.record_id);
        self.out.extend_from_slice(Self::result_text(result).as_bytes());
        match result {
            TransformResult::Ok => {
                self.out.push(b'"');
                base64::encode_append(document, &mut self.out);
                self.out.push(b'"');
            }
            TransformResult::Dropped => {}
            TransformResult::ProcessingFailed => write_json_string(&mut self.out, &record.data),
        }
        self.out.push(b'}');
    }

    fn finish(mut self) -> TransformationResponse {
        self.out.extend_from_slice(Self::END);
        // Every piece written is UTF-8 (the request's strings, JSON punctuation, base64) and the
        // whole is JSON by construction: not checked again here (a pass over up to 6 MB), but by
        // the tests, which read every response back, the hostile corpus's and the fuzzer's included.
        TransformationResponse(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(data: &[u8]) -> Vec<u8> {
        let mut text = Vec::new();
        base64::encode_append(data, &mut text);
        text
    }

    fn record<'a>(record_id: &'a str, data: &'a str) -> FirehoseRecord<'a> {
        FirehoseRecord { record_id: record_id.into(), approximate_arrival_timestamp: None, data: data.into() }
    }

    /// The writer writes what serde_json writes for the same answers, and says how long each is.
    #[test]
    fn answers_are_written_as_serde_json_writes_them() {
        let cases = [
            (record("4965000100000", "YQ=="), TransformResult::Ok, &b"{}\n"[..]),
            (
                record("id \"quoted\"", "%%% not base64 \u{1} %%%"),
                TransformResult::ProcessingFailed,
                &b""[..],
            ),
            (record("", ""), TransformResult::Dropped, &b""[..]),
        ];
        let mut writer = ResponseWriter::new(0);
        let mut expected = Vec::new();
        for (record, result, document) in &cases {
            let start = writer.start_answer();
            writer.write(record, *result, document);
            let len = writer.len() - start;
            let data = match result {
                TransformResult::Ok => Some(String::from_utf8(encoded(document)).unwrap()),
                TransformResult::Dropped => None,
                TransformResult::ProcessingFailed => Some(record.data.to_string()),
            };
            let answer = ResponseRecord { record_id: record.record_id.to_string(), result: *result, data };
            assert_eq!(len, serde_json::to_vec(&answer).unwrap().len(), "{answer:?}");
            if *result == TransformResult::ProcessingFailed {
                assert_eq!(len, ResponseWriter::failed_len(record));
            }
            expected.push(answer);
        }
        let response = writer.finish();
        assert_eq!(
            response.json(),
            format!(r#"{{"records":{}}}"#, serde_json::to_string(&expected).unwrap())
        );
        assert_eq!(response.records().unwrap(), expected);
        assert_eq!(
            TransformHandler::response_json(response.clone()),
            response.json().as_bytes(),
            "handed to the Runtime API as it is"
        );
    }

    #[test]
    fn an_empty_request_gets_an_empty_answer() {
        assert_eq!(ResponseWriter::new(0).finish().json(), r#"{"records":[]}"#);
    }
}
