//! The built `reingest-failed-documents` against real AWS protocols: a moto server holding the
//! backup bucket with Firehose's failed-record files, and a DirectPut Firehose stream that delivers
//! to another bucket at once (where the test reads what was sent). `FaultyFirehose`, a fake, stands
//! in where Firehose must refuse a document.
#![allow(clippy::unwrap_used)] // a test that cannot set itself up should stop right there

use std::process::{Command, Output};

use lambda_shell::base64;
use serde_json::{Value, json};
use test_support::faulty_firehose::{Faults, FaultyFirehose};
use test_support::fixtures::gzip;
use test_support::moto::MotoServer;

const DELIVERY_STREAM: &str = "weblogs-enriched";
const BACKUP: &str = "weblogs-backup";
const DELIVERED: &str = "weblogs-delivered";
/// Where Firehose writes failed documents under the stack's `failed/` prefix, and a name as it
/// gives them (stream, version, time, id; `.gz` for GZIP).
const FAILED_KEY: &str = "failed/AmazonOpenSearchService-failed/2026/12/07/10/weblogs-1-2026-12-07-10-12-44-4f1c2a77-0b1d-4f3e-9a55-1e2d3c4b5a69.gz";
const MALFORMED_KEY: &str = "failed/AmazonOpenSearchService-failed/2026/12/07/11/weblogs-1-2026-12-07-11-02-10-8d0e7c55-1b2a-4c3d-8e9f-0a1b2c3d4e5f.gz";
const PROCESSING_FAILED_KEY: &str = "failed/processing-failed/2026/12/07/10/weblogs-1-2026-12-07-10-20-00-1a2b3c4d-5e6f-4a5b-8c7d-9e8f7a6b5c4d.gz";

/// Three enriched documents as kinesis-enricher writes them, each with its newline.
fn documents() -> Vec<String> {
    ["/", "/products?id=7", "/search?q=boots"]
        .iter()
        .enumerate()
        .map(|(index, path)| {
            let (path, query) = path.split_once('?').unwrap_or((path, ""));
            let mut document = json!({
                "@timestamp": format!("2026-12-07T10:0{index}:00.000Z"),
                "event": {"id": format!("49655-{index}"), "dataset": "apache.access", "kind": "event"},
                "source": {"ip": format!("203.0.113.{}", 10 + index), "geo": {"country_iso_code": "DE"}},
                "url": {"path": path},
                "http": {"request": {"method": "GET"}, "response": {"status_code": 200}},
            });
            if !query.is_empty() {
                document["url"]["query"] = json!(query);
            }
            format!("{document}\n")
        })
        .collect()
}

/// A failed-record file of `documents`, as Firehose writes one.
fn failed_file(documents: &[String]) -> Vec<u8> {
    let mut text = String::new();
    for (index, document) in documents.iter().enumerate() {
        let mut raw_data = Vec::new();
        base64::encode_append(document.as_bytes(), &mut raw_data);
        let record = json!({
            "attemptsMade": 27,
            "arrivalTimestamp": 1_796_637_164_000_u64,
            "errorCode": "403",
            "errorMessage": "cluster_block_exception: index [weblogs-2026-12-07] blocked by: [FORBIDDEN/8/index write (api)];",
            "attemptEndingTimestamp": 1_796_644_364_000_u64,
            "rawData": String::from_utf8(raw_data).unwrap(),
            "subsequenceNumber": index,
            "esDocumentId": format!("49655974118430962316{index}.0"),
            "esIndexName": "weblogs-2026-12-07",
            "esTypeName": "",
        });
        text.push_str(&record.to_string());
        text.push('\n');
    }
    gzip(text.as_bytes())
}

struct Setup {
    moto: MotoServer,
}

impl Setup {
    fn start() -> Self {
        let moto = MotoServer::start();
        moto.create_bucket(BACKUP);
        moto.create_bucket(DELIVERED);
        moto.create_direct_put_stream(DELIVERY_STREAM, DELIVERED);
        Self { moto }
    }

    fn reingest(&self, extra: &[(&str, &str)], args: &[&str]) -> Output {
        self.moto
            .machine_command(env!("CARGO_BIN_EXE_reingest-failed-documents"))
            .env("BACKUP_BUCKET_NAME", BACKUP)
            .env("DELIVERY_STREAM_NAME", DELIVERY_STREAM)
            .envs(extra.iter().copied())
            .args(args)
            .output()
            .unwrap()
    }

    /// Every document the delivery stream has taken, in order.
    fn delivered(&self) -> Vec<Value> {
        self.moto
            .objects(DELIVERED)
            .iter()
            .flat_map(|object| {
                object
                    .split(|&b| b == b'\n')
                    .filter(|line| !line.is_empty())
                    .map(|line| serde_json::from_slice(line).unwrap())
                    .collect::<Vec<Value>>()
            })
            .collect()
    }
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

fn parsed(documents: &[String]) -> Vec<Value> {
    documents.iter().map(|document| serde_json::from_str(document).unwrap()).collect()
}

#[test]
fn a_failed_file_is_reingested_once_and_malformed_files_are_reported_and_kept() {
    let setup = Setup::start();
    let documents = documents();
    setup.moto.put_object(BACKUP, FAILED_KEY, &failed_file(&documents));
    let malformed = gzip(b"{\"attemptsMade\":1,\"rawData\":\"not base64!\"}\n");
    setup.moto.put_object(BACKUP, MALFORMED_KEY, &malformed);
    let refused_lines = gzip(
        json!({"attemptsMade": 4, "errorCode": "Lambda.FunctionError", "rawData": "MTAuMC4wLjEgLSAt",
               "lambdaArn": "arn:aws:lambda:eu-west-1:123456789012:function:firehose-transformer:$LATEST"})
        .to_string()
        .as_bytes(),
    );
    setup.moto.put_object(BACKUP, PROCESSING_FAILED_KEY, &refused_lines);

    // A dry run reads and tells, and changes nothing.
    let dry = setup.reingest(&[], &["--dry-run"]);
    assert_eq!(dry.status.code(), Some(2), "{}", text(&dry));
    let dry_report = String::from_utf8_lossy(&dry.stdout);
    assert!(dry_report.contains(&format!("would reingest {FAILED_KEY}: 3 documents")), "{dry_report}");
    assert!(
        dry_report.ends_with(
            "3 files: 1 to reingest (3 documents, none sent: dry run), 0 reingested (0 documents sent), \
             0 partly, 2 malformed, 0 expired, 0 failed\n"
        ),
        "{dry_report}"
    );
    assert!(setup.delivered().is_empty());
    assert!(setup.moto.object(BACKUP, FAILED_KEY).is_some());

    let first = setup.reingest(&[], &[]);
    assert_eq!(first.status.code(), Some(2), "files kept: {}", text(&first));
    let report = String::from_utf8_lossy(&first.stdout);
    assert!(report.contains(&format!("reingested {FAILED_KEY}: 3 documents; file deleted\n  3 had failed with 403: cluster_block_exception: index [weblogs-2026-12-07] blocked by: [FORBIDDEN/8/index write (api)];\n")), "{report}");
    assert!(
        report.contains(&format!(
            "malformed {MALFORMED_KEY}: record 1: rawData is not base64; kept, nothing sent\n"
        )),
        "{report}"
    );
    assert!(
        report.contains(&format!(
            "malformed {PROCESSING_FAILED_KEY}: records the processor refused (they name a lambdaArn)"
        )),
        "{report}"
    );
    assert!(
        report.ends_with(
            "3 files: 1 reingested (3 documents sent), 0 partly, 2 malformed, 0 expired, 0 failed\n"
        ),
        "{report}"
    );
    assert_eq!(setup.delivered(), parsed(&documents), "each document once, as it was");
    assert_eq!(setup.moto.object(BACKUP, FAILED_KEY), None, "the file is handled");
    assert_eq!(setup.moto.object(BACKUP, MALFORMED_KEY), Some(malformed), "kept as it was");
    assert_eq!(setup.moto.object(BACKUP, PROCESSING_FAILED_KEY), Some(refused_lines));

    let second = setup.reingest(&[], &[]);
    assert_eq!(second.status.code(), Some(2), "{}", text(&second));
    assert!(
        String::from_utf8_lossy(&second.stdout).ends_with(
            "2 files: 0 reingested (0 documents sent), 0 partly, 2 malformed, 0 expired, 0 failed\n"
        )
    );
    assert_eq!(setup.delivered(), parsed(&documents), "nothing sent again");
}

#[test]
fn a_file_partly_taken_keeps_only_the_documents_left_until_a_run_sends_them() {
    let setup = Setup::start();
    let documents = documents();
    setup.moto.put_object(BACKUP, FAILED_KEY, &failed_file(&documents));

    // Firehose refuses the second document every time.
    let faulty = FaultyFirehose::start(Faults { fail_always: vec!["/products".into()], ..Faults::default() });
    let faulty_url = faulty.url();
    let output = setup.reingest(
        &[
            ("AWS_ENDPOINT_URL_FIREHOSE", faulty_url.as_str()),
            ("DELIVERY_MAX_ATTEMPTS", "2"),
            ("DELIVERY_BASE_BACKOFF_MS", "1"),
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(report.contains(&format!("partly {FAILED_KEY}: 2 documents delivered, 1 not (")), "{report}");
    assert!(report.contains("the file now holds the 1 left"), "{report}");
    assert_eq!(faulty.observed(|o| o.accepted.len()), 2);
    let left = setup.moto.object(BACKUP, FAILED_KEY).unwrap();
    let left = reingest_failed_documents::FailedFile::parse(&left).unwrap();
    assert_eq!(left.records.len(), 1);
    assert_eq!(left.records[0].document, documents[1].as_bytes(), "only the document not taken");
    assert_eq!(left.records[0].error_code, "403", "with the error it had");

    let healthy = setup.reingest(&[], &[]);
    assert_eq!(healthy.status.code(), Some(0), "{}", text(&healthy));
    assert_eq!(setup.delivered(), parsed(&documents[1..2]), "the one left, once");
    assert_eq!(setup.moto.object(BACKUP, FAILED_KEY), None);
}

#[test]
fn bad_settings_stop_before_the_bucket_is_touched() {
    let output = Command::new(env!("CARGO_BIN_EXE_reingest-failed-documents"))
        .env_clear()
        .env("BACKUP_BUCKET_NAME", BACKUP)
        .env("DELIVERY_STREAM_NAME", "weblogs enriched")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("reingest-failed-documents: invalid DELIVERY_STREAM_NAME"), "{stderr}");
    let output = Command::new(env!("CARGO_BIN_EXE_reingest-failed-documents"))
        .env_clear()
        .env("BACKUP_BUCKET_NAME", BACKUP)
        .env("DELIVERY_STREAM_NAME", DELIVERY_STREAM)
        .env("DELIVERY_MAX_ATTEMPTS", "0")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .starts_with("reingest-failed-documents: invalid DELIVERY_MAX_ATTEMPTS")
    );
}
