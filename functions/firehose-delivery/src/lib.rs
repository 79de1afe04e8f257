//! Delivery to Firehose, shared by every function that sends documents there itself
//! (kinesis-enricher, s3-archive-enricher, replay-failed-batches): [`deliver`] and
//! [`deliver_spread`] own the PutRecordBatch limits, the retries and what could not be delivered,
//! over any [`RecordBatchSink`]; [`FirehoseSink`] is the real call through the AWS SDK;
//! [`EntryBuffer`] holds a batch's documents in one buffer; [`DeliverySettings`] is what a
//! delivering function reads (`DELIVERY_STREAM_NAME`, the retry settings).

mod delivery;
mod entries;
mod firehose;
mod settings;

pub use delivery::{
    CallError, DeliveryReport, MAX_BYTES_PER_CALL, MAX_ENTRIES_PER_CALL, MAX_ENTRY_BYTES, RecordBatchSink,
    deliver, deliver_spread, document_limit,
};
pub use entries::EntryBuffer;
pub use firehose::FirehoseSink;
pub use settings::{
    DELIVERY_BASE_BACKOFF_MS, DELIVERY_MAX_ATTEMPTS, DELIVERY_MAX_BACKOFF_MS, DELIVERY_STREAM_NAME,
    DeliverySettings, MAX_DELIVERY_STREAMS, RetryPolicy, delivery_stream_names,
};
