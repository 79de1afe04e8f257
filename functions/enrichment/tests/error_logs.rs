//! Error-log documents against the real error logs of the captures: nginx's (tests/data/nginx,
//! level info) and Apache 2.4's (tests/data/formats, `LogLevel info`), each of two runs, under
//! TZ=UTC and TZ=Asia/Kolkata, of the requests whose access logs lie beside them.
#![allow(clippy::unwrap_used)] // a test that cannot read its fixtures should stop right there

use std::collections::BTreeSet;

mod common;

use common::{data_lines as lines, enricher, failure};
use enrichment::settings::EnrichmentSettings;
use serde_json::Value;

/// The documents of lines that must all be read, with `event.original` kept.
fn documents(format: &str, lines: &[String]) -> Vec<Value> {
    common::documents(EnrichmentSettings { keep_original: true, ..common::settings(format) }, lines)
}

/// `2026-12-07T09:29:17.000Z` in milliseconds since the epoch.
fn millis(text: &str) -> i64 {
    let number = |range: std::ops::Range<usize>| text[range].parse::<i64>().unwrap();
    let days = days_from_civil(number(0..4), number(5..7), number(8..10));
    (days * 86_400 + number(11..13) * 3600 + number(14..16) * 60 + number(17..19)) * 1000 + number(20..23)
}

fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1;
    era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
}

/// The two runs of a log: what came before the second start, and the rest.
fn runs<T: Clone>(items: &[T], starts_run: impl Fn(&T) -> bool) -> [Vec<T>; 2] {
    let second = items.iter().skip(1).position(starts_run).unwrap() + 1;
    [items[..second].to_vec(), items[second..].to_vec()]
}

#[test]
fn nginx_error_log_lines_name_the_requests_of_the_access_log() {
    let lines = lines("nginx/error.log");
    let docs = documents("nginx_error", &lines);
    assert_eq!(docs, documents("auto", &lines), "auto reads them the same");
    let reference: Vec<Value> = lines_of_json(&self::lines("nginx/reference.log"));
    let [reference_utc, reference_kolkata] =
        runs(&reference, |r| r["time_iso8601"].as_str().unwrap().ends_with("+05:30"));
    let [utc, kolkata] = runs(&docs, |d| d["message"] == "using the \"epoll\" event method");

    let mut levels = BTreeSet::new();
    let mut with_request = 0;
    for (run, references, offset_millis) in
        [(&utc, &reference_utc, 0), (&kolkata, &reference_kolkata, 19_800_000)]
    {
        for doc in run {
            assert_eq!(doc["event"]["dataset"], "nginx.error");
            assert_eq!(doc["event"]["module"], "nginx");
            assert_eq!(doc["event"]["kind"], "event");
            assert_eq!(doc["event"]["type"], serde_json::json!(["error"]));
            assert!(doc["process"]["pid"].as_u64().unwrap() > 0);
            assert_eq!(doc["process"]["thread"]["id"], doc["process"]["pid"], "one thread per nginx process");
            levels.insert(doc["log"]["level"].as_str().unwrap().to_owned());
            let message = doc["message"].as_str().unwrap();
            assert!(!message.contains(", client: "), "{message}");

            let Some(connection) = doc["nginx"]["error"]["connection_id"].as_u64() else { continue };
            assert_eq!(doc["source"]["ip"], "127.0.0.1");
            let Some(method) = doc["http"]["request"]["method"].as_str() else {
                assert!(message.contains("SSL handshaking"), "{message}");
                continue;
            };
            // The access log's record of the same connection: the same request, logged then too.
            let access =
                references.iter().find(|r| r["connection"] == connection.to_string().as_str()).unwrap();
            with_request += 1;
            assert_eq!(method, access["request_method"]);
            assert_eq!(doc["url"]["original"], access["request_uri"]);
            assert_eq!(
                doc["http"]["version"],
                access["server_protocol"].as_str().unwrap().trim_start_matches("HTTP/")
            );
            assert_eq!(doc["destination"]["domain"], access["host"]);
            match access["http_referer"].as_str().unwrap() {
                "" => assert!(doc["http"]["request"].get("referrer").is_none()),
                referrer => assert_eq!(doc["http"]["request"]["referrer"], referrer),
            }
            let status = access["status"].as_str().unwrap();
            assert!(["401", "404", "200"].contains(&status), "{status}");
            // The server's local time, read as UTC: the Kolkata run is 5 h 30 min ahead.
            let logged = millis(doc["@timestamp"].as_str().unwrap());
            let access_millis = (access["msec"].as_str().unwrap().parse::<f64>().unwrap() * 1000.0) as i64;
            assert!((logged - offset_millis - access_millis).abs() < 1_000, "{doc}");
            if message.contains("while connecting to upstream") {
                assert_eq!(doc["nginx"]["error"]["upstream"], "http://127.0.0.1:18084/app/");
            }
        }
    }
    assert!(with_request >= 16, "{with_request}");
    assert_eq!(levels, ["error", "info", "notice", "warn"].map(str::to_owned).into());
}

fn lines_of_json(lines: &[String]) -> Vec<Value> {
    lines.iter().map(|line| serde_json::from_str(line).unwrap()).collect()
}

#[test]
fn apache_error_log_lines_name_the_requests_of_the_access_log() {
    let lines = lines("formats/error.log");
    let docs = documents("apache_error", &lines);
    assert_eq!(docs, documents("auto", &lines), "auto reads them the same");
    // Apache's own record: `%{sec}t %{usec_frac}t %{%z}t %m "%U" "%q" %>s ...`.
    let reference: Vec<(i64, String, String, u16)> = self::lines("formats/reference.log")
        .iter()
        .map(|line| {
            let fields: Vec<&str> = line.splitn(5, ' ').collect();
            let millis = fields[0].parse::<i64>().unwrap() * 1000 + fields[1].parse::<i64>().unwrap() / 1000;
            // `"path" "query" status ...`: the path may hold spaces, not quotes.
            let (path, rest) = fields[4][1..].split_once("\" \"").unwrap();
            let status = rest.split_once("\" ").unwrap().1.split(' ').next().unwrap();
            (millis, fields[2].to_owned(), path.to_owned(), status.parse().unwrap())
        })
        .collect();

    let mut codes = BTreeSet::new();
    let mut missing_files = 0;
    for doc in &docs {
        assert_eq!(doc["event"]["dataset"], "apache.error");
        assert_eq!(doc["event"]["module"], "apache");
        assert_eq!(doc["event"]["type"], serde_json::json!(["error"]));
        assert!(doc["apache"]["error"]["module"].is_string());
        assert!(
            doc["process"]["pid"].as_u64().unwrap() > 0
                && doc["process"]["thread"]["id"].as_u64().unwrap() > 0
        );
        let code = doc["error"]["code"].as_str().unwrap();
        assert!(code.len() == 7 && code.starts_with("AH"), "{code}");
        codes.insert(code.to_owned());
        let message = doc["message"].as_str().unwrap();
        assert!(!message.starts_with("AH") && !message.contains("[client "), "{message}");
        if let Some(port) = doc["source"]["port"].as_u64() {
            assert_eq!(doc["source"]["ip"], "127.0.0.1");
            assert!(port >= 1024, "{port}");
        }
        if code == "AH02006" {
            assert_eq!(message, "(70014)End of file found: SSL handshake stopped: connection was closed");
        }
        // `File does not exist: <document root>/missing.php`: a 404 of that path in the access log,
        // in the same second (the UTC run) or 5 h 30 min later by the local time read as UTC.
        if let Some(path) = message.strip_prefix("File does not exist: ") {
            missing_files += 1;
            let path = &path[path.find("/htdocs/").unwrap() + "/htdocs".len()..];
            let logged = millis(doc["@timestamp"].as_str().unwrap());
            let access = reference
                .iter()
                .find(|(millis, zone, p, status)| {
                    let offset = if zone == "+0530" { 19_800_000 } else { 0 };
                    p == path && *status == 404 && (logged - offset - millis).abs() < 1_000
                })
                .unwrap_or_else(|| panic!("no 404 of {path} at {}", doc["@timestamp"]));
            assert_eq!(access.3, 404);
            if path == "/old/page.html" {
                assert_eq!(doc["http"]["request"]["referrer"], "https://blog.example.test/links?from=x");
            }
        }
    }
    assert_eq!(missing_files, 8, "missing.php and the broken link, over HTTP and TLS, in both runs");
    for code in ["AH00128", "AH01618", "AH02031", "AH00489", "AH01964"] {
        assert!(codes.contains(code), "{code}: {codes:?}");
    }
}

#[test]
fn auto_reads_access_and_error_lines_of_one_stream() {
    let mut mixed = lines("nginx/error.log")[..10].to_vec();
    mixed.extend(lines("formats/error.log")[..10].iter().cloned());
    mixed.extend(lines("nginx/builtin_combined.log")[..10].iter().cloned());
    let datasets: Vec<Value> =
        documents("auto", &mixed).iter().map(|d| d["event"]["dataset"].clone()).collect();
    let expected: Vec<&str> = [["nginx.error"; 10], ["apache.error"; 10], ["apache.access"; 10]].concat();
    assert_eq!(datasets, expected);
}

#[test]
fn a_line_that_starts_as_an_error_log_line_and_breaks_off_is_a_failure_of_that_log() {
    let mut enricher = enricher(common::settings("auto"));
    for (line, dataset, reason) in [
        (
            "2026/12/07 09:29:17 [fatal] 1#1: x",
            "nginx.error",
            "line does not match nginx_error: invalid error log value \"fatal\"",
        ),
        (
            "[Mon Dec 07 09:29:48 2026 x",
            "apache.error",
            "line does not match apache_error: expected `] [` after the time",
        ),
    ] {
        let doc = failure(&mut enricher, line, dataset, reason);
        assert!(doc["error"]["message"].as_str().unwrap().starts_with(reason), "{doc}");
    }
}
