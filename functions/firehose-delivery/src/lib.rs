//! Delivery to Firehose, shared by every function that sends documents there itself
//! (kinesis-enricher, s3-archive-enricher, replay-failed-batches): [`delivery`] owns the
//! PutRecordBatch limits, the retries and what could not be delivered; [`firehose`] is the real
//! call through the AWS SDK (over an HTTPS client that compacts fully successful answers:
//! `compact_success`); [`EntryBuffer`] holds a batch's documents in one buffer.

mod compact_success;
pub mod delivery;
mod entries;
pub mod firehose;

pub use delivery::{
    CallError, DeliveryReport, MAX_BYTES_PER_CALL, MAX_ENTRIES_PER_CALL, MAX_ENTRY_BYTES, RecordBatchSink,
    deliver, deliver_spread, document_limit,
};
pub use entries::EntryBuffer;
pub use firehose::FirehoseSink;
