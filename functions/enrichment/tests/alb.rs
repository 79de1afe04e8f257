//! Application Load Balancer access logs: the example entries of AWS's documentation
//! (tests/data/alb/aws-docs-examples.log, source in its README) and lines written from the
//! documented field list for what the examples do not show (edge-cases.log), each document held to
//! the fields AWS documents for its line.
#![allow(clippy::unwrap_used)] // a test that cannot read its fixtures should stop right there

mod common;

use common::{data_lines, documents, enricher, failure, settings};
use serde_json::{Value, json};

fn lines(name: &str) -> Vec<String> {
    data_lines(&format!("alb/{name}"))
}

#[test]
fn the_documented_examples_give_the_documented_fields() {
    let docs = documents(settings("alb"), lines("aws-docs-examples.log"));
    assert_eq!(docs, documents(settings("auto"), lines("aws-docs-examples.log")), "auto reads them the same");
    // type, client port, target, the three times, ELB and target status, bytes both ways, method,
    // URL, user agent, TLS, SNI domain, actions, redirect, error reason.
    let expected = [
        (
            "http",
            2817,
            Some(("10.0.0.1", 80)),
            [0.000, 0.001, 0.000],
            200,
            Some(200),
            34,
            366,
            "http://www.example.com:80/",
            Some("curl/7.46.0"),
            None,
            "www.example.com",
            &["forward"][..],
            None,
            None,
        ),
        (
            "https",
            2817,
            Some(("10.0.0.1", 80)),
            [0.086, 0.048, 0.037],
            200,
            Some(200),
            0,
            57,
            "https://www.example.com:443/",
            Some("curl/7.46.0"),
            Some(("1.2", "ECDHE-RSA-AES128-GCM-SHA256")),
            "www.example.com",
            &["authenticate", "forward"][..],
            None,
            None,
        ),
        (
            "h2",
            48160,
            Some(("10.0.0.66", 9000)),
            [0.000, 0.002, 0.000],
            200,
            Some(200),
            5,
            257,
            "https://10.0.2.105:773/",
            Some("curl/7.46.0"),
            Some(("1.2", "ECDHE-RSA-AES128-GCM-SHA256")),
            "10.0.2.105",
            &["redirect"][..],
            Some("https://example.com:80/"),
            None,
        ),
        (
            "ws",
            40914,
            Some(("10.0.1.192", 8010)),
            [0.001, 0.003, 0.000],
            101,
            Some(101),
            218,
            587,
            "http://10.0.0.30:80/",
            None,
            None,
            "10.0.0.30",
            &["forward"][..],
            None,
            None,
        ),
        (
            "wss",
            44244,
            Some(("10.0.0.171", 8010)),
            [0.000, 0.001, 0.000],
            101,
            Some(101),
            218,
            786,
            "https://10.0.0.30:443/",
            None,
            Some(("1.2", "ECDHE-RSA-AES128-GCM-SHA256")),
            "10.0.0.30",
            &["forward"][..],
            None,
            None,
        ),
        (
            "http",
            2817,
            None,
            [0.000, 0.001, 0.000],
            200,
            Some(200),
            34,
            366,
            "http://www.example.com:80/",
            Some("curl/7.46.0"),
            None,
            "www.example.com",
            &["forward"][..],
            None,
            None,
        ),
        (
            "http",
            2817,
            None,
            [0.000, 0.001, 0.000],
            502,
            None,
            34,
            366,
            "http://www.example.com:80/",
            Some("curl/7.46.0"),
            None,
            "www.example.com",
            &["forward"][..],
            None,
            Some("LambdaInvalidResponse"),
        ),
    ];
    assert_eq!(docs.len(), expected.len());
    for (
        doc,
        (
            kind,
            port,
            target,
            times,
            status,
            target_status,
            received,
            sent,
            url,
            agent,
            tls,
            domain,
            actions,
            redirect,
            error,
        ),
    ) in docs.iter().zip(expected)
    {
        let elb = &doc["aws"]["elb"];
        assert_eq!(doc["event"]["dataset"], "aws.elb_logs");
        assert_eq!(doc["event"]["module"], "aws");
        assert_eq!(elb["type"], kind);
        assert_eq!(elb["name"], "app/my-loadbalancer/50dc6c495c0c9188");
        assert_eq!(doc["source"]["port"], port, "{doc}");
        assert!(doc["source"]["ip"].is_string());
        match target {
            Some((ip, target_port)) => assert_eq!(
                elb["backend"],
                json!({"ip": ip, "port": target_port, "http": {"response": {"status_code": target_status.unwrap()}}})
            ),
            None => assert_eq!(elb["backend"].get("ip"), None, "a Lambda target has no address"),
        }
        assert_eq!(elb["backend"]["http"]["response"]["status_code"].as_i64(), target_status.map(i64::from));
        let seconds = ["request_processing_time", "backend_processing_time", "response_processing_time"]
            .map(|key| elb[key]["sec"].as_f64().unwrap());
        assert_eq!(seconds, times);
        let nanos = times.iter().map(|t| (t * 1e9).round() as u64).sum::<u64>();
        assert_eq!(doc["event"]["duration"], nanos);
        assert_eq!(doc["http"]["response"]["status_code"], status);
        assert_eq!(doc["http"]["request"]["bytes"], received);
        assert_eq!(doc["http"]["response"]["bytes"], sent);
        assert_eq!(doc["http"]["request"]["method"], "GET");
        assert_eq!(doc["url"]["original"], url);
        assert_eq!(doc["url"]["scheme"], url.split_once("://").unwrap().0);
        assert_eq!(doc["url"]["path"], "/");
        assert_eq!(doc["user_agent"]["original"].as_str(), agent);
        match tls {
            Some((version, cipher)) => assert_eq!(
                doc["tls"],
                json!({"version_protocol": "tls", "version": version, "cipher": cipher})
            ),
            None => assert!(doc.get("tls").is_none()),
        }
        assert_eq!(doc["destination"]["domain"], domain);
        assert_eq!(elb["action_executed"], json!(actions));
        assert_eq!(elb["redirect_url"].as_str(), redirect);
        assert_eq!(elb["error"]["reason"].as_str(), error);
        assert!(elb["target_group"]["arn"].as_str().unwrap().starts_with("arn:aws:elasticloadbalancing:"));
        assert!(elb["trace_id"].as_str().unwrap().starts_with("Root=1-"));
        assert_eq!(doc["@timestamp"].as_str().unwrap()[11..], *"22:23:00.186Z");
        assert_eq!(doc["event"]["start"].as_str().unwrap()[11..], *"22:22:48.364Z");
    }
    assert_eq!(
        docs[1]["aws"]["elb"]["chosen_cert"]["arn"],
        "arn:aws:acm:us-east-2:123456789012:certificate/12345678-1234-1234-1234-123456789012"
    );
    assert_eq!(docs[1]["aws"]["elb"]["matched_rule_priority"], "1");
}

#[test]
fn newer_fields_waf_unreadable_requests_ipv6_and_quotes() {
    let docs = documents(settings("auto"), lines("edge-cases.log"));
    let [full, waf, unreadable, ipv6, grpc] = &docs[..] else { panic!("five lines") };

    let elb = &full["aws"]["elb"];
    assert_eq!(elb["target_port"], json!(["10.0.1.5:8080"]));
    assert_eq!(elb["target_status_code"], json!(["200"]));
    assert_eq!(elb["classification"], "Acceptable");
    assert_eq!(elb["connection_trace_id"], "TID_1234abcd5678ef90", "a field after it is skipped");
    assert_eq!(elb["action_executed"], json!(["waf", "forward"]));
    assert_eq!(full["url"]["query"], "step=2");
    assert_eq!(full["destination"], json!({"domain": "shop.example.test", "port": 443}));
    assert_eq!(full["tls"]["version"], "1.3");
    assert_eq!(full["user_agent"]["name"], "Chrome");

    // Blocked by AWS WAF: no target, `-1` times (unknown: absent, and no duration).
    let elb = &waf["aws"]["elb"];
    assert_eq!(waf["http"]["response"]["status_code"], 403);
    assert_eq!(waf["event"]["outcome"], "failure");
    assert!(elb.get("backend").is_none() && elb.get("request_processing_time").is_none());
    assert!(waf["event"].get("duration").is_none());
    assert_eq!(elb["action_executed"], json!(["waf"]));
    assert!(elb.get("target_group").is_none() && elb.get("target_port").is_none());
    assert_eq!(waf["Crawler"]["categories"], json!(["http-library"]));

    // A request the load balancer could not read: `- - - `.
    assert!(unreadable.get("url").is_none() && unreadable["http"]["request"].get("method").is_none());
    assert_eq!(unreadable["aws"]["elb"]["classification_reason"], "NonCompliantVersion");
    assert!(unreadable.get("user_agent").is_none());

    // An IPv6 client in brackets, a path with percent-encoded spaces, a user agent with quotes.
    assert_eq!(ipv6["source"], json!({"address": "2a02:cf40::1", "ip": "2a02:cf40::1", "port": 443}));
    assert_eq!(ipv6["url"]["path"], "/a b/old page.html");
    assert_eq!(
        ipv6["user_agent"]["original"],
        r#"Mozilla/5.0 "quoted" (compatible; GPTBot/1.2; +https://openai.com/gptbot)"#
    );
    assert_eq!(ipv6["user_agent"]["name"], "GPTBot");
    assert_eq!(ipv6["aws"]["elb"]["chosen_cert"]["arn"], "session-reused");

    assert_eq!(grpc["aws"]["elb"]["type"], "grpcs");
    assert_eq!(grpc["http"]["request"]["method"], "POST");
    assert_eq!(grpc["destination"]["domain"], "api.example.test");
}

#[test]
fn truncated_and_broken_lines_are_failures_of_alb_that_say_where() {
    let mut enricher = enricher(settings("auto"));
    let full = &lines("aws-docs-examples.log")[0];
    let cut_in_the_request = &full[..full.find("HTTP/1.1").unwrap()];
    for (line, message) in [
        (cut_in_the_request, "line does not match alb: expected the user agent at byte"),
        ("http 2018-07-02T22:23:00.186641Z app/x 192.168.131.39:2817", "expected target:port"),
        (
            "http 2018-13-02T22:23:00.186641Z app/x 1.2.3.4:1 - 0 0 0 200 200 1 1 \"GET / HTTP/1.1\" \"-\"",
            "invalid time value \"2018-13-02T22:23:00.186641Z\"",
        ),
        (
            "http 2018-07-02T22:23:00.186641Z app/x 1.2.3.4:1 - 0 0 0 2000 200 1 1 \"GET / HTTP/1.1\" \"-\"",
            "invalid elb_status_code value \"2000\"",
        ),
        (
            "http 2018-07-02T22:23:00.186641Z app/x 1.2.3.4:1 - 0 abc 0 200 200 1 1 \"GET / HTTP/1.1\" \"-\"",
            "invalid processing time value \"abc\"",
        ),
        // Found by fuzzing: a time with leading zeros went into the document as a number that
        // JSON does not allow.
        (
            "h2 2018-07-02T22:23:00.186641Z app/x 1.2.3.4:1 - 0.000 0000.2 0.00 200 200 5 257 \"GET / HTTP/2.0\" \"-\"",
            "invalid processing time value \"0000.2\"",
        ),
    ] {
        failure(&mut enricher, line, "aws.elb_logs", message);
    }
    // Lines that end after the user agent (the oldest load balancers) are read.
    let oldest = &full[..full.find(" - - arn:").unwrap()];
    assert!(!common::enrich(&mut enricher, oldest.as_bytes()).0);
}

#[test]
fn alb_lines_and_web_server_lines_share_a_stream_under_auto() {
    let mut mixed = lines("aws-docs-examples.log");
    mixed.push(
        r#"81.2.69.142 - - [21/Nov/2026:05:00:36 +0000] "GET / HTTP/1.1" 200 5 "-" "curl/8.5.0""#.to_owned(),
    );
    let datasets: Vec<Value> =
        documents(settings("auto"), mixed).iter().map(|d| d["event"]["dataset"].clone()).collect();
    assert_eq!(datasets[..7], vec![json!("aws.elb_logs"); 7][..]);
    assert_eq!(datasets[7], "apache.access");
}
