//! Lambda's Kinesis event: the fields the handler uses, read without panicking.
//!
//! These are the project's own types rather than `aws_lambda_events`': fuzzing found that its
//! timestamp decoders can panic on hostile values (an assertion and an unchecked multiplication
//! inside serde), which would crash the function before the handler runs. A record's `data` stays
//! base64 text until the handler decodes it, so broken base64 affects that record only.

use serde::Deserialize;

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct KinesisEvent {
    #[serde(rename = "Records", default)]
    pub records: Vec<KinesisEventRecord>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct KinesisEventRecord {
    #[serde(default)]
    pub kinesis: KinesisRecord,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KinesisRecord {
    #[serde(default)]
    pub sequence_number: String,
    /// Seconds since the epoch, with a fraction.
    #[serde(default)]
    pub approximate_arrival_timestamp: Option<f64>,
    /// Base64, as Lambda delivers it.
    #[serde(default)]
    pub data: String,
}
