//! The message Lambda's on-failure destination gets when a Kinesis batch has used up its retries
//! or its record age: which shard, which range of sequence numbers, which stream. Not the data:
//! that has to be read from the stream again, while the stream still holds it.

use std::cmp::Ordering;

use serde::Deserialize;

/// An on-failure record, as Lambda writes it for a Kinesis event source (the fields replay uses).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FailedBatch {
    #[serde(rename = "KinesisBatchInfo")]
    pub batch: KinesisBatchInfo,
    #[serde(rename = "requestContext", default)]
    pub request_context: Option<RequestContext>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KinesisBatchInfo {
    pub shard_id: String,
    pub start_sequence_number: String,
    pub end_sequence_number: String,
    pub stream_arn: String,
    #[serde(default)]
    pub batch_size: Option<u64>,
    #[serde(default)]
    pub approximate_arrival_of_first_record: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestContext {
    /// Why the batch was given up: `RetryAttemptsExhausted`, `RecordAgeExceeded`, ...
    #[serde(default)]
    pub condition: Option<String>,
}

/// A message that is not a Kinesis on-failure record replay can use.
#[derive(Debug, thiserror::Error)]
pub enum FailedBatchError {
    #[error("not a Kinesis on-failure record: {0}")]
    NotOnFailureRecord(#[source] serde_json::Error),
    #[error("{field} {value:?} is not a sequence number")]
    NotSequenceNumber { field: &'static str, value: String },
    #[error("the range {start}..{end} ends before it starts")]
    Backwards { start: String, end: String },
}

impl FailedBatch {
    /// Reads a message body; anything else (another source's record, a sequence range that is not
    /// one) is an error that says what was wrong.
    pub fn parse(body: &str) -> Result<Self, FailedBatchError> {
        let failed: Self = serde_json::from_str(body).map_err(FailedBatchError::NotOnFailureRecord)?;
        let batch = &failed.batch;
        for (field, value) in [
            ("startSequenceNumber", &batch.start_sequence_number),
            ("endSequenceNumber", &batch.end_sequence_number),
        ] {
            if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                return Err(FailedBatchError::NotSequenceNumber { field, value: value.clone() });
            }
        }
        if compare_sequence_numbers(&batch.start_sequence_number, &batch.end_sequence_number)
            == Ordering::Greater
        {
            return Err(FailedBatchError::Backwards {
                start: batch.start_sequence_number.clone(),
                end: batch.end_sequence_number.clone(),
            });
        }
        Ok(failed)
    }

    /// `shardId-000000000000 4960…..4960…` for reports.
    pub fn range(&self) -> String {
        let batch = &self.batch;
        format!("{} {}..{}", batch.shard_id, batch.start_sequence_number, batch.end_sequence_number)
    }
}

/// Orders two sequence numbers. They are decimal numbers of up to 128 bits and more digits than
/// any integer type holds, so they are compared as digit strings: the longer is the larger.
pub fn compare_sequence_numbers(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The record from the Lambda documentation ("Retaining records of asynchronous invocations",
    /// Kinesis on-failure destination).
    const DOCUMENTED: &str = r#"{
        "requestContext": {
            "requestId": "c9b8fa9f-5a7f-xmpl-af9c-0c604cde93a5",
            "functionArn": "arn:aws:lambda:us-east-2:123456789012:function:myfunction",
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": 1
        },
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled"
        },
        "version": "1.0",
        "timestamp": "2019-11-14T00:38:06.021Z",
        "KinesisBatchInfo": {
            "shardId": "shardId-000000000001",
            "startSequenceNumber": "49601189658422359378836298521827638475320189012309704722",
            "endSequenceNumber": "49601189658422359378836298522902373528957594348623495186",
            "approximateArrivalOfFirstRecord": "2019-11-14T00:38:04.835Z",
            "approximateArrivalOfLastRecord": "2019-11-14T00:38:05.580Z",
            "batchSize": 500,
            "streamArn": "arn:aws:kinesis:us-east-2:123456789012:stream/mystream"
        }
    }"#;

    #[test]
    fn the_documented_record_is_read() {
        let failed = FailedBatch::parse(DOCUMENTED).unwrap();
        assert_eq!(failed.batch.shard_id, "shardId-000000000001");
        assert_eq!(failed.batch.stream_arn, "arn:aws:kinesis:us-east-2:123456789012:stream/mystream");
        assert_eq!(failed.batch.batch_size, Some(500));
        assert_eq!(
            failed.request_context.as_ref().unwrap().condition.as_deref(),
            Some("RetryAttemptsExhausted")
        );
        assert_eq!(
            failed.range().split(' ').nth(1).unwrap(),
            "49601189658422359378836298521827638475320189012309704722..49601189658422359378836298522902373528957594348623495186"
        );
    }

    #[test]
    fn other_messages_are_refused_with_the_reason() {
        let sqs_source = r#"{"requestContext":{"condition":"RetryAttemptsExhausted"},"SQSBatchInfo":{}}"#;
        assert!(
            FailedBatch::parse(sqs_source)
                .unwrap_err()
                .to_string()
                .starts_with("not a Kinesis on-failure record")
        );
        assert!(FailedBatch::parse("not json").is_err());
        let bad = DOCUMENTED.replace("49601189658422359378836298521827638475320189012309704722", "4960x");
        assert_eq!(
            FailedBatch::parse(&bad).unwrap_err().to_string(),
            "startSequenceNumber \"4960x\" is not a sequence number"
        );
        let reversed = DOCUMENTED.replace("49601189658422359378836298522902373528957594348623495186", "4960");
        assert!(FailedBatch::parse(&reversed).unwrap_err().to_string().contains("ends before it starts"));
    }

    #[test]
    fn sequence_numbers_compare_as_numbers() {
        use Ordering::*;
        assert_eq!(compare_sequence_numbers("9", "10"), Less);
        assert_eq!(compare_sequence_numbers("010", "10"), Equal);
        assert_eq!(
            compare_sequence_numbers(
                "49601189658422359378836298522902373528957594348623495186",
                "49601189658422359378836298521827638475320189012309704722"
            ),
            Greater
        );
        assert_eq!(compare_sequence_numbers("0", "000"), Equal);
    }
}
