//! The Firehose client that delivers the documents. The SDK's own retries are off: the delivery
//! loop (`firehose_delivery`) retries both whole calls and the entries a 200 answer reports as
//! failed, within the invocation's time. Its HTTPS client hands the SDK fully successful
//! PutRecordBatch answers without their record ids ([`crate::compact_success`]).

use std::time::Duration;

use aws_sdk_firehose::config::retry::RetryConfig;
use aws_sdk_firehose::config::timeout::TimeoutConfig;
use aws_sdk_firehose::config::{BehaviorVersion, Builder};
pub use aws_sdk_firehose::{Client, Config};

use crate::compact_success::compact_success_answers;
use crate::{AwsSettings, CONNECT_TIMEOUT, Service, https_client, lambda_environment};

/// How long one PutRecordBatch call may take (up to 4 MiB of entries).
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(20);

/// The project's settings on a builder that has the region and credentials already
/// (replay-failed-batches starts from its machine's AWS configuration).
pub fn configure(builder: Builder) -> Builder {
    builder
        .behavior_version(BehaviorVersion::latest())
        .http_client(compact_success_answers(https_client()))
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .build(),
        )
}

/// The function's client configuration, from the Lambda environment's region, credentials and
/// endpoint; built once at start-up.
pub fn config(aws: &AwsSettings) -> Config {
    configure(lambda_environment!(Builder::new(), aws, Service::Firehose)).build()
}
