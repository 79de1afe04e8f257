//! The Lambda client with which s3-archive-enricher invokes itself to continue an object (Invoke,
//! asynchronous). It keeps the SDK's standard retries.

use std::time::Duration;

use aws_sdk_lambda::config::timeout::TimeoutConfig;
pub use aws_sdk_lambda::{Client, Config};

use crate::{AwsSettings, CONNECT_TIMEOUT, Service, https_client, lambda_environment};

/// How long one Invoke call may take: an asynchronous invocation is only queued.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

pub fn client(aws: &AwsSettings) -> Client {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .build();
    let config = lambda_environment!(Config::builder(), aws, Service::Lambda)
        .http_client(https_client())
        .timeout_config(timeouts);
    Client::from_conf(config.build())
}
