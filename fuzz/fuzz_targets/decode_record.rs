//! Record decoding: CloudWatch Logs gzip envelopes, KPL aggregates, Kinesis Agent JSON, text.
#![no_main]

use enrichment::records::{RecordContent, decode_record};
use enrichment::{agent_json, kpl};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parts = kpl::deaggregate(data).unwrap_or_else(|| vec![data.to_vec()]);
    for part in parts {
        if let Ok(RecordContent::Events(events)) = decode_record(&part, 1 << 20) {
            for event in events {
                let _ = agent_json::parse_agent_json(event.as_bytes());
            }
        }
    }
});
