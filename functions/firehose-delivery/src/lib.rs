//! Delivery of documents, shared by every function that sends them itself (kinesis-enricher,
//! s3-archive-enricher, replay-failed-batches): [`deliver`] and [`deliver_spread`] own the call
//! limits, the retries and what could not be delivered, over any [`RecordBatchSink`];
//! [`FirehoseSink`] is PutRecordBatch through the AWS SDK, [`BulkSink`] OpenSearch's `_bulk`
//! (`DELIVERY=opensearch`), whose refused documents [`FailedDocuments`] keeps in S3;
//! [`EntryBuffer`] holds a batch's entries in one buffer; [`DeliverySettings`] is what a
//! delivering function reads.

mod delivery;
mod entries;
mod failed_documents;
mod firehose;
mod opensearch;
mod settings;
mod sink;

pub use delivery::{
    CallError, CallLimits, DeliveryReport, EntryResult, MAX_BYTES_PER_CALL, MAX_ENTRIES_PER_CALL,
    MAX_ENTRY_BYTES, RecordBatchSink, deliver, deliver_spread, document_limit,
};
pub use entries::{EntryBuffer, EntryFormat, EntryStart};
pub use failed_documents::{FailedDocuments, keep_refused};
pub use firehose::FirehoseSink;
pub use opensearch::BulkSink;
pub use settings::{
    DELIVERY, DELIVERY_BASE_BACKOFF_MS, DELIVERY_MAX_ATTEMPTS, DELIVERY_MAX_BACKOFF_MS, DELIVERY_STREAM_NAME,
    DeliverySettings, Destination, FAILED_DOCUMENTS_BUCKET, MAX_DELIVERY_STREAMS, OPENSEARCH_ENDPOINT,
    OPENSEARCH_GZIP, OPENSEARCH_INDEX_PREFIX, OPENSEARCH_MAX_BULK_BYTES, OpenSearchSettings, RetryPolicy,
    delivery_stream_names,
};
pub use sink::{DirectDelivery, Sink};
