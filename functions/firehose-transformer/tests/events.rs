//! tests/events/firehose-*.json: Firehose transformation requests built from the captured Apache
//! logs in tests/data/, in the shape Firehose sends (a Kinesis stream as source). They are committed
//! for `cargo lambda invoke --data-file`; this test fails when they drift from what this generator
//! makes. Regenerate with `UPDATE_EVENTS=1 cargo test -p firehose-transformer --test events`.
#![allow(clippy::unwrap_used)] // a test that cannot read its fixtures should stop right there

use std::io::Read;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::{Value, json};
use test_support::fixtures::{
    ARRIVAL_MS, agent_json_record, cloudwatch_envelope, latin1_line, line_record, log_lines, sync_events,
};

/// A request whose records carry `payloads`, with Firehose's field names and id formats.
fn firehose_request(invocation: u32, payloads: &[Vec<u8>]) -> Value {
    let records: Vec<Value> = payloads
        .iter()
        .enumerate()
        .map(|(index, data)| {
            let sequence = format!("4965{invocation:04}{:046}", index * 7919 + 1);
            json!({
                "recordId": format!("{sequence}000000"),
                "approximateArrivalTimestamp": ARRIVAL_MS + index as i64,
                "data": BASE64.encode(data),
                "kinesisRecordMetadata": {
                    "shardId": "shardId-000000000000",
                    "partitionKey": format!("{:032x}", u128::from(invocation) * 1_000_003 + index as u128),
                    "approximateArrivalTimestamp": ARRIVAL_MS + index as i64,
                    "sequenceNumber": sequence,
                    "subsequenceNumber": 0,
                },
            })
        })
        .collect();
    json!({
        "invocationId": format!("3a1c5c4e-8f5d-4b7e-9a51-{invocation:012}"),
        "deliveryStreamArn": "arn:aws:firehose:eu-west-1:123456789012:deliverystream/weblogs-enriched",
        "sourceKinesisStreamArn": "arn:aws:kinesis:eu-west-1:123456789012:stream/weblogs",
        "region": "eu-west-1",
        "records": records,
    })
}

/// 16 MiB of zeros gzipped to ~16 KiB: over the 4 MiB decompression cap.
fn gzip_bomb() -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    std::io::copy(&mut std::io::repeat(0).take(16 * 1024 * 1024), &mut encoder).unwrap();
    encoder.finish().unwrap()
}

/// Every committed event: (file name, request).
fn events() -> Vec<(&'static str, Value)> {
    let combined = log_lines("combined");
    let sample = log_lines("sample");
    let pick = |needle: &str| combined.iter().find(|line| line.contains(needle)).unwrap().clone();
    let apache_lines: Vec<Vec<u8>> = [
        sample[1].clone(),
        sample[2].clone(),
        sample.iter().find(|l| l.starts_with("2a02:")).unwrap().clone(),
        sample.iter().find(|l| l.starts_with("50.114.0.7")).unwrap().clone(),
        pick("Googlebot"),
        pick(r#""\x16\x03\x01""#),
        pick(r#""garbage""#),
        pick(r#""GET /" 200"#),
        pick("Caf\\xe9Browser"),
        pick("L\\xc3\\xa4ufer"),
        pick("alice"),
        pick("CONNECT "),
    ]
    .iter()
    .map(|line| line_record(line))
    .collect();
    let agent_json: Vec<Vec<u8>> = sample[..5].iter().map(|line| agent_json_record(line)).collect();
    let cloudwatch = vec![
        cloudwatch_envelope("DATA_MESSAGE", &[sample[3].as_str()]),
        cloudwatch_envelope("DATA_MESSAGE", &[sample[4].as_str(), sample[5].as_str(), sample[6].as_str()]),
        cloudwatch_envelope(
            "CONTROL_MESSAGE",
            &["CWL CONTROL MESSAGE: Checking health of destination Kinesis stream."],
        ),
    ];
    let bad = vec![
        format!("{}\n{}\n", sample[7], sample[8]).into_bytes(),
        b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03 binary, not text \xff\xfe".to_vec(),
        cloudwatch_envelope("DATA_MESSAGE", &["x"])[..20].to_vec(),
        gzip_bomb(),
        Vec::new(),
        line_record("this line is not an access log line"),
        line_record(&sample[9]),
        [latin1_line(&sample[10]), b"\n".to_vec()].concat(),
    ];
    vec![
        ("firehose-apache-lines.json", firehose_request(1, &apache_lines)),
        ("firehose-kinesis-agent-json.json", firehose_request(2, &agent_json)),
        ("firehose-cloudwatch-logs.json", firehose_request(3, &cloudwatch)),
        ("firehose-bad-records.json", firehose_request(4, &bad)),
    ]
}

#[test]
fn committed_events_match_the_generator() {
    let stale = sync_events(&events());
    assert!(
        stale.is_empty(),
        "{stale:?} out of date with tests/data: run UPDATE_EVENTS=1 cargo test -p firehose-transformer --test events"
    );
}
