//! Property: the Kinesis path accounts for every event. Each line of a text record, each user
//! record of a KPL aggregate (UTF-8 or not), and each unreadable record becomes exactly one entry within
//! Firehose's record limit, tied to its Kinesis record; only a CloudFront standard log's
//! `#Version:`/`#Fields:` line is no event.
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

/// The events of a record's text: its lines but CloudFront headers.
fn events(text: &[u8]) -> usize {
    lambda_shell::records::lines(text).filter(|line| !enrichment::is_cloudfront_header(line)).count()
}

/// A record's payload and the number of events it holds.
fn payload() -> impl Strategy<Value = (Vec<u8>, usize)> {
    // Now and then a header line, which must give no entry.
    let text_lines = proptest::collection::vec(
        prop_oneof![4 => "[ -~]{0,80}", 1 => "#(Fields|Version|Remark): [ -~]{0,20}"],
        0..6,
    );
    prop_oneof![
        text_lines.clone().prop_map(|lines| {
            let text = lines.join("\n");
            let events = events(text.as_bytes());
            (text.into_bytes(), events)
        }),
        proptest::collection::vec(text_lines, 1..4).prop_map(|records| {
            let parts: Vec<Vec<u8>> = records.iter().map(|lines| lines.join("\n").into_bytes()).collect();
            let events = records.iter().map(|lines| events(lines.join("\n").as_bytes())).sum();
            let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
            (kpl::aggregate("pk", &refs), events)
        }),
        // Bytes that are not UTF-8 (0xff never is): split into lines all the same, one document
        // each.
        proptest::collection::vec(any::<u8>(), 0..300).prop_map(|mut bytes| {
            bytes.insert(0, 0xff);
            let events = events(&bytes);
            (bytes, events)
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

/// One byte that is not UTF-8 hides nothing: in a plain record, a KPL user record and a CloudWatch
/// Logs message alike, each line is its own document, the odd byte kept as Apache writes it.
#[test]
fn a_line_that_is_not_utf8_is_one_document_among_its_neighbours() {
    let sample = test_support::fixtures::log_lines("sample");
    let odd = test_support::fixtures::latin1_line(&sample[0]);
    let lines: [&[u8]; 3] = [sample[1].as_bytes(), &odd, sample[2].as_bytes()];
    let text = lines.join(&b'\n');
    let json = kinesis_event(&[
        text.clone(),
        kpl::aggregate("web-1", &[&text]),
        test_support::fixtures::cloudwatch_envelope_of_bytes(&lines),
    ]);
    let event = KinesisEvent::deserialize(&json).unwrap();
    let batch =
        RecordEnricher::new(Enricher::new(EnrichmentSettings::default(), None), 4 << 20).prepare(&event);
    assert_eq!(batch.entry_records(), [0, 0, 0, 1, 1, 1, 2, 2, 2]);
    assert_eq!(batch.summary().unreadable_records, 0);
    for (index, entry) in batch.entries().iter().enumerate() {
        let document: serde_json::Value = serde_json::from_slice(entry).unwrap();
        assert!(document.get("tags").is_none(), "document {index} parsed: {document}");
        let path = document["url"]["path"].as_str().unwrap_or_else(|| panic!("document {index}: {document}"));
        if index % 3 == 1 {
            assert!(path.starts_with(r"/caf\xe9/"), "document {index}: {path}");
            assert_eq!(document["url"]["original"], path, "the request's bytes, as Apache escapes them");
        } else {
            assert!(!path.contains(r"\x"), "document {index}: {path}");
        }
    }
}

/// The hostile corpus (tests/hostile/lines.jsonl) through the Kinesis decoder, its lines packed
/// several to a record: in a plain record, in the user records of a KPL aggregate and as the
/// messages of a CloudWatch Logs envelope. Each line gets the outcome (the tags) it gets alone,
/// none hides another. (A case holding `\n` is several lines in a text record, as in a file.)
#[test]
fn the_hostile_corpus_packed_into_records_keeps_each_line_apart() {
    let corpus = std::fs::read_to_string(test_support::repo("tests/hostile/lines.jsonl")).unwrap();
    let cases: Vec<(String, Vec<u8>, serde_json::Value)> = corpus
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .map(|case| {
            let line = test_support::hex_decode(case["line_hex"].as_str().unwrap());
            (case["name"].as_str().unwrap().to_owned(), line, case["tags"].clone())
        })
        .collect();
    let lines: Vec<&[u8]> = cases.iter().map(|(_, line, _)| line.as_slice()).collect();
    let text = lines.join(&b'\n');
    let halves = lines.split_at(lines.len() / 2);
    let json = kinesis_event(&[
        text.clone(),
        kpl::aggregate("web-1", &[&halves.0.join(&b'\n'), &halves.1.join(&b'\n')]),
        test_support::fixtures::cloudwatch_envelope_of_bytes(&lines),
    ]);
    let event = KinesisEvent::deserialize(&json).unwrap();
    let batch =
        RecordEnricher::new(Enricher::new(EnrichmentSettings::default(), None), 4 << 20).prepare(&event);
    let documents: Vec<serde_json::Value> =
        batch.entries().iter().map(|entry| serde_json::from_slice(entry).unwrap()).collect();
    let tags = |document: &serde_json::Value| document.get("tags").cloned().unwrap_or(serde_json::json!([]));
    assert_eq!(batch.summary().unreadable_records, 0);
    for record in 0..3 {
        let of_record: Vec<&serde_json::Value> = documents
            .iter()
            .zip(batch.entry_records())
            .filter(|(_, r)| **r == record)
            .map(|(d, _)| d)
            .collect();
        let mut next = of_record.iter();
        for (name, line, expected_tags) in &cases {
            // A CloudWatch Logs message is one event whatever it holds (its line ending dropped);
            // in text, a `\n` inside a case starts another line.
            let pieces = if record == 2 { 1 } else { lambda_shell::records::lines(line).count().max(1) };
            let first = next.next().unwrap_or_else(|| panic!("record {record}: no document for {name}"));
            let is_one_line = !line.contains(&b'\n') && !line.ends_with(b"\r");
            if is_one_line {
                assert_eq!(tags(first), *expected_tags, "record {record}, {name}: {first}");
            }
            if pieces > 1 {
                next.nth(pieces - 2);
            }
        }
        assert!(next.next().is_none(), "record {record}: more documents than lines");
    }
}
