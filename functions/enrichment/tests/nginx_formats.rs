//! The parser and document against real nginx access logs (tests/data/nginx/capture.sh): nginx's
//! built-in combined, the nginx.conf `main` format, the upstream-timing format, `$time_iso8601` and
//! `$msec`, `$uri$is_args$args`, TLS variables, and the three escape modes.
//!
//! Every format logged every request in the same order, so line N of each is the same request, and
//! reference.log is nginx's own JSON record (escape=json) of every variable of it.
#![allow(clippy::unwrap_used)] // a test that cannot read its fixtures should stop right there

use std::borrow::Cow;
use std::path::PathBuf;

use enrichment::settings::{EnrichmentSettings, FormatChoice};
use enrichment::{AccessRecord, Enricher, EventContext, LogFormat, Timestamp};
use serde_json::Value;

fn nginx_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/nginx")
}

fn log_lines(name: &str) -> Vec<Vec<u8>> {
    let text = std::fs::read(nginx_dir().join(format!("{name}.log"))).unwrap();
    text.split(|&b| b == b'\n').filter(|l| !l.is_empty()).map(<[u8]>::to_vec).collect()
}

/// (name, log_format) of every format in logformats.tsv.
fn formats() -> Vec<(String, String)> {
    std::fs::read_to_string(nginx_dir().join("logformats.tsv"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let (name, format) = l.split_once('\t').unwrap();
            (name.to_owned(), format.to_owned())
        })
        .collect()
}

/// nginx's own record of each request. escape=json writes bytes outside ASCII as they are, so a
/// Latin-1 byte makes the line invalid UTF-8: each such byte is read as the character U+F700 + byte
/// and turned back into its byte by [`bytes_of`].
fn reference() -> Vec<Value> {
    log_lines("reference")
        .iter()
        .map(|line| {
            let mut text = String::new();
            for chunk in line.utf8_chunks() {
                text.push_str(chunk.valid());
                text.extend(chunk.invalid().iter().map(|&b| char::from_u32(0xF700 + u32::from(b)).unwrap()));
            }
            serde_json::from_str(&text).unwrap()
        })
        .collect()
}

/// The bytes a reference value stands for.
fn bytes_of(value: &str) -> Vec<u8> {
    let mut bytes = Vec::new();
    for c in value.chars() {
        match u32::from(c) {
            code @ 0xF700..=0xF7FF => bytes.push(u8::try_from(code - 0xF700).unwrap()),
            _ => bytes.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
        }
    }
    bytes
}

/// The bytes a parsed value stands for. Text that is not UTF-8 is kept as logged: the server's
/// escapes (JSON's with escape=json, `\xhh` otherwise) and `\xhh` for each invalid byte.
fn bytes_of_parsed(value: &str, expected: &[u8], json: bool) -> Vec<u8> {
    if std::str::from_utf8(expected).is_ok() {
        return value.as_bytes().to_vec();
    }
    let (text, mut out, mut i) = (value.as_bytes(), Vec::new(), 0);
    while i < text.len() {
        let escaped = (text[i] == b'\\').then(|| text.get(i + 1)).flatten();
        match escaped {
            Some(b'x') => {
                out.push(u8::from_str_radix(std::str::from_utf8(&text[i + 2..i + 4]).unwrap(), 16).unwrap());
                i += 4;
            }
            Some(&other) if json => {
                out.push(match other {
                    b't' => b'\t',
                    b'n' => b'\n',
                    b'r' => b'\r',
                    other => other,
                });
                i += 2;
            }
            _ => {
                out.push(text[i]);
                i += 1;
            }
        }
    }
    out
}

fn field<'a>(request: &'a Value, name: &str) -> &'a str {
    request[name].as_str().unwrap_or_else(|| panic!("reference has no {name}: {request}"))
}

/// A reference value as the text formats log it: nginx writes an empty or absent variable as `-`
/// (escape=json as `""`), both of which are no value.
fn optional(request: &Value, name: &str) -> Option<Vec<u8>> {
    let value = field(request, name);
    (!value.is_empty()).then(|| bytes_of(value))
}

fn parsed(value: &Option<Cow<'_, str>>, expected: &Option<Vec<u8>>, json: bool) -> Option<Vec<u8>> {
    value
        .as_deref()
        .filter(|v| !v.is_empty())
        .map(|v| bytes_of_parsed(v, expected.as_deref().unwrap_or(b""), json))
}

fn millis(request: &Value, name: &str) -> i64 {
    let text = field(request, name);
    let (seconds, fraction) = text.split_once('.').unwrap();
    seconds.parse::<i64>().unwrap() * 1000 + fraction.parse::<i64>().unwrap()
}

/// The variables a format names (`$name`, `${name}`).
fn variables(format: &str) -> Vec<String> {
    format
        .split('$')
        .skip(1)
        .map(|rest| {
            let rest = rest.strip_prefix('{').unwrap_or(rest);
            rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect()
        })
        .collect()
}

fn check(name: &str, format: &str, record: &AccessRecord<'_>, request: &Value) {
    let names = variables(format);
    let json = format.starts_with("escape=json");
    let uses = |variable: &str| names.iter().any(|name| name == variable);
    let at = format!("{name}: {request}");
    let msec = millis(request, "msec");
    let time = record.time.map(Timestamp::unix_millis);
    if uses("msec") {
        assert_eq!(time, Some(msec), "{at}");
    } else if uses("time_local") || uses("time_iso8601") {
        assert_eq!(time, Some(msec - msec.rem_euclid(1000)), "{at}");
    }
    if uses("remote_addr") {
        assert_eq!(record.remote_host.as_deref(), Some(field(request, "remote_addr")), "{at}");
    }
    if uses("remote_user") {
        assert_eq!(
            record.user.as_deref().map(str::as_bytes),
            optional(request, "remote_user").as_deref(),
            "{at}"
        );
    }
    if uses("request") {
        assert_eq!(
            record.request_line.as_deref().map(str::as_bytes),
            optional(request, "request").as_deref(),
            "{at}"
        );
    }
    if uses("request_method") {
        assert_eq!(record.method.as_deref(), Some(field(request, "request_method")), "{at}");
    }
    if uses("request_uri") {
        assert_eq!(record.request_target.as_deref(), Some(field(request, "request_uri")), "{at}");
    }
    if uses("server_protocol") {
        assert_eq!(record.protocol.as_deref(), Some(field(request, "server_protocol")), "{at}");
    }
    if uses("uri") {
        let path = optional(request, "uri");
        assert_eq!(parsed(&record.url_path, &path, json), path, "{at}");
        let query = optional(request, "args");
        assert_eq!(parsed(&record.query, &query, json), query, "{at}");
    }
    if uses("status") {
        assert_eq!(record.final_status.map(u64::from), field(request, "status").parse().ok(), "{at}");
    }
    if uses("body_bytes_sent") {
        assert_eq!(record.response_bytes, field(request, "body_bytes_sent").parse().ok(), "{at}");
    }
    if uses("bytes_sent") {
        assert_eq!(record.bytes_sent, field(request, "bytes_sent").parse().ok(), "{at}");
    }
    if uses("request_length") {
        assert_eq!(record.request_bytes, field(request, "request_length").parse().ok(), "{at}");
    }
    if uses("request_time") {
        let millis = u64::try_from(millis(request, "request_time")).unwrap();
        assert_eq!(record.duration_nanos, Some(millis * 1_000_000), "{at}");
    }
    for (variable, value) in [
        ("http_referer", &record.referrer),
        ("http_user_agent", &record.user_agent),
        ("http_x_forwarded_for", &record.forwarded_for),
        ("ssl_protocol", &record.tls_protocol),
        ("ssl_cipher", &record.tls_cipher),
        ("host", &record.requested_server_name),
    ] {
        if uses(variable) {
            let expected = optional(request, variable);
            assert_eq!(parsed(value, &expected, json), expected, "{variable}: {at}");
        }
    }
    if uses("remote_port") {
        assert_eq!(record.remote_port.map(u64::from), field(request, "remote_port").parse().ok(), "{at}");
    }
    for (variable, value) in [
        ("scheme", &record.scheme),
        ("request_id", &record.request_id),
        ("upstream_addr", &record.upstream.address),
        ("upstream_status", &record.upstream.status),
        ("upstream_response_time", &record.upstream.response_time),
        ("upstream_connect_time", &record.upstream.connect_time),
        ("upstream_header_time", &record.upstream.header_time),
    ] {
        if uses(variable) {
            assert_eq!(
                value.as_deref(),
                Some(field(request, variable)).filter(|v| !v.is_empty()),
                "{variable}: {at}"
            );
        }
    }
    if uses("server_port") {
        assert_eq!(record.server_port.map(u64::from), field(request, "server_port").parse().ok(), "{at}");
    }
}

#[test]
fn every_captured_line_reads_as_nginx_recorded_it() {
    let reference = reference();
    assert!(reference.len() >= 70, "the capture's requests, twice");
    // reference.log's own format (a JSON object, escape=json) is read as JSON: it must agree with
    // itself, read by a JSON parser here.
    for (name, source) in formats() {
        let format = LogFormat::compile_nginx(&source).unwrap_or_else(|e| panic!("{name}: {e}"));
        let lines = log_lines(&name);
        assert_eq!(lines.len(), reference.len(), "{name}: one line per request");
        for (line, request) in lines.iter().zip(&reference) {
            let record = format
                .parse(line)
                .unwrap_or_else(|e| panic!("{name}: {e}: {}", String::from_utf8_lossy(line)));
            check(&name, &source, &record, request);
        }
    }
}

#[test]
fn the_captures_hold_what_the_formats_are_about() {
    let reference = reference();
    let has = |name: &str, wanted: &dyn Fn(&str) -> bool| reference.iter().any(|r| wanted(field(r, name)));
    assert!(has("upstream_addr", &|v| v.contains(", ")), "an upstream tried after another");
    assert!(
        has("upstream_connect_time", &|v| v.starts_with("-, ")),
        "nothing from the upstream that is down"
    );
    assert!(has("scheme", &|v| v == "https") && has("request_id", &|v| v.len() == 32));
    assert!(has("ssl_protocol", &|v| v.starts_with("TLSv")));
    assert!(has("http_user_agent", &|v| v.contains('"') && v.contains('\\')));
    assert!(has("http_user_agent", &|v| v.contains('\t') && v.contains('\u{F7E9}')), "a tab and Latin-1");
    assert!(has("http_referer", &|v| v.contains("grüße")), "raw UTF-8");
    assert!(has("args", &|v| !v.is_empty()) && has("args", &str::is_empty));
    assert!(
        has("time_iso8601", &|v| v.ends_with("+05:30")) && has("time_iso8601", &|v| v.ends_with("+00:00"))
    );
}

/// Each format as LOG_FORMAT: every line a document of dataset nginx.access, none a parse failure.
#[test]
fn every_captured_line_is_an_nginx_document() {
    let context = EventContext {
        event_id: None,
        received_at: Timestamp::from_unix_millis(1_000).unwrap(),
        log_origin: None,
        cloud: None,
    };
    for (name, source) in formats() {
        let format = FormatChoice::parse(&source).unwrap();
        let mut enricher =
            Enricher::new(EnrichmentSettings { format, ..EnrichmentSettings::default() }, None);
        for line in log_lines(&name) {
            let mut out = Vec::new();
            let outcome = enricher.enrich_line(&line, &context, &mut out);
            let doc: Value = serde_json::from_slice(&out).unwrap();
            assert!(!outcome.parse_failure, "{name}: {doc}");
            assert_eq!(doc["event"]["module"], "nginx", "{name}");
            assert_eq!(doc["event"]["dataset"], "nginx.access", "{name}");
            assert!(doc["http"]["response"]["status_code"].is_u64(), "{name}: {doc}");
        }
    }
}

/// The upstream lists as arrays in nginx's order (`-`: null), the client's port, scheme and
/// request id in their ECS fields.
#[test]
fn upstreams_port_scheme_and_request_id_in_the_document() {
    let context = EventContext {
        event_id: None,
        received_at: Timestamp::from_unix_millis(1_000).unwrap(),
        log_origin: None,
        cloud: None,
    };
    let document = |name: &str, line: usize| {
        let (_, source) = formats().into_iter().find(|(n, _)| n == name).unwrap();
        let settings = EnrichmentSettings {
            format: FormatChoice::parse(&source).unwrap(),
            ..EnrichmentSettings::default()
        };
        let mut out = Vec::new();
        Enricher::new(settings, None).enrich_line(&log_lines(name)[line], &context, &mut out);
        serde_json::from_slice::<Value>(&out).unwrap()
    };
    let reference = reference();
    let tried_two = reference.iter().position(|r| field(r, "upstream_addr").contains(", ")).unwrap();
    let doc = document("upstream", tried_two);
    let upstream = &doc["nginx"]["upstream"];
    assert_eq!(upstream["address"], serde_json::json!(["127.0.0.1:18084", "127.0.0.1:18083"]), "{doc}");
    assert_eq!(upstream["status"], serde_json::json!([502, 200]), "{doc}");
    assert_eq!(upstream["connect_time"], serde_json::json!([null, 0.0]), "{doc}");
    assert_eq!(upstream["response_time"].as_array().unwrap().len(), 2, "{doc}");
    assert!(document("upstream", 0).get("nginx").is_none(), "no upstream, no nginx object");

    let doc = document("iso_msec", 1);
    assert_eq!(doc["source"]["port"], reference[1]["remote_port"].as_str().unwrap().parse::<u64>().unwrap());
    assert_eq!(doc["url"]["scheme"], "https", "{doc}");
    assert_eq!(doc["http"]["request"]["id"], reference[1]["request_id"], "{doc}");
    assert_eq!(doc["url"]["original"], "/", "{doc}");
}

/// A JSON format is read as JSON: keys in any order and spacing, numbers quoted or not, nested
/// objects, keys the format does not name; a line that is not its JSON is a parse failure.
#[test]
fn json_formats_are_read_as_json() {
    let format = LogFormat::compile_nginx(
        r#"escape=json '{"time": "$time_iso8601", "client": {"ip": "$remote_addr"}, "status": $status, "bytes": "$body_bytes_sent", "app": "shop", "rt": $request_time, "ua": "$http_user_agent"}'"#,
    )
    .unwrap();
    let line = br#"{ "ua" : "curl/8.5.0 \"q\" caf\u00e9", "rt":0.004,"status":"404", "bytes":0, "client":{"ip":"203.0.113.9","port":4711},"extra":[1,{"a":"]"}],"app":"shop","time":"2026-11-21T06:37:48+01:00"}"#;
    let record = format.parse(line).unwrap();
    assert_eq!(record.remote_host.as_deref(), Some("203.0.113.9"));
    assert_eq!(record.final_status, Some(404));
    assert_eq!(record.response_bytes, Some(0));
    assert_eq!(record.duration_nanos, Some(4_000_000));
    assert_eq!(record.user_agent.as_deref(), Some("curl/8.5.0 \"q\" café"));
    assert_eq!(record.time.map(Timestamp::unix_millis), Some(1_795_239_468_000));
    for bad in [
        &br#"not json"#[..],
        br#"{"status":200"#,
        br#"{"status":"abc"}"#,
        br#"{"time":"yesterday"}"#,
        br#"{"status":200} trailing"#,
    ] {
        assert!(format.parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
    }
}

/// nginx's built-in `combined` is Apache's combined: `auto` reads it too.
#[test]
fn nginx_combined_is_read_by_auto() {
    let auto = Enricher::new(EnrichmentSettings::default(), None);
    for line in log_lines("builtin_combined") {
        let record = auto.parse_line(&line).unwrap();
        assert!(record.final_status.is_some());
    }
}

/// A line that does not match an nginx format is a parse failure whose document says nginx.
#[test]
fn a_line_that_does_not_match_is_a_parse_failure_of_the_nginx_dataset() {
    let format = FormatChoice::parse("'$remote_addr [$time_local] \"$request\" $status'").unwrap();
    let mut enricher = Enricher::new(EnrichmentSettings { format, ..EnrichmentSettings::default() }, None);
    let context = EventContext {
        event_id: None,
        received_at: Timestamp::from_unix_millis(1_000).unwrap(),
        log_origin: None,
        cloud: None,
    };
    let mut out = Vec::new();
    let outcome = enricher.enrich_line(b"not an nginx line", &context, &mut out);
    let doc: Value = serde_json::from_slice(&out).unwrap();
    assert!(outcome.parse_failure);
    assert_eq!(doc["event"]["dataset"], "nginx.access");
    assert_eq!(doc["tags"], serde_json::json!(["_parse_failure"]));
}
