//! End to end against real AWS protocols: the built `s3-archive-enricher` binary (real `main`, the
//! real SDK clients) invoked through `LocalRuntimeApi`, reading objects from S3 in a moto server
//! and writing to a DirectPut Firehose stream there, which delivers to S3 at once. Its
//! continuations go to `RecordingLambda`, a stand-in for Lambda's Invoke API that keeps what it is
//! sent (moto cannot run the function), and are then invoked as Lambda would.
#![allow(clippy::unwrap_used)] // a test that cannot set itself up should stop right there

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use test_support::fake_opensearch::{self, FakeOpenSearch};
use test_support::faulty_firehose::{Faults, FaultyFirehose};
use test_support::fixtures::{gzip, latin1_line, log_lines};
use test_support::http::{HttpServer, Response};
use test_support::moto::MotoServer;
use test_support::runtime_api::LocalRuntimeApi;
use test_support::{DemoDatabaseFiles, demo_database_files, repo};

const STREAM: &str = "weblogs-enriched";
const ARCHIVE: &str = "weblogs-archive";
const BACKUP: &str = "weblogs-backup";
/// The key the committed events name (URL-encoded there).
const KEY: &str = "apache/access_log-20261101 (web 1).gz";

/// One Invoke request: its path, its `X-Amz-Invocation-Type` and its payload.
type Invocation = (String, String, Vec<u8>);

/// Lambda's Invoke API as the function uses it: asynchronous invocations, recorded.
struct RecordingLambda {
    server: HttpServer,
    invocations: Arc<Mutex<Vec<Invocation>>>,
}

impl RecordingLambda {
    fn start() -> Self {
        let invocations = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&invocations);
        let server = HttpServer::start(move |request| {
            let invocation_type = request.header("x-amz-invocation-type").unwrap_or("").to_owned();
            recorded.lock().unwrap().push((request.path.clone(), invocation_type, request.body));
            Response::new(202, "").header("Content-Type", "application/json")
        });
        Self { server, invocations }
    }

    fn taken(&self) -> Vec<Invocation> {
        std::mem::take(&mut *self.invocations.lock().unwrap())
    }
}

struct Setup {
    moto: MotoServer,
    lambda: RecordingLambda,
    geoip: DemoDatabaseFiles,
}

impl Setup {
    fn new(name: &str) -> Self {
        let moto = MotoServer::start();
        moto.create_bucket(ARCHIVE);
        moto.create_bucket(BACKUP);
        moto.create_direct_put_stream(STREAM, BACKUP);
        Self { moto, lambda: RecordingLambda::start(), geoip: demo_database_files(name) }
    }

    /// The function, as Lambda runs it, with more (or overriding) variables.
    fn spawn_with(&self, api: &LocalRuntimeApi, variables: &[(&str, &str)]) -> Child {
        Command::new(env!("CARGO_BIN_EXE_s3-archive-enricher"))
            .env_clear()
            .envs(api.lambda_environment("weblogs-s3-archive-enricher"))
            .env("AWS_ENDPOINT_URL", self.moto.url())
            .env("AWS_ENDPOINT_URL_LAMBDA", self.lambda.server.url())
            .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
            .env("AWS_SECRET_ACCESS_KEY", "secret")
            .env("DELIVERY_STREAM_NAME", STREAM)
            .env("GEOIP_CITY_DB", &self.geoip.0)
            .env("GEOIP_ASN_DB", &self.geoip.1)
            .envs(variables.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Runs the function on `events` (each with its time to the deadline), one after the other in
    /// one execution environment; returns the responses and the function's stdout.
    fn invoke(&self, events: &[(&[u8], Duration)]) -> (Vec<Value>, String) {
        self.invoke_with(events, &[])
    }

    /// [`Self::invoke`] with more (or overriding) variables.
    fn invoke_with(&self, events: &[(&[u8], Duration)], variables: &[(&str, &str)]) -> (Vec<Value>, String) {
        let api = LocalRuntimeApi::start();
        let ids: Vec<String> = (0..events.len()).map(|i| format!("request-{i}")).collect();
        for (id, (event, timeout)) in ids.iter().zip(events) {
            api.enqueue_with_timeout(id, event, *timeout);
        }
        let mut child = self.spawn_with(&api, variables);
        let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let responses = api.wait_for(&id_refs, Duration::from_secs(300));
        child.kill().unwrap();
        let output = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let responses = ids.iter().map(|id| serde_json::from_slice(&responses[id]).unwrap()).collect();
        (responses, stdout)
    }

    /// Runs the function on `event`, whose invocation is to fail; returns the error it reports.
    fn invocation_error(&self, event: &[u8], variables: &[(&str, &str)]) -> String {
        let api = LocalRuntimeApi::start();
        api.enqueue("request-0", event);
        let mut child = self.spawn_with(&api, variables);
        let error = api.take_error(Duration::from_secs(120));
        child.kill().unwrap();
        child.wait().unwrap();
        error
    }

    /// Every document Firehose wrote, parsed.
    fn documents(&self) -> Vec<Value> {
        self.moto
            .objects(BACKUP)
            .iter()
            .flat_map(|object| {
                object
                    .split(|&b| b == b'\n')
                    .filter(|d| !d.is_empty())
                    .map(|d| serde_json::from_slice(d).unwrap())
                    .collect::<Vec<Value>>()
            })
            .collect()
    }
}

/// EventBridge's `Object Created` event for `key` of the archive bucket.
fn object_created(key: &str) -> String {
    json!({"source": "aws.s3", "detail-type": "Object Created",
        "detail": {"bucket": {"name": ARCHIVE}, "object": {"key": key}}})
    .to_string()
}

/// `lines` lines of the captured sample log, repeated, and where each one starts.
fn archive_text(lines: usize) -> (Vec<u8>, Vec<u64>) {
    let sample = log_lines("sample");
    let mut text = Vec::new();
    let mut offsets = Vec::with_capacity(lines);
    for line in sample.iter().cycle().take(lines) {
        offsets.push(text.len() as u64);
        text.extend_from_slice(line.as_bytes());
        text.push(b'\n');
    }
    (text, offsets)
}

/// Gzip in two members, as logrotate's `delaycompress` followed by `cat` makes.
fn two_member_gzip(text: &[u8]) -> Vec<u8> {
    let middle = text.len() / 2;
    let split = middle + text[middle..].iter().position(|&b| b == b'\n').unwrap() + 1;
    let mut data = gzip(&text[..split]);
    data.extend(gzip(&text[split..]));
    data
}

/// How many documents each `log.offset` of `path` has.
fn offsets_of(documents: &[Value], path: &str) -> HashMap<u64, usize> {
    let mut counts = HashMap::new();
    for document in documents.iter().filter(|d| d["log"]["file"]["path"] == path) {
        *counts.entry(document["log"]["offset"].as_u64().unwrap()).or_insert(0) += 1;
    }
    counts
}

fn each_once(offsets: &[u64]) -> HashMap<u64, usize> {
    offsets.iter().map(|&offset| (offset, 1)).collect()
}

fn emf_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line.get("_aws").is_some() && line.get("Objects").is_some())
        .collect()
}

#[test]
fn a_100000_line_gzip_archive_from_an_s3_event_arrives_as_100000_documents_each_once() {
    let setup = Setup::new("s3-archive-100k");
    let (text, offsets) = archive_text(100_000);
    setup.moto.put_object(ARCHIVE, KEY, &two_member_gzip(&text));
    let event = std::fs::read(repo("tests/events/s3-object-created.json")).unwrap();
    let (responses, stdout) = setup.invoke(&[(&event, Duration::from_secs(600))]);
    let path = format!("s3://{ARCHIVE}/{KEY}");
    assert_eq!(
        responses[0],
        json!({"results": [{"object": path, "resultCode": "Succeeded", "resultString": format!("100000 lines delivered from {path}")}]}),
        "{stdout}"
    );
    let documents = setup.documents();
    assert_eq!(documents.len(), 100_000);
    assert_eq!(offsets_of(&documents, &path), each_once(&offsets), "every line once, at its offset");
    // The sample's lines, enriched: the first one is a known visitor from the demo databases.
    assert_eq!(documents.iter().filter(|d| d["tags"].to_string().contains("_parse_failure")).count(), 0);
    assert!(documents.iter().any(|d| d["source"]["geo"]["country_iso_code"].is_string()));
    assert!(setup.lambda.taken().is_empty(), "no continuation needed");
    let emf = &emf_lines(&stdout)[0];
    assert_eq!(
        (emf["Events"].as_f64(), emf["Delivered"].as_f64()),
        (Some(100_000.0), Some(100_000.0)),
        "{stdout}"
    );
}

#[test]
fn an_object_stopped_by_the_clock_is_continued_and_every_line_arrives_once() {
    for (name, gzipped) in [("apache/resume-plain.log", false), ("apache/resume.log.gz", true)] {
        let setup = Setup::new("s3-archive-resume");
        let (text, offsets) = archive_text(12_345);
        let body = if gzipped { two_member_gzip(&text) } else { text.clone() };
        setup.moto.put_object(ARCHIVE, name, &body);
        let event = object_created(name);

        // Less time than the reserve (30 s): one batch (every invocation delivers at least one),
        // then the rest is handed on. With just over the reserve, a fast first batch would leave
        // it untouched and a second batch would follow.
        let (responses, stdout) = setup.invoke(&[(event.as_bytes(), Duration::from_secs(10))]);
        assert_eq!(responses[0]["results"][0]["resultCode"], "Succeeded", "{stdout}");
        let text_result = responses[0]["results"][0]["resultString"].as_str().unwrap();
        assert!(text_result.starts_with("5000 lines delivered; the rest"), "{text_result}");
        let invocations = setup.lambda.taken();
        assert_eq!(invocations.len(), 1, "{stdout}");
        let (path, invocation_type, continuation) = &invocations[0];
        assert_eq!(path, "/2015-03-31/functions/weblogs-s3-archive-enricher/invocations?Qualifier=%24LATEST");
        assert_eq!(invocation_type, "Event");
        let parsed: Value = serde_json::from_slice(continuation).unwrap();
        assert_eq!(parsed["continuation"]["offset"], offsets[5_000], "{parsed}");
        assert_eq!(parsed["continuation"]["gzip"], gzipped);
        assert_eq!(parsed["continuation"]["linesBefore"], 5_000);

        // Lambda invokes the continuation.
        let (responses, stdout) = setup.invoke(&[(continuation, Duration::from_secs(600))]);
        let s3_path = format!("s3://{ARCHIVE}/{name}");
        assert_eq!(
            responses[0]["results"][0],
            json!({"object": s3_path, "resultCode": "Succeeded", "resultString": format!("12345 lines delivered from {s3_path}")}),
            "{stdout}"
        );
        assert_eq!(emf_lines(&stdout)[0]["Events"], 7_345.0, "the second invocation reads only the rest");
        assert_eq!(offsets_of(&setup.documents(), &s3_path), each_once(&offsets), "{name}: every line once");
        assert!(setup.lambda.taken().is_empty());
    }
}

/// `DELIVERY=opensearch` against `FakeOpenSearch` (a `_bulk` stand-in: no OpenSearch runs here):
/// an object stopped by the clock and continued, then read again whole (a second S3 event for
/// it), is in the index once per line; documents refused for their content are in the backup
/// bucket's `failed/opensearch-failed/`, not in the index, and not a failure.
#[test]
fn delivering_directly_an_object_continued_then_read_again_is_indexed_once_per_line() {
    let setup = Setup::new("s3-archive-direct");
    let search = FakeOpenSearch::start(fake_opensearch::Faults {
        refuse: vec!["/private/".into()],
        ..fake_opensearch::Faults::default()
    });
    let direct = [
        ("DELIVERY", "opensearch"),
        ("OPENSEARCH_ENDPOINT", &search.url()),
        ("FAILED_DOCUMENTS_BUCKET", BACKUP),
    ];
    let name = "apache/direct.log.gz";
    let (text, offsets) = archive_text(12_345);
    setup.moto.put_object(ARCHIVE, name, &two_member_gzip(&text));
    let event = object_created(name);
    let (responses, stdout) = setup.invoke_with(&[(event.as_bytes(), Duration::from_secs(10))], &direct);
    assert_eq!(responses[0]["results"][0]["resultCode"], "Succeeded", "{stdout}");
    let invocations = setup.lambda.taken();
    assert_eq!(invocations.len(), 1, "{stdout}");
    let (responses, stdout) = setup.invoke_with(&[(&invocations[0].2, Duration::from_secs(600))], &direct);
    assert_eq!(responses[0]["results"][0]["resultCode"], "Succeeded", "{stdout}");
    let refused = log_lines("sample")
        .iter()
        .cycle()
        .take(offsets.len())
        .filter(|line| line.contains("/private/"))
        .count();
    let indexed = search.observed(|seen| {
        assert!(seen.credential_scopes.iter().all(|scope| scope.ends_with("/eu-west-1/es/aws4_request")));
        seen.documents
            .values()
            .map(|document| serde_json::from_slice::<Value>(document).unwrap())
            .collect::<Vec<_>>()
    });
    let s3_path = format!("s3://{ARCHIVE}/{name}");
    assert_eq!(indexed.len(), offsets.len() - refused);
    assert!(offsets_of(&indexed, &s3_path).values().all(|&count| count == 1));

    // The same object again: every line meets its id, nothing is indexed twice.
    let (responses, stdout) = setup.invoke_with(&[(event.as_bytes(), Duration::from_secs(600))], &direct);
    assert_eq!(responses[0]["results"][0]["resultCode"], "Succeeded", "{stdout}");
    let metrics = &emf_lines(&stdout)[0];
    assert_eq!(metrics["AlreadyIndexed"], (offsets.len() - refused) as f64, "{metrics}");
    assert_eq!(search.observed(|seen| seen.documents.len()), offsets.len() - refused);

    // The refused lines, each kept with its error, from the three runs.
    let kept: usize = setup
        .moto
        .keys(BACKUP)
        .iter()
        .filter(|key| key.starts_with("failed/opensearch-failed/"))
        .map(|key| {
            let object = setup.moto.object(BACKUP, key).unwrap();
            let mut text = String::new();
            std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&object[..]), &mut text).unwrap();
            text.lines().filter(|line| line.contains("mapper_parsing_exception")).count()
        })
        .sum();
    assert_eq!(kept, 2 * refused, "kept by the first two runs and by the second reading");
}

#[test]
fn a_batch_operations_job_gets_one_result_per_task_and_damage_keeps_the_lines_before_it() {
    let setup = Setup::new("s3-archive-batch");
    let (text, offsets) = archive_text(1_000);
    let gzipped = gzip(&text);
    let sample = log_lines("sample");
    let latin1 =
        [sample[1].as_bytes(), b"\n", &latin1_line(&sample[0]), b"\n", sample[2].as_bytes(), b"\n"].concat();
    let objects: [(&str, Vec<u8>); 6] = [
        ("apache/good.log.gz", gzipped.clone()),
        ("apache/latin1.log", latin1),
        ("apache/plain.log", text.clone()),
        // Cut in the middle of its deflate data, and with bytes flipped after the start.
        ("apache/truncated.log.gz", gzipped[..gzipped.len() / 2].to_vec()),
        ("apache/corrupt.log.gz", {
            let mut corrupt = gzipped.clone();
            let middle = corrupt.len() / 2;
            corrupt[middle..middle + 64].iter_mut().for_each(|byte| *byte ^= 0x5a);
            corrupt
        }),
        ("apache/photo.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00".repeat(100)),
    ];
    for (key, body) in &objects {
        setup.moto.put_object(ARCHIVE, key, body);
    }
    let keys = [
        "apache/good.log.gz",
        "apache/plain.log",
        "apache/truncated.log.gz",
        "apache/corrupt.log.gz",
        "apache/photo.png",
        "apache/missing.log.gz",
        "apache/latin1.log",
    ];
    let tasks: Vec<Value> = keys
        .iter()
        .enumerate()
        .map(|(i, key)| json!({"taskId": format!("task-{i}"), "s3Bucket": ARCHIVE, "s3Key": key, "s3VersionId": null}))
        .collect();
    let event = json!({"invocationSchemaVersion": "2.0", "invocationId": "aW52b2NhdGlvbg", "job": {"id": "job-1", "userArguments": {}}, "tasks": tasks}).to_string();
    let (responses, stdout) = setup.invoke(&[(event.as_bytes(), Duration::from_secs(600))]);
    let response = &responses[0];
    assert_eq!(response["invocationSchemaVersion"], "2.0");
    assert_eq!(response["invocationId"], "aW52b2NhdGlvbg");
    assert_eq!(response["treatMissingKeysAs"], "PermanentFailure");
    let results = response["results"].as_array().unwrap();
    let codes: Vec<(&str, &str)> =
        results.iter().map(|r| (r["taskId"].as_str().unwrap(), r["resultCode"].as_str().unwrap())).collect();
    assert_eq!(
        codes,
        [
            ("task-0", "Succeeded"),
            ("task-1", "Succeeded"),
            ("task-2", "PermanentFailure"),
            ("task-3", "PermanentFailure"),
            ("task-4", "PermanentFailure"),
            ("task-5", "PermanentFailure"),
            ("task-6", "Succeeded"),
        ],
        "{response}"
    );
    let text_of = |i: usize| results[i]["resultString"].as_str().unwrap();
    assert!(text_of(2).starts_with("gzip data corrupt or truncated"), "{}", text_of(2));
    assert!(text_of(4).starts_with("not a text log: a NUL byte at offset 8"), "{}", text_of(4));
    assert!(text_of(5).contains("does not exist (NoSuchKey)"), "{}", text_of(5));

    let documents = setup.documents();
    let path = |key: &str| format!("s3://{ARCHIVE}/{key}");
    assert_eq!(offsets_of(&documents, &path("apache/good.log.gz")), each_once(&offsets));
    assert_eq!(offsets_of(&documents, &path("apache/plain.log")), each_once(&offsets));
    // Truncated: the lines before the cut, each once, from the first (the last may be a part of
    // a line).
    let delivered = offsets_of(&documents, &path("apache/truncated.log.gz"));
    assert!(!delivered.is_empty() && delivered.len() < offsets.len(), "{} lines", delivered.len());
    assert_eq!(delivered, each_once(&offsets[..delivered.len()]));
    assert!(
        text_of(2).ends_with(&format!("; {} lines before it delivered", delivered.len())),
        "{}",
        text_of(2)
    );
    // Corrupt inside: deflate has no check before the member's CRC, so what it decoded up to there
    // is delivered (the garbage as parse failures), each line once; the report says how many.
    let delivered = offsets_of(&documents, &path("apache/corrupt.log.gz"));
    assert!(delivered.values().all(|&count| count == 1) && delivered.get(&0) == Some(&1));
    assert!(
        text_of(3).ends_with(&format!("; {} lines before it delivered", delivered.len())),
        "{}",
        text_of(3)
    );
    assert_eq!(
        offsets_of(&documents, &path("apache/photo.png")).len(),
        0,
        "a binary object makes no documents"
    );

    let emf = &emf_lines(&stdout)[0];
    let metric = |name: &str| emf[name].as_f64().unwrap();
    // One line that is not UTF-8 among good ones: a document of its own, like its neighbours.
    let latin1: Vec<&Value> =
        documents.iter().filter(|d| d["log"]["file"]["path"] == path("apache/latin1.log")).collect();
    assert_eq!(latin1.len(), 3);
    assert!(
        latin1.iter().all(|d| d["error"].is_null() && d["http"]["request"]["method"] == "GET"),
        "{latin1:?}"
    );
    assert_eq!(
        latin1.iter().filter(|d| d["url"]["original"].as_str().unwrap().starts_with(r"/caf\xe9/")).count(),
        1
    );
    assert_eq!((metric("Objects"), metric("FailedObjects")), (7.0, 4.0));
    assert_eq!(
        (metric("MissingObjects"), metric("UnreadableObjects"), metric("DamagedObjects")),
        (1.0, 1.0, 2.0),
        "{stdout}"
    );
}

#[test]
fn the_committed_events_answer_in_their_shapes() {
    let setup = Setup::new("s3-archive-batch-events");
    let (text, _) = archive_text(400);
    setup.moto.put_object(ARCHIVE, KEY, &gzip(&text));
    for (file, version) in [("s3-batch-operations-1.0.json", "1.0"), ("s3-batch-operations-2.0.json", "2.0")]
    {
        let event = std::fs::read(repo(&format!("tests/events/{file}"))).unwrap();
        let (responses, stdout) = setup.invoke(&[(&event, Duration::from_secs(600))]);
        let response = &responses[0];
        assert_eq!(response["invocationSchemaVersion"], version, "{stdout}");
        let results = response["results"].as_array().unwrap();
        assert_eq!(results.len(), 2);
        assert_eq!(results[0]["resultCode"], "Succeeded");
        assert_eq!(results[0]["resultString"], format!("400 lines delivered from s3://{ARCHIVE}/{KEY}"));
        assert_eq!(results[1]["resultCode"], "PermanentFailure", "the second task's object is not there");
    }
    let path = format!("s3://{ARCHIVE}/{KEY}");
    let delivered = json!({"object": path, "resultCode": "Succeeded", "resultString": format!("400 lines delivered from {path}")});
    // SQS: the S3 notification and S3's test message; nothing for SQS to deliver again.
    let event = std::fs::read(repo("tests/events/s3-sqs-object-created.json")).unwrap();
    let (responses, stdout) = setup.invoke(&[(&event, Duration::from_secs(600))]);
    assert_eq!(responses[0], json!({"results": [delivered], "batchItemFailures": []}), "{stdout}");
    // A message that is no S3 notification among them: reported alone, the others read.
    let mut poisoned: Value = serde_json::from_slice(&event).unwrap();
    let mut stray = poisoned["Records"][0].clone();
    stray["messageId"] = "stray-message".into();
    stray["body"] = "hello from another producer".into();
    poisoned["Records"].as_array_mut().unwrap().insert(0, stray);
    let (responses, stdout) = setup.invoke(&[(poisoned.to_string().as_bytes(), Duration::from_secs(600))]);
    assert_eq!(
        responses[0],
        json!({"results": [delivered], "batchItemFailures": [{"itemIdentifier": "stray-message"}]}),
        "{stdout}"
    );
    assert_eq!(emf_lines(&stdout)[0]["UnreadableMessages"], 1.0, "{stdout}");
    let event = std::fs::read(repo("tests/events/s3-eventbridge-object-created.json")).unwrap();
    let (responses, stdout) = setup.invoke(&[(&event, Duration::from_secs(600))]);
    assert_eq!(responses[0], json!({"results": [delivered]}), "{stdout}");
    // Five runs over the object: each line five times, at its own offset.
    assert!(offsets_of(&setup.documents(), &path).values().all(|&count| count == 5));
}

#[test]
fn an_object_that_cannot_be_read_now_fails_the_asynchronous_invocation_for_lambda_to_retry() {
    // A bucket that does not answer (nothing listens): nothing is delivered, and Lambda is told.
    let setup = Setup::new("s3-archive-unreachable");
    let api = LocalRuntimeApi::start();
    let event = std::fs::read(repo("tests/events/s3-object-created.json")).unwrap();
    api.enqueue("request-0", &event);
    let mut child = Command::new(env!("CARGO_BIN_EXE_s3-archive-enricher"))
        .env_clear()
        .envs(api.lambda_environment("weblogs-s3-archive-enricher"))
        .env("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")
        .env("AWS_ENDPOINT_URL", setup.moto.url())
        .env("AWS_ENDPOINT_URL_LAMBDA", setup.lambda.server.url())
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .env("DELIVERY_STREAM_NAME", STREAM)
        .env("GEOIP_OPTIONAL", "true")
        .env("GEOIP_CITY_DB", "/nonexistent/City.mmdb")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let error = api.take_error(Duration::from_secs(120));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(error.contains("/invocation/request-0/error"), "{error}");
    assert!(error.contains(&format!("s3://{ARCHIVE}/{KEY}")), "{error}");
    assert!(error.contains("nothing delivered from byte 0, worth another attempt"), "{error}");
    assert!(setup.lambda.taken().is_empty(), "nothing to continue: Lambda retries the event itself");
}

#[test]
fn a_line_firehose_keeps_refusing_stops_the_object_there_and_the_rest_goes_on_from_it() {
    let setup = Setup::new("s3-archive-refused");
    // Line 7,000 of the object is one that Firehose refuses every time (FaultyFirehose, a fake:
    // neither Firehose nor moto refuses entries on demand).
    let (mut text, mut offsets) = archive_text(7_000);
    offsets.push(text.len() as u64);
    text.extend_from_slice(b"203.0.113.9 - - [01/Nov/2026:10:00:00 +0000] \"GET /refused-by-firehose HTTP/1.1\" 200 5 \"-\" \"curl/8.5.0\"\n");
    let (rest, rest_offsets) = archive_text(5_344);
    let base = text.len() as u64;
    text.extend_from_slice(&rest);
    offsets.extend(rest_offsets.iter().map(|offset| base + offset));
    let key = "apache/refused.log.gz";
    setup.moto.put_object(ARCHIVE, key, &gzip(&text));
    let firehose = FaultyFirehose::start(Faults {
        fail_always: vec!["refused-by-firehose".into()],
        ..Faults::default()
    });
    let variables = [
        ("AWS_ENDPOINT_URL_FIREHOSE", firehose.url()),
        ("DELIVERY_MAX_ATTEMPTS", "2".into()),
        ("DELIVERY_BASE_BACKOFF_MS", "1".into()),
    ];
    let variables: Vec<(&str, &str)> =
        variables.iter().map(|(name, value)| (*name, value.as_str())).collect();
    let event = object_created(key);

    let api = LocalRuntimeApi::start();
    api.enqueue("request-0", event.as_bytes());
    let mut child = setup.spawn_with(&api, &variables);
    let response: Value =
        serde_json::from_slice(&api.wait_for(&["request-0"], Duration::from_secs(120))["request-0"]).unwrap();
    let result = &response["results"][0];
    assert_eq!(result["resultCode"], "Succeeded", "{response}");
    let result_string = result["resultString"].as_str().unwrap();
    assert!(
        result_string.starts_with(
            "7000 lines delivered, then: 1 documents not delivered: ServiceUnavailableException"
        ),
        "{result_string}"
    );
    assert!(
        result_string
            .ends_with(&format!("the rest (from byte {}) continues in another invocation", offsets[7_000])),
        "{result_string}"
    );
    let invocations = setup.lambda.taken();
    let continuation: Value = serde_json::from_slice(&invocations[0].2).unwrap();
    assert_eq!(continuation["continuation"]["offset"], offsets[7_000]);
    assert_eq!(continuation["continuation"]["linesBefore"], 7_000);
    // The batch's lines after the refused one got through; the continuation sends them again
    // (at-least-once, findable by log.offset).
    let delivered = |firehose: &FaultyFirehose| {
        let mut counts: HashMap<u64, usize> = HashMap::new();
        firehose.observed(|observed| {
            for entry in &observed.accepted {
                let document: Value = serde_json::from_slice(entry).unwrap();
                *counts.entry(document["log"]["offset"].as_u64().unwrap()).or_insert(0) += 1;
            }
        });
        counts
    };
    let mut expected_once: HashMap<u64, usize> = each_once(&offsets[..10_000]);
    expected_once.remove(&offsets[7_000]);
    assert_eq!(delivered(&firehose), expected_once);

    // The continuation meets the same line first: nothing of it delivered, so the invocation fails
    // for Lambda to retry it (and then keep it in the on-failure queue).
    api.enqueue("request-1", &invocations[0].2);
    let error = api.take_error(Duration::from_secs(120));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(error.contains("/invocation/request-1/error"), "{error}");
    assert!(
        error.contains(&format!("nothing delivered from byte {}, worth another attempt", offsets[7_000])),
        "{error}"
    );
    assert!(setup.lambda.taken().is_empty(), "no continuation without progress");
}

/// Firehose answers the first batch's ten calls, then hangs (FaultyFirehose, a fake: moto always
/// answers). The hung call is cut off before the reserve for continuing, and the object is
/// continued from its first undelivered line well before Lambda's timeout.
#[test]
fn a_hung_firehose_ends_in_a_continuation_before_the_timeout() {
    let setup = Setup::new("s3-archive-hung");
    let (text, offsets) = archive_text(12_000);
    let key = "apache/hung.log.gz";
    setup.moto.put_object(ARCHIVE, key, &gzip(&text));
    let firehose = FaultyFirehose::start(Faults { hang_after_calls: Some(10), ..Faults::default() });
    let firehose_url = firehose.url();
    let variables = [("AWS_ENDPOINT_URL_FIREHOSE", firehose_url.as_str())];
    let event = object_created(key);
    let timeout = Duration::from_secs(40);
    let started = std::time::Instant::now();
    let (responses, _) = setup.invoke_with(&[(event.as_bytes(), timeout)], &variables);
    let elapsed = started.elapsed();
    assert!(elapsed < timeout, "answered after {elapsed:?}");
    let response = &responses[0];
    let result = &response["results"][0];
    assert_eq!(result["resultCode"], "Succeeded", "{response}");
    let result_string = result["resultString"].as_str().unwrap();
    assert!(result_string.contains("no answer within the invocation's time"), "{result_string}");
    let invocations = setup.lambda.taken();
    assert_eq!(invocations.len(), 1, "one continuation");
    let continuation: Value = serde_json::from_slice(&invocations[0].2).unwrap();
    assert_eq!(continuation["continuation"]["offset"], offsets[5_000]);
    assert_eq!(continuation["continuation"]["linesBefore"], 5_000);
    assert_eq!(firehose.observed(|o| o.accepted.len()), 5_000);
}

/// With less than the continuing reserve left after its first object, an invocation starts no
/// other: each is continued from its start in another invocation, with time for the Invoke calls.
/// (The first is read whatever the time, so that even a short invocation gets somewhere.)
#[test]
fn objects_not_started_for_lack_of_time_are_continued_from_their_start() {
    let setup = Setup::new("s3-archive-no-time");
    let (text, offsets) = archive_text(10);
    let keys = ["apache/a.log", "apache/b.log", "apache/c.log.gz"];
    setup.moto.put_object(ARCHIVE, keys[0], &text);
    setup.moto.put_object(ARCHIVE, keys[1], &text);
    setup.moto.put_object(ARCHIVE, keys[2], &gzip(&text));
    let records: Vec<Value> = keys
        .iter()
        .map(|key| {
            json!({"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
            "s3": {"bucket": {"name": ARCHIVE}, "object": {"key": key}}})
        })
        .collect();
    let event = json!({ "Records": records }).to_string();
    let (responses, stdout) = setup.invoke(&[(event.as_bytes(), Duration::from_secs(20))]);
    let results = responses[0]["results"].as_array().unwrap();
    assert_eq!(results[0]["resultString"], format!("10 lines delivered from s3://{ARCHIVE}/{}", keys[0]));
    for (result, key) in results[1..].iter().zip(&keys[1..]) {
        assert_eq!(result["object"], format!("s3://{ARCHIVE}/{key}"));
        assert_eq!(result["resultCode"], "Succeeded", "{stdout}");
        assert_eq!(
            result["resultString"],
            "0 lines delivered; the rest (from byte 0 of the text) continues in another invocation"
        );
    }
    let invocations = setup.lambda.taken();
    assert_eq!(invocations.len(), 2);
    for ((_, _, payload), key) in invocations.iter().zip(&keys[1..]) {
        let continuation: Value = serde_json::from_slice(payload).unwrap();
        assert_eq!(continuation["continuation"]["key"], *key);
        assert_eq!(continuation["continuation"]["offset"], 0);
    }
    let documents = setup.documents();
    assert_eq!(offsets_of(&documents, &format!("s3://{ARCHIVE}/{}", keys[0])), each_once(&offsets));
    assert_eq!(documents.len(), 10, "only the first object read");
}

/// Two delivery streams, one of which does not exist in moto (a typo in DELIVERY_STREAM_NAME):
/// moto refuses its calls, and its lines go to the stream that works. The object is read to its
/// end, every line once; the metric and a WARN tell.
#[test]
fn a_stream_that_refuses_among_two_costs_no_line() {
    let setup = Setup::new("s3-archive-two-streams");
    let (text, offsets) = archive_text(12_000);
    let key = "apache/two-streams.log.gz";
    setup.moto.put_object(ARCHIVE, key, &gzip(&text));
    let event = object_created(key);
    let streams = format!("{STREAM},weblogs-typo");
    let (responses, stdout) = setup.invoke_with(
        &[(event.as_bytes(), Duration::from_secs(120))],
        &[("DELIVERY_STREAM_NAME", streams.as_str())],
    );
    let response = &responses[0];
    let path = format!("s3://{ARCHIVE}/{key}");
    assert_eq!(
        response["results"][0],
        json!({"object": path, "resultCode": "Succeeded", "resultString": format!("12000 lines delivered from {path}")})
    );
    assert_eq!(offsets_of(&setup.documents(), &path), each_once(&offsets));
    let emf = &emf_lines(&stdout)[0];
    assert_eq!(emf["ReroutedEntries"], 6_000.0, "every other line: {emf}");
    assert!(stdout.contains("a delivery stream did not take its entries"), "{stdout}");
}

/// A continuation whose object was replaced since its first part was read (moto answers the
/// `If-Match` with 412) cannot go on: the invocation fails with the object and the offset, so
/// Lambda keeps the event in the on-failure queue rather than the rest vanishing into a log line.
#[test]
fn a_continuation_that_cannot_go_on_fails_its_invocation_with_its_offset() {
    let setup = Setup::new("s3-archive-changed");
    let (text, _) = archive_text(100);
    let key = "apache/replaced.log";
    setup.moto.put_object(ARCHIVE, key, &text);
    let continuation = json!({"continuation": {"bucket": ARCHIVE, "key": key,
        "etag": "\"0123456789abcdef0123456789abcdef\"", "gzip": false, "offset": 4096, "linesBefore": 20}})
    .to_string();
    let error = setup.invocation_error(continuation.as_bytes(), &[]);
    assert!(error.contains("/invocation/request-0/error"), "{error}");
    assert!(error.contains(&format!("continuing s3://{ARCHIVE}/{key} from byte 4096: ")), "{error}");
    assert!(error.contains("changed since it was first read"), "{error}");
    assert!(setup.lambda.taken().is_empty());
}

/// With `CONTINUATION_CLAIMS`, a continuation sent twice (an `Invoke` retried after its attempt
/// timed out, or Lambda's queue handing an event over twice) is read once: the first invocation
/// claims it with a conditional write to moto's S3, the copy finds the claim and leaves the object
/// alone. A claim whose holder's deadline passed (it died) is taken over; one still running is not;
/// a continuation that fails gives its claim up for the retry.
#[test]
fn a_continuation_sent_twice_is_read_once() {
    let setup = Setup::new("s3-archive-claims");
    setup.moto.create_bucket("weblogs-claims");
    let claims = [("CONTINUATION_CLAIMS", "s3://weblogs-claims/continuations")];
    let (text, offsets) = archive_text(12_345);
    let key = "apache/claimed.log.gz";
    setup.moto.put_object(ARCHIVE, key, &gzip(&text));
    let event = object_created(key);
    let (_, stdout) = setup.invoke_with(&[(event.as_bytes(), Duration::from_secs(10))], &claims);
    let invocations = setup.lambda.taken();
    assert_eq!(invocations.len(), 1, "{stdout}");
    let continuation = invocations[0].2.clone();
    let id = serde_json::from_slice::<Value>(&continuation).unwrap()["continuation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(id.len(), 32, "{id}");

    // The continuation and its copy, one after the other.
    let (responses, stdout) = setup.invoke_with(
        &[(&continuation, Duration::from_secs(600)), (&continuation, Duration::from_secs(600))],
        &claims,
    );
    let path = format!("s3://{ARCHIVE}/{key}");
    assert_eq!(responses[0]["results"][0]["resultString"], format!("12345 lines delivered from {path}"));
    assert_eq!(
        responses[1]["results"][0]["resultString"],
        format!("continuation {id} (from byte {}) is a copy: already read", offsets[5_000])
    );
    assert_eq!(offsets_of(&setup.documents(), &path), each_once(&offsets), "every line once");
    assert_eq!(emf_lines(&stdout)[1]["DuplicateContinuations"], 1.0);
    let marker = |id: &str| setup.moto.object("weblogs-claims", &format!("continuations/{id}"));
    assert_eq!(marker(&id).as_deref(), Some(&b"done"[..]));

    // A claim held by an invocation that is still running: the copy leaves it alone. One whose
    // holder's deadline passed: taken over and read.
    let holder = |id: &str, until_ms: u128| {
        let body = format!("running until {until_ms}");
        setup.moto.put_object("weblogs-claims", &format!("continuations/{id}"), body.as_bytes());
    };
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
    let with_id = |id: &str| {
        let mut value: Value = serde_json::from_slice(&continuation).unwrap();
        value["continuation"]["id"] = id.into();
        value.to_string().into_bytes()
    };
    holder("running", now_ms + 600_000);
    holder("dead", now_ms - 1_000);
    let (running, dead) = (with_id("running"), with_id("dead"));
    let (responses, _) = setup
        .invoke_with(&[(&running, Duration::from_secs(600)), (&dead, Duration::from_secs(600))], &claims);
    assert!(
        responses[0]["results"][0]["resultString"]
            .as_str()
            .unwrap()
            .ends_with("is a copy: another invocation is reading it")
    );
    assert_eq!(responses[1]["results"][0]["resultString"], format!("12345 lines delivered from {path}"));
    assert_eq!(marker("dead").as_deref(), Some(&b"done"[..]));

    // A continuation that fails (the object replaced since) gives its claim up.
    setup.moto.put_object(ARCHIVE, key, b"replaced\n");
    let error = setup.invocation_error(&with_id("failing"), &claims);
    assert!(error.contains("changed since it was first read"), "{error}");
    assert_eq!(marker("failing"), None, "released for the retry");
}

#[test]
fn an_application_load_balancer_log_object_arrives_line_by_line_under_auto() {
    let setup = Setup::new("s3-archive-alb");
    // As an ALB names its objects; the lines are AWS's examples and the edge cases, repeated.
    let key = "alb/AWSLogs/123456789012/elasticloadbalancing/eu-west-1/2026/11/21/123456789012_elasticloadbalancing_eu-west-1_app.shop-alb.50dc6c495c0c9188_20261121T0540Z_10.0.1.20_2x8gmsg4.log.gz";
    let mut lines = std::fs::read_to_string(repo("tests/data/alb/aws-docs-examples.log")).unwrap();
    lines.push_str(&std::fs::read_to_string(repo("tests/data/alb/edge-cases.log")).unwrap());
    let text = lines.repeat(100);
    let offsets: Vec<u64> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(at, _)| at as u64 + 1))
        .filter(|&offset| offset < text.len() as u64)
        .collect();
    assert_eq!(offsets.len(), 1_200);
    setup.moto.put_object(ARCHIVE, key, &gzip(text.as_bytes()));
    let (responses, stdout) = setup.invoke(&[(object_created(key).as_bytes(), Duration::from_secs(300))]);
    let path = format!("s3://{ARCHIVE}/{key}");
    assert_eq!(responses[0]["results"][0]["resultCode"], "Succeeded", "{stdout}");
    let documents = setup.documents();
    assert_eq!(offsets_of(&documents, &path), each_once(&offsets), "every line once, at its offset");
    assert!(documents.iter().all(|d| d["event"]["dataset"] == "aws.elb_logs" && d.get("tags").is_none()));
    assert!(documents.iter().any(|d| d["aws"]["elb"]["classification"] == "Acceptable"));
}

/// A CloudFront standard log object (two files joined, as `cat a.gz b.gz` makes them: a legacy
/// file and a v2 file with its own fields), stopped by the clock: the continuation carries the
/// `#Fields:` header in force, so the next invocation reads the rest by it, and every request
/// arrives once; the header lines give no documents.
#[test]
fn a_cloudfront_standard_log_object_is_read_by_its_headers_across_a_continuation() {
    let setup = Setup::new("s3-archive-cloudfront");
    let key = "cloudfront/E2EXAMPLE1ABCD.2026-11-21-05.a1b2c3d4.gz";
    let file = |name: &str, copies: usize| {
        let text = std::fs::read_to_string(repo(&format!("tests/data/cloudfront/{name}"))).unwrap();
        let (header, lines): (Vec<&str>, Vec<&str>) = text.lines().partition(|line| line.starts_with('#'));
        let lines = lines.iter().map(|line| format!("{line}\n")).collect::<String>().repeat(copies);
        header.iter().map(|line| format!("{line}\n")).collect::<String>() + &lines
    };
    let (legacy, v2) = (file("standard-legacy.log", 1_500), file("standard-v2.log", 500));
    let text = format!("{legacy}{v2}");
    let mut offsets = Vec::new();
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        if !line.starts_with('#') {
            offsets.push(at as u64);
        }
        at += line.len();
    }
    assert_eq!(offsets.len(), 7_000);
    setup.moto.put_object(ARCHIVE, key, &[gzip(legacy.as_bytes()), gzip(v2.as_bytes())].concat());

    let (responses, stdout) = setup.invoke(&[(object_created(key).as_bytes(), Duration::from_secs(10))]);
    assert_eq!(responses[0]["results"][0]["resultCode"], "Succeeded", "{stdout}");
    assert_eq!(emf_lines(&stdout)[0]["HeaderLines"], 2.0, "{stdout}");
    let invocations = setup.lambda.taken();
    assert_eq!(invocations.len(), 1, "{stdout}");
    let continuation: Value = serde_json::from_slice(&invocations[0].2).unwrap();
    assert_eq!(continuation["continuation"]["offset"], offsets[5_000]);
    assert_eq!(continuation["continuation"]["header"], legacy.lines().nth(1).unwrap());

    let (responses, stdout) = setup.invoke(&[(invocations[0].2.as_slice(), Duration::from_secs(600))]);
    let path = format!("s3://{ARCHIVE}/{key}");
    assert_eq!(
        responses[0]["results"][0]["resultString"],
        format!("7000 lines delivered from {path}"),
        "{stdout}"
    );
    assert_eq!(emf_lines(&stdout)[0]["HeaderLines"], 2.0, "the second file's header");
    let documents = setup.documents();
    assert_eq!(offsets_of(&documents, &path), each_once(&offsets), "every request once, at its offset");
    assert!(
        documents.iter().all(|d| d["event"]["dataset"] == "aws.cloudfront_logs" && d.get("tags").is_none())
    );
    let v2_times =
        documents.iter().filter(|d| d["@timestamp"].as_str().unwrap().starts_with("2025-")).count();
    assert_eq!(v2_times, 1_000, "the v2 file's lines read by its own header");
}
