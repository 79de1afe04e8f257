//! The sink a function delivers to, chosen at start-up by `DELIVERY`.

use crate::delivery::{CallError, CallLimits, EntryResult, RecordBatchSink};
use crate::firehose::FirehoseSink;
use crate::opensearch::BulkSink;

#[derive(Debug, Clone)]
pub enum Sink {
    Firehose(FirehoseSink),
    OpenSearch(BulkSink),
}

impl RecordBatchSink for Sink {
    fn limits(&self) -> CallLimits {
        match self {
            Self::Firehose(sink) => sink.limits(),
            Self::OpenSearch(sink) => sink.limits(),
        }
    }

    async fn send_batch(&self, entries: &[&[u8]]) -> Result<Vec<EntryResult>, CallError> {
        match self {
            Self::Firehose(sink) => sink.send_batch(entries).await,
            Self::OpenSearch(sink) => sink.send_batch(entries).await,
        }
    }
}
