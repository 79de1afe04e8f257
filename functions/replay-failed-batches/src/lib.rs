//! Replays kinesis-enricher's failed batches. When a batch has used up its retries (or its record
//! age), Lambda's event source mapping sends its shard and sequence range to the on-failure queue;
//! the records themselves stay only in the stream, until its retention period passes.
//!
//! Messages are taken one at a time, and each stays hidden from other readers while it is worked
//! on: its visibility timeout is renewed until its range is replayed, so a second run (or a
//! second person) never replays the same range at the same time, however long it takes.
//!
//! For each message: read the range back from the stream ([`stream::read_range`]), hand it to
//! kinesis-enricher's own handler ([`KinesisHandler::process`], as a Lambda event of the same
//! shape: the same documents, ids and delivery with retries), and delete the message only when
//! every document of the range was delivered. A range the stream no longer holds is reported as
//! expired and its message kept; so is one that fails, for the next run. Documents are
//! at-least-once, as with Lambda's own retries: a range replayed twice is delivered twice, with
//! the same `event.id`s.

pub mod failed_batch;
pub mod stream;

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, SystemTime};

use aws_clients::describe;
use firehose_delivery::RecordBatchSink;
use kinesis_enricher::KinesisHandler;
use kinesis_enricher::event::{KinesisEvent, KinesisEventRecord, KinesisRecord};
use lambda_shell::base64;

use crate::failed_batch::FailedBatch;
use crate::stream::{RangeError, StreamRecord, read_range};

/// How long a received message stays hidden from other readers at a time, and how often that is
/// renewed while its range is replayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Visibility {
    pub timeout: Duration,
    pub renew_every: Duration,
}

impl Default for Visibility {
    /// Two minutes, renewed every 40 seconds: a run that dies leaves its message hidden for two
    /// minutes at most.
    fn default() -> Self {
        Self { timeout: Duration::from_secs(120), renew_every: Duration::from_secs(40) }
    }
}

impl Visibility {
    fn timeout_seconds(&self) -> i32 {
        i32::try_from(self.timeout.as_secs()).unwrap_or(i32::MAX).max(1)
    }
}
/// Records handed to the handler at a time, like a Lambda batch of the stack's size; and at most
/// this much data.
const EVENT_RECORDS: usize = 500;
const EVENT_BYTES: usize = 5 << 20;
/// The time one event may take, retries included (as a function's timeout would bound it).
const EVENT_TIME: Duration = Duration::from_secs(300);

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every record of the range was read and every document delivered; the message is deleted.
    Replayed { records: usize, documents: u64 },
    /// The stream no longer holds the range; the message is kept.
    Expired(String),
    /// Not replayed this time (unreadable message, read or delivery failure); the message is kept.
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageReport {
    pub message_id: String,
    /// `shard first..last`, when the message could be read.
    pub range: Option<String>,
    pub outcome: Outcome,
}

/// What a run did, message by message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub messages: Vec<MessageReport>,
}

impl Report {
    /// Messages left in the queue (expired or failed).
    pub fn kept(&self) -> usize {
        self.messages.iter().filter(|m| !matches!(m.outcome, Outcome::Replayed { .. })).count()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (mut replayed, mut expired, mut failed, mut records, mut documents) = (0, 0, 0, 0, 0);
        for message in &self.messages {
            let range = message.range.as_deref().unwrap_or("(no range)");
            match &message.outcome {
                Outcome::Replayed { records: r, documents: d } => {
                    replayed += 1;
                    records += r;
                    documents += d;
                    writeln!(f, "replayed {range}: {r} records, {d} documents delivered; message deleted")?;
                }
                Outcome::Expired(reason) => {
                    expired += 1;
                    writeln!(f, "expired {range}: {reason}; message {} kept", message.message_id)?;
                }
                Outcome::Failed(reason) => {
                    failed += 1;
                    writeln!(f, "failed {range}: {reason}; message {} kept", message.message_id)?;
                }
            }
        }
        write!(
            f,
            "{} messages: {replayed} replayed ({records} records, {documents} documents), \
             {expired} expired, {failed} failed",
            self.messages.len()
        )
    }
}

/// What stops a run: the queue cannot be read, or a replayed range's message cannot be deleted.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("cannot read the queue {queue_url}: {reason}")]
    Receive { queue_url: String, reason: String },
    #[error("replayed {message_id} but cannot delete it: {reason}")]
    Delete { message_id: String, reason: String },
}

/// The queue, the stream and kinesis-enricher's handler with its Firehose client.
#[derive(Debug)]
pub struct Replayer<S: RecordBatchSink> {
    sqs: aws_sdk_sqs::Client,
    kinesis: aws_sdk_kinesis::Client,
    handler: KinesisHandler<S>,
    queue_url: String,
    visibility: Visibility,
}

impl<S: RecordBatchSink> Replayer<S> {
    pub fn new(
        sqs: aws_sdk_sqs::Client,
        kinesis: aws_sdk_kinesis::Client,
        handler: KinesisHandler<S>,
        queue_url: String,
    ) -> Self {
        Self { sqs, kinesis, handler, queue_url, visibility: Visibility::default() }
    }

    /// The same, keeping messages hidden as `visibility` says.
    pub fn with_visibility(self, visibility: Visibility) -> Self {
        Self { visibility, ..self }
    }

    /// Every message in the queue, once. Fails only when the queue itself cannot be read or a
    /// delivered range's message cannot be deleted.
    pub async fn run(&mut self) -> Result<Report, ReplayError> {
        let mut report = Report::default();
        // The messages kept in the queue, by id, with their latest receipt handle.
        let mut kept: HashMap<String, String> = HashMap::new();
        loop {
            let received = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(1)
                .visibility_timeout(self.visibility.timeout_seconds())
                .wait_time_seconds(1)
                .send()
                .await
                .map_err(|error| ReplayError::Receive {
                    queue_url: self.queue_url.clone(),
                    reason: describe(&error),
                })?;
            let Some(message) = received.messages().first() else { break };
            let (Some(id), Some(receipt)) = (message.message_id(), message.receipt_handle()) else {
                continue;
            };
            if let Some(latest) = kept.get_mut(id) {
                // A kept message back after its visibility timeout (a long run): it is hidden
                // again by this receive, and not replayed twice in one run.
                receipt.clone_into(latest);
                continue;
            }
            let (range, outcome) = self.replay_hidden(message.body().unwrap_or_default(), receipt).await;
            if matches!(outcome, Outcome::Replayed { .. }) {
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(receipt)
                    .send()
                    .await
                    .map_err(|error| ReplayError::Delete {
                        message_id: id.to_owned(),
                        reason: describe(&error),
                    })?;
            } else {
                kept.insert(id.to_owned(), receipt.to_owned());
            }
            report.messages.push(MessageReport { message_id: id.to_owned(), range, outcome });
        }
        // Kept messages become visible again at once, for the next run or a look in the console.
        for receipt in kept.into_values() {
            let visible = self
                .sqs
                .change_message_visibility()
                .queue_url(&self.queue_url)
                .receipt_handle(receipt)
                .visibility_timeout(0)
                .send()
                .await;
            if let Err(error) = visible {
                eprintln!("a kept message stays hidden until its visibility timeout: {}", describe(&error));
            }
        }
        Ok(report)
    }

    /// [`Self::replay`], renewing the message's visibility timeout until it is done.
    async fn replay_hidden(&mut self, body: &str, receipt: &str) -> (Option<String>, Outcome) {
        let (sqs, queue_url, visibility) = (self.sqs.clone(), self.queue_url.clone(), self.visibility);
        let keep_hidden = async move {
            loop {
                tokio::time::sleep(visibility.renew_every).await;
                let renewed = sqs
                    .change_message_visibility()
                    .queue_url(&queue_url)
                    .receipt_handle(receipt)
                    .visibility_timeout(visibility.timeout_seconds())
                    .send()
                    .await;
                if let Err(error) = renewed {
                    eprintln!("cannot keep the message hidden while it is replayed: {}", describe(&error));
                }
            }
        };
        tokio::select! {
            replayed = self.replay(body) => replayed,
            () = keep_hidden => unreachable!("renewing goes on until the replay ends"),
        }
    }

    /// One message: its range read back and delivered.
    async fn replay(&mut self, body: &str) -> (Option<String>, Outcome) {
        let failed = match FailedBatch::parse(body) {
            Ok(failed) => failed,
            Err(error) => return (None, Outcome::Failed(error.to_string())),
        };
        let range = Some(failed.range());
        let records = match read_range(&self.kinesis, &failed.batch).await {
            Ok(records) => records,
            Err(RangeError::Expired(reason)) => return (range, Outcome::Expired(reason)),
            Err(RangeError::Failed(reason)) => return (range, Outcome::Failed(reason)),
        };
        let mut documents = 0;
        for chunk in chunks(&records) {
            let event = lambda_event(chunk, &failed.batch.stream_arn, &failed.batch.shard_id);
            let (response, summary) = self.handler.process(&event, SystemTime::now() + EVENT_TIME).await;
            documents += summary.delivered;
            if let Some(first) = response.batch_item_failures.first() {
                let reason = format!(
                    "Firehose did not take every document (from record {} on; {} delivered so far, they \
                     will be delivered again next time)",
                    first.item_identifier, documents
                );
                return (range, Outcome::Failed(reason));
            }
        }
        (range, Outcome::Replayed { records: records.len(), documents })
    }
}

/// Consecutive runs of at most [`EVENT_RECORDS`] records and [`EVENT_BYTES`] of data.
fn chunks(records: &[StreamRecord]) -> Vec<&[StreamRecord]> {
    let mut chunks = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (index, record) in records.iter().enumerate() {
        if index > start && (index - start == EVENT_RECORDS || bytes + record.data.len() > EVENT_BYTES) {
            chunks.push(&records[start..index]);
            (start, bytes) = (index, 0);
        }
        bytes += record.data.len();
    }
    if start < records.len() {
        chunks.push(&records[start..]);
    }
    chunks
}

/// The records as Lambda would have handed them to the function (the same `eventID`s, so that
/// direct delivery names the documents as it did the first time).
fn lambda_event<'a>(records: &'a [StreamRecord], stream_arn: &'a str, shard_id: &str) -> KinesisEvent<'a> {
    let records = records
        .iter()
        .map(|record| {
            let mut data = Vec::with_capacity(base64::encoded_len(record.data.len()));
            base64::encode_append(&record.data, &mut data);
            KinesisEventRecord {
                event_id: Some(Cow::Owned(format!("{shard_id}:{}", record.sequence_number))),
                event_source_arn: Some(Cow::Borrowed(stream_arn)),
                aws_region: None,
                kinesis: KinesisRecord {
                    sequence_number: Cow::Borrowed(&record.sequence_number),
                    approximate_arrival_timestamp: record.approximate_arrival_timestamp,
                    // base64's alphabet is ASCII.
                    data: Cow::Owned(String::from_utf8(data).unwrap_or_default()),
                },
            }
        })
        .collect();
    KinesisEvent { records }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(sequence: usize, bytes: usize) -> StreamRecord {
        StreamRecord {
            sequence_number: sequence.to_string(),
            data: vec![b'x'; bytes],
            approximate_arrival_timestamp: None,
        }
    }

    #[test]
    fn chunks_keep_order_and_bounds() {
        let records: Vec<StreamRecord> = (0..1_201).map(|i| record(i, 10)).collect();
        let sizes: Vec<usize> = chunks(&records).iter().map(|c| c.len()).collect();
        assert_eq!(sizes, [500, 500, 201]);
        let big: Vec<StreamRecord> = (0..5).map(|i| record(i, 2 << 20)).collect();
        let sizes: Vec<usize> = chunks(&big).iter().map(|c| c.len()).collect();
        assert_eq!(sizes, [2, 2, 1], "at most 5 MiB of data per event");
        let huge = [record(0, 6 << 20), record(1, 1)];
        assert_eq!(
            chunks(&huge).iter().map(|c| c.len()).collect::<Vec<_>>(),
            [1, 1],
            "a large record goes alone"
        );
        assert!(chunks(&[]).is_empty());
    }

    #[test]
    fn the_event_is_what_lambda_sends() {
        let records = [StreamRecord {
            sequence_number: "49590338271490256608559692538361571095921575989136588898".into(),
            data: b"127.0.0.1 - - [21/Nov/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 5".to_vec(),
            approximate_arrival_timestamp: Some(1_795_000_000.5),
        }];
        let event = lambda_event(
            &records,
            "arn:aws:kinesis:eu-west-1:123456789012:stream/web",
            "shardId-000000000003",
        );
        let kinesis = &event.records[0].kinesis;
        assert_eq!(kinesis.sequence_number, records[0].sequence_number);
        assert_eq!(kinesis.approximate_arrival_timestamp, Some(1_795_000_000.5));
        assert_eq!(
            event.records[0].event_id.as_deref(),
            Some("shardId-000000000003:49590338271490256608559692538361571095921575989136588898")
        );
        let mut decoded = Vec::new();
        base64::decode_append(&kinesis.data, &mut decoded).unwrap();
        assert_eq!(decoded, records[0].data);
    }
}
