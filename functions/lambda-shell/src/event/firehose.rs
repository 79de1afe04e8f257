//! Firehose's data-transformation request.

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
