//! End to end against real AWS protocols: the built `kinesis-enricher` binary (real `main`, real
//! SDK client) invoked through `LocalRuntimeApi`, writing to a DirectPut Firehose stream in a moto
//! server, which delivers to S3 at once. Every expected document must be in the bucket, once.
//! moto comes from the project's venv (`make test-tools`, part of `make test`).
#![allow(clippy::unwrap_used)] // a test that cannot set itself up should stop right there

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::Duration;

use enrichment::Enricher;
use enrichment::settings::EnrichmentSettings;
use geoip::{Database, DatabaseKind, GeoIp};
use kinesis_enricher::RecordEnricher;
use kinesis_enricher::event::KinesisEvent;
use serde_json::Value;
use test_support::moto::MotoServer;
use test_support::runtime_api::LocalRuntimeApi;
use test_support::{DemoDatabaseFiles, demo_database_files, repo};

const STREAM: &str = "weblogs-enriched";
const BUCKET: &str = "weblogs-backup";

fn count(documents: impl IntoIterator<Item = Vec<u8>>) -> HashMap<Vec<u8>, usize> {
    let mut counts = HashMap::new();
    for document in documents {
        *counts.entry(document).or_insert(0) += 1;
    }
    counts
}

/// Runs the built function on one event through the local Runtime API, writing to
/// `delivery_stream_name` in `moto`, with the demo databases; returns its response and its stdout.
fn invoke(
    moto: &MotoServer,
    event_bytes: &[u8],
    delivery_stream_name: &str,
    geoip: &DemoDatabaseFiles,
) -> (Value, String) {
    let api = LocalRuntimeApi::start();
    api.enqueue("request-1", event_bytes);
    let delivery = [
        ("AWS_ENDPOINT_URL_FIREHOSE", moto.url()),
        ("DELIVERY_STREAM_NAME", delivery_stream_name.to_owned()),
    ];
    let mut child = spawn_function(&api, geoip, &delivery);
    let responses = api.wait_for(&["request-1"], Duration::from_secs(60));
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();
    let response = serde_json::from_slice(&responses["request-1"]).unwrap();
    (response, String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The built function, as Lambda runs it, against `api`, with the demo databases and `delivery`'s
/// variables.
fn spawn_function(
    api: &LocalRuntimeApi,
    geoip: &DemoDatabaseFiles,
    delivery: &[(&str, String)],
) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_kinesis-enricher"))
        .env_clear()
        .envs(api.lambda_environment("kinesis-enricher"))
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .env("GEOIP_CITY_DB", &geoip.0)
        .env("GEOIP_ASN_DB", &geoip.1)
        .envs(delivery.iter().map(|(name, value)| (*name, value.as_str())))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The documents Firehose wrote to `bucket`, one per line of its objects.
fn documents_in(moto: &MotoServer, bucket: &str) -> Vec<Vec<u8>> {
    moto.objects(bucket)
        .iter()
        .flat_map(|object| object.split_inclusive(|&b| b == b'\n').map(<[u8]>::to_vec).collect::<Vec<_>>())
        .collect()
}

/// What the handler makes of the event with the same databases.
fn expected_documents(event_bytes: &[u8], geoip: &DemoDatabaseFiles) -> Vec<Vec<u8>> {
    let event: KinesisEvent = serde_json::from_slice(event_bytes).unwrap();
    let databases = GeoIp::new(
        Some(Database::open(&geoip.0, DatabaseKind::City).unwrap()),
        Some(Database::open(&geoip.1, DatabaseKind::Asn).unwrap()),
    );
    let mut records =
        RecordEnricher::new(Enricher::new(EnrichmentSettings::default(), Some(databases)), 4 << 20);
    records.prepare(&event).entries().into_iter().map(<[u8]>::to_vec).collect()
}

#[test]
fn every_document_of_a_mixed_batch_lands_in_s3_through_moto() {
    let moto = MotoServer::start();
    moto.create_bucket(BUCKET);
    moto.create_direct_put_stream(STREAM, BUCKET);
    let geoip = demo_database_files("kinesis-moto");
    let event_bytes = std::fs::read(repo("tests/events/kinesis-mixed.json")).unwrap();
    let (response, stdout) = invoke(&moto, &event_bytes, STREAM, &geoip);
    assert_eq!(response, serde_json::json!({"batchItemFailures": []}), "{stdout}");

    // What landed in S3, split into documents, against what the handler makes of the batch.
    let delivered = documents_in(&moto, BUCKET);
    assert_eq!(delivered.len(), 13);
    assert_eq!(
        count(delivered.clone()),
        count(expected_documents(&event_bytes, &geoip)),
        "every document once"
    );
    let documents: Vec<Value> = delivered.iter().map(|d| serde_json::from_slice(d).unwrap()).collect();
    assert!(documents.iter().any(|d| d["source"]["as"]["organization"]["name"] == "Demo Andrews & Arnold"));
    assert!(documents.iter().all(|d| d["event"]["id"].as_str().is_some_and(|id| id.starts_with("4965937"))));

    // The databases' ages at start-up, then the invocation's summary and EMF line.
    let emf: Vec<Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("_aws").is_some())
        .collect();
    assert_eq!(emf.len(), 2, "{stdout}");
    assert!(emf[0]["GeoIpCityDatabaseAgeDays"].as_f64().is_some_and(|days| days > 0.0), "{stdout}");
    assert!(emf[0]["GeoIpAsnDatabaseAgeDays"].as_f64().is_some_and(|days| days > 0.0), "{stdout}");
    let emf = &emf[1];
    assert_eq!(
        (emf["Records"].as_f64(), emf["Events"].as_f64(), emf["Delivered"].as_f64()),
        (Some(8.0), Some(13.0), Some(13.0))
    );
    assert!(stdout.contains("\"invocation\""), "{stdout}");
}

#[test]
fn missing_delivery_stream_name_stops_start_up() {
    let api = LocalRuntimeApi::start();
    let output = Command::new(env!("CARGO_BIN_EXE_kinesis-enricher"))
        .env_clear()
        .envs(api.lambda_environment("kinesis-enricher"))
        .env("GEOIP_OPTIONAL", "true")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let logs =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(
        logs.contains(
            "invalid DELIVERY_STREAM_NAME value \\\"\\\": the name of the Firehose delivery stream"
        ),
        "{logs}"
    );
}

/// `DELIVERY_STREAM_NAME` with two streams: every document in exactly one of their buckets, each
/// record's documents together, roughly half each.
#[test]
fn two_delivery_streams_share_the_documents() {
    let moto = MotoServer::start();
    let streams = [("weblogs-a", "weblogs-a-backup"), ("weblogs-b", "weblogs-b-backup")];
    for (stream, bucket) in streams {
        moto.create_bucket(bucket);
        moto.create_direct_put_stream(stream, bucket);
    }
    let geoip = demo_database_files("kinesis-moto-two");
    let sample = test_support::fixtures::log_lines("sample");
    let payloads: Vec<Vec<u8>> = (0..400).map(|i| test_support::fixtures::line_record(&sample[i])).collect();
    let event_bytes = serde_json::to_vec(&test_support::fixtures::kinesis_event(&payloads)).unwrap();
    let (response, stdout) = invoke(&moto, &event_bytes, "weblogs-a, weblogs-b", &geoip);
    assert_eq!(response, serde_json::json!({"batchItemFailures": []}), "{stdout}");

    let per_stream: Vec<Vec<Vec<u8>>> =
        streams.iter().map(|(_, bucket)| documents_in(&moto, bucket)).collect();
    assert_eq!(
        count(per_stream.concat()),
        count(expected_documents(&event_bytes, &geoip)),
        "every document once, in one of the streams"
    );
    for (documents, (stream, _)) in per_stream.iter().zip(streams) {
        assert!((160..=240).contains(&documents.len()), "{stream}: {} of 400", documents.len());
        for document in documents {
            let doc: Value = serde_json::from_slice(document).unwrap();
            let sequence = doc["event"]["id"].as_str().unwrap();
            let chosen =
                if kinesis_enricher::stream_for(sequence, 2) == 0 { "weblogs-a" } else { "weblogs-b" };
            assert_eq!(chosen, stream, "the record's stream");
        }
    }
}

#[test]
fn a_batch_of_cloudfront_real_time_records_lands_as_their_documents() {
    let moto = MotoServer::start();
    moto.create_bucket(BUCKET);
    moto.create_direct_put_stream(STREAM, BUCKET);
    let geoip = demo_database_files("kinesis-cloudfront");
    // One Kinesis record per request, as a real-time log configuration sends them.
    let records: Vec<Vec<u8>> = std::fs::read_to_string(repo("tests/data/cloudfront/realtime-default.log"))
        .unwrap()
        .lines()
        .map(|line| line.as_bytes().to_vec())
        .collect();
    let event_bytes = serde_json::to_vec(&test_support::fixtures::kinesis_event(&records)).unwrap();
    let (response, stdout) = invoke(&moto, &event_bytes, STREAM, &geoip);
    assert_eq!(response, serde_json::json!({"batchItemFailures": []}), "{stdout}");
    let delivered = documents_in(&moto, BUCKET);
    assert_eq!(
        count(delivered.clone()),
        count(expected_documents(&event_bytes, &geoip)),
        "every document once"
    );
    let documents: Vec<Value> = delivered.iter().map(|d| serde_json::from_slice(d).unwrap()).collect();
    assert_eq!(documents.len(), 3);
    assert!(documents.iter().all(|d| d["event"]["dataset"] == "aws.cloudfront_logs"), "auto reads them");
    assert!(documents.iter().any(|d| d["aws"]["cloudfront"]["edge_location"] == "LHR61-P3"));
}

/// Freshness of direct delivery, end to end on this machine: the built function (`DELIVERY=
/// opensearch`) running warm, waiting on the Runtime API; 500 lines written into a moto Kinesis
/// stream in one PutRecords call; read back as Lambda's event source mapping does (GetRecords,
/// the event it hands the function); delivered to `FakeOpenSearch`, a `_bulk` stand-in (no
/// OpenSearch runs here) that notes when it creates each document. Prints the figures (line
/// written to document created); asserts every line indexed once, and that the function's own
/// `LagMax` covers what was measured (it is taken after the domain answered).
#[test]
fn direct_delivery_freshness_from_line_written_to_document_indexed() {
    use std::time::SystemTime;
    use test_support::fake_opensearch::{FakeOpenSearch, Faults};

    let moto = MotoServer::start();
    moto.create_bucket(BUCKET);
    moto.create_stream("weblogs");
    let search = FakeOpenSearch::start(Faults::default());
    let geoip = demo_database_files("kinesis-freshness");
    let api = LocalRuntimeApi::start();
    let delivery = [
        ("AWS_ENDPOINT_URL_S3", moto.url()),
        ("DELIVERY", "opensearch".to_owned()),
        ("OPENSEARCH_ENDPOINT", search.url()),
        ("FAILED_DOCUMENTS_BUCKET", BUCKET.to_owned()),
    ];
    let mut child = spawn_function(&api, &geoip, &delivery);
    // A first invocation, so that the measured one meets a warm function, as a busy stream does.
    let warm_up = test_support::fixtures::kinesis_event(&[b"warm-up".to_vec()]);
    api.enqueue("warm-up", &serde_json::to_vec(&warm_up).unwrap());
    api.wait_for(&["warm-up"], Duration::from_secs(60));

    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let date = enrichment::Timestamp::now().to_utc();
    let lines = 500;
    let records: Vec<Vec<u8>> = (0..lines)
        .map(|page| {
            format!(
                "81.2.69.142 - - [{:02}/{}/{}:{:02}:{:02}:{:02} +0000] \"GET /page/{page} HTTP/1.1\" 200 512 \"-\" \"curl/8.5.0\"\n",
                date.day,
                MONTHS[date.month as usize - 1],
                date.year,
                date.hour,
                date.minute,
                date.second
            )
            .into_bytes()
        })
        .collect();
    moto.put_records("weblogs", &records);
    let written = SystemTime::now();
    // Lambda's poller: the shard's records, handed over as the event source mapping does.
    let (shard, records) = moto.shard_records("weblogs");
    assert_eq!(records.len(), lines);
    let records: Vec<Value> = records
        .iter()
        .map(|record| {
            serde_json::json!({
                "eventID": format!("{shard}:{}", record["SequenceNumber"].as_str().unwrap()),
                "eventSource": "aws:kinesis",
                "eventSourceARN": "arn:aws:kinesis:eu-west-1:123456789012:stream/weblogs",
                "awsRegion": "eu-west-1",
                "kinesis": {
                    "sequenceNumber": record["SequenceNumber"],
                    "data": record["Data"],
                    "approximateArrivalTimestamp": record["ApproximateArrivalTimestamp"],
                },
            })
        })
        .collect();
    let handed_over = SystemTime::now();
    api.enqueue("request-1", &serde_json::to_vec(&serde_json::json!({ "Records": records })).unwrap());
    let responses = api.wait_for(&["request-1"], Duration::from_secs(60));
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let response: Value = serde_json::from_slice(&responses["request-1"]).unwrap();
    assert_eq!(response, serde_json::json!({"batchItemFailures": []}), "{stdout}");

    let mut lags_ms: Vec<u128> = search.observed(|seen| {
        let created: Vec<u128> = seen
            .documents
            .iter()
            .filter(|(_, document)| !String::from_utf8_lossy(document).contains("warm-up"))
            .map(|(key, _)| seen.created_at[key].duration_since(written).unwrap().as_millis())
            .collect();
        assert_eq!(created.len(), lines, "every line indexed once");
        created
    });
    lags_ms.sort_unstable();
    let (median, max) = (lags_ms[lags_ms.len() / 2], lags_ms[lags_ms.len() - 1]);
    let poll_ms = handed_over.duration_since(written).unwrap().as_millis();
    let emf: Value = stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .rfind(|line| line.get("_aws").is_some() && line.get("Records").is_some())
        .unwrap();
    println!(
        "freshness, {lines} lines: written to indexed median {median} ms, max {max} ms, of which reading the shard {poll_ms} ms (function's LagMedian {} ms, LagMax {} ms, from line times cut to the second)",
        emf["LagMedian"], emf["LagMax"]
    );
    // The function measures from each line's own time (cut to the second, so up to 1 s earlier
    // than written) to after the domain's answer: never less than what was measured here.
    assert!(emf["LagMax"].as_f64().unwrap() + 1.0 >= max as f64, "{emf}");
    assert_eq!(emf["Delivered"], lines as f64);
}
