//! The Firehose handler on any request JSON: one answer per record, in order.
#![no_main]

use enrichment::{Enricher, EnrichmentConfig};
use firehose_transformer::{TransformationRequest, Transformer};
use lambda_shell::emf::MetricsTarget;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(event) = serde_json::from_slice::<TransformationRequest>(data) else { return };
    let metrics = MetricsTarget { namespace: "Fuzz".into(), function_name: "fuzz".into() };
    let mut transformer =
        Transformer::new(Enricher::new(EnrichmentConfig::default(), None), 1 << 20, metrics);
    let (response, _) = transformer.handle(&event);
    assert_eq!(response.records().map(|records| records.len()).ok(), Some(event.records.len()));
});
