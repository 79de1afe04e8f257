//! Lambda's Runtime API, spoken over AWS's own client for it (`lambda_runtime_api_client`): the
//! next invocation comes in as the bytes Lambda sent, and the answer goes out as the bytes the
//! handler wrote.
//!
//! `lambda_runtime` would read each event into its own JSON value before the handler reads it
//! again, and write each response through serde: two more passes and two more copies over
//! megabytes per invocation (measured in docs/performance.md). What it does besides is done here
//! the same way: the X-Ray trace id in `_X_AMZN_TRACE_ID` (the AWS SDK sends it on), a
//! "Lambda runtime invoke" span with the request id around the handler's logs, the invocation id
//! echoed on the answer, and errors as `{"errorType","errorMessage"}`.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request};
use http_body_util::BodyExt;
use lambda_runtime_api_client::body::Body;
use lambda_runtime_api_client::{BoxError, PooledClient, build_request};

const REQUEST_ID: &str = "lambda-runtime-aws-request-id";
const DEADLINE_MS: &str = "lambda-runtime-deadline-ms";
/// Lambda's deadline is milliseconds since the epoch. `cargo lambda watch` (1.9) sends `600000`
/// instead, ten minutes meant from now; no epoch time below this one (September 2001) can be
/// Lambda's, so such a value is read as milliseconds from now. (Taken as 1970, every deadline
/// check would find no time left, and the functions would deliver nothing locally.)
const EARLIEST_EPOCH_DEADLINE_MS: u64 = 1_000_000_000_000;
const TRACE_ID: &str = "lambda-runtime-trace-id";
/// Sent by newer Runtime API versions and echoed back, so that a late answer from an invocation
/// that timed out is not taken for the current one's.
const INVOCATION_ID: &str = "lambda-runtime-invocation-id";

/// One invocation: its event as Lambda sent it, and what the answer needs.
#[derive(Debug)]
pub(crate) struct Invocation {
    pub request_id: String,
    /// When Lambda stops the invocation.
    pub deadline: SystemTime,
    pub trace_id: Option<String>,
    invocation_id: Option<HeaderValue>,
    pub body: Bytes,
}

/// The Runtime API of this execution environment (`AWS_LAMBDA_RUNTIME_API`).
#[derive(Debug)]
pub struct RuntimeApi {
    client: PooledClient,
}

impl RuntimeApi {
    /// Panics without `AWS_LAMBDA_RUNTIME_API`, as `lambda_runtime` does: outside Lambda (or
    /// `cargo lambda watch`) there is nothing to serve.
    pub(crate) fn from_env() -> Self {
        Self { client: PooledClient::builder().build() }
    }

    /// The Runtime API at `host:port` (tests, or an emulator).
    pub fn at(address: &str) -> Result<Self, BoxError> {
        let endpoint = format!("http://{address}").parse::<http::Uri>()?;
        Ok(Self { client: PooledClient::builder().with_endpoint(endpoint).build() })
    }

    /// Waits for the next invocation.
    pub(crate) async fn next(&self) -> Result<Invocation, BoxError> {
        let request = build_request()
            .method(Method::GET)
            .uri("/2018-06-01/runtime/invocation/next")
            .body(Body::empty())?;
        let response = self.client.call(request).await?;
        if !response.status().is_success() {
            return Err(
                format!("the Runtime API answered {} for the next invocation", response.status()).into()
            );
        }
        let (parts, body) = response.into_parts();
        let body = body.collect().await?.to_bytes();
        Invocation::from_headers(&parts.headers, body)
    }

    /// Posts the handler's answer.
    pub(crate) async fn respond(&self, invocation: &Invocation, json: Vec<u8>) -> Result<(), BoxError> {
        let path = format!("/2018-06-01/runtime/invocation/{}/response", invocation.request_id);
        self.post(invocation, path, None, json).await
    }

    /// Reports the invocation as failed: Lambda then retries an asynchronous event, and counts an
    /// error.
    pub(crate) async fn fail(
        &self,
        invocation: &Invocation,
        error_type: &str,
        message: &str,
    ) -> Result<(), BoxError> {
        let path = format!("/2018-06-01/runtime/invocation/{}/error", invocation.request_id);
        let body =
            serde_json::to_vec(&serde_json::json!({"errorType": error_type, "errorMessage": message}))?;
        self.post(invocation, path, Some("unhandled"), body).await
    }

    async fn post(
        &self,
        invocation: &Invocation,
        path: String,
        error_type: Option<&'static str>,
        body: Vec<u8>,
    ) -> Result<(), BoxError> {
        let mut request = build_request().method(Method::POST).uri(path);
        if let Some(error_type) = error_type {
            request = request.header("lambda-runtime-function-error-type", error_type);
        }
        if let Some(id) = &invocation.invocation_id {
            request = request.header(INVOCATION_ID, id);
        }
        let request: Request<Body> = request.body(Body::from(body))?;
        let response = self.client.call(request).await?;
        let status = response.status();
        // Read to the end, so that the connection is reused for the next invocation.
        response.into_body().collect().await?;
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("the Runtime API answered {status} for {}", invocation.request_id).into())
        }
    }
}

impl Invocation {
    fn from_headers(headers: &HeaderMap, body: Bytes) -> Result<Self, BoxError> {
        let text = |name: &str| -> Result<Option<&str>, BoxError> {
            headers
                .get(name)
                .map(|value| value.to_str().map_err(|_| format!("the {name} header is not text")))
                .transpose()
                .map_err(Into::into)
        };
        let request_id = text(REQUEST_ID)?.ok_or("the next invocation has no request id")?.to_owned();
        let deadline_ms: u64 = text(DEADLINE_MS)?
            .ok_or("the next invocation has no deadline")?
            .parse()
            .map_err(|_| "the next invocation's deadline is not a number of milliseconds")?;
        let deadline = if deadline_ms < EARLIEST_EPOCH_DEADLINE_MS {
            SystemTime::now() + Duration::from_millis(deadline_ms)
        } else {
            SystemTime::UNIX_EPOCH + Duration::from_millis(deadline_ms)
        };
        Ok(Self {
            request_id,
            deadline,
            trace_id: text(TRACE_ID)?.map(str::to_owned),
            invocation_id: headers.get(INVOCATION_ID).cloned(),
            body,
        })
    }

    /// The span the handler's logs are written in (JSON logs carry its fields).
    pub fn span(&self) -> tracing::Span {
        match &self.trace_id {
            Some(trace_id) => {
                tracing::info_span!("Lambda runtime invoke", requestId = %self.request_id, xrayTraceId = %trace_id)
            }
            None => tracing::info_span!("Lambda runtime invoke", requestId = %self.request_id),
        }
    }

    /// Puts the invocation's X-Ray trace id where the AWS SDK looks for it (`_X_AMZN_TRACE_ID`),
    /// so that its calls carry the trace header, as every Lambda runtime does.
    pub fn set_trace_environment(&self) {
        // SAFETY: called between invocations, on the runtime's only thread, when the previous
        // invocation's futures (the only code that reads the environment: the SDK, DNS lookups)
        // have all completed; `lambda_runtime` sets the same variable at the same point.
        #[allow(unsafe_code)]
        unsafe {
            match &self.trace_id {
                Some(trace_id) => std::env::set_var("_X_AMZN_TRACE_ID", trace_id),
                None => std::env::remove_var("_X_AMZN_TRACE_ID"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| (http::HeaderName::from_static(name), HeaderValue::from_str(value).unwrap()))
            .collect()
    }

    #[test]
    fn an_invocation_is_read_from_the_runtime_api_headers() {
        let invocation = Invocation::from_headers(
            &headers(&[
                (REQUEST_ID, "8476a536-e9f4-11e8-9739-2dfe598c3fcd"),
                (DEADLINE_MS, "1795219260123"),
                (TRACE_ID, "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1"),
                (INVOCATION_ID, "inv-1"),
            ]),
            Bytes::from_static(b"{}"),
        )
        .unwrap();
        assert_eq!(invocation.request_id, "8476a536-e9f4-11e8-9739-2dfe598c3fcd");
        assert_eq!(invocation.deadline, SystemTime::UNIX_EPOCH + Duration::from_millis(1_795_219_260_123));
        assert_eq!(
            invocation.trace_id.as_deref(),
            Some("Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1")
        );
        assert_eq!(invocation.invocation_id, Some(HeaderValue::from_static("inv-1")));
    }

    #[test]
    fn cargo_lambda_watchs_deadline_is_ten_minutes_from_now_not_1970() {
        let before = SystemTime::now();
        let invocation =
            Invocation::from_headers(&headers(&[(REQUEST_ID, "a"), (DEADLINE_MS, "600000")]), Bytes::new())
                .unwrap();
        let after = SystemTime::now();
        assert!(invocation.deadline >= before + Duration::from_secs(600));
        assert!(invocation.deadline <= after + Duration::from_secs(600));
    }

    #[test]
    fn an_invocation_without_its_request_id_or_deadline_is_refused() {
        let no_id = Invocation::from_headers(&headers(&[(DEADLINE_MS, "1")]), Bytes::new()).unwrap_err();
        assert_eq!(no_id.to_string(), "the next invocation has no request id");
        let bad_deadline =
            Invocation::from_headers(&headers(&[(REQUEST_ID, "a"), (DEADLINE_MS, "soon")]), Bytes::new())
                .unwrap_err();
        assert_eq!(
            bad_deadline.to_string(),
            "the next invocation's deadline is not a number of milliseconds"
        );
    }
}
