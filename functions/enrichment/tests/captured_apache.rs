//! The parser and document against logs captured from a real Apache (tests/data/capture.sh).
//!
//! Every request was logged in every format, in the same order, so line N of each file is the same
//! request. custom.log logs Apache's own view of it (%{sec}t, %m, %>s, %b, %q), which is what the
//! documents built from the other formats must agree with; requests.jsonl holds the bytes sent.
#![allow(clippy::unwrap_used)] // a test that cannot read its fixtures should stop right there

use std::path::PathBuf;

use enrichment::settings::EnrichmentSettings;
use enrichment::settings::FormatChoice;
use enrichment::{Enricher, EventContext, LogFormat, Timestamp};
use serde_json::Value;
use test_support::hex_decode;

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data")
}

fn log_lines(name: &str) -> Vec<Vec<u8>> {
    let text = std::fs::read(data_dir().join(format!("{name}.log"))).unwrap();
    text.split(|&b| b == b'\n').filter(|l| !l.is_empty()).map(<[u8]>::to_vec).collect()
}

/// (name, LogFormat) from logformats.tsv, the formats Apache was configured with.
fn formats() -> Vec<(String, String)> {
    std::fs::read_to_string(data_dir().join("logformats.tsv"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (name, format) = l.split_once('\t').unwrap();
            (name.to_owned(), format.to_owned())
        })
        .collect()
}

fn enricher(format: FormatChoice) -> Enricher {
    Enricher::new(EnrichmentSettings { format, ..EnrichmentSettings::default() }, None)
}

fn documents(enricher: &mut Enricher, lines: &[Vec<u8>]) -> Vec<Value> {
    let context = EventContext {
        event_id: None,
        received_at: Timestamp::from_unix_millis(0).unwrap(),
        log_origin: None,
        cloud: None,
    };
    lines
        .iter()
        .map(|line| {
            let mut out = Vec::new();
            let outcome = enricher.enrich_line(line, &context, &mut out);
            let doc: Value = serde_json::from_slice(&out).unwrap();
            assert!(!outcome.parse_failure, "{}: {doc}", String::from_utf8_lossy(line));
            doc
        })
        .collect()
}

/// Apache's own fields for each request, from custom.log.
struct ApacheView {
    epoch_seconds: i64,
    method: Option<String>,
    status: u64,
    body_bytes: Option<u64>,
    query: Option<String>,
    server_port: u64,
}

fn apache_views() -> Vec<ApacheView> {
    let (_, format) = formats().into_iter().find(|(name, _)| name == "custom").unwrap();
    let format = LogFormat::compile(&format).unwrap();
    log_lines("custom")
        .iter()
        .map(|line| {
            let record = format.parse(line).unwrap();
            ApacheView {
                epoch_seconds: record.time.unwrap().unix_millis() / 1000,
                method: record.method.as_deref().map(str::to_owned),
                status: u64::from(record.status().unwrap()),
                body_bytes: record.response_bytes,
                query: record.query.as_deref().map(str::to_owned),
                server_port: u64::from(record.server_port.unwrap()),
            }
        })
        .collect()
}

#[test]
fn every_captured_line_of_every_format_parses() {
    for (name, format) in formats() {
        let lines = log_lines(&name);
        assert_eq!(lines.len(), 48, "{name}");
        let docs = documents(&mut enricher(FormatChoice::parse(&format).unwrap()), &lines);
        for doc in &docs {
            assert!(doc.get("tags").is_none(), "{name}: {doc}");
            assert!(!doc.to_string().contains(r#":"-""#), "{name}: a `-` value: {doc}");
        }
    }
}

#[test]
fn auto_reads_every_builtin_format() {
    for name in ["common", "combined", "combined_bytes_sent", "vhost_combined", "sample"] {
        documents(&mut enricher(FormatChoice::Auto), &log_lines(name));
    }
}

#[test]
fn documents_agree_with_apache_and_with_what_was_sent() {
    let apache = apache_views();
    let sent: Vec<Value> = std::fs::read_to_string(data_dir().join("requests.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(sent.len(), apache.len());
    for name in ["combined", "combined_bytes_sent", "vhost_combined", "forwarded"] {
        let (_, format) = formats().into_iter().find(|(n, _)| *n == name).unwrap();
        let docs = documents(&mut enricher(FormatChoice::parse(&format).unwrap()), &log_lines(name));
        for ((doc, view), sent) in docs.iter().zip(&apache).zip(&sent) {
            let context = format!("{name}: {doc}");
            let timestamp = doc["@timestamp"].as_str().unwrap();
            let expected = Timestamp::from_unix_millis(view.epoch_seconds * 1000).unwrap();
            let mut expected_text = Vec::new();
            expected.write_rfc3339(&mut expected_text);
            assert_eq!(timestamp.as_bytes(), expected_text, "{context}");
            assert_eq!(doc["http"]["response"]["status_code"].as_u64(), Some(view.status), "{context}");
            if doc["http"]["request"].get("line").is_none() {
                assert_eq!(doc["http"]["request"]["method"].as_str(), view.method.as_deref(), "{context}");
                assert_eq!(doc["url"]["query"].as_str(), view.query.as_deref(), "{context}");
            }
            if name != "vhost_combined" && name != "combined_bytes_sent" {
                // %b; the %O formats log bytes sent including headers.
                assert_eq!(doc["http"]["response"]["body"]["bytes"].as_u64(), view.body_bytes, "{context}");
            } else {
                // %O: the whole response, headers included, is http.response.bytes.
                assert!(doc["http"]["response"].get("body").is_none(), "{context}");
                assert!(
                    doc["http"]["response"]["bytes"].as_u64().unwrap() >= view.body_bytes.unwrap_or(0),
                    "{context}"
                );
            }
            if name == "vhost_combined" {
                assert_eq!(doc["destination"]["port"].as_u64(), Some(view.server_port), "{context}");
                assert!(
                    doc["destination"]["domain"].as_str().unwrap().ends_with(".example.test"),
                    "{context}"
                );
            }
            for (field, sent_key) in [
                (&doc["user_agent"]["original"], "user_agent_hex"),
                (&doc["http"]["request"]["referrer"], "referer_hex"),
            ] {
                match sent[sent_key].as_str() {
                    None => assert!(field.is_null(), "{context}"),
                    Some(hex) => {
                        let bytes = hex_decode(hex);
                        let expected = match String::from_utf8(bytes.clone()) {
                            Ok(text) => text,
                            // Not UTF-8: kept as Apache logged it, `\xhh` escapes.
                            Err(_) => bytes
                                .iter()
                                .map(|&b| {
                                    if b.is_ascii() {
                                        char::from(b).to_string()
                                    } else {
                                        format!("\\x{b:02x}")
                                    }
                                })
                                .collect(),
                        };
                        let expected = if expected == "-" { None } else { Some(expected) };
                        assert_eq!(field.as_str(), expected.as_deref(), "{context}");
                    }
                }
            }
        }
    }
}

#[test]
fn request_lines_that_are_not_requests_are_kept_as_text() {
    let docs = documents(&mut enricher(FormatChoice::Auto), &log_lines("combined"));
    let by_line = |needle: &str| {
        docs.iter()
            .find(|d| {
                d["http"]["request"]["line"].as_str() == Some(needle)
                    || d["url"]["original"].as_str() == Some(needle)
            })
            .unwrap_or_else(|| panic!("no document for {needle:?}"))
    };
    assert_eq!(by_line("\u{16}\u{3}\u{1}")["http"]["response"]["status_code"], 400);
    assert!(by_line("garbage")["http"]["request"].get("method").is_none());
    let http09 = docs
        .iter()
        .find(|d| d["http"]["request"]["method"] == "GET" && d["http"].get("version").is_none())
        .unwrap();
    assert_eq!(http09["url"]["path"], "/");
    let absolute = by_line("http://www.example.test/index.html");
    assert_eq!(absolute["url"]["path"], "/index.html");
    assert_eq!(absolute["url"]["extension"], "html");
    let connect = by_line("www.example.test:443");
    assert_eq!(connect["http"]["request"]["method"], "CONNECT");
    assert!(connect["url"].get("path").is_none());
    assert_eq!(by_line("*")["http"]["request"]["method"], "OPTIONS");
    assert_eq!(by_line("/q\"uote\\d")["http"]["response"]["status_code"], 404);
    assert_eq!(by_line("/grüße.txt")["url"]["extension"], "txt");
    assert_eq!(by_line("/gr%C3%BC%C3%9Fe.txt")["url"]["path"], "/grüße.txt");
    assert_eq!(by_line("/a%20b.html?q=1&x=%22y%22")["url"]["path"], "/a b.html");
    let long = docs.iter().find(|d| d["url"]["original"].as_str().is_some_and(|u| u.len() > 4000)).unwrap();
    assert_eq!(long["url"]["query"].as_str().unwrap().len(), 4 * 200 + 3);
}

#[test]
fn clients_users_and_time_zones() {
    let docs = documents(&mut enricher(FormatChoice::Auto), &log_lines("combined"));
    assert!(docs.iter().any(|d| d["source"]["ip"] == "::1" && d["source"]["address"] == "::1"));
    let named = docs.iter().find(|d| d["source"]["domain"] == "localhost").unwrap();
    assert!(named["source"].get("ip").is_none());
    assert!(docs.iter().any(|d| d["user"]["name"] == "alice" && d["http"]["response"]["status_code"] == 200));
    assert!(
        docs.iter().any(|d| d["user"]["name"] == "mallory" && d["http"]["response"]["status_code"] == 401)
    );
    // Six time zones from -05:00 to +14:00, one capture run: every @timestamp is within minutes.
    let mut times: Vec<&str> = docs.iter().map(|d| d["@timestamp"].as_str().unwrap()).collect();
    times.sort_unstable();
    assert_eq!(&times[0][..15], &times[times.len() - 1][..15], "{times:?}");
}

#[test]
fn forwarded_for_chains_are_read_unquoted() {
    let (_, format) = formats().into_iter().find(|(n, _)| n == "forwarded").unwrap();
    let format = LogFormat::compile(&format).unwrap();
    let chains: Vec<String> = log_lines("forwarded")
        .iter()
        .filter_map(|line| format.parse(line).unwrap().forwarded_for.map(|c| c.into_owned()))
        .collect();
    assert!(chains.contains(&"198.51.100.23, 10.0.0.2".to_owned()), "{chains:?}");
    assert!(chains.contains(&"unknown, [2001:db8::2]:4711, 203.0.113.9:8080".to_owned()), "{chains:?}");
    assert!(chains.contains(&"81.2.69.142".to_owned()), "{chains:?}");
}

#[test]
fn trusted_proxy_walk_over_captured_forwarded_for_chains() {
    let (_, format) = formats().into_iter().find(|(n, _)| n == "forwarded").unwrap();
    let config = EnrichmentSettings {
        format: FormatChoice::parse(&format).unwrap(),
        trusted_proxies: enrichment::TrustedProxies::parse("127.0.0.1, ::1").unwrap(),
        ..EnrichmentSettings::default()
    };
    let docs = documents(&mut Enricher::new(config, None), &log_lines("forwarded"));
    // Host-name clients (the HostnameLookups phase) have no source.ip.
    let clients: Vec<(&str, &str)> = docs
        .iter()
        .filter_map(|d| Some((d["source"]["address"].as_str()?, d["source"]["ip"].as_str()?)))
        .collect();
    // Apache logged these chains; the proxy (%h) is loopback, so the walk steps into each chain.
    for expected in [
        ("127.0.0.1", "203.0.113.7"),
        ("127.0.0.1", "10.0.0.2"), // "198.51.100.23, 10.0.0.2": 10.0.0.2 is not trusted
        ("127.0.0.1", "192.0.2.44"), // "2001:db8::1, 192.0.2.44"
        ("127.0.0.1", "203.0.113.9"), // "unknown, [2001:db8::2]:4711, 203.0.113.9:8080"
        ("::1", "81.2.69.142"),
        ("::1", "::1"), // no X-Forwarded-For
    ] {
        assert!(clients.contains(&expected), "{expected:?} not in {clients:?}");
    }
}
