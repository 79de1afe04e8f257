//! The Kinesis-triggered handler: every log event of every record, enriched, delivered to Firehose.
//!
//! Each Kinesis record is unpacked into events: KPL aggregates into their user records, each of
//! those into lines (text) or log events (CloudWatch Logs envelopes; control messages carry none).
//! Every event becomes one document, parse failures included. A record that cannot be read at all
//! (binary, corrupt gzip) becomes one `_parse_failure` document, so it is in the index too.
//! Documents over Firehose's 1,000 KiB record limit lose `event.original` and
//! `user_agent.original` first and are tagged `_truncated`; they are never rejected.
//!
//! Delivery ([`delivery`]) retries what fails. Whatever still is not delivered is reported in
//! `batchItemFailures` as the sequence number of the earliest Kinesis record with an undelivered
//! event: Lambda retries the batch from there (at-least-once: the records after it that had been
//! delivered are delivered again).

pub mod delivery;
pub mod event;
pub mod firehose;

use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use enrichment::config::{ConfigError, Setting, StartupError, max_decompressed_bytes};
use enrichment::emf::{MetricsTarget, Unit};
use enrichment::kpl;
use enrichment::records::{RecordContent, decode_record};
use enrichment::{Enricher, EventContext, Timestamp};
use serde::Serialize;
use serde_json::Value;

use crate::delivery::{DeliveryReport, MAX_ENTRY_BYTES, RecordBatchSink, RetryPolicy, deliver};
pub use crate::event::{KinesisEvent, KinesisEventRecord, KinesisRecord};
use crate::firehose::FirehoseSink;

pub const DELIVERY_STREAM_NAME: Setting = Setting { env: "DELIVERY_STREAM_NAME", flag: "" };
pub const DELIVERY_MAX_ATTEMPTS: Setting = Setting { env: "DELIVERY_MAX_ATTEMPTS", flag: "" };
pub const DELIVERY_BASE_BACKOFF_MS: Setting = Setting { env: "DELIVERY_BASE_BACKOFF_MS", flag: "" };
pub const DELIVERY_MAX_BACKOFF_MS: Setting = Setting { env: "DELIVERY_MAX_BACKOFF_MS", flag: "" };

/// The partial batch response (`FunctionResponseTypes: ReportBatchItemFailures`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BatchResponse {
    #[serde(rename = "batchItemFailures")]
    pub batch_item_failures: Vec<BatchItemFailure>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchItemFailure {
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}

/// What one invocation did; logged as one INFO line and written as EMF metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub records: u64,
    pub events: u64,
    pub control_messages: u64,
    pub unreadable_records: u64,
    pub parse_failures: u64,
    pub geoip_misses: u64,
    pub truncated: u64,
    pub delivered: u64,
    pub retried_entries: u64,
    pub failed_entries: u64,
    pub reported_failures: u64,
    pub calls: u64,
}

impl Summary {
    pub fn metrics(&self, duration_ms: f64) -> Vec<(&'static str, f64, Unit)> {
        let count = |value: u64| value as f64;
        vec![
            ("Records", count(self.records), Unit::Count),
            ("Events", count(self.events), Unit::Count),
            ("ControlMessages", count(self.control_messages), Unit::Count),
            ("UnreadableRecords", count(self.unreadable_records), Unit::Count),
            ("ParseFailures", count(self.parse_failures), Unit::Count),
            ("GeoIpMisses", count(self.geoip_misses), Unit::Count),
            ("TruncatedDocuments", count(self.truncated), Unit::Count),
            ("Delivered", count(self.delivered), Unit::Count),
            ("RetriedEntries", count(self.retried_entries), Unit::Count),
            ("FailedEntries", count(self.failed_entries), Unit::Count),
            ("ReportedFailures", count(self.reported_failures), Unit::Count),
            ("Duration", duration_ms, Unit::Milliseconds),
        ]
    }
}

/// Everything read once at start-up, besides the Firehose client.
#[derive(Debug)]
pub struct Settings {
    pub delivery_stream_name: String,
    pub retry: RetryPolicy,
    pub max_decompressed_bytes: usize,
    pub metrics: MetricsTarget,
}

impl Settings {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let delivery_stream_name =
            lookup(DELIVERY_STREAM_NAME.env).filter(|name| !name.trim().is_empty()).ok_or_else(|| {
                ConfigError::new(
                    DELIVERY_STREAM_NAME,
                    "",
                    "the name of the Firehose delivery stream to write to (required)",
                )
            })?;
        let number = |setting: Setting,
                      default: u64,
                      range: std::ops::RangeInclusive<u64>|
         -> Result<u64, ConfigError> {
            match lookup(setting.env) {
                None => Ok(default),
                Some(value) => value.trim().parse().ok().filter(|n| range.contains(n)).ok_or_else(|| {
                    ConfigError::new(
                        setting,
                        &value,
                        format!("a whole number from {} to {}", range.start(), range.end()),
                    )
                }),
            }
        };
        let defaults = RetryPolicy::default();
        let retry = RetryPolicy {
            max_attempts: u32::try_from(number(
                DELIVERY_MAX_ATTEMPTS,
                u64::from(defaults.max_attempts),
                1..=20,
            )?)
            .unwrap_or(8),
            base_delay: std::time::Duration::from_millis(number(DELIVERY_BASE_BACKOFF_MS, 100, 1..=10_000)?),
            max_delay: std::time::Duration::from_millis(number(DELIVERY_MAX_BACKOFF_MS, 5_000, 1..=60_000)?),
            safety_margin: defaults.safety_margin,
        };
        Ok(Self {
            delivery_stream_name,
            retry,
            max_decompressed_bytes: max_decompressed_bytes(&lookup)?,
            metrics: MetricsTarget::from_lookup(&lookup)?,
        })
    }
}

/// Reads every setting, opens the GeoIP databases and builds the Firehose client; returns
/// warnings to log.
pub fn start(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<(Settings, Enricher, FirehoseSink, Vec<String>), StartupError> {
    let settings = Settings::from_lookup(&lookup)?;
    let (enricher, warnings) = Enricher::from_lookup(&lookup)?;
    let sink = FirehoseSink::from_lookup(&lookup, settings.delivery_stream_name.clone())?;
    Ok((settings, enricher, sink, warnings))
}

/// The documents of one invocation, ready for Firehose.
#[derive(Debug, Default)]
pub struct PreparedBatch {
    /// One document per event, newline-terminated.
    pub entries: Vec<Vec<u8>>,
    /// For each entry, the index of its Kinesis record.
    pub entry_record: Vec<usize>,
    /// Each record's sequence number.
    pub sequence_numbers: Vec<String>,
    pub summary: Summary,
}

/// Unpacks and enriches every record of `event`.
pub fn prepare(
    enricher: &mut Enricher,
    event: &KinesisEvent,
    max_decompressed_bytes: usize,
) -> PreparedBatch {
    let mut batch = PreparedBatch::default();
    let mut document = Vec::with_capacity(4096);
    for (record_index, record) in event.records.iter().enumerate() {
        let kinesis = &record.kinesis;
        let sequence = kinesis.sequence_number.clone();
        batch.summary.records += 1;
        let received_at = kinesis
            .approximate_arrival_timestamp
            .and_then(|seconds| Timestamp::from_unix_millis_f64(seconds * 1000.0))
            .unwrap_or_else(Timestamp::now);
        let context = EventContext { event_id: Some(&sequence), received_at };
        let data = match BASE64.decode(&kinesis.data) {
            Ok(data) => data,
            Err(error) => {
                // Lambda always sends base64; anything else is indexed as it came, never dropped.
                let reason = format!("record data is not base64: {error}");
                batch.push_unreadable(enricher, record_index, kinesis.data.as_bytes(), &reason, &context);
                batch.sequence_numbers.push(sequence);
                continue;
            }
        };
        let data = &data;
        let user_records = kpl::deaggregate(data);
        let parts: Vec<&[u8]> = match &user_records {
            Some(parts) => parts.iter().map(Vec::as_slice).collect(),
            None => vec![data.as_slice()],
        };
        for part in parts {
            match decode_record(part, max_decompressed_bytes) {
                Ok(RecordContent::Control) => batch.summary.control_messages += 1,
                Ok(RecordContent::Events(events)) => {
                    for line in events {
                        document.clear();
                        let outcome = enricher.enrich_line(line.as_bytes(), &context, &mut document);
                        batch.summary.parse_failures += u64::from(outcome.parse_failure);
                        batch.summary.geoip_misses += u64::from(outcome.geoip_lookup_failure);
                        batch.push(record_index, &document);
                    }
                }
                Err(error) => {
                    batch.push_unreadable(enricher, record_index, part, &error.to_string(), &context)
                }
            }
        }
        batch.sequence_numbers.push(sequence);
    }
    batch
}

impl PreparedBatch {
    /// A record that cannot be read becomes one `_parse_failure` document: in the index, never
    /// dropped, never a batch failure (retrying cannot fix its bytes).
    fn push_unreadable(
        &mut self,
        enricher: &Enricher,
        record_index: usize,
        data: &[u8],
        reason: &str,
        context: &EventContext<'_>,
    ) {
        tracing::warn!(
            sequence_number = context.event_id,
            reason,
            "unreadable record: indexed as a _parse_failure document"
        );
        self.summary.unreadable_records += 1;
        self.summary.parse_failures += 1;
        let mut document = Vec::new();
        enricher.write_unreadable_record(data, reason, context, &mut document);
        self.push(record_index, &document);
    }

    fn push(&mut self, record_index: usize, document: &[u8]) {
        let mut entry = document.to_vec();
        if entry.len() + 1 > MAX_ENTRY_BYTES {
            entry = truncated(document);
            self.summary.truncated += 1;
        }
        entry.push(b'\n');
        self.entries.push(entry);
        self.entry_record.push(record_index);
        self.summary.events += 1;
    }

    /// The response and summary once delivery is over.
    pub fn finish(mut self, report: &DeliveryReport) -> (BatchResponse, Summary) {
        self.summary.delivered = report.delivered as u64;
        self.summary.retried_entries = report.retried as u64;
        self.summary.failed_entries = report.undelivered.len() as u64;
        self.summary.calls = report.calls as u64;
        let earliest = report.undelivered.iter().map(|&entry| self.entry_record[entry]).min();
        let batch_item_failures: Vec<BatchItemFailure> = earliest
            .map(|record| BatchItemFailure { item_identifier: self.sequence_numbers[record].clone() })
            .into_iter()
            .collect();
        self.summary.reported_failures = batch_item_failures.len() as u64;
        (BatchResponse { batch_item_failures }, self.summary)
    }
}

/// Enriches and delivers `event`; never fails, what is not delivered is in the response.
pub async fn process<S: RecordBatchSink>(
    enricher: &mut Enricher,
    settings: &Settings,
    sink: &S,
    event: &KinesisEvent,
    deadline: SystemTime,
) -> (BatchResponse, Summary) {
    let batch = prepare(enricher, event, settings.max_decompressed_bytes);
    let report = deliver(sink, &batch.entries, &settings.retry, deadline).await;
    if !report.undelivered.is_empty() {
        tracing::warn!(
            entries = report.undelivered.len(),
            last_error = report.last_error.as_deref().unwrap_or(""),
            "entries not delivered to Firehose: reporting the earliest record for Lambda to retry"
        );
    }
    batch.finish(&report)
}

/// A document over the record limit, without `event.original` and `user_agent.original`, tagged
/// `_truncated`; if that is not enough, its timestamp, ids and an error saying so.
fn truncated(document: &[u8]) -> Vec<u8> {
    let limit = MAX_ENTRY_BYTES - 1;
    let Ok(mut value) = serde_json::from_slice::<Value>(document) else { return document[..limit].to_vec() };
    for (object, key) in [("event", "original"), ("user_agent", "original")] {
        if let Some(Value::Object(fields)) = value.get_mut(object) {
            fields.remove(key);
        }
    }
    add_tag(&mut value, "_truncated");
    let shortened = serde_json::to_vec(&value).unwrap_or_default();
    if shortened.len() <= limit {
        return shortened;
    }
    let mut minimal = serde_json::json!({
        "@timestamp": value["@timestamp"],
        "event": {"dataset": value["event"]["dataset"], "id": value["event"]["id"]},
        "error": {"message": format!("document of {} bytes is over Firehose's {MAX_ENTRY_BYTES}-byte record limit even without its original text", shortened.len())},
    });
    add_tag(&mut minimal, "_truncated");
    serde_json::to_vec(&minimal).unwrap_or_default()
}

fn add_tag(document: &mut Value, tag: &str) {
    let Value::Object(fields) = document else { return };
    let tags = fields.entry("tags").or_insert_with(|| Value::Array(Vec::new()));
    if let Value::Array(tags) = tags {
        tags.push(Value::from(tag));
    }
}
