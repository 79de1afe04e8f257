//! Enrich-and-deliver with the real AWS SDK client against `FaultyFirehose`, a fake PutRecordBatch
//! endpoint that throttles, fails entries once or forever, and rejects calls over the API limits.
#![allow(clippy::unwrap_used)] // a test that cannot set itself up should stop right there

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant, SystemTime};

use aws_sdk_firehose::config::{Credentials, Region};
use enrichment::Enricher;
use enrichment::settings::EnrichmentSettings;
use firehose_delivery::{FirehoseSink, MAX_ENTRY_BYTES, RetryPolicy};
use kinesis_enricher::event::KinesisEvent;
use kinesis_enricher::{BatchItemFailure, BatchResponse, KinesisHandler, RecordEnricher};
use serde::Deserialize as _;
use serde_json::Value;
use test_support::faulty_firehose::{Faults, FaultyFirehose, STREAM};
use test_support::fixtures::{cloudwatch_envelope, kinesis_event, line_record, log_lines};
use test_support::{demo_geoip, repo};

fn enricher() -> RecordEnricher {
    RecordEnricher::new(Enricher::new(EnrichmentSettings::default(), Some(demo_geoip())), 4 << 20)
}

fn retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 6,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(50),
        safety_margin: Duration::from_secs(1),
    }
}

/// The function as main builds it, delivering through `sink`.
fn function(sink: FirehoseSink, retry: RetryPolicy) -> KinesisHandler<FirehoseSink> {
    KinesisHandler::new(enricher(), retry, sink)
}

/// The real SDK client, pointed at the fake.
async fn sink(fake: &FaultyFirehose, stream: &str) -> FirehoseSink {
    let config = aws_clients::firehose::configure(aws_sdk_firehose::Config::builder())
        .endpoint_url(fake.url())
        .region(Region::new("eu-west-1"))
        .credentials_provider(Credentials::new("AKIDEXAMPLE", "secret", None, None, "test"))
        .build();
    FirehoseSink::new(config, stream.to_owned())
}

fn event_file(name: &str) -> KinesisEvent<'static> {
    let json = std::fs::read(repo(&format!("tests/events/{name}"))).unwrap();
    serde_json::from_slice::<KinesisEvent>(&json).unwrap().into_owned()
}

fn batch_of_sample_lines(records: usize) -> KinesisEvent<'static> {
    KinesisEvent::deserialize(&sample_event_json(records)).unwrap().into_owned()
}

/// The event as Lambda sends it.
fn sample_event_json(records: usize) -> Value {
    let sample = log_lines("sample");
    let payloads: Vec<Vec<u8>> = (0..records).map(|i| line_record(&sample[i % sample.len()])).collect();
    kinesis_event(&payloads)
}

/// The documents `event` should produce, as a multiset.
fn expected_documents(event: &KinesisEvent) -> HashMap<Vec<u8>, usize> {
    count(enricher().prepare(event).entries().into_iter().map(<[u8]>::to_vec).collect())
}

fn count(documents: Vec<Vec<u8>>) -> HashMap<Vec<u8>, usize> {
    let mut counts = HashMap::new();
    for document in documents {
        *counts.entry(document).or_insert(0) += 1;
    }
    counts
}

/// Every document of the mixed event (lines, Kinesis Agent JSON, KPL, CloudWatch Logs, unreadable
/// records) says what it is as ECS defines it.
#[test]
fn every_document_of_the_mixed_event_is_categorised() {
    let event = event_file("kinesis-mixed.json");
    let batch = enricher().prepare(&event);
    assert_eq!(batch.entries().len(), 13);
    for entry in batch.entries() {
        let doc: Value = serde_json::from_slice(entry).unwrap();
        let failed =
            doc["tags"].as_array().is_some_and(|tags| tags.contains(&serde_json::json!("_parse_failure")));
        assert_eq!(doc["event"]["kind"], if failed { "pipeline_error" } else { "event" }, "{doc}");
        assert_eq!(doc["event"]["module"], "apache", "{doc}");
        assert_eq!(doc["ecs"]["version"], "8.17.0", "{doc}");
    }
    // The CloudWatch Logs envelope's events say where they were logged; the other records' do not.
    let from_log_group: Vec<Value> = batch
        .entries()
        .iter()
        .map(|entry| serde_json::from_slice::<Value>(entry).unwrap())
        .filter(|doc| doc.get("aws").is_some())
        .collect();
    assert_eq!(from_log_group.len(), 2, "the envelope's two log events");
    for doc in from_log_group {
        assert_eq!(doc["aws"]["cloudwatch"]["log_group"], "/ecs/weblogs", "{doc}");
        assert!(doc["aws"]["cloudwatch"]["log_stream"].as_str().is_some_and(|s| !s.is_empty()), "{doc}");
    }
}

fn in_a_minute() -> SystemTime {
    SystemTime::now() + Duration::from_secs(60)
}

#[tokio::test]
async fn every_record_shape_is_delivered_exactly_once_through_throttling_and_entry_failures() {
    let event = event_file("kinesis-mixed.json");
    // 81.2.69.160 and the Googlebot line are in the multi-line and the KPL records.
    let fake = FaultyFirehose::start(Faults {
        throttled_calls: 2,
        fail_once: vec!["81.2.69.160".into(), "bingbot".into(), "_parse_failure".into()],
        ..Faults::default()
    });
    let (response, summary) =
        function(sink(&fake, STREAM).await, retry()).process(&event, in_a_minute()).await;

    assert_eq!(response, BatchResponse::default());
    let accepted = fake.observed(|o| o.accepted.clone());
    assert_eq!(count(accepted.clone()), expected_documents(&event), "each document exactly once");
    assert_eq!(accepted.len(), 13);
    assert_eq!(
        (summary.records, summary.events, summary.control_messages, summary.unreadable_records),
        (8, 13, 1, 0),
        "the binary record is a line that does not parse, not an unreadable record"
    );
    assert_eq!((summary.delivered, summary.failed_entries, summary.reported_failures), (13, 0, 0));
    assert!(
        summary.retried_entries >= 13 + 3,
        "two throttled rounds, then the entries failed once: {summary:?}"
    );
    let documents: Vec<Value> = accepted.iter().map(|d| serde_json::from_slice(d).unwrap()).collect();
    assert!(documents.iter().any(|d| d["source"]["geo"]["city_name"] == "London"));
    assert_eq!(
        documents.iter().filter(|d| d["tags"][0] == "_parse_failure").count(),
        2,
        "the unparsed line and the binary record"
    );
}

#[tokio::test]
async fn entries_that_always_fail_report_the_earliest_record() {
    let event = event_file("kinesis-mixed.json");
    let sequence = |record: usize| event.records[record].kinesis.sequence_number.clone();
    // Every document of record 2 (the KPL aggregate: four) carries its sequence number in
    // event.id; record 6 is the line that does not parse.
    let fake = FaultyFirehose::start(Faults {
        throttled_calls: 0,
        fail_once: Vec::new(),
        fail_always: vec![
            format!("\"id\":\"{}\"", sequence(2)),
            "this line is not an access log line".into(),
        ],
        ..Faults::default()
    });
    let (response, summary) =
        function(sink(&fake, STREAM).await, retry()).process(&event, in_a_minute()).await;

    assert_eq!(
        response,
        BatchResponse {
            batch_item_failures: vec![BatchItemFailure { item_identifier: sequence(2).to_string() }]
        }
    );
    assert_eq!(summary.failed_entries, 5);
    assert_eq!(summary.delivered, 8);
    let calls = fake.observed(|o| o.calls);
    assert_eq!(calls, 6, "one call per attempt, up to the policy's six");
    assert_eq!(fake.observed(|o| o.accepted.len()), 8, "the others exactly once");
}

#[tokio::test]
async fn a_missing_stream_is_permanent_and_reported_at_once() {
    let event = event_file("kinesis-mixed.json");
    let fake = FaultyFirehose::start(Faults::default());
    let started = Instant::now();
    let (response, summary) =
        function(sink(&fake, "no-such-stream").await, retry()).process(&event, in_a_minute()).await;
    assert_eq!(response.batch_item_failures[0].item_identifier, event.records[0].kinesis.sequence_number);
    assert_eq!(fake.observed(|o| o.calls), 1, "no retry for ResourceNotFoundException");
    assert_eq!(summary.failed_entries, 13);
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// 6,500 records, a ~5.7 MB event: near Lambda's 6 MB invocation limit, which caps a Kinesis
/// batch of such lines well below the 10,000-record maximum. Every call within PutRecordBatch's
/// limits, every document once, through a throttle.
#[tokio::test]
async fn a_batch_near_the_invocation_limit_respects_the_api_limits() {
    let json = sample_event_json(6_500);
    let event_size = serde_json::to_vec(&json).unwrap().len();
    let event = KinesisEvent::deserialize(&json).unwrap();
    assert!(event_size > 5_500_000 && event_size < 6 * 1024 * 1024, "{event_size} bytes");
    let fake = FaultyFirehose::start(Faults { throttled_calls: 1, ..Faults::default() });
    let (response, summary) =
        function(sink(&fake, STREAM).await, retry()).process(&event, in_a_minute()).await;
    assert_eq!(response, BatchResponse::default());
    assert_eq!(summary.delivered, 6_500);
    fake.observed(|o| {
        assert!(o.violations.is_empty(), "{:?}", o.violations);
        assert!(o.call_sizes.iter().all(|&(entries, bytes)| entries <= 500 && bytes <= 4 * 1024 * 1024));
        assert_eq!(o.call_sizes.len(), 13);
        assert_eq!(o.accepted.len(), 6_500);
    });
    assert_eq!(count(fake.observed(|o| o.accepted.clone())), expected_documents(&event));
}

/// The figure in the README: enrich and deliver 5,000 records to a local endpoint.
#[tokio::test]
async fn five_thousand_records_timed() {
    let event = batch_of_sample_lines(5_000);
    let fake = FaultyFirehose::start(Faults::default());
    let mut function = function(sink(&fake, STREAM).await, retry());
    let started = Instant::now();
    let (response, summary) = function.process(&event, in_a_minute()).await;
    eprintln!("5,000 records enriched and delivered in {:?} ({} calls)", started.elapsed(), summary.calls);
    assert_eq!((response, summary.delivered), (BatchResponse::default(), 5_000));
}

#[tokio::test]
async fn oversized_documents_are_truncated_not_rejected() {
    let sample = log_lines("sample");
    // Under the 1 MiB line cap, over the 1,000 KiB record limit once written: each raw control
    // byte is one byte in the line and six (`\u0001`) in the JSON document.
    let huge_agent = format!("Mozilla/5.0 (compatible; Googlebot/2.1) {}", "\u{1}".repeat(200_000));
    let line = sample[1].rsplit_once(" \"").map(|(head, _)| format!("{head} \"{huge_agent}\"")).unwrap();
    let json = kinesis_event(&[line_record(&line), line_record(&sample[2])]);
    let event = KinesisEvent::deserialize(&json).unwrap();
    let fake = FaultyFirehose::start(Faults::default());
    let (response, summary) =
        function(sink(&fake, STREAM).await, retry()).process(&event, in_a_minute()).await;
    assert_eq!((response, summary.truncated, summary.delivered), (BatchResponse::default(), 1, 2));
    let accepted = fake.observed(|o| o.accepted.clone());
    let truncated: Value = serde_json::from_slice(&accepted[0]).unwrap();
    assert!(accepted[0].len() <= MAX_ENTRY_BYTES);
    assert_eq!(truncated["tags"], serde_json::json!(["_truncated"]));
    assert!(truncated["user_agent"].get("original").is_none());
    assert_eq!(truncated["user_agent"]["device"]["name"], "Spider", "the rest of the document is kept");
    assert_eq!(truncated["source"]["ip"], "81.2.69.142");
    assert!(serde_json::to_vec(&truncated).unwrap().len() < 10_000, "the original text is what was dropped");
}

#[tokio::test]
async fn retries_stop_before_the_invocation_deadline() {
    let event = event_file("kinesis-mixed.json");
    let fake = FaultyFirehose::start(Faults { throttled_calls: usize::MAX, ..Faults::default() });
    // Without the deadline, 20 rounds of up to 1.6 s backoff would take ~15 s.
    let retry = RetryPolicy {
        max_attempts: 20,
        base_delay: Duration::from_millis(800),
        max_delay: Duration::from_millis(1600),
        safety_margin: Duration::from_secs(1),
    };
    let started = Instant::now();
    let deadline = SystemTime::now() + Duration::from_secs(3);
    let (response, summary) = function(sink(&fake, STREAM).await, retry).process(&event, deadline).await;
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert!(summary.calls < 10, "{} calls", summary.calls);
    assert_eq!(response.batch_item_failures[0].item_identifier, event.records[0].kinesis.sequence_number);
}

/// A Firehose endpoint that stops answering (the SDK's own attempt timeout is 20 s): the call is
/// cut off at the safety margin, the chunks after it are not started, and the function answers
/// with a partial batch response from the first record not delivered, before Lambda's deadline.
#[tokio::test]
async fn a_hung_firehose_ends_in_a_partial_batch_response_before_the_deadline() {
    let event = batch_of_sample_lines(1_200);
    let fake = FaultyFirehose::start(Faults { hang_after_calls: Some(1), ..Faults::default() });
    let deadline = SystemTime::now() + Duration::from_secs(4);
    let (response, summary) = function(sink(&fake, STREAM).await, retry()).process(&event, deadline).await;
    assert!(SystemTime::now() < deadline, "answered before the deadline");
    assert_eq!(
        response.batch_item_failures,
        [BatchItemFailure { item_identifier: event.records[500].kinesis.sequence_number.to_string() }],
        "the first call's 500 records were delivered; Lambda retries from the next"
    );
    assert_eq!((summary.delivered, summary.failed_entries, summary.calls), (500, 700, 2));
    assert_eq!(fake.observed(|o| (o.calls, o.accepted.len())), (2, 500), "the third chunk never started");
}

const STREAMS: [&str; 3] = ["weblogs-1", "weblogs-2", "weblogs-3"];

/// The function delivering to the fake's `STREAMS`, as main builds it from
/// `DELIVERY_STREAM_NAME=weblogs-1,weblogs-2,weblogs-3`.
async fn spread_function(fake: &FaultyFirehose, retry: RetryPolicy) -> KinesisHandler<FirehoseSink> {
    let mut sinks = Vec::new();
    for stream in STREAMS {
        sinks.push(sink(fake, stream).await);
    }
    KinesisHandler::spread(enricher(), retry, sinks)
}

fn streams_faults() -> Faults {
    Faults { streams: STREAMS.map(str::to_owned).to_vec(), ..Faults::default() }
}

/// event.id (the record's sequence number) -> the streams its documents went to.
fn streams_by_record(fake: &FaultyFirehose) -> HashMap<String, HashSet<String>> {
    let mut by_record: HashMap<String, HashSet<String>> = HashMap::new();
    fake.observed(|o| {
        for (data, stream) in o.accepted.iter().zip(&o.accepted_streams) {
            let doc: Value = serde_json::from_slice(data).unwrap();
            let id = doc["event"]["id"].as_str().unwrap().to_owned();
            by_record.entry(id).or_default().insert(stream.clone());
        }
    });
    by_record
}

#[tokio::test]
async fn documents_are_spread_evenly_and_each_record_always_to_the_same_stream() {
    let event = batch_of_sample_lines(3_000);
    let fake = FaultyFirehose::start(streams_faults());
    let (response, summary) = spread_function(&fake, retry()).await.process(&event, in_a_minute()).await;
    assert_eq!((response, summary.delivered), (BatchResponse::default(), 3_000));
    assert_eq!(count(fake.observed(|o| o.accepted.clone())), expected_documents(&event));
    let per_stream = fake.observed(|o| {
        STREAMS.map(|stream| o.accepted_streams.iter().filter(|s| s.as_str() == stream).count())
    });
    for share in per_stream {
        assert!((900..=1_100).contains(&share), "{per_stream:?}: a third each, give or take 10 %");
    }
    let first = streams_by_record(&fake);
    assert_eq!(first.len(), 3_000);
    assert!(first.values().all(|streams| streams.len() == 1), "a record's documents go to one stream");

    // The same records again, in another invocation of another environment: the same streams.
    let again = FaultyFirehose::start(streams_faults());
    spread_function(&again, retry()).await.process(&event, in_a_minute()).await;
    assert_eq!(streams_by_record(&again), first);
}

/// One of three streams throttles every call (FaultyFirehose: moto never throttles): the others
/// take their documents on their first call, and after the throttled stream's retries its
/// documents go to them. Every document once, nothing for Lambda to retry.
#[tokio::test]
async fn a_throttled_stream_does_not_hold_back_the_others_and_its_documents_go_to_them() {
    let event = event_file("kinesis-mixed.json");
    let fake =
        FaultyFirehose::start(Faults { throttled_streams: vec![STREAMS[1].to_owned()], ..streams_faults() });
    let (response, summary) = spread_function(&fake, retry()).await.process(&event, in_a_minute()).await;
    // What each record's stream is, as the function chooses it.
    let stream_of =
        |record: usize| kinesis_enricher::stream_for(&event.records[record].kinesis.sequence_number, 3);
    let throttled: Vec<usize> = (0..event.records.len()).filter(|&record| stream_of(record) == 1).collect();
    assert!(!throttled.is_empty() && throttled.len() < event.records.len(), "{throttled:?}");
    let throttled_documents =
        enricher().prepare(&event).entry_records().iter().filter(|record| throttled.contains(record)).count();
    assert_eq!(response, BatchResponse::default());
    assert_eq!(count(fake.observed(|o| o.accepted.clone())), expected_documents(&event), "each once");
    assert!(fake.observed(|o| o.accepted_streams.iter().all(|s| s != STREAMS[1])));
    assert_eq!((summary.delivered, summary.rerouted_entries), (13, throttled_documents as u64));
    // Six attempts on the throttled stream, one call on each of the others, then its documents to
    // them (one call each, or one if there was one document).
    assert_eq!(fake.observed(|o| o.quota_throttled_calls), 6);
    assert_eq!(summary.calls, 6 + 2 + throttled_documents.min(2) as u64);
}

/// Two streams, one that does not exist (a typo in DELIVERY_STREAM_NAME): refused at once, its
/// documents go to the other. The WARN and ReroutedEntries say so; nothing is lost or retried.
#[tokio::test]
async fn a_missing_stream_among_others_costs_no_document() {
    let event = batch_of_sample_lines(1_000);
    let fake = FaultyFirehose::start(Faults { streams: vec![STREAMS[0].to_owned()], ..Faults::default() });
    let sinks = vec![sink(&fake, STREAMS[0]).await, sink(&fake, "no-such-stream").await];
    let mut function = KinesisHandler::spread(enricher(), retry(), sinks);
    let (response, summary) = function.process(&event, in_a_minute()).await;
    assert_eq!(response, BatchResponse::default());
    assert_eq!(count(fake.observed(|o| o.accepted.clone())), expected_documents(&event), "each once");
    assert!(summary.rerouted_entries > 300 && summary.rerouted_entries < 700, "{summary:?}");
    assert_eq!(summary.delivered, 1_000);
}

/// The mixed event through a function whose first attempt at record 2 (a KPL aggregate of four
/// lines) fails, with one attempt only: record 2 is reported, and Lambda retries from it.
async fn failed_at_record_2(event: &KinesisEvent<'_>) -> (FaultyFirehose, KinesisHandler<FirehoseSink>) {
    let reported = event.records[2].kinesis.sequence_number.to_string();
    let fake = FaultyFirehose::start(Faults {
        fail_once: vec![format!("\"id\":\"{reported}\"")],
        ..Faults::default()
    });
    let mut function = function(sink(&fake, STREAM).await, RetryPolicy { max_attempts: 1, ..retry() });
    let (response, summary) = function.process(event, in_a_minute()).await;
    assert_eq!(response.batch_item_failures, [BatchItemFailure { item_identifier: reported }]);
    assert_eq!((summary.delivered, summary.failed_entries), (9, 4));
    (fake, function)
}

#[tokio::test]
async fn a_retry_in_the_same_environment_sends_no_document_twice() {
    let event = event_file("kinesis-mixed.json");
    let (fake, mut function) = failed_at_record_2(&event).await;

    // Lambda's retry: the records from the reported one on.
    let retry_event = KinesisEvent { records: event.records[2..].to_vec() };
    let (response, summary) = function.process(&retry_event, in_a_minute()).await;
    assert_eq!(response, BatchResponse::default());
    let later_documents = enricher().prepare(&retry_event).entries().len() as u64 - 4;
    assert_eq!(
        (summary.delivered, summary.already_delivered),
        (4, later_documents),
        "records 3 to 7 not again"
    );
    assert_eq!(
        count(fake.observed(|o| o.accepted.clone())),
        expected_documents(&event),
        "every document once"
    );

    // A later batch is not affected by what was remembered.
    let (_, summary) = function.process(&event, in_a_minute()).await;
    assert_eq!((summary.delivered, summary.already_delivered), (13, 0));
}

/// A CloudWatch Logs envelope of 1,000 events, one of whose documents Firehose refuses once: the
/// record is reported, and Lambda's retry in the same environment sends that one document, not
/// the 999 that got through.
#[tokio::test]
async fn a_retry_resends_only_the_documents_of_a_record_that_were_not_delivered() {
    let sample = log_lines("sample");
    let mut events: Vec<String> = (0..1_000).map(|i| sample[i % sample.len()].clone()).collect();
    events[617] = events[617].replacen("GET /", "GET /refused-once/", 1);
    let event_refs: Vec<&str> = events.iter().map(String::as_str).collect();
    let json = kinesis_event(&[line_record(&sample[0]), cloudwatch_envelope("DATA_MESSAGE", &event_refs)]);
    let event = KinesisEvent::deserialize(&json).unwrap();
    let fake =
        FaultyFirehose::start(Faults { fail_once: vec!["/refused-once/".into()], ..Faults::default() });
    let mut function = function(sink(&fake, STREAM).await, RetryPolicy { max_attempts: 1, ..retry() });
    let (response, summary) = function.process(&event, in_a_minute()).await;
    assert_eq!(response.batch_item_failures[0].item_identifier, event.records[1].kinesis.sequence_number);
    assert_eq!((summary.delivered, summary.failed_entries), (1_000, 1));

    let retry_event = KinesisEvent { records: event.records[1..].to_vec() };
    let (response, summary) = function.process(&retry_event, in_a_minute()).await;
    assert_eq!(response, BatchResponse::default());
    assert_eq!((summary.delivered, summary.already_delivered), (1, 999));
    assert_eq!(
        count(fake.observed(|o| o.accepted.clone())),
        expected_documents(&event),
        "every document once"
    );
}

/// With several shards, the environment may serve another shard's batch before the retry comes:
/// what it remembers for the first shard stays.
#[tokio::test]
async fn another_shards_batch_in_between_does_not_make_the_retry_resend() {
    let event = event_file("kinesis-mixed.json");
    let (fake, mut function) = failed_at_record_2(&event).await;

    // Another shard's batch: other sequence numbers, delivered in full.
    let mut other_shard = batch_of_sample_lines(50);
    for (index, record) in other_shard.records.iter_mut().enumerate() {
        record.kinesis.sequence_number = format!("4965999{index:049}").into();
    }
    let (response, summary) = function.process(&other_shard, in_a_minute()).await;
    assert_eq!((response, summary.already_delivered), (BatchResponse::default(), 0));

    let retry_event = KinesisEvent { records: event.records[2..].to_vec() };
    let (response, summary) = function.process(&retry_event, in_a_minute()).await;
    assert_eq!(response, BatchResponse::default());
    assert_eq!(summary.delivered, 4, "only the reported record's documents");
    let accepted = fake.observed(|o| o.accepted.clone());
    let from_first: Vec<Vec<u8>> = accepted
        .into_iter()
        .filter(|doc| !String::from_utf8_lossy(doc).contains("\"id\":\"4965999"))
        .collect();
    assert_eq!(count(from_first), expected_documents(&event), "every document of the first shard once");
}

/// The demo container's access lines (captured from Apache with the task definition's log format,
/// `tests/data/container/capture.sh`) as awslogs delivers them, in a CloudWatch Logs envelope, make
/// the documents the same lines make from a web server's Kinesis Agent, plus where they were logged.
#[test]
fn a_containers_line_becomes_the_document_a_hosts_line_does() {
    let lines = log_lines("container/httpd-stdout");
    assert_eq!(lines.len(), 4);
    let host =
        KinesisEvent::deserialize(&kinesis_event(&lines.iter().map(|l| line_record(l)).collect::<Vec<_>>()))
            .unwrap()
            .into_owned();
    let messages: Vec<&str> = lines.iter().map(String::as_str).collect();
    let container =
        KinesisEvent::deserialize(&kinesis_event(&[cloudwatch_envelope("DATA_MESSAGE", &messages)]))
            .unwrap()
            .into_owned();
    let documents = |event: &KinesisEvent| -> Vec<Value> {
        enricher()
            .prepare(event)
            .entries()
            .iter()
            .map(|entry| serde_json::from_slice(entry).unwrap())
            .collect()
    };
    let (from_host, from_container) = (documents(&host), documents(&container));
    assert_eq!(from_container.len(), from_host.len());
    for (mut host_doc, mut container_doc) in from_host.into_iter().zip(from_container) {
        assert_eq!(container_doc["aws"]["cloudwatch"]["log_group"], "/ecs/weblogs");
        assert!(host_doc.get("aws").is_none(), "a host's line names no log group");
        assert_eq!(container_doc["container"]["name"], "apache", "the awslogs stream's container");
        // The combined format: the referrer-and-user-agent fields the dashboards use are there.
        assert!(container_doc["user_agent"]["name"].is_string(), "{container_doc}");
        assert!(container_doc.get("tags").is_none(), "{container_doc}");
        for doc in [&mut host_doc, &mut container_doc] {
            let object = doc.as_object_mut().unwrap();
            object.remove("aws");
            object.remove("container");
            object["event"].as_object_mut().unwrap().remove("id");
        }
        assert_eq!(container_doc, host_doc);
    }
}

/// An access line stamped `seconds_ago` before now, as Apache writes its time.
fn line_aged(seconds_ago: i64) -> String {
    let now = enrichment::Timestamp::now().unix_millis() / 1000 * 1000;
    let time = enrichment::Timestamp::from_unix_millis(now - seconds_ago * 1000).unwrap().to_utc();
    let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    format!(
        r#"203.0.113.7 - - [{:02}/{}/{}:{:02}:{:02}:{:02} +0000] "GET / HTTP/1.1" 200 5 "-" "curl/8.5.0""#,
        time.day,
        months[time.month as usize - 1],
        time.year,
        time.hour,
        time.minute,
        time.second
    )
}

/// The lines' ages when their batch is delivered: median and maximum, for the freshness metrics;
/// a parse failure (stamped with its arrival) is not measured.
#[tokio::test]
async fn the_batch_says_how_old_its_lines_are_once_delivered() {
    let payloads: Vec<Vec<u8>> = [60, 120, 300, 30, 90]
        .iter()
        .map(|&age| line_record(&line_aged(age)))
        .chain([line_record("not an access line")])
        .collect();
    let event = KinesisEvent::deserialize(&kinesis_event(&payloads)).unwrap().into_owned();
    let fake = FaultyFirehose::start(Faults::default());
    let (_, summary) = function(sink(&fake, STREAM).await, retry()).process(&event, in_a_minute()).await;
    assert_eq!((summary.delivered, summary.parse_failures, summary.aged_lines), (6, 1, 5));
    // Ages in whole seconds plus what the test took: the median line is 90 s old, the oldest 300 s.
    assert!((90_000..100_000).contains(&summary.lag_median_ms), "{summary:?}");
    assert!((300_000..310_000).contains(&summary.lag_max_ms), "{summary:?}");
    let metrics: Vec<&str> =
        lambda_shell::InvocationSummary::metrics(&summary, 1.0).iter().map(|m| m.0).collect();
    assert!(metrics.contains(&"LagMedian") && metrics.contains(&"LagMax"), "{metrics:?}");

    // A batch of no document says no age at all.
    let control =
        KinesisEvent::deserialize(&kinesis_event(&[cloudwatch_envelope("CONTROL_MESSAGE", &["x"])]))
            .unwrap()
            .into_owned();
    let (_, summary) = function(sink(&fake, STREAM).await, retry()).process(&control, in_a_minute()).await;
    let metrics: Vec<&str> =
        lambda_shell::InvocationSummary::metrics(&summary, 1.0).iter().map(|m| m.0).collect();
    assert!(!metrics.contains(&"LagMax"), "{metrics:?}");
}
