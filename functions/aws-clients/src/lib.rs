//! Every AWS SDK client of the project, built here and nowhere else: the HTTPS client, the
//! credentials, the region, each service's endpoint and timeouts.
//!
//! The functions are configured from what Lambda puts in every function's environment (the region
//! and the execution role's credentials, [`AwsSettings`]), not through `aws-config`: its provider
//! chain (profiles, SSO, web identity, instance metadata) serves machines, not Lambda, and it
//! brought STS and an XML protocol into the deployment packages. The SDK's standard endpoint
//! variables (`AWS_ENDPOINT_URL_FIREHOSE`, `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL_LAMBDA`, else
//! `AWS_ENDPOINT_URL`) point a client elsewhere: at moto in tests. replay-failed-batches runs on a
//! user's machine and takes its credentials the way the AWS CLI does ([`machine`]).
//!
//! One feature per service (`firehose`, `s3`, `lambda`, `machine`), so that a function links only
//! the clients it uses.

#[cfg(feature = "firehose")]
mod compact_success;
mod errors;
#[cfg(feature = "firehose")]
pub mod firehose;
#[cfg(feature = "lambda")]
pub mod lambda;
#[cfg(feature = "machine")]
pub mod machine;
#[cfg(feature = "s3")]
pub mod s3;
mod settings;
#[cfg(feature = "signed")]
pub mod signed;

use std::time::Duration;

use aws_credential_types::Credentials;
use aws_smithy_http_client::tls;
use aws_smithy_runtime_api::client::http::SharedHttpClient;

pub use errors::{describe, http_status};
pub use settings::{AwsSettings, Service};

/// How long any client waits for a connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// HTTPS on rustls with ring (trusting the system's certificates), not the SDK's default aws-lc:
/// the same TLS, a smaller binary and no C toolchain set-up.
pub fn https_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::Ring))
        .build_https()
}

/// What every client of a function starts from, on any service's config builder (the builders of
/// the services have no trait in common): the region, the execution role's credentials, and the
/// service's endpoint if one is set. Each service adds its HTTPS client and timeouts. (The SDK's
/// shared `SdkConfig` would do the same, for ~35 KB more code in each package.)
macro_rules! lambda_environment {
    ($builder:expr, $aws:expr, $service:expr) => {{
        let builder = $builder
            .behavior_version(aws_smithy_runtime_api::client::behavior_version::BehaviorVersion::latest())
            .region(aws_types::region::Region::new($aws.region.clone()))
            .credentials_provider($crate::credentials($aws));
        match $aws.endpoint($service) {
            Some(url) => builder.endpoint_url(url),
            None => builder,
        }
    }};
}
#[cfg(any(feature = "firehose", feature = "s3", feature = "lambda"))]
pub(crate) use lambda_environment;

/// The execution role's credentials as Lambda puts them in the environment.
pub fn credentials(aws: &AwsSettings) -> Credentials {
    Credentials::new(
        aws.access_key_id.clone(),
        aws.secret_access_key.clone(),
        aws.session_token.clone(),
        None,
        "Lambda environment",
    )
}
