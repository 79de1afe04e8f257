//! A stream that carries several sources: CloudWatch Logs records are read by their log group's
//! format from `LOG_FORMAT_BY_SOURCE`, the other records by `LOG_FORMAT`.
#![allow(clippy::unwrap_used)] // a test that cannot read its fixtures should stop right there

use enrichment::Enricher;
use enrichment::settings::{EnrichmentSettings, FormatChoice, FormatsBySource};
use kinesis_enricher::RecordEnricher;
use kinesis_enricher::event::KinesisEvent;
use serde::Deserialize as _;
use serde_json::Value;
use test_support::fixtures::{cloudwatch_envelope, kinesis_event, line_record, log_lines};

#[test]
fn records_of_a_log_group_are_read_by_its_format() {
    let apache = log_lines("sample").remove(0);
    let alb = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/data/alb/aws-docs-examples.log"
    ))
    .unwrap()
    .lines()
    .next()
    .unwrap()
    .to_owned();
    // The fixture's envelopes come from the log group `/ecs/weblogs`.
    let payloads =
        [line_record(&apache), cloudwatch_envelope("DATA_MESSAGE", &[&alb, &apache]), line_record(&alb)];
    let json = kinesis_event(&payloads);
    let event = KinesisEvent::deserialize(&json).unwrap();
    let settings = EnrichmentSettings {
        format: FormatChoice::parse("combined").unwrap(),
        formats_by_source: FormatsBySource::parse(r#"{"/ecs/web": "alb"}"#).unwrap(),
        ..EnrichmentSettings::default()
    };
    let batch = RecordEnricher::new(Enricher::new(settings, None), 4 << 20).prepare(&event);
    let outcomes: Vec<(String, bool)> = batch
        .entries()
        .iter()
        .map(|entry| {
            let doc: Value = serde_json::from_slice(entry).unwrap();
            (doc["event"]["dataset"].as_str().unwrap().to_owned(), doc.get("tags").is_some())
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            ("apache.access".to_owned(), false),
            ("aws.elb_logs".to_owned(), false),
            ("aws.elb_logs".to_owned(), true), // an Apache line in the ALB group fails as an ALB line
            ("apache.access".to_owned(), true), // an ALB line outside the group fails as combined
        ]
    );
}

/// Lines the rules leave out give no entry and are counted; the record's other lines are sent.
#[test]
fn lines_the_rules_leave_out_are_counted_not_sent() {
    let check =
        r#"10.0.1.17 - - [07/Dec/2026:10:00:00 +0000] "GET /healthz HTTP/1.1" 200 5 "-" "kube-probe/1.29""#;
    let visit = log_lines("sample").remove(0);
    let payloads = [line_record(check), cloudwatch_envelope("DATA_MESSAGE", &[check, &visit, check])];
    let json = kinesis_event(&payloads);
    let event = KinesisEvent::deserialize(&json).unwrap();
    let settings = EnrichmentSettings::from_lookup(|name| {
        (name == "DROP_WHEN").then(|| "user_agent.original ^= kube-probe/ and url.path = /healthz".to_owned())
    })
    .unwrap();
    let batch = RecordEnricher::new(Enricher::new(settings, None), 4 << 20).prepare(&event);
    assert_eq!(batch.entries().len(), 1, "the visit only");
    let summary = batch.summary();
    assert_eq!(
        (summary.events, summary.dropped_lines, summary.sampled_out_lines),
        (1, 3, 0),
        "documents, dropped, sampled out"
    );
}
