//! The Kinesis handler's decode-and-enrich path (no network) on any event JSON. The record enricher
//! is built once and kept between inputs, as the function keeps it between invocations.
#![no_main]

use std::cell::RefCell;

use enrichment::Enricher;
use enrichment::settings::EnrichmentSettings;
use firehose_delivery::MAX_ENTRY_BYTES;
use kinesis_enricher::RecordEnricher;
use kinesis_enricher::event::KinesisEvent;
use libfuzzer_sys::fuzz_target;

thread_local! {
    static RECORDS: RefCell<RecordEnricher> =
        RefCell::new(RecordEnricher::new(Enricher::new(EnrichmentSettings::default(), None), 1 << 20));
}

fuzz_target!(|data: &[u8]| {
    let Ok(event) = serde_json::from_slice::<KinesisEvent>(data) else { return };
    RECORDS.with_borrow_mut(|records| {
        let batch = records.prepare(&event);
        assert_eq!(batch.sequence_numbers().len(), event.records.len());
        assert!(batch.entries().iter().all(|entry| entry.len() <= MAX_ENTRY_BYTES));
    });
});
