//! The parser and document against real Apache logs in less common formats
//! (tests/data/formats/capture.sh): strftime times, split times, mod_ssl's TLS fields, `%U%q`,
//! conditions and modifiers in every order, combined with trailing fields.
//!
//! Every `all` format logged every request in the same order, so line N of each is the same
//! request, and reference.log is Apache's own record of it. ssl_request.log, the TLS virtual host's
//! log, holds the TLS requests only, in the same order.
#![allow(clippy::unwrap_used)] // a test that cannot read its fixtures should stop right there

use std::path::PathBuf;

use enrichment::settings::{EnrichmentSettings, FormatChoice};
use enrichment::{Enricher, EventContext, Timestamp};
use serde_json::Value;

fn formats_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/formats")
}

fn log_lines(name: &str) -> Vec<Vec<u8>> {
    let text = std::fs::read(formats_dir().join(format!("{name}.log"))).unwrap();
    text.split(|&b| b == b'\n').filter(|l| !l.is_empty()).map(<[u8]>::to_vec).collect()
}

/// The LogFormat Apache wrote `name` with, from logformats.tsv.
fn format_of(name: &str) -> String {
    std::fs::read_to_string(formats_dir().join("logformats.tsv"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| {
            let mut columns = l.splitn(3, '\t');
            (columns.next() == Some(name)).then(|| columns.nth(1).unwrap().to_owned())
        })
        .unwrap()
}

/// When the documents of lines without a time of their own say they were received.
const RECEIVED_MILLIS: i64 = 1_000;

/// Every line of `name` as a document of its own format; none may be a parse failure.
fn documents(name: &str, format: FormatChoice) -> Vec<Value> {
    let mut enricher = Enricher::new(EnrichmentSettings { format, ..EnrichmentSettings::default() }, None);
    let context = EventContext {
        event_id: None,
        received_at: Timestamp::from_unix_millis(RECEIVED_MILLIS).unwrap(),
        log_origin: None,
        cloud: None,
    };
    log_lines(name)
        .iter()
        .map(|line| {
            let mut out = Vec::new();
            let outcome = enricher.enrich_line(line, &context, &mut out);
            let doc: Value = serde_json::from_slice(&out).unwrap();
            assert!(!outcome.parse_failure, "{name}: {}: {doc}", String::from_utf8_lossy(line));
            doc
        })
        .collect()
}

fn fixed(name: &str) -> Vec<Value> {
    documents(name, FormatChoice::parse(&format_of(name)).unwrap())
}

/// Apache's own record of a request, read from reference.log by hand (not by the parser under test).
#[derive(Debug)]
struct Request {
    seconds: i64,
    micros: i64,
    /// The server's UTC offset when it logged the request.
    offset_seconds: i64,
    method: String,
    path: String,
    query: Option<String>,
    status: u64,
    body_bytes: u64,
    duration_micros: u64,
    tls_protocol: Option<String>,
    user_agent: String,
}

impl Request {
    fn millis(&self) -> i64 {
        self.seconds * 1000 + self.micros / 1000
    }
}

/// `"text" rest` ─▶ (`text`, `rest`).
fn quoted(text: &str) -> (&str, &str) {
    let inner = text.strip_prefix('"').unwrap();
    let end = inner.find("\" ").unwrap_or(inner.len() - 1);
    (&inner[..end], inner[end + 1..].trim_start())
}

/// Apache's `\xhh`, `\"` and `\\` escapes undone (the paths here are UTF-8 once decoded).
fn unescape(logged: &str) -> String {
    let mut bytes = Vec::new();
    let mut rest = logged.as_bytes();
    while let Some((&first, tail)) = rest.split_first() {
        match (first, tail) {
            (b'\\', [b'x', high, low, after @ ..]) => {
                bytes.push(u8::from_str_radix(std::str::from_utf8(&[*high, *low]).unwrap(), 16).unwrap());
                rest = after;
            }
            (b'\\', [escaped, after @ ..]) => {
                bytes.push(*escaped);
                rest = after;
            }
            _ => {
                bytes.push(first);
                rest = tail;
            }
        }
    }
    String::from_utf8(bytes).unwrap()
}

fn requests() -> Vec<Request> {
    log_lines("reference")
        .iter()
        .map(|line| {
            let line = std::str::from_utf8(line).unwrap();
            let mut head = line.splitn(5, ' ');
            let mut next = || head.next().unwrap();
            let (seconds, micros, offset, method, rest) = (next(), next(), next(), next(), next());
            let (path, rest) = quoted(rest);
            let (query, rest) = quoted(rest);
            let mut tail = rest.splitn(5, ' ');
            let mut next = || tail.next().unwrap();
            let (status, bytes, duration, tls, agent) = (next(), next(), next(), next(), next());
            let sign = if offset.starts_with('-') { -1 } else { 1 };
            let offset_seconds = sign
                * (offset[1..3].parse::<i64>().unwrap() * 3600 + offset[3..5].parse::<i64>().unwrap() * 60);
            Request {
                seconds: seconds.parse().unwrap(),
                micros: micros.parse().unwrap(),
                offset_seconds,
                method: method.to_owned(),
                path: unescape(path),
                query: query.strip_prefix('?').map(str::to_owned),
                status: status.parse().unwrap(),
                body_bytes: bytes.parse().unwrap(),
                duration_micros: duration.parse().unwrap(),
                tls_protocol: (tls != "-").then(|| tls.to_owned()),
                user_agent: quoted(agent).0.to_owned(),
            }
        })
        .collect()
}

fn timestamp(millis: i64) -> String {
    let mut out = Vec::new();
    Timestamp::from_unix_millis(millis).unwrap().write_rfc3339(&mut out);
    String::from_utf8(out).unwrap()
}

#[test]
fn the_capture_covers_both_time_zones_tls_and_several_statuses() {
    let requests = requests();
    assert_eq!(requests.len(), 64);
    assert!(
        requests.iter().any(|r| r.offset_seconds == 0) && requests.iter().any(|r| r.offset_seconds == 19_800)
    );
    assert_eq!(requests.iter().filter(|r| r.tls_protocol.is_some()).count(), 32);
    for status in [200, 301, 304, 400, 401, 404] {
        assert!(requests.iter().any(|r| r.status == status), "{status}");
    }
}

/// Each `all` format: method, status, query and time agree with Apache's record; durations, body
/// sizes, paths and user agents where the format has them.
#[test]
fn every_format_agrees_with_apaches_own_record() {
    let requests = requests();
    for (name, time_of, has) in [
        // (log, the @timestamp its line carries, the fields it has besides method, status, query)
        ("strftime_iso", TimeOf::Second, &["bytes", "agent"][..]),
        ("strftime_begin_end", TimeOf::Second, &["path"][..]),
        ("split_time", TimeOf::Millis, &["bytes", "path", "ms"][..]),
        ("split_strftime", TimeOf::LocalMillis, &["bytes", "us"][..]),
        ("conditional", TimeOf::SecondIf200, &["bytes", "agent-if-4xx", "ms"][..]),
        ("combined_trailing", TimeOf::Second, &["bytes", "agent", "us"][..]),
    ] {
        let documents = fixed(name);
        assert_eq!(documents.len(), requests.len(), "{name}");
        for (doc, request) in documents.iter().zip(&requests) {
            let context = format!("{name}: {doc}");
            let expected_millis = match time_of {
                TimeOf::Second => request.seconds * 1000,
                TimeOf::Millis => request.millis(),
                // A strftime time without %z is the server's wall clock, read as UTC.
                TimeOf::LocalMillis => request.millis() + request.offset_seconds * 1000,
                TimeOf::SecondIf200 if request.status == 200 => request.seconds * 1000,
                TimeOf::SecondIf200 => RECEIVED_MILLIS,
            };
            assert_eq!(doc["@timestamp"], timestamp(expected_millis), "{context}");
            assert_eq!(doc["http"]["request"]["method"], request.method.as_str(), "{context}");
            assert_eq!(doc["http"]["response"]["status_code"], request.status, "{context}");
            assert_eq!(doc["url"]["query"].as_str(), request.query.as_deref(), "{context}");
            for field in has {
                match *field {
                    "bytes" => {
                        assert_eq!(doc["http"]["response"]["body"]["bytes"], request.body_bytes, "{context}")
                    }
                    "path" => assert_eq!(doc["url"]["path"], request.path.as_str(), "{context}"),
                    "agent" => {
                        assert_eq!(doc["user_agent"]["original"], request.user_agent.as_str(), "{context}")
                    }
                    "agent-if-4xx" if matches!(request.status, 400 | 401) => {
                        assert_eq!(doc["user_agent"]["original"], request.user_agent.as_str(), "{context}")
                    }
                    "agent-if-4xx" => assert!(doc.get("user_agent").is_none(), "{context}"),
                    "ms" => assert_eq!(
                        doc["event"]["duration"],
                        request.duration_micros / 1000 * 1_000_000,
                        "{context}"
                    ),
                    "us" => assert_eq!(doc["event"]["duration"], request.duration_micros * 1000, "{context}"),
                    other => panic!("{other}"),
                }
            }
        }
    }
}

#[derive(Clone, Copy)]
enum TimeOf {
    Second,
    Millis,
    LocalMillis,
    SecondIf200,
}

/// combined with `"%{X-Forwarded-For}i" %D %{Host}i` appended, read as plain combined (and by
/// `auto`): the appended fields are read past, the user agent stays exact.
#[test]
fn fields_appended_to_combined_leave_the_user_agent_exact() {
    let requests = requests();
    for format in [FormatChoice::Auto, FormatChoice::parse("combined").unwrap()] {
        let documents = documents("combined_trailing", format);
        for (doc, request) in documents.iter().zip(&requests) {
            assert_eq!(doc["user_agent"]["original"], request.user_agent.as_str(), "{doc}");
            assert_eq!(doc["@timestamp"], timestamp(request.seconds * 1000), "{doc}");
            assert_eq!(doc["http"]["response"]["status_code"], request.status, "{doc}");
            assert!(doc["event"].get("duration").is_none(), "{doc}");
        }
    }
}

/// Apache's stock `ssl_request_log` format on the TLS virtual host: TLS fields in ECS's `tls.*`.
#[test]
fn ssl_request_log_gives_the_tls_fields() {
    let tls_requests: Vec<Request> = requests().into_iter().filter(|r| r.tls_protocol.is_some()).collect();
    let documents = fixed("ssl_request");
    assert_eq!(documents.len(), tls_requests.len());
    for (doc, request) in documents.iter().zip(&tls_requests) {
        let protocol = request.tls_protocol.as_deref().unwrap();
        let (name, version) = protocol.split_once('v').unwrap();
        assert_eq!(doc["tls"]["version_protocol"], name.to_ascii_lowercase(), "{doc}");
        assert_eq!(doc["tls"]["version"], version, "{doc}");
        assert!(doc["tls"]["cipher"].as_str().is_some_and(|c| c.len() > 8), "{doc}");
        assert_eq!(doc["@timestamp"], timestamp(request.seconds * 1000), "{doc}");
        assert_eq!(doc["http"]["request"]["method"], request.method.as_str(), "{doc}");
        assert_eq!(doc["url"]["query"].as_str(), request.query.as_deref(), "{doc}");
    }
}

/// `%!200u`: the user only where the status is not 200 (`-` otherwise), here the user whose
/// password was refused.
#[test]
fn conditions_that_did_not_hold_leave_fields_out() {
    let documents = fixed("conditional");
    for (doc, request) in documents.iter().zip(&requests()) {
        if request.status == 200 {
            assert!(doc.get("user").is_none(), "{doc}");
        }
    }
    let users: Vec<&Value> = documents.iter().filter_map(|doc| doc.get("user")).collect();
    // Twice in each time zone, over plain HTTP and over TLS.
    assert_eq!(users, [&serde_json::json!({"name": "mallory"}); 4]);
}
