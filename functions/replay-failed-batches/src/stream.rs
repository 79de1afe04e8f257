//! Reading a failed batch's range back from its shard: every record from the first sequence
//! number to the last, or the reason that cannot be done.

use std::cmp::Ordering;

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::operation::get_shard_iterator::GetShardIteratorError;
use aws_sdk_kinesis::types::ShardIteratorType;

use crate::failed_batch::{KinesisBatchInfo, compare_sequence_numbers};
use aws_clients::describe;

/// Empty pages in a row after which a shard that claims to be behind is given up on (Kinesis may
/// answer empty pages while it skips over gaps; it never needs this many for one range).
const MAX_EMPTY_PAGES: u32 = 50;

/// One record as Kinesis returned it.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamRecord {
    pub sequence_number: String,
    pub data: Vec<u8>,
    /// Seconds since the epoch, as in Lambda's event.
    pub approximate_arrival_timestamp: Option<f64>,
}

/// Why a range is not replayed; either way its message stays in the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeError {
    /// The stream no longer holds (all of) the range: its retention period has passed, or the
    /// stream is gone. Nothing will bring it back.
    Expired(String),
    /// Reading failed for another reason (access, throttling past the SDK's retries): a later
    /// run may succeed.
    Failed(String),
}

/// Every record of the range, in order; the whole range or an error.
pub async fn read_range(client: &Client, batch: &KinesisBatchInfo) -> Result<Vec<StreamRecord>, RangeError> {
    // By name (the ARN's last part): the ARN parameter is newer and not every endpoint that speaks
    // Kinesis (moto) follows it through to GetRecords.
    let stream_name =
        batch.stream_arn.rsplit_once(":stream/").map_or(batch.stream_arn.as_str(), |(_, name)| name);
    let iterator = client
        .get_shard_iterator()
        .stream_name(stream_name)
        .shard_id(&batch.shard_id)
        .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
        .starting_sequence_number(&batch.start_sequence_number)
        .send()
        .await;
    let mut iterator = match iterator {
        Ok(output) => output.shard_iterator,
        Err(error) => {
            let text = describe(&error);
            return Err(match error.as_service_error() {
                Some(GetShardIteratorError::ResourceNotFoundException(_)) => {
                    RangeError::Expired(format!("the stream or its shard no longer exists ({text})"))
                }
                _ => RangeError::Failed(text),
            });
        }
    };
    let mut records: Vec<StreamRecord> = Vec::new();
    let mut empty_pages = 0;
    while let Some(current) = iterator.take() {
        let page = client
            .get_records()
            .shard_iterator(current)
            .limit(10_000)
            .send()
            .await
            .map_err(|error| RangeError::Failed(describe(&error)))?;
        if page.records().is_empty() {
            empty_pages += 1;
            if page.millis_behind_latest() == Some(0) || empty_pages >= MAX_EMPTY_PAGES {
                break;
            }
        } else {
            empty_pages = 0;
        }
        for record in page.records() {
            let sequence_number = record.sequence_number();
            // A range starts at a record Lambda had read; if the shard's oldest record is a later
            // one, retention has trimmed the start (and replaying the rest would hide that).
            if records.is_empty() && sequence_number != batch.start_sequence_number {
                return Err(RangeError::Expired(format!(
                    "the range starts at {}, the oldest record left in the shard is {sequence_number}: \
                     the stream's retention period has passed",
                    batch.start_sequence_number
                )));
            }
            if compare_sequence_numbers(sequence_number, &batch.end_sequence_number) == Ordering::Greater {
                return whole(records, batch);
            }
            records.push(StreamRecord {
                sequence_number: sequence_number.to_owned(),
                data: record.data().as_ref().to_vec(),
                approximate_arrival_timestamp: record
                    .approximate_arrival_timestamp()
                    .map(|t| t.as_secs_f64()),
            });
            if sequence_number == batch.end_sequence_number {
                return whole(records, batch);
            }
        }
        iterator = page.next_shard_iterator().map(str::to_owned);
    }
    whole(records, batch)
}

/// `records` if they reach the range's end.
fn whole(records: Vec<StreamRecord>, batch: &KinesisBatchInfo) -> Result<Vec<StreamRecord>, RangeError> {
    match records.last() {
        None => Err(RangeError::Expired(format!(
            "no record of the range starting at {} is left in the shard",
            batch.start_sequence_number
        ))),
        Some(last)
            if compare_sequence_numbers(&last.sequence_number, &batch.end_sequence_number)
                == Ordering::Less =>
        {
            Err(RangeError::Failed(format!(
                "the shard ends at {} before the range's end {}",
                last.sequence_number, batch.end_sequence_number
            )))
        }
        Some(_) => Ok(records),
    }
}
