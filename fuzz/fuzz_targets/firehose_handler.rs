//! The Firehose handler on any request JSON: one answer per record, in order. The handler is built
//! once and kept between inputs, as the function keeps it between invocations.
#![no_main]

use std::cell::RefCell;

use enrichment::Enricher;
use enrichment::settings::EnrichmentSettings;
use firehose_transformer::TransformHandler;
use firehose_transformer::event::TransformationRequest;
use libfuzzer_sys::fuzz_target;

thread_local! {
    static HANDLER: RefCell<TransformHandler> =
        RefCell::new(TransformHandler::new(Enricher::new(EnrichmentSettings::default(), None), 1 << 20));
}

fuzz_target!(|data: &[u8]| {
    let Ok(event) = serde_json::from_slice::<TransformationRequest>(data) else { return };
    HANDLER.with_borrow_mut(|handler| {
        let (response, _) = handler.handle(&event);
        assert_eq!(response.records().map(|records| records.len()).ok(), Some(event.records.len()));
    });
});
