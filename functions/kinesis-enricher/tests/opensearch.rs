//! Direct delivery (`DELIVERY=opensearch`) with the real signing HTTPS client against
//! `FakeOpenSearch`, a stand-in for a domain's `_bulk` endpoint (no OpenSearch server runs in the
//! tests), and documents the domain refuses kept in a real moto S3 bucket.
#![allow(clippy::unwrap_used)] // a test that cannot set itself up should stop right there

use std::collections::BTreeSet;
use std::io::Read as _;
use std::time::{Duration, SystemTime};

use aws_clients::signed::{SignedClient, SignedService};
use aws_clients::{AwsSettings, Service};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use enrichment::Enricher;
use enrichment::settings::EnrichmentSettings;
use firehose_delivery::{BulkSink, EntryFormat, FailedDocuments, OpenSearchSettings, RetryPolicy};
use kinesis_enricher::event::KinesisEvent;
use kinesis_enricher::{BatchItemFailure, KinesisHandler, RecordEnricher};
use serde::Deserialize as _;
use serde_json::Value;
use test_support::demo_geoip;
use test_support::fake_opensearch::{FakeOpenSearch, Faults};
use test_support::fixtures::{kinesis_event, line_record, log_lines};
use test_support::moto::MotoServer;

const BUCKET: &str = "weblogs-backup";

fn settings(fake: &FakeOpenSearch) -> OpenSearchSettings {
    OpenSearchSettings {
        endpoint: fake.url(),
        index_prefix: "weblogs".into(),
        max_bulk_bytes: 10 << 20,
        gzip: false,
        failed_documents_bucket: BUCKET.into(),
    }
}

fn retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 6,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(50),
        safety_margin: Duration::from_secs(1),
    }
}

fn records(format: EntryFormat) -> RecordEnricher {
    RecordEnricher::new(Enricher::new(EnrichmentSettings::default(), Some(demo_geoip())), 4 << 20)
        .with_entry_format(format)
}

/// The function as main builds it for `DELIVERY=opensearch`: the signing client pointed at the
/// fake; refused documents kept in moto's bucket when there is one.
fn function(settings: &OpenSearchSettings, moto: Option<&MotoServer>) -> KinesisHandler<BulkSink> {
    let credentials = Credentials::new("AKIDEXAMPLE", "secret", Some("token".into()), None, "test");
    let client = SignedClient::new(
        &settings.endpoint,
        "eu-west-1",
        SignedService::OpenSearch,
        SharedCredentialsProvider::new(credentials),
    );
    let format = EntryFormat::BulkCreate { index_prefix: settings.index_prefix.clone() };
    let handler = KinesisHandler::new(records(format), retry(), BulkSink::new(client, settings));
    match moto {
        Some(moto) => handler.with_failed_documents(FailedDocuments::new(
            SignedClient::s3(&moto_settings(moto)),
            settings.failed_documents_bucket.clone(),
            "kinesis-enricher",
        )),
        None => handler,
    }
}

fn moto_settings(moto: &MotoServer) -> AwsSettings {
    let url = moto.url();
    let lookup = |name: &str| match name {
        "AWS_REGION" => Some("eu-west-1".to_owned()),
        "AWS_ACCESS_KEY_ID" => Some("AKIDEXAMPLE".to_owned()),
        "AWS_SECRET_ACCESS_KEY" => Some("secret".to_owned()),
        "AWS_ENDPOINT_URL_S3" => Some(url.clone()),
        _ => None,
    };
    AwsSettings::from_lookup(lookup, &[Service::S3]).unwrap()
}

fn sample_batch(records: usize) -> KinesisEvent<'static> {
    let sample = log_lines("sample");
    let payloads: Vec<Vec<u8>> = (0..records).map(|i| line_record(&sample[i % sample.len()])).collect();
    KinesisEvent::deserialize(&kinesis_event(&payloads)).unwrap().into_owned()
}

fn far() -> SystemTime {
    SystemTime::now() + Duration::from_secs(120)
}

fn run<T>(future: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(future)
}

#[test]
fn a_batch_delivered_then_retried_in_a_fresh_environment_is_indexed_once() {
    let fake = FakeOpenSearch::start(Faults::default());
    let event = sample_batch(5_000);
    let (response, summary) = run(function(&settings(&fake), None).process(&event, far()));
    assert!(response.batch_item_failures.is_empty());
    assert_eq!((summary.delivered, summary.already_indexed, summary.refused_documents), (5_000, 0, 0));
    assert_eq!(fake.observed(|seen| (seen.created, seen.documents.len())), (5_000, 5_000));

    // Lambda retries the batch in another execution environment (nothing remembered there):
    // every document meets its id, and the index still holds each once.
    let (response, summary) = run(function(&settings(&fake), None).process(&event, far()));
    assert!(response.batch_item_failures.is_empty());
    assert_eq!((summary.delivered, summary.already_indexed), (5_000, 5_000));
    assert_eq!(
        fake.observed(|seen| (seen.created, seen.conflicts, seen.documents.len())),
        (5_000, 5_000, 5_000)
    );

    // The documents are those Firehose mode writes, each named by its record and place.
    let mut firehose_mode = records(EntryFormat::Document);
    let expected =
        firehose_mode.prepare(&event).entries().into_iter().map(|entry| entry.to_vec()).collect::<Vec<_>>();
    fake.observed(|seen| {
        for (record, expected) in event.records.iter().zip(&expected) {
            let id = format!("{}:0", record.event_id.as_deref().unwrap());
            let document = &seen.documents[&("weblogs-2026-11-21".to_owned(), id)];
            assert_eq!(document, &expected[..expected.len() - 1]);
        }
        // Signed for OpenSearch Service in the function's region.
        assert!(seen.credential_scopes.iter().all(|scope| scope.ends_with("/eu-west-1/es/aws4_request")));
    });
}

#[test]
fn documents_go_to_the_index_of_their_own_day_and_lines_of_a_record_get_their_places() {
    let fake = FakeOpenSearch::start(Faults::default());
    let lines = [
        r#"81.2.69.142 - - [01/Jan/2026:00:30:00 +0100] "GET / HTTP/1.1" 200 5 "-" "curl/8.5.0""#,
        r#"81.2.69.142 - - [01/Mar/2025:12:00:00 +0000] "GET /old HTTP/1.1" 200 5 "-" "curl/8.5.0""#,
        "not an access log line",
    ];
    let record = lines.join("\n").into_bytes();
    let event = KinesisEvent::deserialize(&kinesis_event(&[record])).unwrap().into_owned();
    let (response, summary) = run(function(&settings(&fake), None).process(&event, far()));
    assert!(response.batch_item_failures.is_empty());
    assert_eq!((summary.delivered, summary.parse_failures), (3, 1));
    let record_id = event.records[0].event_id.as_deref().unwrap();
    let stored: BTreeSet<(String, String)> = fake.observed(|seen| seen.documents.keys().cloned().collect());
    let parse_failure_day = {
        // A line that does not parse is dated by its record's arrival.
        let document: Value = fake.observed(|seen| {
            let key = seen.documents.keys().find(|(_, id)| id.ends_with(":2")).unwrap().clone();
            serde_json::from_slice(&seen.documents[&key]).unwrap()
        });
        document["@timestamp"].as_str().unwrap()[..10].to_owned()
    };
    let expected: BTreeSet<(String, String)> = [
        ("weblogs-2025-12-31".to_owned(), format!("{record_id}:0")),
        ("weblogs-2025-03-01".to_owned(), format!("{record_id}:1")),
        (format!("weblogs-{parse_failure_day}"), format!("{record_id}:2")),
    ]
    .into_iter()
    .collect();
    assert_eq!(stored, expected);
}

#[test]
fn throttled_documents_are_sent_again_and_refused_ones_are_kept_with_their_error() {
    let moto = MotoServer::start();
    moto.create_bucket(BUCKET);
    let fake = FakeOpenSearch::start(Faults {
        throttle_once: vec!["Googlebot".into()],
        refuse: vec!["/private/".into()],
        ..Faults::default()
    });
    let event = sample_batch(400);
    let (response, summary) = run(function(&settings(&fake), Some(&moto)).process(&event, far()));
    assert!(response.batch_item_failures.is_empty(), "a refused document is not a batch failure");
    assert_eq!((summary.refused_documents, summary.failed_entries), (24, 0));
    assert_eq!(summary.retried_entries, 17);
    assert_eq!(fake.observed(|seen| (seen.created, seen.throttled_items, seen.refused_items)), (376, 17, 24));

    let keys = moto.keys(BUCKET);
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].starts_with("failed/opensearch-failed/") && keys[0].ends_with(".gz"), "{keys:?}");
    let mut text = String::new();
    flate2::read::GzDecoder::new(&moto.objects(BUCKET)[0][..]).read_to_string(&mut text).unwrap();
    let kept: Vec<Value> = text.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    assert_eq!(kept.len(), 24);
    for record in &kept {
        assert_eq!(record["errorCode"], "400");
        assert!(record["errorMessage"].as_str().unwrap().starts_with("mapper_parsing_exception: "));
        assert!(
            record["esIndexName"] == "weblogs-2026-11-21"
                && record["esDocumentId"].as_str().unwrap().ends_with(":0")
        );
        let document = base64_decode(record["rawData"].as_str().unwrap());
        let document: Value = serde_json::from_slice(&document).unwrap();
        assert_eq!(document["url"]["path"], "/private/");
    }
}

#[test]
fn a_role_the_domain_does_not_admit_fails_the_batch_at_once_from_its_first_record() {
    let fake = FakeOpenSearch::start(Faults { forbidden: true, ..Faults::default() });
    let event = sample_batch(10);
    let (response, summary) = run(function(&settings(&fake), None).process(&event, far()));
    assert_eq!(
        response.batch_item_failures,
        [BatchItemFailure { item_identifier: event.records[0].kinesis.sequence_number.to_string() }]
    );
    assert_eq!((summary.delivered, summary.failed_entries, summary.calls), (0, 10, 1), "not retried");
    assert_eq!(fake.observed(|seen| seen.refused_calls.clone()), [403]);
}

#[test]
fn bodies_stay_under_the_limit_and_gzip_is_taken() {
    let fake = FakeOpenSearch::start(Faults { unavailable_calls: 1, ..Faults::default() });
    let compressed = OpenSearchSettings { max_bulk_bytes: 1 << 20, gzip: true, ..settings(&fake) };
    let (response, summary) = run(function(&compressed, None).process(&sample_batch(5_000), far()));
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(summary.delivered, 5_000);
    fake.observed(|seen| {
        assert_eq!(seen.refused_calls, [503], "the unavailable call is sent again");
        assert!(seen.bodies.len() >= 4, "{:?}", seen.bodies);
        assert!(seen.bodies.iter().all(|&(bytes, gzip)| gzip && bytes < 1 << 20));
        assert_eq!(seen.documents.len(), 5_000);
    });

    // A domain whose request limit is below the setting: refused whole, not retried, the batch
    // fails for Lambda to retry once the setting is lowered.
    let small = FakeOpenSearch::start(Faults { max_body_bytes: Some(256 << 10), ..Faults::default() });
    let over = OpenSearchSettings { max_bulk_bytes: 1 << 20, ..settings(&small) };
    let (response, summary) = run(function(&over, None).process(&sample_batch(2_000), far()));
    assert_eq!(response.batch_item_failures.len(), 1);
    assert_eq!(summary.delivered, 0);
    assert!(small.observed(|seen| seen.refused_calls.iter().all(|&status| status == 413)));
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(text).unwrap()
}
