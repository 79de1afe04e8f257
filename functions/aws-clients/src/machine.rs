//! A user's machine (replay-failed-batches): region and credentials found the way the AWS CLI
//! finds them (environment, profiles, SSO, roles), over the same HTTPS client as the functions.

use aws_config::{BehaviorVersion, SdkConfig};

use crate::https_client;

/// The machine's AWS configuration; every client of the run is built from it.
pub async fn config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).http_client(https_client()).load().await
}
