//! Firehose's transformation request: the fields the handler uses, read without panicking.
//!
//! These are the project's own types rather than `aws_lambda_events`': fuzzing found that its
//! millisecond-timestamp decoder panics on a fractional value (an `assert_eq!` inside serde), which
//! would crash the function before the handler runs. Here a record's `data` stays base64 text
//! until the handler decodes it, so broken base64 fails that record only.

use serde::Deserialize;

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransformationRequest {
    #[serde(default)]
    pub invocation_id: Option<String>,
    #[serde(default)]
    pub records: Vec<FirehoseRecord>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FirehoseRecord {
    #[serde(default)]
    pub record_id: String,
    /// Milliseconds since the epoch.
    #[serde(default)]
    pub approximate_arrival_timestamp: Option<f64>,
    /// Base64, as Firehose sends it.
    #[serde(default)]
    pub data: String,
}
