//! The S3 client that reads archived logs (GetObject). Unlike PutRecordBatch, whose retries the
//! delivery loop owns, GetObject keeps the SDK's standard retries.

use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{BehaviorVersion, Region};
pub use aws_sdk_s3::{Client, Config};

use crate::{AwsSettings, CONNECT_TIMEOUT, Service, credentials, https_client};

/// The client; with an endpoint override (moto, MinIO) buckets are addressed by path.
pub fn client(aws: &AwsSettings) -> Client {
    let mut config = Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(https_client())
        .region(Region::new(aws.region.clone()))
        .credentials_provider(credentials(aws))
        .timeout_config(TimeoutConfig::builder().connect_timeout(CONNECT_TIMEOUT).build());
    if let Some(url) = aws.endpoint(Service::S3) {
        config = config.endpoint_url(url).force_path_style(true);
    }
    Client::from_conf(config.build())
}
