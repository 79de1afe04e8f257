//! Property: the Kinesis path accounts for every event. Each line of a text record, each user
//! record of a KPL aggregate, and each unreadable record becomes exactly one entry within
//! Firehose's record limit, tied to its Kinesis record.
#![allow(clippy::unwrap_used)] // a failing property should stop right there

use enrichment::Enricher;
use enrichment::settings::EnrichmentSettings;
use firehose_delivery::MAX_ENTRY_BYTES;
use kinesis_enricher::RecordEnricher;
use kinesis_enricher::event::KinesisEvent;
use lambda_shell::kpl;
use proptest::prelude::*;
use serde::Deserialize as _;
use test_support::fixtures::kinesis_event;

/// A record's payload and the number of events it holds.
fn payload() -> impl Strategy<Value = (Vec<u8>, usize)> {
    let text_lines = proptest::collection::vec("[ -~]{0,80}", 0..6);
    prop_oneof![
        text_lines.clone().prop_map(|lines| {
            let text = lines.join("\n");
            let events = lambda_shell::records::lines(&text).count();
            (text.into_bytes(), events)
        }),
        proptest::collection::vec(text_lines, 1..4).prop_map(|records| {
            let parts: Vec<Vec<u8>> = records.iter().map(|lines| lines.join("\n").into_bytes()).collect();
            let events =
                records.iter().map(|lines| lambda_shell::records::lines(&lines.join("\n")).count()).sum();
            let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
            (kpl::aggregate("pk", &refs), events)
        }),
        // Bytes that are not UTF-8 (0xff never is): one unreadable record, one document.
        proptest::collection::vec(any::<u8>(), 0..300).prop_map(|mut bytes| {
            bytes.insert(0, 0xff);
            (bytes, 1)
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn every_event_becomes_one_entry(payloads in proptest::collection::vec(payload(), 0..30)) {
        let json = kinesis_event(&payloads.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>());
        let event = KinesisEvent::deserialize(&json).unwrap();
        let batch = RecordEnricher::new(Enricher::new(EnrichmentSettings::default(), None), 4 << 20).prepare(&event);
        let expected: usize = payloads.iter().map(|(_, events)| events).sum();
        prop_assert_eq!(batch.entries().len(), expected);
        for (record, (_, events)) in payloads.iter().enumerate() {
            prop_assert_eq!(batch.entry_records().iter().filter(|&&r| r == record).count(), *events);
        }
        prop_assert!(batch.entries().iter().all(|entry| entry.len() <= MAX_ENTRY_BYTES && entry.ends_with(b"\n")));
    }
}

/// Found by fuzzing: `aws_lambda_events`' timestamp decoders could panic on hostile values. With
/// the function's own event types, odd fields are ordinary input and every record is accounted for.
#[test]
fn hostile_event_fields_are_handled_per_record() {
    let json = serde_json::json!({"Records": [
        {"kinesis": {"sequenceNumber": "1", "approximateArrivalTimestamp": 1.795_239_470_123_456_7e9, "data": "MS4yLjMuNCAtIC0gLQo="}},
        {"kinesis": {"sequenceNumber": "2", "approximateArrivalTimestamp": 1e300, "data": "%%% not base64 %%%"}},
        {"kinesis": {"sequenceNumber": "3", "approximateArrivalTimestamp": -5.5}},
        {"eventSource": "aws:kinesis"},
    ]});
    let event = KinesisEvent::deserialize(&json).unwrap();
    let batch =
        RecordEnricher::new(Enricher::new(EnrichmentSettings::default(), None), 4 << 20).prepare(&event);
    assert_eq!(batch.sequence_numbers(), ["1", "2", "3", ""]);
    assert_eq!(batch.entry_records(), [0, 1], "one line, one unreadable record; records 3 and 4 are empty");
    let unreadable: serde_json::Value = serde_json::from_slice(batch.entries()[1]).unwrap();
    assert_eq!(unreadable["event"]["original"], "%%% not base64 %%%");
    assert_eq!(unreadable["tags"][0], "_parse_failure");
}
