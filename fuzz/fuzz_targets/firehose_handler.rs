//! The Firehose handler on any request JSON: one answer per record, in order.
#![no_main]

use enrichment::Enricher;
use enrichment::settings::EnrichmentSettings;
use firehose_transformer::TransformHandler;
use firehose_transformer::event::TransformationRequest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(event) = serde_json::from_slice::<TransformationRequest>(data) else { return };
    let mut transformer = TransformHandler::new(Enricher::new(EnrichmentSettings::default(), None), 1 << 20);
    let (response, _) = transformer.handle(&event);
    assert_eq!(response.records().map(|records| records.len()).ok(), Some(event.records.len()));
});
