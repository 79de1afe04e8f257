//! The built `firehose-transformer` binary, real `main` and all, driven through the Lambda Runtime
//! API by `LocalRuntimeApi`, an in-test stand-in for Lambda's own endpoint on 127.0.0.1 (the real
//! service cannot run here). Its answers must equal the library handler's, it must write one EMF
//! line per invocation, and a gzip bomb must not raise its peak memory.
#![allow(clippy::unwrap_used)] // a test that cannot set itself up should stop right there

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod support;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use firehose_transformer::event::TransformationRequest;
use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::{Value, json};
use test_support::runtime_api::LocalRuntimeApi;
use test_support::{DemoDatabaseFiles, demo_database_files, repo};

fn spawn_function(api: &LocalRuntimeApi, env: &[(&str, &Path)], extra: &[(&str, &str)]) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_firehose-transformer"));
    command
        .env_clear()
        .envs(api.lambda_environment("firehose-transformer"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, path) in env {
        command.env(name, path);
    }
    command.envs(extra.iter().copied());
    command.spawn().unwrap()
}

/// Peak resident memory of a process, from /proc.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// 1 GiB of zeros in ~1 MiB of gzip, in a Firehose request of its own.
fn gzip_bomb_event() -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    std::io::copy(&mut std::io::repeat(0).take(1 << 30), &mut encoder).unwrap();
    let bomb = encoder.finish().unwrap();
    let event = json!({
        "invocationId": "bomb",
        "deliveryStreamArn": "arn:aws:firehose:eu-west-1:123456789012:deliverystream/weblogs-enriched",
        "region": "eu-west-1",
        "records": [{"recordId": "bomb-1", "approximateArrivalTimestamp": 1_795_239_470_000_i64, "data": BASE64.encode(bomb)}],
    });
    serde_json::to_vec(&event).unwrap()
}

#[test]
fn the_binary_answers_like_the_handler_through_the_runtime_api() {
    let DemoDatabaseFiles(city, asn, _dir) = demo_database_files("firehose-runtime-api");
    let api = LocalRuntimeApi::start();
    let names = [
        "firehose-apache-lines.json",
        "firehose-kinesis-agent-json.json",
        "firehose-cloudwatch-logs.json",
        "firehose-bad-records.json",
    ];
    let ids = ["request-0", "request-1", "request-2", "request-3"];
    for (id, name) in ids.iter().zip(names) {
        api.enqueue(id, &std::fs::read(repo(&format!("tests/events/{name}"))).unwrap());
    }
    let mut child = spawn_function(&api, &[("GEOIP_CITY_DB", &city), ("GEOIP_ASN_DB", &asn)], &[]);
    let responses = api.wait_for(&ids, Duration::from_secs(60));
    let before_bomb = peak_rss_kib(child.id());
    api.enqueue("request-bomb", &gzip_bomb_event());
    let bomb_response = api.wait_for(&["request-bomb"], Duration::from_secs(60))["request-bomb"].clone();
    let after_bomb = peak_rss_kib(child.id());
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();

    // The same answers as the library handler gives in-process, byte for byte, and JSON.
    let mut handler = support::demo_transformer();
    for (id, name) in ids.iter().zip(names) {
        let json = std::fs::read(repo(&format!("tests/events/{name}"))).unwrap();
        let event: TransformationRequest = serde_json::from_slice(&json).unwrap();
        let expected = handler.handle(&event).0;
        assert_eq!(std::str::from_utf8(&responses[*id]).unwrap(), expected.json(), "{name}");
        serde_json::from_slice::<Value>(&responses[*id]).unwrap();
    }

    // The bomb: ProcessingFailed, and no more memory than before it (well under the 128 MB function).
    let bomb: Value = serde_json::from_slice(&bomb_response).unwrap();
    assert_eq!(bomb["records"][0]["result"], "ProcessingFailed");
    assert!(after_bomb < 64 * 1024, "peak RSS {after_bomb} KiB after the bomb (before: {before_bomb} KiB)");
    eprintln!("peak RSS before the bomb {before_bomb} KiB, after {after_bomb} KiB");

    // At start-up, one EMF line with the databases' ages (the demo ones are built 2026-11-01).
    let stdout = String::from_utf8(output.stdout).unwrap();
    let mut emf: Vec<Value> = stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|value| value.get("_aws").is_some())
        .collect();
    let startup = emf.remove(0);
    let expected_age =
        (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64()
            - 1_793_491_200.0)
            / 86_400.0;
    for metric in ["GeoIpCityDatabaseAgeDays", "GeoIpAsnDatabaseAgeDays"] {
        let age = startup[metric].as_f64().unwrap();
        assert!((age - expected_age).abs() < 0.01, "{metric} {age}, expected {expected_age}");
    }
    assert_eq!(
        startup["_aws"]["CloudWatchMetrics"][0]["Metrics"][0],
        json!({"Name": "GeoIpCityDatabaseAgeDays", "Unit": "None"})
    );
    assert!(stdout.contains("GeoIP City database "), "the ages are logged too: {stdout}");
    // Then one EMF line per invocation, with the counts of each request.
    let records_in: Vec<f64> = emf.iter().map(|m| m["RecordsIn"].as_f64().unwrap()).collect();
    assert_eq!(records_in, [12.0, 5.0, 3.0, 8.0, 1.0], "{stdout}");
    assert_eq!(emf[3]["MultiEventRecords"], 1.0);
    assert_eq!(emf[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"], "WeblogEnrichment");
    // And one INFO summary per invocation, as JSON (AWS_LAMBDA_LOG_FORMAT=JSON).
    let summaries = stdout
        .lines()
        .filter(|line| line.contains("\"invocation\"") && line.contains("\"records_in\""))
        .count();
    assert_eq!(summaries, 5, "{stdout}");
}

/// An event that is not a transformation request fails that invocation alone (Lambda records the
/// error; Firehose retries the batch, then keeps it as processing-failed); the next is answered.
#[test]
fn an_event_that_is_not_a_request_fails_that_invocation_only() {
    let DemoDatabaseFiles(city, asn, _dir) = demo_database_files("firehose-bad-event");
    let api = LocalRuntimeApi::start();
    api.enqueue("truncated", br#"{"records":[{"recordId":"1","data":"#);
    api.enqueue("not-a-list", br#"{"records":"ZGF0YQ=="}"#);
    api.enqueue("good", &std::fs::read(repo("tests/events/firehose-apache-lines.json")).unwrap());
    let mut child = spawn_function(&api, &[("GEOIP_CITY_DB", &city), ("GEOIP_ASN_DB", &asn)], &[]);
    for id in ["truncated", "not-a-list"] {
        let error = api.take_error(Duration::from_secs(60));
        assert!(error.starts_with(&format!("POST /2018-06-01/runtime/invocation/{id}/error")), "{error}");
        assert!(
            error.contains("failed to deserialize the incoming data into the function's payload type"),
            "{error}"
        );
    }
    let good: Value =
        serde_json::from_slice(&api.wait_for(&["good"], Duration::from_secs(60))["good"]).unwrap();
    assert_eq!(good["records"].as_array().unwrap().len(), 12);
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn a_bad_setting_stops_the_function_with_the_setting_named() {
    let api = LocalRuntimeApi::start();
    let mut child = spawn_function(&api, &[], &[("LOG_FORMAT", "combinded"), ("GEOIP_OPTIONAL", "true")]);
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the function kept running with a bad setting");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(!status.success());
    let mut logs = String::new();
    child.stdout.take().unwrap().read_to_string(&mut logs).unwrap();
    child.stderr.take().unwrap().read_to_string(&mut logs).unwrap();
    assert!(logs.contains("invalid LOG_FORMAT (--format) value \\\"combinded\\\""), "{logs}");
}
