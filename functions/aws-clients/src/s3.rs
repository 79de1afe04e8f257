//! The S3 client that reads archived logs (GetObject). Unlike PutRecordBatch, whose retries the
//! delivery loop owns, GetObject keeps the SDK's standard retries.

use aws_sdk_s3::config::timeout::TimeoutConfig;
pub use aws_sdk_s3::{Client, Config};

use crate::{AwsSettings, CONNECT_TIMEOUT, Service, https_client, lambda_environment};

/// The client; with an endpoint override (moto, MinIO) buckets are addressed by path.
pub fn client(aws: &AwsSettings) -> Client {
    let path_style = aws.endpoint(Service::S3).is_some();
    let config = lambda_environment!(Config::builder(), aws, Service::S3)
        .http_client(https_client())
        .timeout_config(TimeoutConfig::builder().connect_timeout(CONNECT_TIMEOUT).build())
        .force_path_style(path_style);
    Client::from_conf(config.build())
}
