//! The S3 and Lambda clients, built once at start-up from the Lambda environment as the Firehose
//! client is (region, the role's credentials, the SDK's standard endpoint variables
//! `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL_LAMBDA` / `AWS_ENDPOINT_URL`), over the same HTTPS
//! client. Unlike PutRecordBatch, whose retries `firehose_delivery` owns, GetObject and Invoke
//! keep the SDK's standard retries.

use std::time::Duration;

use aws_sdk_s3::config::Region;
use enrichment::settings::ConfigError;
use firehose_delivery::firehose::{https_client, lambda_credentials};
use lambda_shell::settings::{AWS_ENDPOINT_URL_LAMBDA, AWS_ENDPOINT_URL_S3, AwsSettings, endpoint_url};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// The S3 client; with an endpoint override (moto, MinIO) buckets are addressed by path.
pub fn s3_client(
    aws: &AwsSettings,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<aws_sdk_s3::Client, ConfigError> {
    let mut config = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .http_client(https_client())
        .region(Region::new(aws.region.clone()))
        .credentials_provider(lambda_credentials(aws))
        .timeout_config(
            aws_sdk_s3::config::timeout::TimeoutConfig::builder().connect_timeout(CONNECT_TIMEOUT).build(),
        );
    if let Some(url) = endpoint_url(lookup, AWS_ENDPOINT_URL_S3)? {
        config = config.endpoint_url(url).force_path_style(true);
    }
    Ok(aws_sdk_s3::Client::from_conf(config.build()))
}

/// The Lambda client that invokes the function itself to continue an object.
pub fn lambda_client(
    aws: &AwsSettings,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<aws_sdk_lambda::Client, ConfigError> {
    let mut config = aws_sdk_lambda::Config::builder()
        .behavior_version(aws_sdk_lambda::config::BehaviorVersion::latest())
        .http_client(https_client())
        .region(aws_sdk_lambda::config::Region::new(aws.region.clone()))
        .credentials_provider(lambda_credentials(aws))
        .timeout_config(
            aws_sdk_lambda::config::timeout::TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_attempt_timeout(Duration::from_secs(10))
                .build(),
        );
    if let Some(url) = endpoint_url(lookup, AWS_ENDPOINT_URL_LAMBDA)? {
        config = config.endpoint_url(url);
    }
    Ok(aws_sdk_lambda::Client::from_conf(config.build()))
}
