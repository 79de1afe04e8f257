//! The HTTPS client under the Firehose client, with one addition: a PutRecordBatch answer that
//! reports no failed record reaches the SDK without its record ids.
//!
//! Firehose answers every accepted entry with a record id of ~220 characters. The SDK reads each
//! one into a `String` (a character at a time), and nothing here uses them: on a fully successful
//! call only `FailedPutCount` matters. Reading the ids cost ~8 % of kinesis-enricher's CPU on a
//! 10,000-record batch. Everything else reaches the SDK as it came: error statuses, answers with
//! failed entries (their error codes are what the retries need), answers this cannot read, and
//! every other operation and service (s3-archive-enricher's S3 and Lambda clients use the same
//! HTTPS client without this).

use aws_sdk_firehose::config::SharedHttpClient;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::{RuntimeComponents, RuntimeComponentsBuilder};
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;
use http_body_util::BodyExt;
use serde::Deserialize;

/// The operation, as the awsJson 1.1 protocol names it in every request.
const PUT_RECORD_BATCH_TARGET: &str = "Firehose_20150804.PutRecordBatch";

/// What a fully successful answer becomes.
const NO_FAILURES: &[u8] = br#"{"FailedPutCount":0,"RequestResponses":[]}"#;

/// `inner`, with PutRecordBatch answers that report no failure compacted.
pub fn compact_success_answers(inner: SharedHttpClient) -> SharedHttpClient {
    SharedHttpClient::new(CompactSuccessClient(inner))
}

/// Everything but the connector is `inner`'s: its validation loads the root certificates when the
/// client is built (at start-up, not in the first invocation), its metadata names it.
#[derive(Debug)]
struct CompactSuccessClient(SharedHttpClient);

impl HttpClient for CompactSuccessClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(CompactSuccess(self.0.http_connector(settings, components)))
    }

    fn validate_base_client_config(
        &self,
        components: &RuntimeComponentsBuilder,
        cfg: &ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.validate_base_client_config(components, cfg)
    }

    fn validate_final_config(&self, components: &RuntimeComponents, cfg: &ConfigBag) -> Result<(), BoxError> {
        self.0.validate_final_config(components, cfg)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

#[derive(Debug)]
struct CompactSuccess(SharedHttpConnector);

impl HttpConnector for CompactSuccess {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let is_put_record_batch = request.headers().get("x-amz-target") == Some(PUT_RECORD_BATCH_TARGET);
        let response = self.0.call(request);
        if !is_put_record_batch {
            return response;
        }
        HttpConnectorFuture::new(async move {
            let mut response = response.await?;
            if response.status().as_u16() == 200 {
                // The SDK reads the whole answer before it deserializes it: reading it here first
                // holds no more in memory.
                let body = response.take_body().collect().await.map_err(ConnectorError::io)?.to_bytes();
                *response.body_mut() =
                    if reports_no_failure(&body) { SdkBody::from(NO_FAILURES) } else { SdkBody::from(body) };
            }
            Ok(response)
        })
    }
}

/// Whether a PutRecordBatch answer says that every entry was accepted.
fn reports_no_failure(body: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Answer {
        #[serde(rename = "FailedPutCount")]
        failed_put_count: u64,
    }
    serde_json::from_slice::<Answer>(body).is_ok_and(|answer| answer.failed_put_count == 0)
}

#[cfg(test)]
mod tests {
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_runtime_api::http::StatusCode;

    use super::*;

    /// The answer the SDK gets for `response`, as text (tests).
    async fn through(response: HttpResponse, target: &str) -> String {
        #[derive(Debug)]
        struct Answers(std::sync::Mutex<Option<HttpResponse>>);
        impl HttpConnector for Answers {
            fn call(&self, _request: HttpRequest) -> HttpConnectorFuture {
                let response = self.0.lock().unwrap().take().unwrap();
                HttpConnectorFuture::ready(Ok(response))
            }
        }
        let connector =
            CompactSuccess(SharedHttpConnector::new(Answers(std::sync::Mutex::new(Some(response)))));
        let mut request = HttpRequest::empty();
        request.headers_mut().insert("X-Amz-Target", target.to_owned());
        let mut answer = connector.call(request).await.unwrap();
        let body = answer.take_body().collect().await.unwrap().to_bytes();
        String::from_utf8(body.to_vec()).unwrap()
    }

    fn answer(status: u16, body: &str) -> HttpResponse {
        HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body.to_owned()))
    }

    const ALL_ACCEPTED: &str = r#"{"Encrypted": false, "FailedPutCount": 0, "RequestResponses": [{"RecordId": "a"}, {"RecordId": "b"}]}"#;
    const ONE_FAILED: &str = r#"{"FailedPutCount":1,"RequestResponses":[{"RecordId":"a"},{"ErrorCode":"ServiceUnavailableException","ErrorMessage":"Slow down."}]}"#;

    #[tokio::test]
    async fn only_a_fully_successful_put_record_batch_answer_is_compacted() {
        let put = PUT_RECORD_BATCH_TARGET;
        assert_eq!(
            through(answer(200, ALL_ACCEPTED), put).await,
            r#"{"FailedPutCount":0,"RequestResponses":[]}"#
        );
        assert_eq!(
            through(answer(200, ONE_FAILED), put).await,
            ONE_FAILED,
            "failed entries keep their codes"
        );
        let throttled = r#"{"__type":"ServiceUnavailableException","message":"Slow down."}"#;
        assert_eq!(through(answer(400, throttled), put).await, throttled);
        assert_eq!(through(answer(200, "not json"), put).await, "not json", "the SDK decides");
        assert_eq!(through(answer(200, ALL_ACCEPTED), "Firehose_20150804.PutRecord").await, ALL_ACCEPTED);
    }
}
