//! Record decoding: CloudWatch Logs gzip envelopes, KPL aggregates, Kinesis Agent JSON, text.
#![no_main]

use enrichment::Enricher;
use enrichment::settings::{EnrichmentSettings, FormatChoice};
use lambda_shell::kpl;
use lambda_shell::records::decode_record;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let agent_json = Enricher::new(
        EnrichmentSettings { format: FormatChoice::KinesisAgentJson, ..EnrichmentSettings::default() },
        None,
    );
    let parts = kpl::deaggregate(data).unwrap_or_else(|| vec![data.to_vec()]);
    for part in parts {
        if let Ok(content) = decode_record(&part, 1 << 20) {
            for event in content.events() {
                let _ = agent_json.parse_line(event.as_bytes());
            }
        }
    }
});
