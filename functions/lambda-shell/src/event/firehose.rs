//! Firehose's data-transformation request.

use std::borrow::Cow;

use serde::Deserialize;

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransformationRequest<'a> {
    #[serde(default, borrow)]
    pub invocation_id: Option<Cow<'a, str>>,
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
        TransformationRequest { invocation_id: self.invocation_id.map(|id| id.into_owned().into()), records }
    }
}
