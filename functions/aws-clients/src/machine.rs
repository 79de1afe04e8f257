//! A user's machine (replay-failed-batches): region and credentials found the way the AWS CLI
//! finds them (environment, profiles, SSO, roles), over the same HTTPS client as the functions.

use aws_config::{BehaviorVersion, SdkConfig};

use crate::https_client;

/// The machine's AWS configuration; every client of the run is built from it.
pub async fn config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).http_client(https_client()).load().await
}

/// An S3 client from the machine's configuration; with an endpoint override (moto, MinIO)
/// buckets are addressed by path.
#[cfg(feature = "s3")]
pub fn s3_client(aws: &SdkConfig) -> crate::s3::Client {
    let config =
        aws_sdk_s3::config::Builder::from(aws).force_path_style(aws.endpoint_url().is_some()).build();
    crate::s3::Client::from_conf(config)
}
