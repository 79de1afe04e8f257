//! Property: whatever the records hold, every recordId gets exactly one answer, in order, and the
//! response stays within the budget.
#![allow(clippy::unwrap_used)] // a failing property should stop right there

mod support;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use firehose_transformer::RESPONSE_BUDGET_BYTES;
use firehose_transformer::event::TransformationRequest;
use proptest::prelude::*;
use serde::Deserialize as _;
use serde_json::json;

fn record_data() -> impl Strategy<Value = Vec<u8>> {
    let sample = support::repo("tests/data/sample.log");
    let lines: Vec<String> = std::fs::read_to_string(sample).unwrap().lines().map(str::to_owned).collect();
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..400),
        proptest::sample::select(lines.clone()).prop_map(|line| format!("{line}\n").into_bytes()),
        proptest::collection::vec(proptest::sample::select(lines), 2..5)
            .prop_map(|l| l.join("\n").into_bytes()),
        proptest::collection::vec(any::<u8>(), 0..200).prop_map(|mut tail| {
            let mut gzip = vec![0x1f, 0x8b];
            gzip.append(&mut tail);
            gzip
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn every_record_is_answered_once_within_the_budget(records in proptest::collection::vec(record_data(), 0..60)) {
        let json = json!({
            "invocationId": "property",
            "region": "eu-west-1",
            "records": records.iter().enumerate().map(|(i, data)| json!({
                "recordId": format!("record-{i}"),
                "approximateArrivalTimestamp": 1_795_239_470_000_i64,
                "data": BASE64.encode(data),
            })).collect::<Vec<_>>(),
        });
        let event = TransformationRequest::deserialize(&json).unwrap();
        let (response, summary) = support::demo_transformer().handle(&event);
        let ids: Vec<String> = response.records().unwrap().iter().map(|r| r.record_id.clone()).collect();
        let expected: Vec<String> = (0..records.len()).map(|i| format!("record-{i}")).collect();
        prop_assert_eq!(ids, expected);
        prop_assert!(response.json().len() <= RESPONSE_BUDGET_BYTES);
        prop_assert_eq!(summary.ok + summary.dropped + summary.processing_failed, records.len() as u64);
    }
}
