//! The S3-triggered handler: archived access logs read from S3, every line enriched and delivered
//! to Firehose with the same delivery code as kinesis-enricher (`firehose_delivery`).
//!
//! An object is streamed ([`object`]): read in chunks, gunzipped on the way, split into lines as
//! `enrich-logs` splits them. Every line becomes one document, parse failures included, carrying
//! `log.file.path` (`s3://bucket/key`) and `log.offset` (where the line starts in the object's
//! text), so a re-run can be found and removed. Lines go out in batches of up to
//! [`BATCH_ENTRIES`] documents; a batch is delivered before the next is read, so memory stays
//! bounded whatever the object's size.
//!
//! An object that is not finished when [`CONTINUE_RESERVE`] of the invocation's time is left, or
//! whose reading or delivery failed after some of its lines were delivered, is continued by a new
//! invocation of the function from the first line not delivered ([`continuation`]): every line
//! arrives once across invocations. A failure before any line of this invocation was delivered is
//! left to the caller's own retry, which starts where this invocation did.
//!
//! With `DELIVERY=opensearch` the documents go to the domain's `_bulk` instead, each created with
//! the id `<object digest>:<offset>` (the digest of the object's path and version, or ETag, and
//! where the line starts): a continuation, a retry or a second run over the same object meets the
//! ids already there (`AlreadyIndexed`), so each line arrives once. Documents the domain refuses
//! for their content are kept in the backup bucket's `failed/opensearch-failed/`
//! (`RefusedDocuments`).
//!
//! How each object ends is answered as S3 Batch Operations names it ([`ResultCode`]):
//! `Succeeded` (delivered, or delivered so far and continued), `TemporaryFailure` (nothing lost,
//! worth another attempt) or `PermanentFailure` (missing, not text, damaged gzip after its
//! readable lines, access denied).

pub mod claims;
pub mod continuation;
pub mod event;
pub mod object;
mod settle;

use std::time::{Duration, SystemTime};

use aws_clients::signed::SignedClient;
use aws_clients::{AwsSettings, Service};
use enrichment::{CloudOrigin, Enricher, EventContext, LineOutcome, LogOrigin, Timestamp};
use firehose_delivery::{
    DeliveryReport, DeliverySettings, Destination, DirectDelivery, EntryBuffer, EntryFormat, EntryStart,
    FailedDocuments, FirehoseSink, RecordBatchSink, RetryPolicy, Sink, deliver_spread, document_limit,
    keep_refused,
};
use lambda_shell::settings::{AWS_LAMBDA_FUNCTION_NAME, AWS_LAMBDA_FUNCTION_VERSION};
use lambda_shell::{Handler, Startup, StartupError};
use md5::{Digest as _, Md5};

use crate::claims::{Claim, ContinuationClaims};
use crate::continuation::LambdaContinuer;
use crate::event::{
    ArchiveEvent, ArchiveResponse, BatchItemFailure, BatchOperationsResponse, Continuation,
    ContinuedResponse, ObjectRef, ObjectResult, ObjectsResponse, ResultCode, TaskResult,
};
use crate::object::{ObjectReader, ReadError};
use crate::settle::{ObjectEnd, ObjectRun, settle};

/// Documents per batch: ten PutRecordBatch calls' worth.
pub const BATCH_ENTRIES: usize = 5_000;
/// The invocation time kept when an object is continued elsewhere: no new batch starts inside it.
pub const CONTINUE_RESERVE: Duration = Duration::from_secs(30);

lambda_shell::invocation_summary! {
    /// What one invocation did; logged as one INFO line and written as EMF metrics.
    pub struct Summary {
        objects => "Objects": Count,
        lines => "Events": Count,
        /// `#Version:`/`#Fields:` lines of CloudFront standard logs: read, no document.
        header_lines => "HeaderLines": Count,
        /// Lines a `DROP_WHEN` rule dropped, or a `SAMPLE_WHEN` rule left out: no document.
        dropped_lines => "DroppedLines": Count,
        sampled_out_lines => "SampledOutLines": Count,
        parse_failures => "ParseFailures": Count,
        geoip_misses => "GeoIpMisses": Count,
        truncated => "TruncatedDocuments": Count,
        delivered => "Delivered": Count,
        /// `DELIVERY=opensearch`: documents the domain held already (counted in `delivered`).
        already_indexed => "AlreadyIndexed": Count,
        /// `DELIVERY=opensearch`: documents the domain refused for their content, kept in the
        /// backup bucket's `failed/` prefix.
        refused_documents => "RefusedDocuments": Count,
        retried_entries => "RetriedEntries": Count,
        /// Entries one delivery stream did not take, sent to another.
        rerouted_entries => "ReroutedEntries": Count,
        failed_entries => "FailedEntries": Count,
        continued => "ContinuedObjects": Count,
        /// Copies of a continuation another invocation read (or is reading): left alone.
        duplicate_continuations => "DuplicateContinuations": Count,
        missing_objects => "MissingObjects": Count,
        unreadable_objects => "UnreadableObjects": Count,
        damaged_objects => "DamagedObjects": Count,
        failed_objects => "FailedObjects": Count,
        /// SQS messages whose body is not an S3 event notification (reported back one by one).
        unreadable_messages => "UnreadableMessages": Count,
        calls,
    }
}

/// The function: objects in, documents delivered, one result per object out.
#[derive(Debug)]
pub struct ArchiveHandler<S = Sink> {
    enricher: Enricher,
    reader: ObjectReader,
    /// One per delivery stream, never empty (the settings refuse an empty list).
    sinks: Vec<S>,
    /// Documents alone (Firehose), or `_bulk` lines.
    format: EntryFormat,
    /// Where documents the destination refuses are kept (`DELIVERY=opensearch`).
    failed_documents: Option<FailedDocuments>,
    retry: RetryPolicy,
    continuer: LambdaContinuer,
    /// Where continuations are claimed, so that each is read once; none: not claimed.
    claims: Option<ContinuationClaims>,
    batch: Batch,
    /// The function's region (`AWS_REGION`): the buckets' too.
    region: Option<String>,
}

impl ArchiveHandler<Sink> {
    /// The handler built at start-up: the delivery settings read, the S3, Lambda and Firehose (or
    /// the domain's) clients built.
    pub fn from_startup(startup: Startup<'_>) -> Result<Self, StartupError> {
        let environment = startup.environment;
        let delivery = DeliverySettings::from_lookup(environment)?;
        let aws = AwsSettings::from_lookup(environment, &[Service::Firehose, Service::S3, Service::Lambda])?;
        let continuer = LambdaContinuer {
            client: aws_clients::lambda::client(&aws),
            function_name: environment(AWS_LAMBDA_FUNCTION_NAME.env)
                .unwrap_or_else(|| "s3-archive-enricher".into()),
            qualifier: environment(AWS_LAMBDA_FUNCTION_VERSION.env),
        };
        let s3 = aws_clients::s3::client(&aws);
        let claims = ContinuationClaims::from_lookup(environment, s3.clone())?;
        let reader = ObjectReader::new(s3.clone());
        match delivery.destination {
            Destination::Firehose(names) => {
                let sinks = FirehoseSink::for_streams(aws_clients::firehose::config(&aws), names);
                let sinks = sinks.into_iter().map(Sink::Firehose).collect();
                Ok(Self::new(startup.enricher, reader, sinks, delivery.retry, continuer).with_claims(claims))
            }
            Destination::OpenSearch(direct) => {
                let client = SignedClient::opensearch(&direct.endpoint, &aws);
                let direct =
                    DirectDelivery::new(direct, client, SignedClient::s3(&aws), "s3-archive-enricher");
                let handler =
                    Self::new(startup.enricher, reader, vec![direct.sink], delivery.retry, continuer);
                Ok(handler.with_claims(claims).delivering_directly(direct.format, direct.failed_documents))
            }
        }
    }
}

impl<S: RecordBatchSink> ArchiveHandler<S> {
    /// # Panics
    /// With no sink at all (the settings refuse an empty stream list).
    pub fn new(
        enricher: Enricher,
        reader: ObjectReader,
        sinks: Vec<S>,
        retry: RetryPolicy,
        continuer: LambdaContinuer,
    ) -> Self {
        assert!(!sinks.is_empty(), "a delivery stream to deliver to");
        Self {
            enricher: enricher.with_document_limit(document_limit()),
            reader,
            sinks,
            format: EntryFormat::Document,
            failed_documents: None,
            retry,
            continuer,
            claims: None,
            batch: Batch::default(),
            region: std::env::var("AWS_REGION").ok().filter(|region| !region.is_empty()),
        }
    }

    /// The same, its sink an OpenSearch domain's `_bulk`: entries written as `format` says, the
    /// documents the domain refuses kept in `failed`.
    pub fn delivering_directly(self, format: EntryFormat, failed: FailedDocuments) -> Self {
        Self { format, failed_documents: Some(failed), ..self }
    }

    /// The same, claiming each continuation before reading it.
    pub fn with_claims(self, claims: Option<ContinuationClaims>) -> Self {
        Self { claims, ..self }
    }

    /// Reads, enriches and delivers every object of `event`; what could not be done is in the
    /// response.
    pub async fn process(
        &mut self,
        event: &ArchiveEvent,
        deadline: SystemTime,
    ) -> (ArchiveResponse, Summary) {
        let mut summary = Summary::default();
        let response = match event {
            ArchiveEvent::BatchOperations(batch) => {
                let mut results = Vec::with_capacity(batch.tasks.len());
                for task in &batch.tasks {
                    let (result_code, result_string) =
                        self.archive(&task.object, None, deadline, &mut summary).await;
                    results.push(TaskResult { task_id: task.task_id.clone(), result_code, result_string });
                }
                ArchiveResponse::BatchOperations(BatchOperationsResponse {
                    invocation_schema_version: batch.invocation_schema_version.clone(),
                    treat_missing_keys_as: ResultCode::PermanentFailure,
                    invocation_id: batch.invocation_id.clone(),
                    results,
                })
            }
            ArchiveEvent::Sqs(messages) => {
                let mut response =
                    ObjectsResponse { batch_item_failures: Some(Vec::new()), ..Default::default() };
                for message in messages {
                    let objects = match &message.objects {
                        Ok(objects) => objects,
                        Err(reason) => {
                            // Reported on its own: SQS redelivers it, then moves it to the queue's
                            // dead-letter queue; its batch-mates are read as usual.
                            summary.unreadable_messages += 1;
                            tracing::warn!(message_id = message.message_id, reason, "SQS message not read");
                            if let Some(failures) = &mut response.batch_item_failures {
                                failures
                                    .push(BatchItemFailure { item_identifier: message.message_id.clone() });
                            }
                            continue;
                        }
                    };
                    let mut again = false;
                    for object in objects {
                        let result = self.archive_result(object, None, deadline, &mut summary).await;
                        again |= result.result_code == ResultCode::TemporaryFailure;
                        response.results.push(result);
                    }
                    if again && let Some(failures) = &mut response.batch_item_failures {
                        failures.push(BatchItemFailure { item_identifier: message.message_id.clone() });
                    }
                }
                ArchiveResponse::Objects(response)
            }
            ArchiveEvent::Objects(objects) => {
                let mut response = ObjectsResponse::default();
                for object in objects {
                    let result = self.archive_result(object, None, deadline, &mut summary).await;
                    response.results.push(result);
                }
                ArchiveResponse::Objects(response)
            }
            ArchiveEvent::Continuation(continuation) => {
                let result = self.continue_object(continuation, deadline, &mut summary).await;
                ArchiveResponse::Continued(ContinuedResponse {
                    response: ObjectsResponse { results: vec![result], batch_item_failures: None },
                    offset: continuation.offset,
                })
            }
        };
        (response, summary)
    }

    /// A continuation: claimed (when claims are kept and it has an id), read, and its claim
    /// finished or, when the invocation is to fail, released for the retry.
    async fn continue_object(
        &mut self,
        continuation: &Continuation,
        deadline: SystemTime,
        summary: &mut Summary,
    ) -> ObjectResult {
        let claims = self.claims.clone();
        let claimed = match (&claims, &continuation.id) {
            (Some(claims), Some(id)) => match claims.claim(id, deadline).await {
                Ok(Claim::Ours) => Some((claims, id)),
                Ok(Claim::Taken(reason)) => {
                    summary.duplicate_continuations += 1;
                    let path = continuation.object.path();
                    tracing::info!(object = %path, offset = continuation.offset, id, reason, "a copy of a continuation: left alone");
                    return ObjectResult {
                        object: path,
                        result_code: ResultCode::Succeeded,
                        result_string: format!(
                            "continuation {id} (from byte {}) is a copy: {reason}",
                            continuation.offset
                        ),
                    };
                }
                Err(error) => {
                    tracing::warn!(id, %error, "continuation not claimed (read anyway): the claims cannot be kept");
                    None
                }
            },
            _ => None,
        };
        let result = self.archive_result(&continuation.object, Some(continuation), deadline, summary).await;
        if let Some((claims, id)) = claimed {
            let settled = if result.result_code == ResultCode::Succeeded {
                claims.finish(id).await
            } else {
                claims.release(id).await
            };
            if let Err(error) = settled {
                tracing::warn!(id, %error, "continuation claim not updated");
            }
        }
        result
    }

    async fn archive_result(
        &mut self,
        object: &ObjectRef,
        resume: Option<&Continuation>,
        deadline: SystemTime,
        summary: &mut Summary,
    ) -> ObjectResult {
        let (result_code, result_string) = self.archive(object, resume, deadline, summary).await;
        ObjectResult { object: object.path(), result_code, result_string }
    }

    /// One object: read, delivered, and its result settled (continued if need be).
    async fn archive(
        &mut self,
        object: &ObjectRef,
        resume: Option<&Continuation>,
        deadline: SystemTime,
        summary: &mut Summary,
    ) -> (ResultCode, String) {
        summary.objects += 1;
        let run = if summary.lines > 0 && time_left(deadline) < CONTINUE_RESERVE {
            // Not started: too little time is left to read and still continue in time. (The
            // invocation's first lines are always read, so that even an invocation shorter than
            // the reserve gets somewhere.)
            ObjectRun {
                delivered: 0,
                etag: resume.and_then(|resume| resume.etag.clone()),
                gzip: resume.is_some_and(|resume| resume.gzip),
                end: ObjectEnd::Stopped { offset: resume.map_or(0, |resume| resume.offset), failure: None },
                header: resume.and_then(|resume| resume.header.clone()),
            }
        } else {
            self.read_and_deliver(object, resume, deadline, summary).await
        };
        let settled = settle(object, resume, &run);
        let path = object.path();
        if settled.code != ResultCode::Succeeded {
            // Every failed object counts in FailedObjects (the alarm's); these say which kind.
            summary.failed_objects += 1;
        }
        match &run.end {
            ObjectEnd::Failed(error) => {
                match error {
                    ReadError::Missing(_) => summary.missing_objects += 1,
                    ReadError::Binary(_) => summary.unreadable_objects += 1,
                    ReadError::Damaged(_) => summary.damaged_objects += 1,
                    ReadError::Refused(_) | ReadError::Retryable(_) => {}
                }
                let lines_delivered = settled.lines_delivered;
                tracing::warn!(object = %path, lines_delivered, %error, "object not (fully) read");
            }
            ObjectEnd::Stopped { offset, failure: Some(reason) }
                if settled.code == ResultCode::TemporaryFailure =>
            {
                tracing::warn!(object = %path, offset, reason, "object not read: worth another attempt");
            }
            ObjectEnd::Finished | ObjectEnd::Stopped { .. } => {}
        }
        let Some(mut next) = settled.continuation else { return (settled.code, settled.text) };
        next.id = Some(claims::new_id());
        match self.continuer.continue_with(&next).await {
            Ok(()) => {
                summary.continued += 1;
                let (offset, lines_delivered) = (next.offset, settled.lines_delivered);
                tracing::info!(object = %path, offset, lines_delivered, "object continued in another invocation");
                (settled.code, settled.text)
            }
            Err(error) => {
                summary.failed_objects += 1;
                tracing::error!(object = %path, offset = next.offset, %error, "object could not be continued");
                (
                    ResultCode::TemporaryFailure,
                    format!("{}, but it could not be continued: {error}", settled.text),
                )
            }
        }
    }

    /// Reads `object` (its rest, when resumed) batch by batch, each delivered before the next is
    /// read, until the end, a failure, or the deadline's reserve.
    async fn read_and_deliver(
        &mut self,
        object: &ObjectRef,
        resume: Option<&Continuation>,
        deadline: SystemTime,
        summary: &mut Summary,
    ) -> ObjectRun {
        let start = resume.map_or(0, |resume| resume.offset);
        let mut run = ObjectRun {
            delivered: 0,
            etag: resume.and_then(|resume| resume.etag.clone()),
            gzip: resume.is_some_and(|resume| resume.gzip),
            end: ObjectEnd::Finished,
            header: resume.and_then(|resume| resume.header.clone()),
        };
        self.enricher.start_file(Some(&object.path()), run.header.as_deref());
        let skip_until = Self::work_deadline(deadline, summary.lines);
        let skip_until = skip_until.checked_sub(self.retry.safety_margin).unwrap_or(skip_until);
        let mut lines = match self.reader.open(object, resume, skip_until).await {
            Ok(lines) => lines,
            Err(ReadError::Retryable(reason)) => {
                run.end = ObjectEnd::Stopped { offset: start, failure: Some(reason) };
                return run;
            }
            Err(error) => {
                run.end = ObjectEnd::Failed(error);
                return run;
            }
        };
        run.etag = Some(lines.etag.clone());
        run.gzip = lines.gzip;
        let path = object.path();
        let received_at = lines.last_modified.unwrap_or_else(Timestamp::now);
        let object_id = object_digest(&path, object.version_id.as_deref().unwrap_or(&lines.etag));
        loop {
            self.batch.clear();
            self.batch.header_at_start = self.enricher.file_header().map(String::from);
            let lines_read_before = summary.lines;
            while self.batch.len() < BATCH_ENTRIES {
                let Some(line) = lines.next_line().await else { break };
                let bytes = lines.bytes(line);
                let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
                let context = EventContext {
                    event_id: None,
                    received_at,
                    log_origin: Some(LogOrigin::File { path: &path, offset: line.offset }),
                    // S3 notifies functions of its own region only; a bucket's ARN names no account.
                    cloud: Some(CloudOrigin { region: self.region.as_deref(), account_id: None }),
                };
                let entry =
                    self.batch.entries.begin_entry(&self.format, format_args!("{object_id}:{}", line.offset));
                let outcome = self.enricher.enrich_line(bytes, &context, self.batch.entries.documents_mut());
                if !outcome.has_document() {
                    self.batch.entries.abandon(entry);
                }
                if outcome.header {
                    summary.header_lines += 1;
                    let header = self.enricher.file_header().map(String::from);
                    self.batch.header_changes.push((self.batch.len(), header));
                    continue;
                }
                if !outcome.has_document() {
                    summary.dropped_lines += u64::from(outcome.dropped);
                    summary.sampled_out_lines += u64::from(outcome.sampled_out);
                    continue;
                }
                summary.lines += 1;
                summary.parse_failures += u64::from(outcome.parse_failure);
                summary.geoip_misses += u64::from(outcome.geoip_lookup_failure);
                summary.truncated += u64::from(outcome.truncated);
                self.batch.end_entry(entry, &outcome, line.offset);
            }
            let work_deadline = Self::work_deadline(deadline, lines_read_before);
            let entries = self.batch.entries.entries();
            let mut report = self.deliver(&entries, work_deadline).await;
            summary.refused_documents +=
                keep_refused(self.failed_documents.as_ref(), &entries, &mut report, work_deadline).await;
            summary.delivered += report.delivered as u64;
            summary.already_indexed += report.already_there as u64;
            summary.retried_entries += report.retried as u64;
            summary.rerouted_entries += report.rerouted as u64;
            summary.failed_entries += report.undelivered.len() as u64;
            summary.calls += report.calls as u64;
            if let Some(&first) = report.undelivered.first() {
                // Resume from the first line not delivered; those after it that were are sent again.
                run.delivered += first as u64;
                let reason = format!(
                    "{} documents not delivered: {}",
                    report.undelivered.len(),
                    report.last_error.as_deref().unwrap_or("no answer")
                );
                run.end =
                    ObjectEnd::Stopped { offset: self.batch.line_offsets[first], failure: Some(reason) };
                run.header = self.batch.header_at(first).map(String::from);
                return run;
            }
            run.delivered += self.batch.len() as u64;
            if let Some(error) = lines.error() {
                run.end = match error {
                    ReadError::Retryable(reason) => {
                        ObjectEnd::Stopped { offset: lines.resume_offset(), failure: Some(reason.clone()) }
                    }
                    other => ObjectEnd::Failed(other.clone()),
                };
                run.header = self.enricher.file_header().map(String::from);
                return run;
            }
            if lines.finished() {
                return run;
            }
            if time_left(deadline) < CONTINUE_RESERVE
                && let Some(offset) = lines.next_line_offset()
            {
                run.end = ObjectEnd::Stopped { offset, failure: None };
                run.header = self.enricher.file_header().map(String::from);
                return run;
            }
        }
    }

    /// When the work on a batch must end: where the reserve for continuing starts, so that the
    /// continuation is sent before Lambda's timeout; for the invocation's first batch (nothing read
    /// before it), the deadline itself, so that even an invocation shorter than the reserve gets
    /// somewhere. (Delivery keeps its own safety margin before either.)
    fn work_deadline(deadline: SystemTime, lines_read_before: u64) -> SystemTime {
        if lines_read_before == 0 {
            return deadline;
        }
        deadline.checked_sub(CONTINUE_RESERVE).unwrap_or(deadline)
    }

    /// Delivers the batch's `entries`, spread over the streams entry by entry.
    async fn deliver(&self, entries: &[&[u8]], deadline: SystemTime) -> DeliveryReport {
        if entries.is_empty() {
            return DeliveryReport::default();
        }
        let streams = self.sinks.len();
        let stream_of: Vec<usize> = (0..entries.len()).map(|index| index % streams).collect();
        deliver_spread(&self.sinks, entries, &stream_of, &self.retry, deadline).await
    }
}

impl<S: RecordBatchSink + Send + 'static> Handler for ArchiveHandler<S> {
    type Event<'a> = ArchiveEvent;
    type Response = ArchiveResponse;
    type Summary = Summary;

    async fn handle(&mut self, event: &Self::Event<'_>, deadline: SystemTime) -> (ArchiveResponse, Summary) {
        self.process(event, deadline).await
    }

    /// An asynchronous invocation with an object worth another attempt fails, so that Lambda
    /// tries the event again (and keeps it in the on-failure queue after its retries). So does a
    /// continuation that cannot go on for good (the object changed, expired, was archived to
    /// Glacier, access denied): the rest of an object whose start was delivered must not vanish
    /// into a log line, so the event, offset included, ends in the on-failure queue, and the
    /// error says where.
    fn invocation_error(response: &ArchiveResponse) -> Option<String> {
        match response {
            ArchiveResponse::Objects(ObjectsResponse { results, batch_item_failures: None }) => {
                let failed: Vec<&str> = results
                    .iter()
                    .filter(|result| result.result_code == ResultCode::TemporaryFailure)
                    .map(|result| result.result_string.as_str())
                    .collect();
                (!failed.is_empty()).then(|| failed.join("; "))
            }
            ArchiveResponse::Continued(ContinuedResponse { response, offset }) => {
                let failed: Vec<String> = response
                    .results
                    .iter()
                    .filter(|result| result.result_code != ResultCode::Succeeded)
                    .map(|result| {
                        format!("continuing {} from byte {offset}: {}", result.object, result.result_string)
                    })
                    .collect();
                (!failed.is_empty()).then(|| failed.join("; "))
            }
            ArchiveResponse::Objects(_) | ArchiveResponse::BatchOperations(_) => None,
        }
    }

    fn response_json(response: ArchiveResponse) -> Vec<u8> {
        serde_json::to_vec(&response).expect("an archive response is plain data")
    }
}

fn time_left(deadline: SystemTime) -> Duration {
    deadline.duration_since(SystemTime::now()).unwrap_or_default()
}

/// One batch's documents, in one buffer reused for every batch.
#[derive(Debug, Default)]
struct Batch {
    entries: EntryBuffer,
    /// Where each entry's line starts in the object's text.
    line_offsets: Vec<u64>,
    /// The CloudFront standard log header in force at the batch's first line, and each header
    /// line read in the batch with the entry from which it applies: a run that stops at an entry
    /// hands on the header of that place.
    header_at_start: Option<String>,
    header_changes: Vec<(usize, Option<String>)>,
}

impl Batch {
    fn clear(&mut self) {
        self.entries.clear();
        self.line_offsets.clear();
        self.header_at_start = None;
        self.header_changes.clear();
    }

    /// The header in force at entry `index`.
    fn header_at(&self, index: usize) -> Option<&str> {
        match self.header_changes.iter().rev().find(|(from, _)| *from <= index) {
            Some((_, header)) => header.as_deref(),
            None => self.header_at_start.as_deref(),
        }
    }

    fn len(&self) -> usize {
        self.entries.len()
    }

    fn end_entry(&mut self, entry: EntryStart, outcome: &LineOutcome, line_offset: u64) {
        self.entries.end_dated_entry(entry, outcome.timestamp);
        self.line_offsets.push(line_offset);
    }
}

/// What names an object's documents in OpenSearch: an MD5 of its path and its version (or ETag),
/// in hex (a path may be longer than an id may be).
fn object_digest(path: &str, version: &str) -> String {
    let digest = Md5::new()
        .chain_update(path.as_bytes())
        .chain_update([0])
        .chain_update(version.as_bytes())
        .finalize();
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}
