//! Lambda's Kinesis event.

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
