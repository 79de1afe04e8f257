//! The Kinesis-triggered handler: every log event of every record, enriched, delivered to Firehose.
//!
//! Each Kinesis record is unpacked into events: KPL aggregates into their user records, each of
//! those into lines (text) or log events (CloudWatch Logs envelopes; control messages carry none).
//! Every event becomes one document, parse failures included; text is split into lines as bytes, so
//! a line that is not UTF-8 is one document among its neighbours. A record that cannot be read at
//! all (not base64, corrupt gzip) becomes one `_parse_failure` document, so it is in the index too.
//! Documents over Firehose's 1,000 KiB record limit lose `event.original` and
//! `user_agent.original` first and are tagged `_truncated`; they are never rejected.
//!
//! Delivery (`firehose_delivery`) retries what fails. Whatever still is not delivered is reported in
//! `batchItemFailures` as the sequence number of the earliest Kinesis record with an undelivered
//! event: Lambda retries the batch from there. The function remembers which documents of that
//! record and of the records after it it did deliver (document by document: a CloudWatch Logs
//! envelope of 1,000 events with one document refused sends one again, not 1,000), and does not
//! send them again when the retry reaches the same execution environment: then every document
//! arrives once. Lambda picks the environment; a retry elsewhere, or a replay from the on-failure
//! queue, sends them again (at-least-once).
//!
//! With several delivery streams (`DELIVERY_STREAM_NAME=a,b,c`, to go past one stream's quota),
//! each Kinesis record's documents go to one of them, chosen by a hash of the record's sequence
//! number: evenly over many records, and the same stream for the same record when Lambda retries.
//!
//! With `DELIVERY=opensearch` the documents go to the domain's `_bulk` instead, each created with
//! the id `<eventID>:<n>` (the record's shard and sequence number, the line's place among the
//! record's events) in the index of its day (`weblogs-YYYY-MM-DD` by `@timestamp`): a document
//! sent again, from any environment or a replay, is refused as already there and counted
//! (`AlreadyIndexed`), so each arrives once. Documents the domain refuses for their content are
//! kept in the backup bucket (`failed/opensearch-failed/`), counted (`RefusedDocuments`), and are
//! not a batch failure; if they cannot be kept, the batch fails for Lambda to retry.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::ops::Range;
use std::time::SystemTime;

pub mod event;

use aws_clients::signed::SignedClient;
use aws_clients::{AwsSettings, Service};
use enrichment::{CloudOrigin, Enricher, EventContext, LineOutcome, Timestamp};
use firehose_delivery::{
    DeliveryReport, DeliverySettings, Destination, DirectDelivery, EntryBuffer, EntryFormat, EntryStart,
    FailedDocuments, FirehoseSink, RecordBatchSink, RetryPolicy, Sink, deliver_spread, document_limit,
    keep_refused,
};
use lambda_shell::freshness::LineTimes;
use lambda_shell::records::{RecordContent, decode_record};
use lambda_shell::{Handler, Startup, StartupError};
use lambda_shell::{base64, kpl};
use serde::Serialize;

use crate::event::KinesisEvent;

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

lambda_shell::invocation_summary! {
    /// What one invocation did; logged as one INFO line and written as EMF metrics.
    pub struct Summary {
        records => "Records": Count,
        events => "Events": Count,
        control_messages => "ControlMessages": Count,
        /// `#Version:`/`#Fields:` lines of a CloudFront standard log: read, no document.
        header_lines => "HeaderLines": Count,
        /// Lines a `DROP_WHEN` rule dropped, or a `SAMPLE_WHEN` rule left out: no document.
        dropped_lines => "DroppedLines": Count,
        sampled_out_lines => "SampledOutLines": Count,
        unreadable_records => "UnreadableRecords": Count,
        parse_failures => "ParseFailures": Count,
        geoip_misses => "GeoIpMisses": Count,
        truncated => "TruncatedDocuments": Count,
        delivered => "Delivered": Count,
        already_delivered => "AlreadyDelivered": Count,
        /// `DELIVERY=opensearch`: documents the domain held already (sent before, by a retry in
        /// another environment or a replay); counted in `delivered`.
        already_indexed => "AlreadyIndexed": Count,
        /// `DELIVERY=opensearch`: documents the domain refused for their content, kept in the
        /// backup bucket's `failed/` prefix.
        refused_documents => "RefusedDocuments": Count,
        retried_entries => "RetriedEntries": Count,
        /// Entries one delivery stream did not take, sent to another.
        rerouted_entries => "ReroutedEntries": Count,
        failed_entries => "FailedEntries": Count,
        reported_failures => "ReportedFailures": Count,
        calls,
        /// Documents whose line's age was taken once the batch was delivered (parse failures,
        /// which carry the arrival time, are not), and the ages' median and maximum.
        aged_lines,
        lag_median_ms => "LagMedian": Milliseconds when aged_lines,
        lag_max_ms => "LagMax": Milliseconds when aged_lines,
    }
}

/// The function: Kinesis event in, documents delivered, partial batch response out.
#[derive(Debug)]
pub struct KinesisHandler<S = Sink> {
    records: RecordEnricher,
    retry: RetryPolicy,
    /// One per delivery stream, never empty.
    sinks: Vec<S>,
    /// Where documents the destination refuses are kept (`DELIVERY=opensearch`).
    failed_documents: Option<FailedDocuments>,
    /// After invocations that reported a failure: what was delivered of the reported record and
    /// of the records after it (per failed batch, until its retry comes). Lambda's retry starts at
    /// the reported record and brings them again; their delivered documents are not sent twice.
    delivered_records: HashMap<String, Delivered>,
}

/// What was delivered of a record that Lambda's retry brings again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivered {
    /// Every document.
    All,
    /// The documents at these places among the record's documents (`true`: delivered). A record
    /// gives the same documents in the same order every time it is read in one environment.
    Partly(Vec<bool>),
}

/// The most sequence numbers remembered for retries (two batches of Lambda's largest size);
/// past it the memory starts again, which only means documents may be sent twice.
const MAX_REMEMBERED_RECORDS: usize = 20_000;

impl KinesisHandler<Sink> {
    /// The handler built at start-up: the delivery settings read, the Firehose client (or the
    /// domain's and the backup bucket's) built.
    pub fn from_startup(startup: Startup<'_>) -> Result<Self, StartupError> {
        let delivery = DeliverySettings::from_lookup(startup.environment)?;
        let records = RecordEnricher::new(startup.enricher, startup.max_decompressed_bytes);
        match delivery.destination {
            Destination::Firehose(names) => {
                let aws = AwsSettings::from_lookup(startup.environment, &[Service::Firehose])?;
                let sinks = FirehoseSink::for_streams(aws_clients::firehose::config(&aws), names);
                Ok(Self::spread(records, delivery.retry, sinks.into_iter().map(Sink::Firehose).collect()))
            }
            Destination::OpenSearch(direct) => {
                let aws = AwsSettings::from_lookup(startup.environment, &[Service::S3])?;
                let client = SignedClient::opensearch(&direct.endpoint, &aws);
                let direct = DirectDelivery::new(direct, client, SignedClient::s3(&aws), "kinesis-enricher");
                Ok(Self::delivering_directly(records, delivery.retry, direct))
            }
        }
    }

    /// Delivering to an OpenSearch domain's `_bulk` (`DELIVERY=opensearch`).
    pub fn delivering_directly(records: RecordEnricher, retry: RetryPolicy, direct: DirectDelivery) -> Self {
        Self::new(records.with_entry_format(direct.format), retry, direct.sink)
            .with_failed_documents(direct.failed_documents)
    }
}

impl<S: RecordBatchSink> KinesisHandler<S> {
    /// Delivering to one stream.
    pub fn new(records: RecordEnricher, retry: RetryPolicy, sink: S) -> Self {
        Self::spread(records, retry, vec![sink])
    }

    /// Delivering to several streams, each record's documents to one of them.
    ///
    /// # Panics
    /// With no sink at all (the settings refuse an empty stream list).
    pub fn spread(records: RecordEnricher, retry: RetryPolicy, sinks: Vec<S>) -> Self {
        assert!(!sinks.is_empty(), "a delivery stream to deliver to");
        Self { records, retry, sinks, failed_documents: None, delivered_records: HashMap::new() }
    }

    /// Keeps the documents the destination refuses in `failed` (`DELIVERY=opensearch`).
    pub fn with_failed_documents(self, failed: FailedDocuments) -> Self {
        Self { failed_documents: Some(failed), ..self }
    }

    /// Enriches and delivers `event`; never fails, what is not delivered is in the response.
    pub async fn process(
        &mut self,
        event: &KinesisEvent<'_>,
        deadline: SystemTime,
    ) -> (BatchResponse, Summary) {
        let mut batch = self.records.prepare(event);
        let (entries, positions) = batch.entries_to_send(&self.delivered_records);
        let stream_of = batch.streams_of(&positions, self.sinks.len());
        let mut report = deliver_spread(&self.sinks, &entries, &stream_of, &self.retry, deadline).await;
        // Back to indices among all the batch's entries.
        for entry in &mut report.undelivered {
            *entry = positions[*entry];
        }
        for (entry, _) in &mut report.refused {
            *entry = positions[*entry];
        }
        batch.summary.already_delivered = (batch.len() - positions.len()) as u64;
        batch.summary.refused_documents =
            keep_refused(self.failed_documents.as_ref(), &batch.entries(), &mut report, deadline).await;
        if !report.undelivered.is_empty() {
            tracing::warn!(
                entries = report.undelivered.len(),
                last_error = report.last_error.as_deref().unwrap_or(""),
                "entries not delivered: reporting the earliest record for Lambda to retry"
            );
        }
        self.remember_delivered(&batch, &report);
        if let Some(ages) = batch.line_times.ages(Timestamp::now()) {
            batch.summary.aged_lines = ages.lines;
            batch.summary.lag_median_ms = ages.median_ms;
            batch.summary.lag_max_ms = ages.max_ms;
        }
        batch.finish(&report)
    }
}

impl<S> KinesisHandler<S> {
    /// This batch's records are settled: forgotten, except those a retry will bring again. Other
    /// batches' (another shard's, whose retry is still to come) stay.
    fn remember_delivered(&mut self, batch: &PreparedBatch<'_>, report: &DeliveryReport) {
        if !self.delivered_records.is_empty() {
            for sequence in &batch.sequence_numbers {
                self.delivered_records.remove(*sequence);
            }
        }
        self.delivered_records.extend(batch.delivered_from_the_reported_record(report));
        if self.delivered_records.len() > MAX_REMEMBERED_RECORDS {
            self.delivered_records.clear();
        }
    }
}

impl<S: RecordBatchSink + Send + 'static> Handler for KinesisHandler<S> {
    type Event<'a> = KinesisEvent<'a>;
    type Response = BatchResponse;
    type Summary = Summary;

    async fn handle(&mut self, event: &Self::Event<'_>, deadline: SystemTime) -> (BatchResponse, Summary) {
        self.process(event, deadline).await
    }

    fn response_json(response: BatchResponse) -> Vec<u8> {
        serde_json::to_vec(&response).expect("a batch response is plain data")
    }
}

/// Turns a Kinesis event's records into Firehose entries: one document per log event, each within
/// Firehose's record limit.
#[derive(Debug)]
pub struct RecordEnricher {
    enricher: Enricher,
    /// The function's region (`AWS_REGION`), for records that do not say theirs.
    region: Option<String>,
    max_decompressed_bytes: usize,
    /// The current record's data, decoded from base64; kept between records and invocations.
    decoded: Vec<u8>,
    /// Documents alone (Firehose), or `_bulk` lines.
    format: EntryFormat,
}

impl RecordEnricher {
    pub fn new(enricher: Enricher, max_decompressed_bytes: usize) -> Self {
        Self {
            enricher: enricher.with_document_limit(document_limit()),
            region: std::env::var("AWS_REGION").ok().filter(|region| !region.is_empty()),
            max_decompressed_bytes,
            decoded: Vec::new(),
            format: EntryFormat::Document,
        }
    }

    /// Entries written as `format` says (`_bulk` lines for `DELIVERY=opensearch`).
    pub fn with_entry_format(self, format: EntryFormat) -> Self {
        Self { format, ..self }
    }

    /// Unpacks and enriches every record of `event`.
    pub fn prepare<'a>(&mut self, event: &'a KinesisEvent<'_>) -> PreparedBatch<'a> {
        let mut batch = PreparedBatch {
            entries: EntryBuffer::with_capacity(event.records.len() * 1024),
            ..PreparedBatch::default()
        };
        for (record_index, record) in event.records.iter().enumerate() {
            let kinesis = &record.kinesis;
            let sequence: &str = &kinesis.sequence_number;
            batch.sequence_numbers.push(sequence);
            batch.summary.records += 1;
            let received_at = kinesis
                .approximate_arrival_timestamp
                .and_then(|seconds| Timestamp::from_unix_millis_f64(seconds * 1000.0))
                .unwrap_or_else(Timestamp::now);
            let region = record.aws_region.as_deref().or(self.region.as_deref());
            let cloud = CloudOrigin::of_arn(record.event_source_arn.as_deref(), region);
            let context =
                EventContext { event_id: Some(sequence), received_at, log_origin: None, cloud: Some(cloud) };
            // Documents are named by the record and their event's place in it (dropped lines
            // counted too, so a changed rule does not rename the others).
            let record_id: &str = record.event_id.as_deref().unwrap_or(sequence);
            let mut event_place = 0usize;
            self.decoded.clear();
            if let Err(error) = base64::decode_append(&kinesis.data, &mut self.decoded) {
                // Lambda always sends base64; anything else is indexed as it came, never dropped.
                let reason = format!("record data is not base64: {error}");
                let start = batch.entries.begin_entry(&self.format, format_args!("{record_id}:0"));
                batch.push_unreadable(
                    &self.enricher,
                    (record_index, start),
                    kinesis.data.as_bytes(),
                    &reason,
                    &context,
                );
                continue;
            }
            let data = self.decoded.as_slice();
            // A KPL aggregate's user records, or the record's data itself.
            let user_records = kpl::deaggregate(data);
            let parts = user_records
                .iter()
                .flatten()
                .map(Vec::as_slice)
                .chain(user_records.is_none().then_some(data));
            for part in parts {
                match decode_record(part, self.max_decompressed_bytes) {
                    Ok(RecordContent::Control) => batch.summary.control_messages += 1,
                    Ok(content) => {
                        let context = EventContext {
                            log_origin: content.log_origin(),
                            cloud: Some(content.owner().map_or(cloud, |owner| cloud.owned_by(owner))),
                            ..context
                        };
                        // A record is read alone (no file header of an earlier one applies to it),
                        // by its log group's format.
                        self.enricher.start_file(context.log_origin.map(|origin| origin.source_name()), None);
                        for line in content.events() {
                            let start = batch
                                .entries
                                .begin_entry(&self.format, format_args!("{record_id}:{event_place}"));
                            event_place += 1;
                            let outcome =
                                self.enricher.enrich_line(line, &context, batch.entries.documents_mut());
                            if !outcome.has_document() {
                                batch.entries.abandon(start);
                                batch.summary.header_lines += u64::from(outcome.header);
                                batch.summary.dropped_lines += u64::from(outcome.dropped);
                                batch.summary.sampled_out_lines += u64::from(outcome.sampled_out);
                                continue;
                            }
                            batch.summary.parse_failures += u64::from(outcome.parse_failure);
                            if !outcome.parse_failure {
                                batch.line_times.push(outcome.timestamp);
                            }
                            batch.summary.geoip_misses += u64::from(outcome.geoip_lookup_failure);
                            batch.end_entry((record_index, start), &outcome);
                        }
                    }
                    Err(error) => {
                        let start = batch
                            .entries
                            .begin_entry(&self.format, format_args!("{record_id}:{event_place}"));
                        event_place += 1;
                        batch.push_unreadable(
                            &self.enricher,
                            (record_index, start),
                            part,
                            &error.to_string(),
                            &context,
                        );
                    }
                }
            }
        }
        batch
    }
}

/// The delivery stream (of `streams`) for the record with this sequence number: a fixed-seed hash,
/// the same in every invocation.
pub fn stream_for(sequence_number: &str, streams: usize) -> usize {
    let hash = foldhash::fast::FixedState::with_seed(0x5EED).hash_one(sequence_number);
    (hash % streams as u64) as usize
}

/// The documents of one invocation, ready for Firehose. They borrow the records' sequence numbers
/// from the event.
#[derive(Debug, Default)]
pub struct PreparedBatch<'a> {
    /// Every entry: a document and its newline.
    entries: EntryBuffer,
    /// For each entry, the index of its Kinesis record.
    entry_record: Vec<usize>,
    /// Each record's sequence number.
    sequence_numbers: Vec<&'a str>,
    /// The time of each document read from a line.
    line_times: LineTimes,
    summary: Summary,
}

impl<'a> PreparedBatch<'a> {
    /// How many entries (documents) the batch holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The index of each entry's Kinesis record in the event.
    pub fn entry_records(&self) -> &[usize] {
        &self.entry_record
    }

    /// Each record's sequence number, in the event's order.
    pub fn sequence_numbers(&self) -> &[&'a str] {
        &self.sequence_numbers
    }

    /// What preparing the batch counted so far (delivery adds the rest in [`Self::finish`]).
    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    /// For each of these entries (indices among all), the delivery stream (of `streams`) that
    /// takes it: its record's.
    pub fn streams_of(&self, entries: &[usize], streams: usize) -> Vec<usize> {
        if streams == 1 {
            return vec![0; entries.len()];
        }
        let record_stream: Vec<usize> =
            self.sequence_numbers.iter().map(|sequence| stream_for(sequence, streams)).collect();
        entries.iter().map(|&entry| record_stream[self.entry_record[entry]]).collect()
    }

    /// The entries still to deliver (those `delivered` does not name), and each one's index among
    /// all entries.
    pub fn entries_to_send(&self, delivered: &HashMap<String, Delivered>) -> (Vec<&[u8]>, Vec<usize>) {
        let entries = self.entries.entries();
        if delivered.is_empty() {
            let positions = (0..entries.len()).collect();
            return (entries, positions);
        }
        let mut kept = Vec::with_capacity(entries.len());
        let mut positions = Vec::with_capacity(entries.len());
        for (record, range) in self.record_entries().into_iter().enumerate() {
            let memory = delivered.get(self.sequence_numbers[record]);
            for (place, index) in range.enumerate() {
                let sent = match memory {
                    None => false,
                    Some(Delivered::All) => true,
                    Some(Delivered::Partly(places)) => places.get(place).copied().unwrap_or(false),
                };
                if !sent {
                    kept.push(entries[index]);
                    positions.push(index);
                }
            }
        }
        (kept, positions)
    }

    /// Each record's entries (a record's entries are consecutive, in the record's order).
    fn record_entries(&self) -> Vec<Range<usize>> {
        let mut ranges = vec![0..0; self.sequence_numbers.len()];
        let mut start = 0;
        for (index, &record) in self.entry_record.iter().enumerate() {
            if index + 1 == self.entry_record.len() || self.entry_record[index + 1] != record {
                ranges[record] = start..index + 1;
                start = index + 1;
            }
        }
        ranges
    }

    /// When `report` leaves entries undelivered: what was delivered (now or before) of the
    /// earliest record with such an entry and of the records after it, which Lambda's retry
    /// brings again. Empty when everything was delivered.
    fn delivered_from_the_reported_record(&self, report: &DeliveryReport) -> Vec<(String, Delivered)> {
        let Some(earliest) = report.undelivered.iter().map(|&entry| self.entry_record[entry]).min() else {
            return Vec::new();
        };
        let mut undelivered = vec![false; self.entry_record.len()];
        for &entry in &report.undelivered {
            undelivered[entry] = true;
        }
        let ranges = self.record_entries();
        let mut memory = Vec::new();
        for (record, range) in ranges.into_iter().enumerate().skip(earliest) {
            let places: Vec<bool> = range.map(|entry| !undelivered[entry]).collect();
            let delivered = if places.is_empty() {
                continue;
            } else if places.iter().all(|&sent| sent) {
                Delivered::All
            } else if places.contains(&true) {
                Delivered::Partly(places)
            } else {
                continue;
            };
            memory.push((self.sequence_numbers[record].to_owned(), delivered));
        }
        memory
    }

    /// The entries, in order: each one a document and its newline.
    pub fn entries(&self) -> Vec<&[u8]> {
        self.entries.entries()
    }

    /// A record that cannot be read becomes one `_parse_failure` document: in the index, never
    /// dropped, never a batch failure (retrying cannot fix its bytes).
    fn push_unreadable(
        &mut self,
        enricher: &Enricher,
        entry: (usize, EntryStart),
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
        let outcome = enricher.write_unreadable_record(data, reason, context, self.entries.documents_mut());
        self.end_entry(entry, &outcome);
    }

    /// Ends the entry of the record at `record_index` begun at `start`, whose document was just
    /// written to `entries`.
    fn end_entry(&mut self, (record_index, start): (usize, EntryStart), outcome: &LineOutcome) {
        self.summary.truncated += u64::from(outcome.truncated);
        self.entries.end_dated_entry(start, outcome.timestamp);
        self.entry_record.push(record_index);
        self.summary.events += 1;
    }

    /// The response and summary once delivery is over.
    pub fn finish(mut self, report: &DeliveryReport) -> (BatchResponse, Summary) {
        self.summary.delivered = report.delivered as u64;
        self.summary.already_indexed = report.already_there as u64;
        self.summary.retried_entries = report.retried as u64;
        self.summary.rerouted_entries = report.rerouted as u64;
        self.summary.failed_entries = report.undelivered.len() as u64;
        self.summary.calls = report.calls as u64;
        let earliest = report.undelivered.iter().map(|&entry| self.entry_record[entry]).min();
        let batch_item_failures: Vec<BatchItemFailure> = earliest
            .map(|record| BatchItemFailure { item_identifier: self.sequence_numbers[record].to_owned() })
            .into_iter()
            .collect();
        self.summary.reported_failures = batch_item_failures.len() as u64;
        (BatchResponse { batch_item_failures }, self.summary)
    }
}
