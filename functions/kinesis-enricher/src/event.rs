//! Lambda's Kinesis event.
//!
//! These are the project's own types rather than `aws_lambda_events`': fuzzing found that its
//! timestamp decoders can panic on hostile values (an assertion and an unchecked multiplication
//! inside serde), which would crash the function before the handler runs. A record's `data` stays
//! base64 text until the handler decodes it, so broken base64 fails that record only. Their strings
//! borrow from the event's JSON (a JSON string with escapes in it is copied, as `Cow::Owned`): a
//! batch of 10,000 records is read without a copy of each record's data.

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
    /// `shardId-000000000000:<sequence number>`: unique in the stream.
    #[serde(rename = "eventID", default, borrow)]
    pub event_id: Option<Cow<'a, str>>,
    /// The stream's ARN, and so its account and region (`cloud.*`).
    #[serde(rename = "eventSourceARN", default, borrow)]
    pub event_source_arn: Option<Cow<'a, str>>,
    #[serde(rename = "awsRegion", default, borrow)]
    pub aws_region: Option<Cow<'a, str>>,
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
                event_id: record.event_id.map(|id| id.into_owned().into()),
                event_source_arn: record.event_source_arn.map(|arn| arn.into_owned().into()),
                aws_region: record.aws_region.map(|region| region.into_owned().into()),
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
