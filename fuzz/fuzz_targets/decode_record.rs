//! Record decoding: CloudWatch Logs gzip envelopes, KPL aggregates, Kinesis Agent JSON, text. The
//! enricher that reads Kinesis Agent JSON is built once, not per input.
#![no_main]

use enrichment::Enricher;
use enrichment::settings::{EnrichmentSettings, FormatChoice};
use lambda_shell::kpl;
use lambda_shell::records::decode_record;
use libfuzzer_sys::fuzz_target;

thread_local! {
    static AGENT_JSON: Enricher = Enricher::new(
        EnrichmentSettings { format: FormatChoice::KinesisAgentJson, ..EnrichmentSettings::default() },
        None,
    );
}

fuzz_target!(|data: &[u8]| {
    let parts = kpl::deaggregate(data).unwrap_or_else(|| vec![data.to_vec()]);
    for part in parts {
        if let Ok(content) = decode_record(&part, 1 << 20) {
            for event in content.events() {
                AGENT_JSON.with(|enricher| {
                    let _ = enricher.parse_line(event.as_bytes());
                });
            }
        }
    }
});
