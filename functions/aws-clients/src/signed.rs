//! Plain SigV4-signed HTTPS calls, for the two requests of direct delivery that do not need a whole
//! SDK client: `POST /_bulk` to an OpenSearch Service domain (which has no SDK client for its data
//! API) and `PUT` of one object to S3 (the refused documents' file; the S3 SDK client added
//! 426 KB to kinesis-enricher's package for that one call, past its 3 MB goal). The SDK's HTTPS stack (rustls on
//! ring, its connection pool and timeouts) sends them; `aws-sigv4`, the SDK's own signer, signs
//! them with the function's credentials.

use std::time::{Duration, SystemTime};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_http_client::{Connector, tls};
use aws_smithy_runtime_api::client::http::{HttpConnector, HttpConnectorSettings};
use aws_smithy_runtime_api::client::identity::Identity;
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_types::body::SdkBody;
use bytes::Bytes;
use http_body_util::BodyExt;

use crate::{AwsSettings, CONNECT_TIMEOUT, Service, credentials};

/// How long a call may wait for the next bytes of an answer (a `_bulk` of 10 MB is indexed
/// before it is answered).
pub const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// The AWS service a client signs for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignedService {
    /// An OpenSearch Service domain (`es`).
    OpenSearch,
    /// S3 (`s3`: the payload's SHA-256 in `x-amz-content-sha256`, paths signed as sent).
    S3,
}

impl SignedService {
    fn signing_name(self) -> &'static str {
        match self {
            Self::OpenSearch => "es",
            Self::S3 => "s3",
        }
    }

    fn settings(self) -> SigningSettings {
        let mut settings = SigningSettings::default();
        if self == Self::S3 {
            settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
            settings.percent_encoding_mode = PercentEncodingMode::Single;
            settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        }
        settings
    }
}

/// A service's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub body: Bytes,
}

/// Signed calls to one endpoint.
#[derive(Debug)]
pub struct SignedClient {
    connector: Connector,
    /// `https://host[:port]`, no path.
    endpoint: String,
    region: String,
    service: SignedService,
    credentials: SharedCredentialsProvider,
}

impl SignedClient {
    /// A client for `endpoint` (`https://host`), signing for `service` in `region`.
    pub fn new(
        endpoint: &str,
        region: &str,
        service: SignedService,
        credentials: SharedCredentialsProvider,
    ) -> Self {
        let settings = HttpConnectorSettings::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            .build();
        let connector = Connector::builder()
            .connector_settings(settings)
            .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::Ring))
            .build();
        Self {
            connector,
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            region: region.to_owned(),
            service,
            credentials,
        }
    }

    /// The function's client for an OpenSearch domain: the Lambda environment's region and
    /// credentials.
    pub fn opensearch(endpoint: &str, aws: &AwsSettings) -> Self {
        Self::new(
            endpoint,
            &aws.region,
            SignedService::OpenSearch,
            SharedCredentialsProvider::new(credentials(aws)),
        )
    }

    /// The function's client for S3: its endpoint override (`AWS_ENDPOINT_URL_S3`, moto in tests),
    /// else the region's endpoint; buckets are addressed by path (which also serves bucket names
    /// with dots over HTTPS).
    pub fn s3(aws: &AwsSettings) -> Self {
        let endpoint = aws.endpoint(Service::S3).map_or_else(|| s3_endpoint(&aws.region), str::to_owned);
        Self::new(&endpoint, &aws.region, SignedService::S3, SharedCredentialsProvider::new(credentials(aws)))
    }

    /// A user's machine's client: its AWS configuration's region and credentials; for S3, its
    /// endpoint override, else the region's endpoint.
    #[cfg(feature = "machine")]
    pub fn from_machine(endpoint: Option<&str>, service: SignedService, aws: &aws_types::SdkConfig) -> Self {
        let region = aws.region().map(ToString::to_string).unwrap_or_default();
        let endpoint = endpoint
            .map(str::to_owned)
            .or_else(|| aws.endpoint_url().map(str::to_owned))
            .unwrap_or_else(|| s3_endpoint(&region));
        let credentials = aws.credentials_provider().unwrap_or_else(|| {
            SharedCredentialsProvider::new(aws_credential_types::Credentials::new("", "", None, None, "none"))
        });
        Self::new(&endpoint, &region, service, credentials)
    }

    /// Sends `body` with `method` to `path` (`/_bulk`, `/bucket/key`: ASCII that needs no
    /// escaping), signed; `headers` besides the signature's. An error is a call that got no
    /// answer (connection, timeout, signing), in one line.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<Answer, String> {
        let uri = format!("{}{path}", self.endpoint);
        let credentials = self
            .credentials
            .provide_credentials()
            .await
            .map_err(|error| format!("no credentials to sign with: {error}"))?;
        let identity = Identity::from(credentials);
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(self.service.signing_name())
            .time(SystemTime::now())
            .settings(self.service.settings())
            .build()
            .map_err(|error| format!("cannot sign: {error}"))?
            .into();
        let signable =
            SignableRequest::new(method, &uri, headers.iter().copied(), SignableBody::Bytes(&body))
                .map_err(|error| format!("cannot sign a request to {uri}: {error}"))?;
        let (instructions, _signature) =
            sign(signable, &params).map_err(|error| format!("cannot sign: {error}"))?.into_parts();
        let mut request = http::Request::builder().method(method).uri(&uri);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut request = request
            .header("content-length", body.len())
            .body(SdkBody::from(body))
            .map_err(|error| format!("not a request to {uri}: {error}"))?;
        instructions.apply_to_request_http1x(&mut request);
        let request = HttpRequest::try_from(request).map_err(|error| format!("not a request: {error}"))?;
        let response = self.connector.call(request).await.map_err(|error| {
            let detail = aws_smithy_types::error::display::DisplayErrorContext(&error);
            format!("no answer from {}: {detail}", self.endpoint)
        })?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|error| format!("the answer from {} was cut off: {error}", self.endpoint))?
            .to_bytes();
        Ok(Answer { status, body })
    }
}

/// S3's endpoint in `region` (China's regions are in their own partition).
fn s3_endpoint(region: &str) -> String {
    let domain = if region.starts_with("cn-") { "amazonaws.com.cn" } else { "amazonaws.com" };
    format!("https://s3.{region}.{domain}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_endpoints_by_partition() {
        assert_eq!(s3_endpoint("eu-west-1"), "https://s3.eu-west-1.amazonaws.com");
        assert_eq!(s3_endpoint("cn-north-1"), "https://s3.cn-north-1.amazonaws.com.cn");
    }

    #[test]
    fn s3_signs_its_payload_and_the_path_as_sent() {
        let settings = SignedService::S3.settings();
        assert_eq!(settings.payload_checksum_kind, PayloadChecksumKind::XAmzSha256);
        assert_eq!(settings.uri_path_normalization_mode, UriPathNormalizationMode::Disabled);
        assert_eq!(SignedService::OpenSearch.settings().payload_checksum_kind, PayloadChecksumKind::NoHeader);
    }
}
