//! The pieces the committed events (tests/events/*.json) are made of, from the captured Apache
//! logs in tests/data/: records as the Kinesis Agent, CloudWatch Logs and the KPL produce them.

use std::io::Write;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::{Value, json};

use crate::repo;

/// Arrival time of the fixtures' records, in milliseconds.
pub const ARRIVAL_MS: i64 = 1_795_239_470_000;

/// The lines of tests/data/NAME.log.
pub fn log_lines(name: &str) -> Vec<String> {
    let bytes = std::fs::read(repo(&format!("tests/data/{name}.log"))).unwrap();
    String::from_utf8(bytes).unwrap().lines().map(str::to_owned).collect()
}

/// Deterministic gzip (no timestamp in the header).
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// A line as the Kinesis Agent sends it: the line and its newline.
pub fn line_record(line: &str) -> Vec<u8> {
    format!("{line}\n").into_bytes()
}

/// `line` (a `GET` request) as a writer that does not escape logs a Latin-1 URL: `/café/...` with
/// `é` the one byte 0xE9, which is not UTF-8 (Apache itself would write `\xe9`).
pub fn latin1_line(line: &str) -> Vec<u8> {
    let (before, after) = line.split_once("\"GET /").unwrap();
    [before.as_bytes(), b"\"GET /caf\xe9/", after.as_bytes()].concat()
}

/// What the Kinesis Agent's LOGTOJSON (`COMBINEDAPACHELOG`) makes of a combined line: the fields
/// as the line has them (Apache's escapes kept), `-` as null.
pub fn agent_json_record(line: &str) -> Vec<u8> {
    let (host, rest) = line.split_once(' ').unwrap();
    let (ident, rest) = rest.split_once(' ').unwrap();
    let (authuser, rest) = rest.split_once(" [").unwrap();
    let (datetime, rest) = rest.split_once("] \"").unwrap();
    let (request, rest) = rest.split_once("\" ").unwrap();
    let (response, rest) = rest.split_once(' ').unwrap();
    let (bytes, rest) = rest.split_once(" \"").unwrap();
    let (referer, agent) = rest.split_once("\" \"").unwrap();
    let agent = agent.strip_suffix('"').unwrap();
    let field = |value: &str| if value == "-" { Value::Null } else { Value::from(value) };
    let record = json!({
        "host": field(host), "ident": field(ident), "authuser": field(authuser), "datetime": datetime,
        "request": field(request), "response": response, "bytes": field(bytes), "referer": field(referer),
        "agent": field(agent),
    });
    format!("{record}\n").into_bytes()
}

/// A CloudWatch Logs subscription envelope (gzip JSON), as ECS `awslogs` log events arrive.
pub fn cloudwatch_envelope(message_type: &str, messages: &[&str]) -> Vec<u8> {
    let control = message_type == "CONTROL_MESSAGE";
    let events: Vec<Value> = messages
        .iter()
        .enumerate()
        .map(|(index, message)| {
            json!({"id": format!("3795{index:052}"), "timestamp": ARRIVAL_MS + index as i64, "message": message})
        })
        .collect();
    let envelope = json!({
        "messageType": message_type,
        "owner": if control { "CloudwatchLogs" } else { "123456789012" },
        "logGroup": if control { "" } else { "/ecs/weblogs" },
        "logStream": if control { "" } else { "weblogs/apache/7c3f0e8e1c2d4b5a9e8d7c6b5a4f3e2d" },
        "subscriptionFilters": if control { json!([]) } else { json!(["weblogs-to-kinesis"]) },
        "logEvents": events,
    });
    gzip(envelope.to_string().as_bytes())
}

/// A CloudWatch Logs `DATA_MESSAGE` envelope whose messages are bytes, UTF-8 or not, written into
/// the JSON as they are (CloudWatch Logs writes UTF-8; other producers may not).
pub fn cloudwatch_envelope_of_bytes(messages: &[&[u8]]) -> Vec<u8> {
    let placeholders: Vec<String> = (0..messages.len()).map(|index| format!("@@message {index}@@")).collect();
    let placeholder_refs: Vec<&str> = placeholders.iter().map(String::as_str).collect();
    let mut json = gunzip(&cloudwatch_envelope("DATA_MESSAGE", &placeholder_refs));
    for (placeholder, message) in placeholders.iter().zip(messages) {
        let mut escaped = Vec::with_capacity(message.len());
        for &byte in *message {
            match byte {
                b'"' | b'\\' => escaped.extend_from_slice(&[b'\\', byte]),
                0..0x20 => escaped.extend_from_slice(format!("\\u{byte:04x}").as_bytes()),
                _ => escaped.push(byte),
            }
        }
        let at = json.windows(placeholder.len()).position(|window| window == placeholder.as_bytes()).unwrap();
        json.splice(at..at + placeholder.len(), escaped);
    }
    gzip(&json)
}

fn gunzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(data), &mut out).unwrap();
    out
}

/// A Kinesis event whose records carry `payloads`, as Lambda's event source mapping sends it.
pub fn kinesis_event(payloads: &[Vec<u8>]) -> Value {
    let records: Vec<Value> = payloads
        .iter()
        .enumerate()
        .map(|(index, data)| {
            let sequence = format!("4965937{:049}", 1_000_003 * (index + 1));
            json!({
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": format!("{:032x}", 7919 * (index + 1)),
                    "sequenceNumber": sequence,
                    "data": BASE64.encode(data),
                    "approximateArrivalTimestamp": (ARRIVAL_MS + index as i64) as f64 / 1000.0,
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": format!("shardId-000000000000:{sequence}"),
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": "arn:aws:iam::123456789012:role/kinesis-enricher",
                "awsRegion": "eu-west-1",
                "eventSourceARN": "arn:aws:kinesis:eu-west-1:123456789012:stream/weblogs",
            })
        })
        .collect();
    json!({ "Records": records })
}

/// Writes (with `UPDATE_EVENTS` set) or checks tests/events/NAME for each event; returns the
/// names of stale files.
pub fn sync_events(events: &[(&str, Value)]) -> Vec<String> {
    let update = std::env::var_os("UPDATE_EVENTS").is_some();
    let mut stale = Vec::new();
    for (name, event) in events {
        let path = repo(&format!("tests/events/{name}"));
        let text = format!("{}\n", serde_json::to_string_pretty(event).unwrap());
        if update {
            std::fs::write(&path, &text).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            stale.push((*name).to_owned());
        }
    }
    stale
}
