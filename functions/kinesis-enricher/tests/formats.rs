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

/// Documents say the account and region of their stream (`cloud.*`), a CloudWatch Logs record
/// the account that owns the log, an ECS task's stream its container and task, and every document
/// the fields `ADD_FIELDS` sets.
#[test]
fn documents_say_where_they_come_from() {
    let line = log_lines("sample").remove(0);
    // As CloudWatch Logs sends an ECS task's line (awslogs: prefix/container/task id).
    let envelope = serde_json::json!({
        "messageType": "DATA_MESSAGE",
        "owner": "210987654321",
        "logGroup": "/ecs/weblogs",
        "logStream": "weblogs/apache/7c3f0e8e1c2d4b5a9e8d7c6b5a4f3e2d",
        "subscriptionFilters": ["weblogs-to-kinesis"],
        "logEvents": [{"id": "1", "timestamp": 1_795_239_468_000_i64, "message": line}],
    });
    let payloads = [line_record(&line), test_support::fixtures::gzip(envelope.to_string().as_bytes())];
    let json = kinesis_event(&payloads);
    let event = KinesisEvent::deserialize(&json).unwrap();
    let settings = EnrichmentSettings::from_lookup(|name| {
        (name == "ADD_FIELDS")
            .then(|| "service.name=shop,labels.team=web,cloud.availability_zone=eu-west-1b".into())
    })
    .unwrap();
    let batch = RecordEnricher::new(Enricher::new(settings, None), 4 << 20).prepare(&event);
    let docs: Vec<Value> =
        batch.entries().iter().map(|entry| serde_json::from_slice(entry).unwrap()).collect();
    assert_eq!(docs.len(), 2);
    let added = (serde_json::json!({"name": "shop"}), serde_json::json!({"team": "web"}));
    for doc in &docs {
        assert_eq!((&doc["service"], &doc["labels"]), (&added.0, &added.1), "{doc}");
    }
    // The stream's ARN says the account and region.
    assert_eq!(
        docs[0]["cloud"],
        serde_json::json!({"provider": "aws", "region": "eu-west-1", "availability_zone": "eu-west-1b",
                           "account": {"id": "123456789012"}})
    );
    assert!(docs[0].get("container").is_none() && docs[0].get("aws").is_none());
    // The log's owner is the account the task runs in (a cross-account subscription's source).
    assert_eq!(docs[1]["cloud"]["account"]["id"], "210987654321");
    assert_eq!(docs[1]["container"], serde_json::json!({"name": "apache"}));
    assert_eq!(docs[1]["aws"]["ecs"]["task"]["id"], "7c3f0e8e1c2d4b5a9e8d7c6b5a4f3e2d");
    assert_eq!(docs[1]["aws"]["cloudwatch"]["log_stream"], "weblogs/apache/7c3f0e8e1c2d4b5a9e8d7c6b5a4f3e2d");
}
