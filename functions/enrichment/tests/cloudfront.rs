//! CloudFront real-time log records (tests/data/cloudfront/, written from AWS's documented field
//! list): by the default field list under `cloudfront-realtime` and `auto`, and by a
//! configuration's own list.
#![allow(clippy::unwrap_used)] // a test that cannot read its fixtures should stop right there

use std::path::PathBuf;

mod common;

use common::{enricher, failure};
use enrichment::TrustedProxies;
use enrichment::settings::EnrichmentSettings;
use serde_json::{Value, json};

fn data(name: &str) -> String {
    common::data(&format!("cloudfront/{name}"))
}

/// The documents of a file's records.
fn documents(settings: EnrichmentSettings, text: &str) -> Vec<Value> {
    common::documents(settings, text.lines())
}

fn with_format(format: &str) -> EnrichmentSettings {
    common::settings(format)
}

#[test]
fn records_in_the_documented_order_give_the_documented_fields() {
    let text = data("realtime-default.log");
    let docs = documents(with_format("cloudfront-realtime"), &text);
    assert_eq!(docs, documents(with_format("auto"), &text), "auto reads them the same");
    let [hit, missing, broken_off] = &docs[..] else { panic!("three records") };

    assert_eq!(hit["@timestamp"], "2026-11-21T05:37:48.123Z");
    assert_eq!(hit["event"]["dataset"], "aws.cloudfront_logs");
    assert_eq!(hit["event"]["module"], "aws");
    assert_eq!(hit["source"], json!({"address": "81.2.69.142", "ip": "81.2.69.142", "port": 52010}));
    assert_eq!(
        hit["http"],
        json!({"request": {"method": "GET", "referrer": "https://www.google.com/", "bytes": 352}, "version": "2.0", "response": {"status_code": 200, "bytes": 1041}})
    );
    assert_eq!(
        hit["url"],
        json!({"scheme": "https", "original": "/index.html", "path": "/index.html", "extension": "html"})
    );
    assert_eq!(
        hit["user_agent"]["original"],
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        "percent-decoded"
    );
    assert_eq!(hit["user_agent"]["name"], "Chrome");
    assert_eq!(hit["destination"]["domain"], "www.example.test");
    assert_eq!(
        hit["tls"],
        json!({"version_protocol": "tls", "version": "1.3", "cipher": "TLS_AES_128_GCM_SHA256"})
    );
    assert_eq!(hit["event"]["duration"], 3_000_000);
    assert_eq!(
        hit["aws"]["cloudfront"],
        json!({"edge_location": "LHR61-P3", "edge_request_id": "k2m2xDHHuOWvfb2oHJ0n4B-1Iy3uA7F2rXyqXMQgmVZ8XQBkHgYzyw==", "domain": "d111111abcdef8.cloudfront.net", "edge_result_type": "Hit", "edge_response_result_type": "Hit", "edge_detailed_result_type": "Hit", "content_type": "text/html", "country": "GB", "cache_behavior_path_pattern": "*", "time_to_first_byte": 0.002, "content_length": 712})
    );

    // The stem holds the query in real-time logs.
    assert_eq!(missing["url"]["path"], "/old/page one.html");
    assert_eq!(missing["url"]["query"], "ref=mail&token=REDACTED", "a secret kept out");
    assert_eq!(missing["source"]["ip"], "2a02:cf40::1");
    assert_eq!(missing["http"]["response"]["status_code"], 404);
    assert_eq!(missing["Crawler"]["categories"], json!(["ai-crawler"]));

    // `000`: the viewer closed the connection first; no status, no outcome.
    assert!(broken_off["http"]["response"].get("status_code").is_none());
    assert!(broken_off["event"].get("outcome").is_none());
    assert_eq!(broken_off["aws"]["cloudfront"]["edge_detailed_result_type"], "ClientCommError");
    assert_eq!(
        (&broken_off["aws"]["cloudfront"]["range_start"], &broken_off["aws"]["cloudfront"]["range_end"]),
        (&json!(1000), &json!(1999))
    );
    assert_eq!(
        broken_off["source"]["ip"], "10.0.0.5",
        "x-forwarded-for is believed only behind trusted proxies"
    );
    let trusting = EnrichmentSettings {
        trusted_proxies: TrustedProxies::parse("10.0.0.0/8").unwrap(),
        ..with_format("cloudfront-realtime")
    };
    assert_eq!(documents(trusting, text.lines().nth(2).unwrap())[0]["source"]["ip"], "203.0.113.7");
}

#[test]
fn every_documented_field_and_the_secrets_stay_out_of_the_document() {
    // A configuration that asks for all 40 documented fields, cookies and headers included.
    let list = data("realtime-all.fields");
    let all =
        documents(with_format(&format!("cloudfront-realtime:{}", list.trim())), &data("realtime-all.log"));
    let stack = documents(with_format("cloudfront-realtime"), &data("realtime-default.log"));
    assert_eq!(all, stack, "the same documents: cookies and headers are read and skipped");
    for doc in &all {
        assert!(!doc.to_string().contains("secret"), "{doc}");
    }
}

#[test]
fn the_stacks_configuration_lists_the_fields_the_default_reads() {
    let template =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../infra/template.yaml"))
            .unwrap();
    let config = &template[template.find("  CloudFrontRealtimeLogConfig:").unwrap()..];
    let fields = &config[config.find("      Fields:\n").unwrap() + "      Fields:\n".len()..];
    let listed: Vec<&str> =
        fields.lines().map_while(|line| line.strip_prefix("        - ")).map(str::trim).collect();
    assert_eq!(listed, enrichment::CLOUDFRONT_REALTIME_FIELDS);
}

#[test]
fn a_configuration_with_its_own_field_list() {
    let list = data("realtime-custom.fields");
    let docs =
        documents(with_format(&format!("cloudfront-realtime:{}", list.trim())), &data("realtime-custom.log"));
    let defaults = documents(with_format("cloudfront-realtime"), &data("realtime-default.log"));
    for (doc, full) in docs.iter().zip(&defaults) {
        // The fields the list names agree with the full record's.
        for path in [
            ["@timestamp", ""],
            ["source", "ip"],
            ["http", "request"],
            ["url", "path"],
            ["user_agent", "original"],
            ["event", "duration"],
        ] {
            let pick =
                |d: &Value| if path[1].is_empty() { d[path[0]].clone() } else { d[path[0]][path[1]].clone() };
            if path == ["http", "request"] {
                assert_eq!(doc["http"]["request"]["method"], full["http"]["request"]["method"]);
            } else {
                assert_eq!(pick(doc), pick(full), "{path:?}");
            }
        }
        assert_eq!(
            doc["aws"]["cloudfront"]["edge_result_type"],
            full["aws"]["cloudfront"]["edge_result_type"]
        );
    }
}

#[test]
fn short_records_and_bad_values_are_failures_that_say_where() {
    let mut enricher = enricher(with_format("cloudfront-realtime"));
    let record = data("realtime-default.log").lines().next().unwrap().to_owned();
    let cut = &record[..record.find("\tLHR61").unwrap()];
    let bad_status = record.replacen("\t200\t", "\tabc\t", 1);
    let bad_time = record.replacen("1795239468.123", "1795239468.12", 1);
    for (line, message) in [
        (cut, "expected 37 tab-separated fields"),
        (bad_status.as_str(), "invalid sc-status value \"abc\""),
        (bad_time.as_str(), "invalid timestamp value \"1795239468.12\""),
    ] {
        failure(&mut enricher, line, "aws.cloudfront_logs", message);
    }
}

#[test]
fn a_standard_log_file_is_read_by_its_fields_header() {
    let text = data("standard-legacy.log");
    let docs = common::file_documents(with_format("cloudfront"), &text);
    assert_eq!(docs, common::file_documents(with_format("auto"), &text), "auto reads it the same");
    let [hit, favicon, curl, video] = &docs[..] else { panic!("four requests, no document for the header") };

    assert_eq!(hit["@timestamp"], "2019-12-04T21:02:31.000Z");
    assert_eq!(hit["event"]["dataset"], "aws.cloudfront_logs");
    assert_eq!(hit["source"], json!({"address": "192.0.2.100", "ip": "192.0.2.100", "port": 11040}));
    assert_eq!(
        hit["http"],
        json!({"request": {"method": "GET", "bytes": 23}, "version": "2.0", "response": {"status_code": 200, "bytes": 392}})
    );
    assert_eq!(
        hit["url"],
        json!({"scheme": "https", "original": "/index.html", "path": "/index.html", "extension": "html"})
    );
    assert_eq!(hit["user_agent"]["name"], "Chrome", "percent-decoded and read");
    assert_eq!(hit["tls"]["cipher"], "ECDHE-RSA-AES128-GCM-SHA256");
    assert_eq!(hit["event"]["duration"], 1_000_000);
    assert_eq!(
        hit["aws"]["cloudfront"],
        json!({"edge_location": "LAX1", "edge_request_id": "SOX4xwn4XV6Q4rgb7XiVGOHms_BGlTAC4KyHmureZmBNrjGdRLiNIQ==", "domain": "d111111abcdef8.cloudfront.net", "edge_result_type": "Hit", "edge_response_result_type": "Hit", "edge_detailed_result_type": "Hit", "content_type": "text/html", "time_to_first_byte": 0.001, "content_length": 78})
    );

    // Standard logs name the viewer's Host header `x-host-header`, the distribution `cs(Host)`.
    assert_eq!(favicon["destination"]["domain"], "www.example.com");
    assert_eq!(favicon["aws"]["cloudfront"]["domain"], "d111111abcdef8.cloudfront.net");
    assert_eq!(favicon["http"]["request"]["referrer"], "http://www.example.com/");
    assert_eq!(favicon["http"]["response"]["status_code"], 502);
    assert_eq!(favicon["event"]["outcome"], "failure");
    assert_eq!(favicon["aws"]["cloudfront"]["edge_detailed_result_type"], "OriginDnsError");
    assert_eq!(curl["user_agent"]["original"], "curl/7.55.1");
    assert_eq!(curl["@timestamp"], "2019-12-13T22:37:02.000Z");

    // The query is its own field; the stem is percent-decoded; the cookie is never read.
    assert_eq!(video["url"]["path"], "/videos/intro clip.mp4");
    assert_eq!(video["url"]["query"], "t=42&session=REDACTED", "a secret kept out");
    assert_eq!(video["Crawler"]["categories"], json!(["search-engine"]));
    assert_eq!(
        (&video["aws"]["cloudfront"]["range_start"], &video["aws"]["cloudfront"]["range_end"]),
        (&json!(1000), &json!(1999))
    );
    assert!(!video.to_string().contains("SECRET123"), "{video}");
    assert_eq!(video["source"]["ip"], "10.0.0.5", "x-forwarded-for only behind trusted proxies");
    let trusting = EnrichmentSettings {
        trusted_proxies: TrustedProxies::parse("10.0.0.0/8").unwrap(),
        ..with_format("cloudfront")
    };
    assert_eq!(common::file_documents(trusting, &text)[3]["source"]["ip"], "66.249.66.1");
}

#[test]
fn a_v2_file_with_chosen_fields_in_its_own_order() {
    let docs = common::file_documents(with_format("auto"), &data("standard-v2.log"));
    let [page, search] = &docs[..] else { panic!("two requests") };
    assert_eq!(page["@timestamp"], "2025-11-21T05:37:48.123Z", "timestamp(ms)");
    assert_eq!(
        page["aws"]["cloudfront"],
        json!({"edge_location": "LHR61-P3", "edge_result_type": "Hit", "country": "GB", "domain": "d111111abcdef8.cloudfront.net"})
    );
    assert_eq!(page["user_agent"]["name"], "Firefox");
    assert_eq!(page["destination"]["domain"], "www.example.test");
    assert_eq!(search["http"]["request"]["method"], "POST");
    assert_eq!(search["url"]["query"], "q=shoes");
    assert_eq!(search["source"]["ip"], "2a02:cf40::1");
    assert_eq!(search["http"]["version"], "1.1");
    // `asn`, a field this reader does not know, is read and skipped.
    assert!(search.get("asn").is_none() && search["aws"]["cloudfront"].get("asn").is_none());
}

#[test]
fn each_header_reads_the_lines_after_it_and_a_new_file_forgets_it() {
    let legacy = data("standard-legacy.log");
    let v2 = data("standard-v2.log");
    // Files joined (as `cat a b` makes them): every line by the header before it.
    let joined = common::file_documents(with_format("cloudfront"), &format!("{legacy}{v2}"));
    let apart = [
        common::file_documents(with_format("cloudfront"), &legacy),
        common::file_documents(with_format("cloudfront"), &v2),
    ]
    .concat();
    assert_eq!(joined, apart);

    // A file whose header is missing: a `_parse_failure` per line that says so, under both
    // settings, even right after a file that had one.
    let headless: String = legacy.lines().skip(2).map(|line| format!("{line}\n")).collect();
    for format in ["cloudfront", "auto"] {
        let mut enricher = common::enricher(with_format(format));
        assert!(common::enrich_file(&mut enricher, None, &v2).iter().flatten().all(|(failed, _)| !failed));
        let results = common::enrich_file(&mut enricher, None, &headless);
        assert_eq!(results.len(), 4);
        for ((failed, doc), line) in results.into_iter().map(Option::unwrap).zip(headless.lines()) {
            assert!(failed, "{format}: {doc}");
            assert_eq!(doc["event"]["dataset"], "aws.cloudfront_logs");
            assert!(doc["error"]["message"].as_str().unwrap().contains("no #Fields header"), "{doc}");
            assert_eq!(
                doc["event"]["original"],
                line.replace("session=abc123", "session=REDACTED"),
                "kept whole, but for the secret"
            );
        }
    }

    // Resumed in the middle with the header handed on: the same documents as read whole.
    let mut enricher = common::enricher(with_format("auto"));
    enricher.start_file(None, Some(legacy.lines().nth(1).unwrap()));
    let (failed, resumed) = common::enrich(&mut enricher, legacy.lines().nth(5).unwrap().as_bytes());
    assert!(!failed);
    assert_eq!(resumed, apart[3]);
    assert_eq!(enricher.file_header(), legacy.lines().nth(1));
}

#[test]
fn a_header_without_a_time_and_lines_that_do_not_fit_it() {
    let mut enricher = common::enricher(with_format("cloudfront"));
    let results =
        common::enrich_file(&mut enricher, None, "#Version: 1.0\n#Fields: c-ip sc-status\n192.0.2.1\t200\n");
    let [None, None, Some((true, doc))] = &results[..] else { panic!("{results:?}") };
    assert!(
        doc["error"]["message"].as_str().unwrap().contains("expected a time (timestamp, or date and time)"),
        "{doc}"
    );

    let legacy = data("standard-legacy.log");
    let header: String = legacy.lines().take(2).map(|line| format!("{line}\n")).collect();
    let line = legacy.lines().nth(2).unwrap();
    let cut = &line[..line.find("\tHit").unwrap()];
    let bad_date = line.replacen("2019-12-04", "2019-13-04", 1);
    for (line, message) in [
        (cut, "expected 33 tab-separated fields"),
        (bad_date.as_str(), "invalid date value \"2019-13-04 21:02:31\""),
    ] {
        let results = common::enrich_file(&mut enricher, None, &format!("{header}{line}\n"));
        let Some((true, doc)) = &results[2] else { panic!("{results:?}") };
        assert!(doc["error"]["message"].as_str().unwrap().contains(message), "{doc}");
        assert!(
            doc["error"]["message"].as_str().unwrap().contains("the file's CloudFront #Fields header"),
            "{doc}"
        );
    }
}
