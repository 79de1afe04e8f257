//! Acceptance data from a peer: the test cases of VRL's `parse_aws_alb_log` (tests/data/peers/,
//! MPL-2.0, with its source): HTTP, HTTPS, HTTP/2 and WebSocket requests, IPv6 clients and
//! targets, a Lambda target's error, requests ALB could not read, lines with and without the
//! newest field. Each line must give, in the document, what VRL's test expects of it, field by
//! field in ECS and Elastic's `aws.elb.*` names, under `alb` and under `auto`.
#![allow(clippy::unwrap_used)] // a test that cannot read its fixtures should stop right there

mod common;

use serde_json::{Value, json};

/// The document's value at a dotted path, `Null` when absent.
fn at<'v>(doc: &'v Value, path: &str) -> &'v Value {
    path.split('.').fold(doc, |value, key| value.get(key).unwrap_or(&Value::Null))
}

/// `2018-07-02T22:23:00.186641Z` as the document writes it: milliseconds.
fn millis(value: &Value) -> Value {
    let text = value.as_str().unwrap();
    json!(format!("{}Z", &text[..23]))
}

/// `ip:port` (the port after the last colon, IPv6 addresses unbracketed) as the document's
/// address and port.
fn address_and_port(value: &Value) -> (Value, Value) {
    let (ip, port) = value.as_str().unwrap().rsplit_once(':').unwrap();
    (json!(ip), json!(port.parse::<u64>().unwrap()))
}

/// A VRL string that holds a number, as the document's number; `null` stays absent.
fn number(value: &Value) -> Value {
    value.as_str().map_or(Value::Null, |text| json!(text.parse::<u64>().unwrap()))
}

#[test]
fn every_case_of_vrl_parse_aws_alb_log_gives_the_fields_vrl_expects() {
    let cases: Value = serde_json::from_str(&common::data("peers/vrl_parse_aws_alb_log.json")).unwrap();
    let checked = std::cell::Cell::new(0);
    for case in cases["cases"].as_array().unwrap() {
        let (name, line, want) =
            (case["name"].as_str().unwrap(), case["line"].as_str().unwrap(), &case["want"]);
        let doc = common::documents(common::settings("alb"), [line]).remove(0);
        assert_eq!(doc, common::documents(common::settings("auto"), [line]).remove(0), "{name}: auto");
        let check = |path: &str, expected: Value| {
            assert_eq!(at(&doc, path), &expected, "{name}: {path} in {doc}");
            checked.set(checked.get() + 1);
        };

        check("@timestamp", millis(&want["timestamp"]));
        check("aws.elb.type", want["type"].clone());
        check("aws.elb.name", want["elb"].clone());
        let (ip, port) = address_and_port(&want["client_host"]);
        check("source.ip", ip);
        check("source.port", port);
        match want["target_host"].as_str() {
            Some(_) => {
                let (ip, port) = address_and_port(&want["target_host"]);
                check("aws.elb.backend.ip", ip);
                check("aws.elb.backend.port", port);
            }
            // A Lambda function, or no target reached: no address (a status may still be there).
            None => {
                check("aws.elb.backend.ip", Value::Null);
                check("aws.elb.backend.port", Value::Null);
            }
        }
        check("http.response.status_code", number(&want["elb_status_code"]));
        check("aws.elb.backend.http.response.status_code", number(&want["target_status_code"]));
        check("http.request.bytes", want["received_bytes"].clone());
        check("http.response.bytes", want["sent_bytes"].clone());
        let times = ["request_processing_time", "target_processing_time", "response_processing_time"];
        for (vrl, ours) in times.iter().zip([
            "request_processing_time",
            "backend_processing_time",
            "response_processing_time",
        ]) {
            // -1: ALB did not get that far; the document leaves the time out.
            let expected = want[vrl].as_f64().unwrap();
            let found = at(&doc, &format!("aws.elb.{ours}.sec")).as_f64();
            assert_eq!(found, (expected >= 0.0).then_some(expected), "{name}: {vrl}");
            checked.set(checked.get() + 1);
        }
        if times.iter().all(|t| want[t].as_f64().unwrap() >= 0.0) {
            let total: f64 = times.iter().map(|t| want[t].as_f64().unwrap()).sum();
            assert_eq!(at(&doc, "event.duration").as_u64(), Some((total * 1e9).round() as u64), "{name}");
            checked.set(checked.get() + 1);
        }
        match (want["request_method"].as_str(), want["request_protocol"].as_str()) {
            (Some(method), Some(protocol)) => {
                check("http.request.method", json!(method));
                check("url.original", want["request_url"].clone());
                check("http.version", json!(protocol.strip_prefix("HTTP/").unwrap()));
            }
            // A request ALB could not read (`- http://host:80- -`): kept whole, not taken apart.
            _ => {
                check("http.request.method", Value::Null);
                check("url.original", Value::Null);
                let request = &line[line.find('"').unwrap() + 1..];
                check("http.request.line", json!(&request[..request.find('"').unwrap()]));
            }
        }
        check("user_agent.original", want["user_agent"].clone());
        check("tls.cipher", want["ssl_cipher"].clone());
        check(
            "tls.version",
            want["ssl_protocol"].as_str().map_or(Value::Null, |p| json!(p.strip_prefix("TLSv").unwrap())),
        );
        check("aws.elb.target_group.arn", want["target_group_arn"].clone());
        check("aws.elb.trace_id", want["trace_id"].clone());
        if !want["domain_name"].is_null() {
            // Without the SNI name the document names the host of the request's URL.
            check("destination.domain", want["domain_name"].clone());
        }
        check("aws.elb.chosen_cert.arn", want["chosen_cert_arn"].clone());
        check("aws.elb.matched_rule_priority", want["matched_rule_priority"].clone());
        check("event.start", millis(&want["request_creation_time"]));
        check(
            "aws.elb.action_executed",
            want["actions_executed"]
                .as_str()
                .map_or(Value::Null, |a| json!(a.split(',').collect::<Vec<_>>())),
        );
        check("aws.elb.redirect_url", want["redirect_url"].clone());
        check("aws.elb.error.reason", want["error_reason"].clone());
        let list =
            |value: &Value| if value.as_array().unwrap().is_empty() { Value::Null } else { value.clone() };
        check("aws.elb.target_port", list(&want["target_port_list"]));
        check("aws.elb.target_status_code", list(&want["target_status_code_list"]));
        check("aws.elb.classification", want["classification"].clone());
        check("aws.elb.classification_reason", want["classification_reason"].clone());
        check("aws.elb.connection_trace_id", want["traceability_id"].clone());
    }
    assert!(checked.get() >= 400, "{} field checks", checked.get());
}
