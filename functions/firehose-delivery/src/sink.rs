//! The sink a function delivers to, chosen at start-up by `DELIVERY`, and what direct delivery
//! needs besides its sink.

use aws_clients::signed::SignedClient;

use crate::delivery::{CallError, CallLimits, EntryResult, RecordBatchSink};
use crate::entries::EntryFormat;
use crate::failed_documents::FailedDocuments;
use crate::firehose::FirehoseSink;
use crate::opensearch::BulkSink;
use crate::settings::OpenSearchSettings;

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

/// What a function needs to deliver to an OpenSearch domain itself (`DELIVERY=opensearch`): the
/// `_bulk` sink, where the documents the domain refuses go, and how entries are written.
#[derive(Debug)]
pub struct DirectDelivery {
    pub sink: Sink,
    pub failed_documents: FailedDocuments,
    pub format: EntryFormat,
}

impl DirectDelivery {
    /// `opensearch` signs for the domain, `s3` for the settings' bucket; `writer` (the function)
    /// names the refused documents' files.
    pub fn new(
        settings: OpenSearchSettings,
        opensearch: SignedClient,
        s3: SignedClient,
        writer: &str,
    ) -> Self {
        Self {
            sink: Sink::OpenSearch(BulkSink::new(opensearch, &settings)),
            failed_documents: FailedDocuments::new(s3, settings.failed_documents_bucket, writer),
            format: EntryFormat::BulkCreate { index_prefix: settings.index_prefix },
        }
    }
}
