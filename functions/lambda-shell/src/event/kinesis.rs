//! Lambda's Kinesis event.

use std::borrow::Cow;

use serde::Deserialize;

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct KinesisEvent<'a> {
    #[serde(rename = "Records", default, borrow)]
    pub records: Vec<KinesisEventRecord<'a>>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct KinesisEventRecord<'a> {
    #[serde(default, borrow)]
    pub kinesis: KinesisRecord<'a>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KinesisRecord<'a> {
    #[serde(default, borrow)]
    pub sequence_number: Cow<'a, str>,
    /// Seconds since the epoch, with a fraction.
    #[serde(default)]
    pub approximate_arrival_timestamp: Option<f64>,
    /// Base64, as Lambda delivers it.
    #[serde(default, borrow)]
    pub data: Cow<'a, str>,
}

impl KinesisEvent<'_> {
    /// The same event, owning its strings (for an event kept past its JSON).
    pub fn into_owned(self) -> KinesisEvent<'static> {
        let records = self
            .records
            .into_iter()
            .map(|record| KinesisEventRecord {
                kinesis: KinesisRecord {
                    sequence_number: record.kinesis.sequence_number.into_owned().into(),
                    approximate_arrival_timestamp: record.kinesis.approximate_arrival_timestamp,
                    data: record.kinesis.data.into_owned().into(),
                },
            })
            .collect();
        KinesisEvent { records }
    }
}
