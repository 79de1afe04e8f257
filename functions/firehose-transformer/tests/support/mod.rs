//! Shared by the tests and the benchmark (`#[path]`-included there): the demo transformer and
//! full-size requests made of the sample log's lines.
#![allow(dead_code, clippy::unwrap_used)] // each user takes what it needs; fixtures that fail should stop

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use enrichment::Enricher;
use enrichment::settings::EnrichmentSettings;
use firehose_transformer::TransformHandler;
use firehose_transformer::event::{FirehoseRecord, TransformationRequest};
pub use test_support::{demo_geoip, repo};

/// The handler as the function builds it, with the demo databases and the default settings.
pub fn demo_transformer() -> TransformHandler {
    TransformHandler::new(Enricher::new(EnrichmentSettings::default(), Some(demo_geoip())), 4 << 20)
}

/// A request of `raw_bytes` of sample-log lines, one per record; returns it and its exact size.
pub fn request_of(raw_bytes: usize) -> (TransformationRequest<'static>, usize) {
    let sample = std::fs::read_to_string(repo("tests/data/sample.log")).unwrap();
    let lines: Vec<&str> = sample.lines().collect();
    let mut records = Vec::new();
    let mut size = 0;
    while size < raw_bytes {
        let data = format!("{}\n", lines[records.len() % lines.len()]);
        size += data.len();
        records.push(FirehoseRecord {
            record_id: format!("{:056}", records.len()).into(),
            approximate_arrival_timestamp: Some(1_795_239_470_000.0),
            data: BASE64.encode(data).into(),
        });
    }
    (TransformationRequest { invocation_id: Some("full-size".into()), records, ..Default::default() }, size)
}

/// Reads a request from its JSON, as the function does.
pub fn parse(json: &[u8]) -> TransformationRequest<'_> {
    serde_json::from_slice(json).unwrap()
}
