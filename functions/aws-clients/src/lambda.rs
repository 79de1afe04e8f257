//! The Lambda client with which s3-archive-enricher invokes itself to continue an object (Invoke,
//! asynchronous). It keeps the SDK's standard retries.

use std::time::Duration;

use aws_sdk_lambda::config::timeout::TimeoutConfig;
use aws_sdk_lambda::config::{BehaviorVersion, Region};
pub use aws_sdk_lambda::{Client, Config};

use crate::{AwsSettings, CONNECT_TIMEOUT, Service, credentials, https_client};

/// How long one Invoke call may take: an asynchronous invocation is only queued.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

pub fn client(aws: &AwsSettings) -> Client {
    let mut config = Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(https_client())
        .region(Region::new(aws.region.clone()))
        .credentials_provider(credentials(aws))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .build(),
        );
    if let Some(url) = aws.endpoint(Service::Lambda) {
        config = config.endpoint_url(url);
    }
    Client::from_conf(config.build())
}
