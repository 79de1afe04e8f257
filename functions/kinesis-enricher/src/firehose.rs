//! The real PutRecordBatch: the AWS SDK's Firehose client, built once at start-up.
//!
//! The SDK's own retries are off: [`crate::delivery`] retries both whole calls and the entries a
//! 200 response reports as failed, within the invocation's time. The endpoint follows the SDK's
//! standard settings, so `AWS_ENDPOINT_URL_FIREHOSE` points it at a local endpoint in tests.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, ConfigLoader, SdkConfig};
use aws_sdk_firehose::Client;
use aws_sdk_firehose::error::SdkError;
use aws_sdk_firehose::operation::put_record_batch::PutRecordBatchError;
use aws_sdk_firehose::primitives::Blob;
use aws_sdk_firehose::types::Record;
use aws_smithy_http_client::tls;

use crate::delivery::{CallError, RecordBatchSink};

#[derive(Debug, Clone)]
pub struct FirehoseSink {
    client: Client,
    delivery_stream_name: String,
}

impl FirehoseSink {
    /// The SDK settings of the function: no SDK retries, bounded timeouts; region, credentials
    /// and endpoint from the environment unless the caller overrides them.
    pub fn config_loader() -> ConfigLoader {
        // HTTPS on rustls with ring (trusting the system's certificates), not the SDK's default
        // aws-lc: the same TLS, a smaller binary.
        let http_client = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::Ring))
            .build_https();
        aws_config::defaults(BehaviorVersion::latest())
            .http_client(http_client)
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(3))
                    .operation_attempt_timeout(Duration::from_secs(20))
                    .build(),
            )
    }

    /// The client the function builds once at start-up.
    pub async fn from_env(delivery_stream_name: String) -> Self {
        Self::new(&Self::config_loader().load().await, delivery_stream_name)
    }

    pub fn new(config: &SdkConfig, delivery_stream_name: String) -> Self {
        Self { client: Client::new(config), delivery_stream_name }
    }
}

impl RecordBatchSink for FirehoseSink {
    async fn put_record_batch(&self, entries: &[&[u8]]) -> Result<Vec<Option<String>>, CallError> {
        let records = entries
            .iter()
            .map(|data| Record::builder().data(Blob::new(data.to_vec())).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| CallError::Permanent(error.to_string()))?;
        let output = self
            .client
            .put_record_batch()
            .delivery_stream_name(&self.delivery_stream_name)
            .set_records(Some(records))
            .send()
            .await
            .map_err(classify)?;
        Ok(output
            .request_responses()
            .iter()
            .map(|response| {
                response
                    .error_code()
                    .map(|code| format!("{code}: {}", response.error_message().unwrap_or("")))
            })
            .collect())
    }
}

/// Whether another attempt can help.
fn classify(error: SdkError<PutRecordBatchError>) -> CallError {
    let text = aws_sdk_firehose::error::DisplayErrorContext(&error).to_string();
    match &error {
        SdkError::ServiceError(service) => match service.err() {
            PutRecordBatchError::ServiceUnavailableException(_) => CallError::Retryable(text),
            PutRecordBatchError::InvalidArgumentException(_)
            | PutRecordBatchError::ResourceNotFoundException(_)
            | PutRecordBatchError::InvalidKmsResourceException(_) => CallError::Permanent(text),
            _ if service.raw().status().is_server_error() => CallError::Retryable(text),
            _ => CallError::Permanent(text),
        },
        SdkError::ConstructionFailure(_) => CallError::Permanent(text),
        _ => CallError::Retryable(text),
    }
}
