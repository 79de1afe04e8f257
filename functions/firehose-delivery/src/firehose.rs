//! The real PutRecordBatch: the AWS SDK's Firehose client, built once at start-up.
//!
//! The SDK's own retries are off: [`crate::delivery`] retries both whole calls and the entries a
//! 200 response reports as failed, within the invocation's time.
//!
//! The request body is written here, not by the SDK's serializer: each entry base64-encoded
//! straight into one buffer ([`request_body`]), where the SDK copies every entry into a `Blob`
//! and serializes it through its generic shape serializer (built small, not fast). The SDK still
//! sends the call: endpoint, headers, SigV4 signing of this body, timeouts, the response and its
//! errors. The body goes in through the SDK's public `mutate_request` customization, which runs
//! before signing.
//!
//! The client is built once at start-up by `aws_clients::firehose`.

use aws_clients::firehose::{Client, Config};
use aws_sdk_firehose::error::SdkError;
use aws_sdk_firehose::operation::put_record_batch::PutRecordBatchError;
use aws_smithy_types::body::SdkBody;
use bytes::Bytes;
use enrichment::write_json_string;
use lambda_shell::base64;

use crate::delivery::{CallError, EntryResult, RecordBatchSink};

#[derive(Debug, Clone)]
pub struct FirehoseSink {
    client: Client,
    delivery_stream_name: String,
}

impl FirehoseSink {
    pub fn new(config: Config, delivery_stream_name: String) -> Self {
        Self { client: Client::from_conf(config), delivery_stream_name }
    }

    /// One sink per stream, sharing one client (its connections and credentials).
    pub fn for_streams(config: Config, delivery_stream_names: Vec<String>) -> Vec<Self> {
        let client = Client::from_conf(config);
        delivery_stream_names
            .into_iter()
            .map(|delivery_stream_name| Self { client: client.clone(), delivery_stream_name })
            .collect()
    }
}

impl RecordBatchSink for FirehoseSink {
    async fn send_batch(&self, entries: &[&[u8]]) -> Result<Vec<EntryResult>, CallError> {
        let body = Bytes::from(request_body(&self.delivery_stream_name, entries));
        let content_length = body.len().to_string();
        let output = self
            .client
            .put_record_batch()
            .delivery_stream_name(&self.delivery_stream_name)
            // The records are in `body`; the SDK serializes the rest and an empty list.
            .set_records(Some(Vec::new()))
            .customize()
            .mutate_request(move |request| {
                *request.body_mut() = SdkBody::from(body.clone());
                request.headers_mut().insert("Content-Length", content_length.clone());
            })
            .send()
            .await
            .map_err(classify)?;
        // A fully successful answer arrives without its entries (see `compact_success`).
        if output.failed_put_count() == 0 {
            return Ok(vec![EntryResult::Delivered; entries.len()]);
        }
        // Firehose refuses nothing for its content: a failed entry is worth another attempt.
        Ok(output
            .request_responses()
            .iter()
            .map(|response| match response.error_code() {
                Some(code) => {
                    EntryResult::Retry(format!("{code}: {}", response.error_message().unwrap_or("")))
                }
                None => EntryResult::Delivered,
            })
            .collect())
    }
}

/// The PutRecordBatch body, as the Firehose API defines it (JSON 1.1):
/// `{"DeliveryStreamName":"…","Records":[{"Data":"<base64>"},…]}`.
pub fn request_body(delivery_stream_name: &str, entries: &[&[u8]]) -> Vec<u8> {
    const START: &[u8] = br#"{"DeliveryStreamName":"#;
    const RECORDS: &[u8] = br#","Records":["#;
    const DATA: &[u8] = br#"{"Data":""#;
    let records_len: usize =
        entries.iter().map(|entry| DATA.len() + base64::encoded_len(entry.len()) + 3).sum();
    let mut body = Vec::with_capacity(
        START.len() + 2 + 6 * delivery_stream_name.len() + RECORDS.len() + records_len + 2,
    );
    body.extend_from_slice(START);
    write_json_string(&mut body, delivery_stream_name);
    body.extend_from_slice(RECORDS);
    for (index, entry) in entries.iter().enumerate() {
        if index > 0 {
            body.push(b',');
        }
        body.extend_from_slice(DATA);
        base64::encode_append(entry, &mut body);
        body.extend_from_slice(b"\"}");
    }
    body.extend_from_slice(b"]}");
    body
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

    #[test]
    fn the_body_is_the_api_json() {
        let entries: [&[u8]; 3] = [b"{\"a\":1}\n", b"", &[0xff, 0, b'"']];
        let body: serde_json::Value =
            serde_json::from_slice(&request_body("weblogs \"enriched\"", &entries)).unwrap();
        let expected = serde_json::json!({
            "DeliveryStreamName": "weblogs \"enriched\"",
            "Records": [{"Data": "eyJhIjoxfQo="}, {"Data": ""}, {"Data": "/wAi"}],
        });
        assert_eq!(body, expected);
        let empty: serde_json::Value = serde_json::from_slice(&request_body("s", &[])).unwrap();
        assert_eq!(empty, serde_json::json!({"DeliveryStreamName": "s", "Records": []}));
    }
}
