//! The HTTPS client that calls an OpenSearch Service domain's REST API (`_bulk`): the SDK's HTTPS
//! stack (rustls on ring, its connection pool and timeouts), each request signed with SigV4 for
//! the `es` service with the function's credentials. The domain has no SDK client for its data
//! API, so the request is built and signed here.

use std::time::{Duration, SystemTime};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_http_client::{Connector, tls};
use aws_smithy_runtime_api::client::http::{HttpConnector, HttpConnectorSettings};
use aws_smithy_runtime_api::client::identity::Identity;
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_types::body::SdkBody;
use bytes::Bytes;
use http_body_util::BodyExt;

use crate::{AwsSettings, CONNECT_TIMEOUT, credentials};

/// The service name OpenSearch Service domains sign with.
pub const SIGNING_NAME: &str = "es";

/// How long a call may wait for the next bytes of an answer (a `_bulk` of 10 MB is indexed
/// before it is answered).
pub const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// A domain's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub body: Bytes,
}

/// Signed calls to one domain.
#[derive(Debug)]
pub struct SignedClient {
    connector: Connector,
    /// `https://host[:port]`, no path.
    endpoint: String,
    region: String,
    credentials: SharedCredentialsProvider,
}

impl SignedClient {
    /// A client for the domain at `endpoint` (`https://host`), signing in `region`.
    pub fn new(endpoint: &str, region: &str, credentials: SharedCredentialsProvider) -> Self {
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
            credentials,
        }
    }

    /// The function's client: the Lambda environment's region and credentials.
    pub fn from_lambda_environment(endpoint: &str, aws: &AwsSettings) -> Self {
        Self::new(endpoint, &aws.region, SharedCredentialsProvider::new(credentials(aws)))
    }

    /// A user's machine's client: its AWS configuration's region and credentials.
    #[cfg(feature = "machine")]
    pub fn from_machine(endpoint: &str, aws: &aws_types::SdkConfig) -> Self {
        let region = aws.region().map(ToString::to_string).unwrap_or_default();
        let credentials = aws.credentials_provider().unwrap_or_else(|| {
            SharedCredentialsProvider::new(aws_credential_types::Credentials::new("", "", None, None, "none"))
        });
        Self::new(endpoint, &region, credentials)
    }

    /// POSTs `body` to `path` (`/_bulk`), signed; `headers` besides the signature's. An error is
    /// a call that got no answer (connection, timeout, signing), in one line.
    pub async fn post(&self, path: &str, headers: &[(&str, &str)], body: Bytes) -> Result<Answer, String> {
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
            .name(SIGNING_NAME)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|error| format!("cannot sign: {error}"))?
            .into();
        let signable =
            SignableRequest::new("POST", &uri, headers.iter().copied(), SignableBody::Bytes(&body))
                .map_err(|error| format!("cannot sign a request to {uri}: {error}"))?;
        let (instructions, _signature) =
            sign(signable, &params).map_err(|error| format!("cannot sign: {error}"))?.into_parts();
        let mut request = http::Request::post(&uri);
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
