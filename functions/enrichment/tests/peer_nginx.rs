//! Acceptance data from a peer: the test cases of VRL's `parse_nginx_log` (tests/data/peers/,
//! MPL-2.0, with its source), nginx's `combined` and nginx.conf's `main` formats, the Kubernetes
//! ingress-nginx `upstreaminfo` format and nginx's error log. Each line must give, in the
//! document, what VRL's test expects of it, field by field in ECS names; the one line VRL refuses
//! (an error-log line read as `main`) must be a `_parse_failure`.
#![allow(clippy::unwrap_used)] // a test that cannot read its fixtures should stop right there

mod common;

use serde_json::{Value, json};

fn cases() -> Value {
    serde_json::from_str(&common::data("peers/vrl_parse_nginx_log.json")).unwrap()
}

fn document(format: &str, line: &str) -> (bool, Value) {
    common::enrich(&mut common::enricher(common::settings(format)), line.as_bytes())
}

/// The document's value at a dotted path, `Null` when absent.
fn at<'v>(doc: &'v Value, path: &str) -> &'v Value {
    path.split('.').fold(doc, |value, key| value.get(key).unwrap_or(&Value::Null))
}

/// VRL keeps nginx's `-` for a header that was not sent; the document leaves it out. An empty
/// user agent is kept as `""`, an empty referrer or error-log value left out (`empty_is_absent`).
fn logged_text(value: &Value, empty_is_absent: bool) -> Value {
    match value.as_str() {
        Some("-") => Value::Null,
        Some("") if empty_is_absent => Value::Null,
        _ => value.clone(),
    }
}

/// `2021-03-31T12:04:07Z` as the document writes it.
fn timestamp(value: &Value) -> Value {
    json!(value.as_str().unwrap().replace('Z', ".000Z"))
}

/// A request line as the document splits it: method, target and version; text that is not a
/// request line in `http.request.line`; nothing for an empty one.
fn check_request(doc: &Value, request: &str, name: &str) {
    let parts: Vec<&str> = request.split(' ').collect();
    match parts.as_slice() {
        [""] => assert!(doc.get("http").and_then(|h| h.get("request")).is_none(), "{name}: {doc}"),
        [method, target, version] if version.starts_with("HTTP/") => {
            assert_eq!(at(doc, "http.request.method"), method, "{name}");
            assert_eq!(at(doc, "url.original"), target, "{name}");
            assert_eq!(at(doc, "http.version"), &version["HTTP/".len()..], "{name}");
        }
        _ => assert_eq!(at(doc, "http.request.line"), request, "{name}"),
    }
}

#[test]
fn every_case_of_vrl_parse_nginx_log_gives_the_fields_vrl_expects() {
    let cases = cases();
    let formats = &cases["formats"];
    let mut checked = 0;
    for case in cases["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let format = formats[case["format"].as_str().unwrap()].as_str().unwrap();
        let (failed, doc) = document(format, case["line"].as_str().unwrap());
        let Some(want) = case["want"].as_object() else {
            assert!(failed, "{name}: VRL refuses this line: {doc}");
            assert_eq!(document("auto", case["line"].as_str().unwrap()).1["event"]["dataset"], "nginx.error");
            continue;
        };
        assert!(!failed, "{name}: {doc}");
        let error_log = case["format"] == "error";
        for (key, value) in want {
            let ecs = match key.as_str() {
                "client" | "remote_addr" => Some("source.address"),
                "user" | "remote_user" => Some("user.name"),
                "status" => Some("http.response.status_code"),
                "size" | "body_bytes_size" => Some("http.response.body.bytes"),
                "request_length" => Some("http.request.bytes"),
                "severity" => Some("log.level"),
                "pid" => Some("process.pid"),
                "tid" => Some("process.thread.id"),
                "cid" => Some("nginx.error.connection_id"),
                "upstream" => Some("nginx.error.upstream"),
                "host" if !value.as_str().unwrap().is_empty() => Some("destination.domain"),
                _ => None,
            };
            if let Some(path) = ecs {
                assert_eq!(at(&doc, path), value, "{name}: {key} ─▶ {path}");
                checked += 1;
                continue;
            }
            match key.as_str() {
                "timestamp" => assert_eq!(doc["@timestamp"], timestamp(value), "{name}"),
                "request" => check_request(&doc, value.as_str().unwrap(), name),
                "referer" | "http_referer" => {
                    assert_eq!(at(&doc, "http.request.referrer"), &logged_text(value, true), "{name}");
                }
                "agent" | "http_user_agent" => {
                    assert_eq!(at(&doc, "user_agent.original"), &logged_text(value, error_log), "{name}");
                }
                // The document keeps the whole message; VRL takes `excess` and `zone` out of it.
                "message" => {
                    let message = doc["message"].as_str().unwrap();
                    assert!(message.starts_with(value.as_str().unwrap()), "{name}: {message}");
                    if let Some(zone) = want.get("zone") {
                        assert!(message.contains(zone.as_str().unwrap()), "{name}: {message}");
                    }
                }
                "server" => {
                    let server = value.as_str().unwrap();
                    let host = want.get("host").and_then(Value::as_str).unwrap_or_default();
                    if host.is_empty() {
                        assert_eq!(
                            at(&doc, "destination.domain"),
                            &logged_text(value, error_log),
                            "{name}: {server}"
                        );
                    }
                }
                "request_time" => {
                    let nanos = (value.as_f64().unwrap() * 1e9).round() as u64;
                    assert_eq!(at(&doc, "event.duration"), nanos, "{name}");
                }
                "upstream_addr" => {
                    // A lone `-` (no upstream at all) is no list; `-` among several is `null`.
                    let expected = if value == "-" { Value::Null } else { json!([value]) };
                    assert_eq!(at(&doc, "nginx.upstream.address"), &expected, "{name}");
                }
                "upstream_status" | "upstream_response_time" => {
                    let path = format!("nginx.upstream.{}", &key["upstream_".len()..]);
                    assert_eq!(at(&doc, &path), &json!([value]), "{name}");
                }
                // The client behind a proxy is taken from it only with TRUSTED_PROXIES.
                "http_x_forwarded_for" => assert_eq!(at(&doc, "source.ip"), &want["remote_addr"], "{name}"),
                // Not in the document: ingress-nginx's own variables, the gzip ratio appended to
                // combined, the upstream's body size, and what the error message keeps in itself.
                "proxy_upstream_name"
                | "proxy_alternative_upstream_name"
                | "req_id"
                | "compression"
                | "upstream_response_length"
                | "excess"
                | "zone"
                | "host" => {}
                other => panic!("{name}: no rule for VRL's {other}"),
            }
            checked += 1;
        }
        if error_log {
            assert_eq!(doc["event"]["dataset"], "nginx.error", "{name}");
        }
    }
    assert!(checked > 200, "{checked}");
}
