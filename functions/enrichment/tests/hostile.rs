//! The hostile corpus (tests/hostile/lines.jsonl): each line's documented outcome, with a bound on
//! what it may cost. Lines of 1 MB and more are made here rather than committed.
#![allow(clippy::unwrap_used)] // a test that cannot read its fixtures should stop right there

use std::time::Instant;

use enrichment::settings::EnrichmentSettings;
use enrichment::{Enricher, EventContext, Timestamp};
use enrichment::{MAX_LINE_BYTES, MAX_UNREADABLE_ORIGINAL};
use serde_json::Value;
use test_support::hex_decode;

fn enrich(line: &[u8]) -> (Vec<u8>, Value) {
    let context = EventContext {
        event_id: Some("hostile"),
        received_at: Timestamp::from_unix_millis(0).unwrap(),
        log_origin: None,
        cloud: None,
    };
    let mut out = Vec::new();
    Enricher::new(EnrichmentSettings::default(), None).enrich_line(line, &context, &mut out);
    let document = serde_json::from_slice(&out)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out)));
    (out, document)
}

fn field<'a>(document: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(document, |value, key| &value[key])
}

#[test]
fn every_hostile_line_gets_its_documented_outcome() {
    let corpus =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/hostile/lines.jsonl"))
            .unwrap();
    for case in corpus.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()) {
        let name = case["name"].as_str().unwrap();
        let line = hex_decode(case["line_hex"].as_str().unwrap());
        let started = Instant::now();
        let (out, document) = enrich(&line);
        let elapsed = started.elapsed();
        let tags: Vec<&str> = document["tags"]
            .as_array()
            .map(|t| t.iter().map(|v| v.as_str().unwrap()).collect())
            .unwrap_or_default();
        let expected: Vec<&str> =
            case["tags"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        assert_eq!(tags, expected, "{name}: {document}");
        match case["outcome"].as_str().unwrap() {
            "document" => assert!(document.get("error").is_none(), "{name}: {document}"),
            "parse_failure" => {
                assert!(document["event"]["original"].is_string(), "{name}: the line is kept");
                assert!(document["error"]["message"].is_string(), "{name}: the reason is given");
            }
            other => panic!("{name}: unknown outcome {other}"),
        }
        for (path, value) in case["checks"].as_object().unwrap() {
            assert_eq!(field(&document, path), value, "{name}: {path}");
        }
        // Bounded cost: output at most a few times the input (escapes), and quick.
        assert!(out.len() <= 6 * line.len() + 2048, "{name}: {} bytes out of {}", out.len(), line.len());
        assert!(elapsed.as_secs() < 2, "{name}: {elapsed:?}");
    }
}

#[test]
fn lines_over_the_cap_are_cut_not_parsed() {
    for size in [MAX_LINE_BYTES + 1, 8 * MAX_LINE_BYTES] {
        let mut line = br#"81.2.69.142 - - [21/Nov/2026:06:45:50 +0100] "GET /"#.to_vec();
        line.resize(size, b'a');
        let (out, document) = enrich(&line);
        assert_eq!(document["tags"], serde_json::json!(["_parse_failure", "_truncated"]));
        assert_eq!(document["event"]["original"].as_str().unwrap().len(), MAX_UNREADABLE_ORIGINAL);
        assert!(out.len() < MAX_UNREADABLE_ORIGINAL + 1024);
    }
}

#[test]
fn a_line_just_under_the_cap_is_parsed() {
    let head = br#"81.2.69.142 - - [21/Nov/2026:06:45:50 +0100] "GET /"#;
    let tail = br#" HTTP/1.1" 414 1 "-" "-""#;
    let mut line = head.to_vec();
    line.resize(MAX_LINE_BYTES - tail.len(), b'a');
    line.extend_from_slice(tail);
    assert_eq!(line.len(), MAX_LINE_BYTES);
    let (_, document) = enrich(&line);
    assert!(document.get("tags").is_none(), "{}", &document.to_string()[..200]);
    assert_eq!(document["http"]["response"]["status_code"], 414);
}

#[test]
fn invalid_utf8_with_anonymization_keeps_lengths_bounded() {
    let config = EnrichmentSettings {
        anonymization: enrichment::settings::IpAnonymization::Truncate,
        ..EnrichmentSettings::default()
    };
    let context = EventContext {
        event_id: None,
        received_at: Timestamp::from_unix_millis(0).unwrap(),
        log_origin: None,
        cloud: None,
    };
    let mut line = b"\xff".repeat(200_000);
    line.extend_from_slice(b" 81.2.69.142");
    let mut out = Vec::new();
    Enricher::new(config, None).enrich_line(&line, &context, &mut out);
    let document: Value = serde_json::from_slice(&out).unwrap();
    let original = document["event"]["original"].as_str().unwrap();
    assert!(original.ends_with(" 81.2.69.0"), "the address is truncated even at the end of a long line");
    // A byte that is not UTF-8 is `\xff` in the text and `\\xff` in JSON: five bytes.
    assert!(out.len() <= 5 * line.len() + 1024, "{} bytes", out.len());
}
