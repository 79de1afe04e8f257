//! The built `replay-failed-batches` against real AWS protocols: a moto server holding the
//! Kinesis stream, the on-failure SQS queue and a DirectPut Firehose stream that delivers to S3 at
//! once. The queue's messages have the shape Lambda gives them.
#![allow(clippy::unwrap_used)] // a test that cannot set itself up should stop right there

use std::collections::BTreeMap;
use std::process::{Command, Output};
use std::time::Duration;

use aws_clients::https_client;
use aws_clients::signed::{SignedClient, SignedService};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_kinesis::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_kinesis::primitives::Blob;
use base64::Engine as _;
use enrichment::Enricher;
use enrichment::settings::EnrichmentSettings;
use firehose_delivery::{BulkSink, EntryFormat, FirehoseSink, OpenSearchSettings, RetryPolicy};
use kinesis_enricher::event::KinesisEvent;
use kinesis_enricher::{KinesisHandler, RecordEnricher};
use replay_failed_batches::{Outcome, Replayer, Visibility};
use serde_json::{Value, json};
use test_support::fake_opensearch::{self, FakeOpenSearch};
use test_support::faulty_firehose::{Faults, FaultyFirehose};
use test_support::moto::{MotoServer, REGION};
use test_support::{DemoDatabaseFiles, demo_database_files, repo};

const DELIVERY_STREAM: &str = "weblogs-enriched";
const BUCKET: &str = "weblogs-backup";

struct Setup {
    moto: MotoServer,
    kinesis: aws_sdk_kinesis::Client,
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    geoip: DemoDatabaseFiles,
}

impl Setup {
    async fn start(name: &str) -> Self {
        let moto = MotoServer::start();
        moto.create_bucket(BUCKET);
        moto.create_direct_put_stream(DELIVERY_STREAM, BUCKET);
        let credentials = Credentials::new("test", "test", None, None, "test");
        let kinesis = aws_sdk_kinesis::Client::from_conf(
            aws_sdk_kinesis::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .http_client(https_client())
                .region(Region::new(REGION))
                .credentials_provider(credentials.clone())
                .endpoint_url(moto.url())
                .build(),
        );
        let sqs = aws_sdk_sqs::Client::from_conf(
            aws_sdk_sqs::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .http_client(https_client())
                .region(aws_sdk_sqs::config::Region::new(REGION))
                .credentials_provider(credentials)
                .endpoint_url(moto.url())
                .build(),
        );
        let queue_url =
            sqs.create_queue().queue_name("failed-batches").send().await.unwrap().queue_url.unwrap();
        let geoip = demo_database_files(name);
        Self { moto, kinesis, sqs, queue_url, geoip }
    }

    /// A stream with `lines`, one per record; its ARN and the records' sequence numbers.
    async fn stream(&self, name: &str, lines: &[&str]) -> (String, Vec<String>) {
        self.kinesis.create_stream().stream_name(name).shard_count(1).send().await.unwrap();
        let summary = self.kinesis.describe_stream_summary().stream_name(name).send().await.unwrap();
        let arn = summary.stream_description_summary.unwrap().stream_arn;
        let mut sequence_numbers = Vec::new();
        for line in lines {
            let put = self
                .kinesis
                .put_record()
                .stream_name(name)
                .partition_key("web-1")
                .data(Blob::new(format!("{line}\n")))
                .send()
                .await
                .unwrap();
            sequence_numbers.push(put.sequence_number);
        }
        (arn, sequence_numbers)
    }

    /// A stream of the sample's first three lines, whose one batch of all three failed: the lines
    /// and their sequence numbers.
    async fn three_lines_failed(&self) -> (Vec<String>, Vec<String>) {
        let lines: Vec<String> = sample_lines().into_iter().take(3).collect();
        let line_refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let (arn, sequence_numbers) = self.stream("weblogs", &line_refs).await;
        self.fail(&arn, &sequence_numbers[0], &sequence_numbers[2], 3).await;
        (lines, sequence_numbers)
    }

    /// What Lambda's on-failure destination sends for a Kinesis batch.
    async fn fail(&self, stream_arn: &str, first: &str, last: &str, size: usize) {
        let body = json!({
            "requestContext": {
                "requestId": "c9b8fa9f-5a7f-4a3c-af9c-0c604cde93a5",
                "functionArn": "arn:aws:lambda:eu-west-1:123456789012:function:kinesis-enricher",
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": 6
            },
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "version": "1.0",
            "timestamp": "2026-11-29T10:00:06.021Z",
            "KinesisBatchInfo": {
                "shardId": "shardId-000000000000",
                "startSequenceNumber": first,
                "endSequenceNumber": last,
                "approximateArrivalOfFirstRecord": "2026-11-29T10:00:04.835Z",
                "approximateArrivalOfLastRecord": "2026-11-29T10:00:05.580Z",
                "batchSize": size,
                "streamArn": stream_arn
            }
        });
        self.send(&body.to_string()).await;
    }

    async fn send(&self, body: &str) {
        self.sqs.send_message().queue_url(&self.queue_url).message_body(body).send().await.unwrap();
    }

    fn replay(&self) -> Output {
        self.replay_with(&[])
    }

    fn replay_with(&self, extra: &[(&str, &str)]) -> Output {
        self.moto
            .machine_command(env!("CARGO_BIN_EXE_replay-failed-batches"))
            .env("FAILED_BATCH_QUEUE_URL", &self.queue_url)
            .env("DELIVERY_STREAM_NAME", DELIVERY_STREAM)
            .env("GEOIP_CITY_DB", &self.geoip.0)
            .env("GEOIP_ASN_DB", &self.geoip.1)
            .envs(extra.iter().copied())
            .output()
            .unwrap()
    }

    /// Every document delivered so far, by `event.id`.
    fn delivered(&self) -> BTreeMap<String, Vec<Value>> {
        let mut documents: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for object in self.moto.objects(BUCKET) {
            for line in object.split(|&b| b == b'\n').filter(|line| !line.is_empty()) {
                let document: Value = serde_json::from_slice(line).unwrap();
                documents
                    .entry(document["event"]["id"].as_str().unwrap().to_owned())
                    .or_default()
                    .push(document);
            }
        }
        documents
    }

    async fn messages_in_queue(&self) -> String {
        let attributes = self
            .sqs
            .get_queue_attributes()
            .queue_url(&self.queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .unwrap();
        attributes.attributes.unwrap().values().next().unwrap().clone()
    }
}

fn sample_lines() -> Vec<String> {
    std::fs::read_to_string(repo("tests/data/sample.log"))
        .unwrap()
        .lines()
        .take(6)
        .map(str::to_owned)
        .collect()
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

#[tokio::test]
async fn a_failed_range_is_replayed_once_and_a_second_run_does_nothing() {
    let setup = Setup::start("replay-once").await;
    let lines = sample_lines();
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let (arn, sequence_numbers) = setup.stream("weblogs", &lines).await;
    // Records 2 to 4 of 6 failed; the others had been delivered by the function.
    setup.fail(&arn, &sequence_numbers[1], &sequence_numbers[3], 3).await;

    let first = setup.replay();
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    let report = String::from_utf8_lossy(&first.stdout);
    assert!(report.contains(": 3 records, 3 documents delivered; message deleted"), "{report}");
    assert!(
        report.ends_with("1 messages: 1 replayed (3 records, 3 documents), 0 expired, 0 failed\n"),
        "{report}"
    );

    let delivered = setup.delivered();
    assert_eq!(
        delivered.keys().cloned().collect::<Vec<_>>(),
        sequence_numbers[1..4].to_vec(),
        "the range, no more"
    );
    for (index, sequence_number) in sequence_numbers[1..4].iter().enumerate() {
        let documents = &delivered[sequence_number];
        assert_eq!(documents.len(), 1, "each line once");
        // kinesis-enricher's document: the line's client, enriched from the demo GeoIP database.
        let client = lines[index + 1].split(' ').next().unwrap();
        assert_eq!(documents[0]["source"]["ip"], client);
        assert_eq!(documents[0]["ecs"]["version"], "8.17.0");
    }
    assert_eq!(setup.messages_in_queue().await, "0");

    let second = setup.replay();
    assert_eq!(second.status.code(), Some(0), "{}", text(&second));
    assert_eq!(
        String::from_utf8_lossy(&second.stdout),
        "0 messages: 0 replayed (0 records, 0 documents), 0 expired, 0 failed\n"
    );
    assert_eq!(setup.delivered(), delivered, "nothing delivered again");
}

/// `DELIVERY=opensearch` against `FakeOpenSearch` (a `_bulk` stand-in: no OpenSearch runs here):
/// a 5,000-record batch delivered by the function, delivered again by a fresh execution
/// environment (Lambda's retry elsewhere), then replayed from the on-failure queue: the domain
/// holds each of the 5,000 documents once, because the replay names them as the function did.
#[tokio::test]
async fn a_batch_delivered_retried_elsewhere_and_replayed_directly_is_indexed_once() {
    let setup = Setup::start("replay-direct").await;
    let search = FakeOpenSearch::start(fake_opensearch::Faults::default());
    let sample = std::fs::read_to_string(repo("tests/data/sample.log")).unwrap();
    let lines: Vec<String> = sample.lines().cycle().take(5_000).map(|line| format!("{line}\n")).collect();
    setup.kinesis.create_stream().stream_name("weblogs").shard_count(1).send().await.unwrap();
    let summary = setup.kinesis.describe_stream_summary().stream_name("weblogs").send().await.unwrap();
    let arn = summary.stream_description_summary.unwrap().stream_arn;
    let mut sequence_numbers = Vec::new();
    for chunk in lines.chunks(500) {
        let entries = chunk.iter().map(|line| {
            aws_sdk_kinesis::types::PutRecordsRequestEntry::builder()
                .data(Blob::new(line.as_bytes()))
                .partition_key("web-1")
                .build()
                .unwrap()
        });
        let put = setup
            .kinesis
            .put_records()
            .stream_name("weblogs")
            .set_records(Some(entries.collect()))
            .send()
            .await
            .unwrap();
        assert_eq!(put.failed_record_count, Some(0));
        sequence_numbers.extend(put.records.into_iter().map(|record| record.sequence_number.unwrap()));
    }

    // The batch as Lambda hands it to kinesis-enricher.
    let records: Vec<Value> = lines
        .iter()
        .zip(&sequence_numbers)
        .map(|(line, sequence)| {
            json!({
                "eventID": format!("shardId-000000000000:{sequence}"),
                "eventSourceARN": arn,
                "kinesis": {
                    "sequenceNumber": sequence,
                    "data": base64::engine::general_purpose::STANDARD.encode(line),
                },
            })
        })
        .collect();
    let event_json = json!({ "Records": records }).to_string();
    let event: KinesisEvent = serde_json::from_str(&event_json).unwrap();
    let settings = OpenSearchSettings {
        endpoint: search.url(),
        index_prefix: "weblogs".into(),
        max_bulk_bytes: 10 << 20,
        gzip: false,
        failed_documents_bucket: BUCKET.into(),
    };
    let environment = || {
        let credentials = Credentials::new("test", "test", None, None, "test");
        let client = SignedClient::new(
            &search.url(),
            REGION,
            SignedService::OpenSearch,
            SharedCredentialsProvider::new(credentials),
        );
        let records = RecordEnricher::new(
            Enricher::new(EnrichmentSettings::default(), Some(test_support::demo_geoip())),
            4 << 20,
        )
        .with_entry_format(EntryFormat::BulkCreate { index_prefix: "weblogs".into() });
        KinesisHandler::new(records, RetryPolicy::default(), BulkSink::new(client, &settings))
    };
    let deadline = std::time::SystemTime::now() + Duration::from_secs(120);
    for (run, already) in [("delivered", 0), ("retried in a fresh environment", 5_000)] {
        let (response, summary) = environment().process(&event, deadline).await;
        assert!(response.batch_item_failures.is_empty(), "{run}");
        assert_eq!((summary.delivered, summary.already_indexed), (5_000, already), "{run}");
    }
    assert_eq!(search.observed(|seen| seen.documents.len()), 5_000);

    // The batch reported failed anyway (its answer lost), and replayed into the domain.
    setup.fail(&arn, &sequence_numbers[0], &sequence_numbers[4_999], 5_000).await;
    let replay = setup.replay_with(&[
        ("DELIVERY", "opensearch"),
        ("OPENSEARCH_ENDPOINT", &search.url()),
        ("FAILED_DOCUMENTS_BUCKET", BUCKET),
    ]);
    assert_eq!(replay.status.code(), Some(0), "{}", text(&replay));
    let report = String::from_utf8_lossy(&replay.stdout);
    assert!(report.contains(": 5000 records, 5000 documents delivered; message deleted"), "{report}");
    search.observed(|seen| {
        assert_eq!(
            (seen.documents.len(), seen.created, seen.conflicts),
            (5_000, 5_000, 10_000),
            "each line once"
        );
        assert!(
            seen.credential_scopes.iter().all(|scope| scope.ends_with(&format!("/{REGION}/es/aws4_request")))
        );
    });
    assert!(setup.delivered().is_empty(), "nothing through Firehose");
}

#[tokio::test]
async fn expired_and_unreadable_messages_are_reported_and_kept() {
    let setup = Setup::start("replay-expired").await;
    let lines = sample_lines();
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let (arn, sequence_numbers) = setup.stream("weblogs", &lines[..2]).await;
    // The range began before the oldest record the shard still holds: retention trimmed it.
    setup.fail(&arn, "0", &sequence_numbers[0], 2).await;
    // The stream itself is gone.
    let (gone_arn, gone) = setup.stream("deleted", &lines[2..4]).await;
    setup.kinesis.delete_stream().stream_name("deleted").send().await.unwrap();
    setup.fail(&gone_arn, &gone[0], &gone[1], 2).await;
    // Not from a Kinesis event source mapping at all.
    setup.send(r#"{"requestContext":{"condition":"RetryAttemptsExhausted"},"SQSBatchInfo":{}}"#).await;

    let output = setup.replay();
    assert_eq!(output.status.code(), Some(2), "messages kept: {}", text(&output));
    let report = String::from_utf8_lossy(&output.stdout);
    assert_eq!(report.matches("expired shardId-000000000000").count(), 2, "{report}");
    assert!(report.contains("the stream's retention period has passed"), "{report}");
    assert!(report.contains("the stream or its shard no longer exists"), "{report}");
    assert!(report.contains("failed (no range): not a Kinesis on-failure record"), "{report}");
    assert!(
        report.ends_with("3 messages: 0 replayed (0 records, 0 documents), 2 expired, 1 failed\n"),
        "{report}"
    );
    assert!(setup.delivered().is_empty(), "nothing of a partial range is delivered");
    assert_eq!(setup.messages_in_queue().await, "3", "every message kept, visible again");

    // Kept messages are reported again, and still nothing is delivered.
    let again = setup.replay();
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));
    assert!(String::from_utf8_lossy(&again.stdout).ends_with("2 expired, 1 failed\n"));
    assert!(setup.delivered().is_empty());
}

#[tokio::test]
async fn a_range_firehose_does_not_fully_take_is_kept_until_a_run_delivers_it_all() {
    let setup = Setup::start("replay-undelivered").await;
    let (lines, sequence_numbers) = setup.three_lines_failed().await;

    // Firehose refuses the second line's document every time.
    let refused_client = lines[1].split(' ').next().unwrap();
    let faulty =
        FaultyFirehose::start(Faults { fail_always: vec![refused_client.to_owned()], ..Faults::default() });
    let faulty_url = faulty.url();
    let output = setup.replay_with(&[
        ("AWS_ENDPOINT_URL_FIREHOSE", faulty_url.as_str()),
        ("DELIVERY_MAX_ATTEMPTS", "2"),
        ("DELIVERY_BASE_BACKOFF_MS", "1"),
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let report = String::from_utf8_lossy(&output.stdout);
    let expected = format!("Firehose did not take every document (from record {} on", sequence_numbers[1]);
    assert!(report.contains(&expected), "{report}");
    assert_eq!(faulty.observed(|o| o.accepted.len()), 2, "the other two were delivered");
    assert_eq!(setup.messages_in_queue().await, "1", "kept for the next run");

    let healthy = setup.replay();
    assert_eq!(healthy.status.code(), Some(0), "{}", text(&healthy));
    assert_eq!(setup.delivered().keys().cloned().collect::<Vec<_>>(), sequence_numbers, "the whole range");
    assert_eq!(setup.messages_in_queue().await, "0");
}

/// A range that takes longer than the message's visibility timeout (a Firehose that answers after
/// 4 s, FaultyFirehose; the timeout 2 s, renewed every 0.5 s): another reader never sees the
/// message while it is replayed, and it is deleted once replayed.
#[tokio::test]
async fn a_message_stays_hidden_from_other_readers_while_its_range_is_replayed() {
    let setup = Setup::start("replay-hidden").await;
    setup.three_lines_failed().await;
    let slow = FaultyFirehose::start(Faults { answer_after: Duration::from_secs(4), ..Faults::default() });
    let firehose = aws_clients::firehose::configure(aws_sdk_firehose::Config::builder())
        .endpoint_url(slow.url())
        .region(aws_sdk_firehose::config::Region::new(REGION))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .build();
    let records = RecordEnricher::new(Enricher::new(EnrichmentSettings::default(), None), 4 << 20);
    let handler = KinesisHandler::new(
        records,
        RetryPolicy::default(),
        FirehoseSink::new(firehose, DELIVERY_STREAM.into()),
    );
    let visibility = Visibility { timeout: Duration::from_secs(2), renew_every: Duration::from_millis(500) };
    let mut replayer =
        Replayer::new(setup.sqs.clone(), setup.kinesis.clone(), handler, setup.queue_url.clone())
            .with_visibility(visibility);
    let other_reader = async {
        tokio::time::sleep(Duration::from_secs(3)).await;
        let received = setup
            .sqs
            .receive_message()
            .queue_url(&setup.queue_url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        received.messages().len()
    };
    let (report, seen_by_the_other) = tokio::join!(replayer.run(), other_reader);
    assert_eq!(seen_by_the_other, 0, "hidden past its 2-second timeout");
    let report = report.unwrap();
    assert_eq!(report.messages.len(), 1);
    assert_eq!(report.messages[0].outcome, Outcome::Replayed { records: 3, documents: 3 });
    assert_eq!(slow.observed(|o| o.accepted.len()), 3);
    assert_eq!(setup.messages_in_queue().await, "0");
}

#[test]
fn a_bad_setting_stops_before_the_queue_is_touched() {
    let output = Command::new(env!("CARGO_BIN_EXE_replay-failed-batches"))
        .env_clear()
        .env("FAILED_BATCH_QUEUE_URL", "http://127.0.0.1:9/123456789012/failed")
        .env("DELIVERY_STREAM_NAME", DELIVERY_STREAM)
        .env("LOG_FORMAT", "nonsense %")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("replay-failed-batches: invalid LOG_FORMAT"), "{stderr}");
}
