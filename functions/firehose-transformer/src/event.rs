//! Firehose's data-transformation request.
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
#[serde(rename_all = "camelCase")]
pub struct TransformationRequest<'a> {
    #[serde(default, borrow)]
    pub invocation_id: Option<Cow<'a, str>>,
    /// The delivery stream's ARN and region, for `cloud.*`.
    #[serde(default, borrow)]
    pub delivery_stream_arn: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub region: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub records: Vec<FirehoseRecord<'a>>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FirehoseRecord<'a> {
    #[serde(default, borrow)]
    pub record_id: Cow<'a, str>,
    /// Milliseconds since the epoch.
    #[serde(default)]
    pub approximate_arrival_timestamp: Option<f64>,
    /// Base64, as Firehose sends it.
    #[serde(default, borrow)]
    pub data: Cow<'a, str>,
}

impl TransformationRequest<'_> {
    /// The same request, owning its strings (for a request kept past its JSON).
    pub fn into_owned(self) -> TransformationRequest<'static> {
        let records = self
            .records
            .into_iter()
            .map(|record| FirehoseRecord {
                record_id: record.record_id.into_owned().into(),
                approximate_arrival_timestamp: record.approximate_arrival_timestamp,
                data: record.data.into_owned().into(),
            })
            .collect();
        let owned = |text: Option<Cow<'_, str>>| text.map(|text| Cow::Owned(text.into_owned()));
        TransformationRequest {
            invocation_id: owned(self.invocation_id),
            delivery_stream_arn: owned(self.delivery_stream_arn),
            region: owned(self.region),
            records,
        }
    }
}
