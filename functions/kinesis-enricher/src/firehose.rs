//! The real PutRecordBatch: the AWS SDK's Firehose client, built once at start-up.
//!
//! The SDK's own retries are off: [`crate::delivery`] retries both whole calls and the entries a
//! 200 response reports as failed, within the invocation's time.
//!
//! The client is configured from the variables Lambda sets for every function (the region and the
//! execution role's credentials), not through `aws-config`: its provider chain (profiles, SSO,
//! web identity, instance metadata) serves machines, not Lambda, and it brought STS and an XML
//! protocol into the deployment package. `AWS_ENDPOINT_URL_FIREHOSE` (or `AWS_ENDPOINT_URL`)
//! points the client elsewhere, as the SDK's own settings do: at moto in tests.

use std::time::Duration;

use aws_sdk_firehose::Client;
use aws_sdk_firehose::config::retry::RetryConfig;
use aws_sdk_firehose::config::timeout::TimeoutConfig;
use aws_sdk_firehose::config::{BehaviorVersion, Builder, Credentials, Region};
use aws_sdk_firehose::error::SdkError;
use aws_sdk_firehose::operation::put_record_batch::PutRecordBatchError;
use aws_sdk_firehose::primitives::Blob;
use aws_sdk_firehose::types::Record;
use aws_smithy_http_client::tls;
use enrichment::config::{ConfigError, Setting};

use crate::delivery::{CallError, RecordBatchSink};

pub const AWS_REGION: Setting = Setting { env: "AWS_REGION", flag: "" };
pub const AWS_ACCESS_KEY_ID: Setting = Setting { env: "AWS_ACCESS_KEY_ID", flag: "" };
pub const AWS_SECRET_ACCESS_KEY: Setting = Setting { env: "AWS_SECRET_ACCESS_KEY", flag: "" };
pub const AWS_SESSION_TOKEN: Setting = Setting { env: "AWS_SESSION_TOKEN", flag: "" };
pub const AWS_ENDPOINT_URL_FIREHOSE: Setting = Setting { env: "AWS_ENDPOINT_URL_FIREHOSE", flag: "" };
pub const AWS_ENDPOINT_URL: Setting = Setting { env: "AWS_ENDPOINT_URL", flag: "" };

#[derive(Debug, Clone)]
pub struct FirehoseSink {
    client: Client,
    delivery_stream_name: String,
}

impl FirehoseSink {
    /// The SDK settings of the function: no SDK retries and bounded timeouts; the caller adds the
    /// region, the credentials and, if any, the endpoint.
    pub fn config_builder() -> Builder {
        // HTTPS on rustls with ring (trusting the system's certificates), not the SDK's default
        // aws-lc: the same TLS, a smaller binary.
        let http_client = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::Ring))
            .build_https();
        Builder::new()
            .behavior_version(BehaviorVersion::latest())
            .http_client(http_client)
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(3))
                    .operation_attempt_timeout(Duration::from_secs(20))
                    .build(),
            )
    }

    /// The client the function builds once at start-up, from its environment (`lookup` reads a
    /// variable). A missing region or credentials, or an endpoint that is not an http(s) URL,
    /// stops the start with the variable named.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
        delivery_stream_name: String,
    ) -> Result<Self, ConfigError> {
        let optional = |setting: Setting| lookup(setting.env).filter(|value| !value.trim().is_empty());
        let required = |setting: Setting, expected: &str| {
            optional(setting).ok_or_else(|| ConfigError::new(setting, "", expected))
        };
        let region = required(AWS_REGION, "an AWS region such as eu-west-1 (Lambda sets it)")?;
        let access_key_id =
            required(AWS_ACCESS_KEY_ID, "the access key of the function's role (Lambda sets it)")?;
        let secret_access_key =
            required(AWS_SECRET_ACCESS_KEY, "the secret key of the function's role (Lambda sets it)")?;
        let credentials = Credentials::new(
            access_key_id,
            secret_access_key,
            optional(AWS_SESSION_TOKEN),
            None,
            "Lambda environment",
        );
        let mut config = Self::config_builder()
            .region(Region::new(region.trim().to_owned()))
            .credentials_provider(credentials);
        let endpoint = [AWS_ENDPOINT_URL_FIREHOSE, AWS_ENDPOINT_URL]
            .into_iter()
            .find_map(|setting| optional(setting).map(|url| (setting, url)));
        if let Some((setting, url)) = endpoint {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(ConfigError::new(setting, &url, "an http:// or https:// URL"));
            }
            config = config.endpoint_url(url);
        }
        Ok(Self::new(config.build(), delivery_stream_name))
    }

    pub fn new(config: aws_sdk_firehose::Config, delivery_stream_name: String) -> Self {
        Self { client: Client::from_conf(config), delivery_stream_name }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn sink(variables: &[(&str, &str)]) -> Result<FirehoseSink, String> {
        let lookup = |name: &str| variables.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned());
        FirehoseSink::from_lookup(lookup, "weblogs".to_owned()).map_err(|error| error.to_string())
    }

    const LAMBDA: [(&str, &str); 4] = [
        ("AWS_REGION", "eu-west-1"),
        ("AWS_ACCESS_KEY_ID", "ASIAEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
        ("AWS_SESSION_TOKEN", "token"),
    ];

    #[test]
    fn the_lambda_environment_is_enough() {
        assert!(sink(&LAMBDA).is_ok());
        assert!(sink(&LAMBDA[..3]).is_ok(), "long-term keys have no session token");
        let mut with_endpoint = LAMBDA.to_vec();
        with_endpoint.push(("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"));
        assert!(sink(&with_endpoint).is_ok());
    }

    #[test]
    fn missing_region_or_credentials_are_named() {
        for missing in ["AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
            let variables: Vec<_> = LAMBDA.iter().copied().filter(|(name, _)| *name != missing).collect();
            let error = sink(&variables).unwrap_err();
            assert!(error.contains(missing), "{missing}: {error}");
            let mut blank = variables.clone();
            blank.push((missing, "  "));
            assert!(sink(&blank).unwrap_err().contains(missing), "{missing} blank");
        }
    }

    #[test]
    fn an_endpoint_must_be_an_http_url() {
        for setting in ["AWS_ENDPOINT_URL_FIREHOSE", "AWS_ENDPOINT_URL"] {
            let mut variables = LAMBDA.to_vec();
            variables.push((setting, "localhost:5000"));
            let error = sink(&variables).unwrap_err();
            assert!(error.contains(setting) && error.contains("localhost:5000"), "{error}");
            assert!(error.contains("http://"), "{error}");
        }
    }
}
