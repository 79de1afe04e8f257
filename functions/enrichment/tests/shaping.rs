//! Shaping rules as a site owner uses them: the documented health-check rules take exactly the
//! health checks out of a log full of them; sampling keeps the same one in N every time and says
//! so in each kept document; every line is accounted for; a rule that is not accepted names the
//! setting, the rule and the reason.
#![allow(clippy::unwrap_used)] // fixtures stop a test

mod common;

use common::enrich;
use enrichment::settings::{DROP_WHEN, EnrichmentSettings, SAMPLE_WHEN};
use enrichment::{Enricher, LineOutcome};
use serde_json::Value;

/// The rules docs/shaping.md gives for load balancers' and Kubernetes' health checks, a `/health`
/// endpoint and the internal network.
const HEALTH_CHECK_RULES: &str = "user_agent.original ^= ELB-HealthChecker/; \
     user_agent.original ^= kube-probe/; \
     url.path = /health,/healthz,/readyz; \
     source.ip in 10.0.0.0/8 and url.path ^= /internal/";

fn settings(vars: &[(&str, &str)]) -> EnrichmentSettings {
    EnrichmentSettings::from_lookup(|name| {
        vars.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned())
    })
    .unwrap()
}

fn line(client: &str, request: &str, status: u16, agent: &str) -> String {
    format!(r#"{client} - - [07/Dec/2026:10:00:00 +0000] "{request} HTTP/1.1" {status} 512 "-" "{agent}""#)
}

/// A health-check-heavy log: the load balancer every few seconds, the kubelet, `/health` from a
/// monitor, internal calls, and the visitors between them. Each line says whether it is a check.
fn health_check_heavy_log() -> Vec<(String, bool)> {
    let browser = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";
    let mut lines = Vec::new();
    for n in 0..200 {
        lines.push((line("10.0.1.17", "GET /", 200, "ELB-HealthChecker/2.0"), true));
        lines.push((line("10.0.2.5", "GET /healthz", 200, "kube-probe/1.29"), true));
        lines.push((line("198.51.100.4", "GET /health", 200, "UptimeRobot/2.0"), true));
        // The same path percent-encoded: the rule sees the decoded path, as the document would.
        lines.push((line("198.51.100.4", "GET /h%65alth", 200, "UptimeRobot/2.0"), true));
        lines.push((line("10.0.3.9", &format!("POST /internal/sync/{n}"), 204, "Go-http-client/1.1"), true));
        // Visitors, one of them asking for a page called like a check but not it, one an
        // internal address on a public page.
        lines.push((
            line(&format!("203.0.113.{}", n % 250), &format!("GET /product/{n}"), 200, browser),
            false,
        ));
        lines.push((line("203.0.113.9", "GET /health-insurance.html", 200, browser), false));
        lines.push((line("10.0.3.9", "GET /pricing", 200, browser), false));
        lines.push((line("203.0.113.7", "GET /internal/docs", 404, browser), false));
    }
    lines
}

fn outcomes(enricher: &mut Enricher, lines: &[String]) -> Vec<(LineOutcome, Option<Value>)> {
    let context = common::context();
    lines
        .iter()
        .map(|line| {
            let mut out = Vec::new();
            let outcome = enricher.enrich_line(line.as_bytes(), &context, &mut out);
            assert_eq!(outcome.has_document(), !out.is_empty(), "{line}");
            (outcome, (!out.is_empty()).then(|| serde_json::from_slice(&out).unwrap()))
        })
        .collect()
}

#[test]
fn the_documented_rules_take_out_exactly_the_health_checks() {
    let log = health_check_heavy_log();
    let lines: Vec<String> = log.iter().map(|(line, _)| line.clone()).collect();
    let mut enricher = Enricher::new(settings(&[(DROP_WHEN.env, HEALTH_CHECK_RULES)]), None);
    let results = outcomes(&mut enricher, &lines);
    for ((line, check), (outcome, document)) in log.iter().zip(&results) {
        assert_eq!(outcome.dropped, *check, "{line}");
        assert_eq!(document.is_none(), *check, "{line}");
        assert!(!outcome.sampled_out && !outcome.parse_failure);
    }
    let dropped = results.iter().filter(|(outcome, _)| outcome.dropped).count();
    let documents = results.iter().filter(|(_, document)| document.is_some()).count();
    assert_eq!((dropped, documents), (1_000, 800));
    assert_eq!(dropped + documents, lines.len(), "every line accounted for");
}

#[test]
fn a_line_that_is_not_its_format_as_far_as_the_rules_read_is_never_dropped() {
    let mut enricher = Enricher::new(settings(&[(DROP_WHEN.env, "url.path ^= /")]), None);
    let (failed, document) = enrich(&mut enricher, b"ELB-HealthChecker/2.0 GET / garbage");
    assert!(failed, "a parse failure is a document to see: {document}");
    // The request where the format has it, but no time before it.
    let (failed, _) = enrich(&mut enricher, br#"10.0.1.17 - - "GET /health HTTP/1.1" 200 5 "-" "-""#);
    assert!(failed);
}

#[test]
fn health_checks_are_dropped_in_each_format_auto_reads_and_by_a_sources_format() {
    let rules = "url.path = /health; http.response.status_code = 499 and url.path ^= /api/";
    let mut enricher = Enricher::new(
        settings(&[
            (DROP_WHEN.env, rules),
            ("LOG_FORMAT_BY_SOURCE", r#"{"s3://logs/nginx/": "$remote_addr \"$request\" $status $host"}"#),
        ]),
        None,
    );
    let time = "[07/Dec/2026:10:00:00 +0000]";
    // (line, dropped) under `auto`: combined, vhost_combined, common; the status after the request.
    let auto = [
        (format!(r#"10.0.0.1 - - {time} "GET /health HTTP/1.1" 200 5 "-" "probe""#), true),
        (format!(r#"shop.example:443 10.0.0.1 - - {time} "GET /health HTTP/1.1" 200 5 "-" "probe""#), true),
        (format!(r#"10.0.0.1 - - {time} "GET /health HTTP/1.1" 200 5"#), true),
        (format!(r#"10.0.0.1 - - {time} "GET /api/cart HTTP/1.1" 499 0"#), true),
        (format!(r#"10.0.0.1 - - {time} "GET /api/cart HTTP/1.1" 200 10 "-" "Mozilla/5.0""#), false),
        (format!(r#"shop.example:443 10.0.0.1 - - {time} "GET /healthy HTTP/1.1" 200 5 "-" "probe""#), false),
    ];
    for (line, dropped) in &auto {
        let mut out = Vec::new();
        let outcome = enricher.enrich_line(line.as_bytes(), &common::context(), &mut out);
        assert_eq!((outcome.dropped, outcome.parse_failure), (*dropped, false), "{line}");
    }
    enricher.start_file(Some("s3://logs/nginx/access.log"), None);
    for (line, dropped) in [
        (r#"10.0.0.1 "GET /health HTTP/1.1" 200 shop.example"#, true),
        (r#"10.0.0.1 "GET /api/cart HTTP/1.1" 499 shop.example"#, true),
        (r#"10.0.0.1 "GET /api/cart HTTP/1.1" 200 shop.example"#, false),
    ] {
        let mut out = Vec::new();
        let outcome = enricher.enrich_line(line.as_bytes(), &common::context(), &mut out);
        assert_eq!((outcome.dropped, outcome.parse_failure), (dropped, false), "{line}");
    }
}

#[test]
fn a_rule_reads_a_line_only_as_far_as_the_fields_it_tests() {
    // A status that is no status, after the request: a rule on the path decides the line before
    // it is read (dropped, not a parse failure); a rule on the status reads it, and fails it.
    let broken_status = br#"10.0.1.17 - - [07/Dec/2026:10:00:00 +0000] "GET /health HTTP/1.1" 2OO 5 "-" "-""#;
    let mut by_path = Enricher::new(settings(&[(DROP_WHEN.env, "url.path = /health")]), None);
    let mut out = Vec::new();
    let outcome = by_path.enrich_line(broken_status, &common::context(), &mut out);
    assert!(outcome.dropped && out.is_empty(), "{outcome:?}");
    let mut by_status = Enricher::new(
        settings(&[(DROP_WHEN.env, "url.path = /health and http.response.status_code = 200")]),
        None,
    );
    let (failed, document) = enrich(&mut by_status, broken_status);
    assert!(failed, "{document}");
    assert!(document["error"]["message"].as_str().unwrap().contains("%>s"), "{document}");
    // A line the rule keeps is read whole: its document is the one without rules.
    let page = line("203.0.113.9", "GET /healthy-food.html", 200, "Mozilla/5.0");
    let mut without_rules = Enricher::new(settings(&[]), None);
    assert_eq!(enrich(&mut by_path, page.as_bytes()), enrich(&mut without_rules, page.as_bytes()));
}

#[test]
fn sampling_keeps_the_same_lines_everywhere_and_says_its_rate() {
    let rules = "1/10: url.path ^= /static/ and http.response.status_code = 200";
    let assets: Vec<String> = (0..5_000)
        .map(|n| {
            line(&format!("203.0.113.{}", n % 250), &format!("GET /static/img/{n}.png"), 200, "Mozilla/5.0")
        })
        .collect();
    let pages: Vec<String> =
        (0..100).map(|n| line("203.0.113.1", &format!("GET /page/{n}"), 200, "Mozilla/5.0")).collect();
    let all: Vec<String> = assets.iter().chain(&pages).cloned().collect();

    let mut first = Enricher::new(settings(&[(SAMPLE_WHEN.env, rules)]), None);
    let mut second = Enricher::new(settings(&[(SAMPLE_WHEN.env, rules)]), None);
    let once = outcomes(&mut first, &all);
    let again = outcomes(&mut second, &all);
    let kept = |results: &[(LineOutcome, Option<Value>)]| -> Vec<bool> {
        results.iter().map(|(_, document)| document.is_some()).collect()
    };
    assert_eq!(kept(&once), kept(&again), "a retry, a replay, another function: the same lines");

    let sampled: Vec<&Value> = once[..5_000].iter().filter_map(|(_, document)| document.as_ref()).collect();
    assert!((400..=600).contains(&sampled.len()), "{} of 5,000 assets kept", sampled.len());
    assert!(sampled.iter().all(|document| document["event"]["sample_rate"] == 10));
    assert_eq!(
        once[..5_000].iter().filter(|(outcome, _)| outcome.sampled_out).count(),
        5_000 - sampled.len()
    );
    // Pages match no rule: all kept, none says a rate.
    assert!(once[5_000..].iter().all(|(outcome, document)| {
        !outcome.sampled_out && document.as_ref().is_some_and(|d| d["event"].get("sample_rate").is_none())
    }));
    // Counting back: the kept assets stand for all of them, within sampling's error.
    let estimate: u64 =
        sampled.iter().map(|document| document["event"]["sample_rate"].as_u64().unwrap()).sum();
    assert!((4_000..=6_000).contains(&estimate), "{estimate}");
}

#[test]
fn a_rule_that_is_not_accepted_stops_start_up_naming_it() {
    let error = |vars: &[(&str, &str)]| {
        EnrichmentSettings::from_lookup(|name| {
            vars.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned())
        })
        .unwrap_err()
        .to_string()
    };
    assert_eq!(
        error(&[(DROP_WHEN.env, "url.path = /health; user_agent ^= kube-probe/")]),
        "invalid DROP_WHEN (--drop-when) value \"url.path = /health; user_agent ^= kube-probe/\": rule 2, \
         condition 1 (\"user_agent ^= kube-probe/\"): unknown field \"user_agent\"; fields are url.path, \
         url.query, http.request.method, http.response.status_code, source.ip, user_agent.original, \
         destination.domain, crawler.category"
    );
    let sample = error(&[(SAMPLE_WHEN.env, "url.path ^= /static/")]);
    assert!(sample.starts_with("invalid SAMPLE_WHEN (--sample-when) value"), "{sample}");
    assert!(
        sample.contains("rule 1 (\"url.path ^= /static/\"): a sampling rule starts with its rate"),
        "{sample}"
    );
    let regex = error(&[(DROP_WHEN.env, "user_agent.original ~ (unclosed")]);
    assert!(
        regex.contains("rule 1, condition 1") && regex.contains("the regular expression does not compile"),
        "{regex}"
    );
}

/// A rule sees a value as the document shows it, also where that differs from the line's bytes:
/// an escape undone, a byte that is not UTF-8 shown as `\xhh`, a CloudFront user agent
/// percent-decoded. Such lines are read field by field, not passed over by the search for texts.
#[test]
fn values_that_differ_from_the_lines_bytes_are_still_matched() {
    let context = common::context();
    let dropped = |rules: &str, line: &[u8]| {
        let mut enricher = Enricher::new(settings(&[(DROP_WHEN.env, rules)]), None);
        enricher.enrich_line(line, &context, &mut Vec::new()).dropped
    };
    // Apache escapes a quote in the user agent; a writer other than Apache leaves a Latin-1 byte.
    let escaped =
        br#"203.0.113.7 - - [07/Dec/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "Say \"hi\" bot""#;
    assert!(dropped(r#"user_agent.original = "Say \"hi\" bot""#, escaped));
    let latin1 =
        b"203.0.113.7 - - [07/Dec/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"Caf\xe9Bot/1.0\"";
    assert!(dropped(r"user_agent.original ^= Caf\xe9Bot/", latin1));
    // An ALB line with a byte that is not UTF-8 is read as text with `\xhh` in its place.
    let alb = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/data/alb/aws-docs-examples.log"
    ))
    .unwrap();
    let first = alb.lines().next().unwrap().as_bytes();
    let at = first.windows(13).position(|window| window == b"\"curl/7.46.0\"").unwrap() + 12;
    let alb = [&first[..at], b"-\xe9".as_slice(), &first[at..]].concat();
    assert!(dropped(r"user_agent.original $= -\xe9", &alb));
    // The same rules pass over lines whose values are the line's bytes and do not match.
    assert!(!dropped(r#"user_agent.original = "Say \"hi\" bot""#, latin1));
}

/// The search for the rules' texts covers every value they test, wherever the format puts it:
/// a status after the request (common), a virtual host before the client (vhost_combined).
#[test]
fn texts_are_found_wherever_the_format_puts_their_values() {
    let context = common::context();
    let dropped = |format: &str, rules: &str, line: &str| {
        let vars = [("LOG_FORMAT", format), (DROP_WHEN.env, rules)];
        let mut enricher = Enricher::new(settings(&vars), None);
        enricher.enrich_line(line.as_bytes(), &context, &mut Vec::new()).dropped
    };
    let common = r#"203.0.113.7 - - [07/Dec/2026:10:00:00 +0000] "GET /shop HTTP/1.1" 499 0"#;
    assert!(dropped("common", "http.response.status_code = 499", common));
    assert!(dropped("common", "url.path ^= /shop and http.response.status_code = 499", common));
    assert!(!dropped("common", "http.response.status_code = 498", common));
    let vhost = r#"status.example.com:443 203.0.113.7 - - [07/Dec/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "curl/8""#;
    assert!(dropped("vhost_combined", "destination.domain = status.example.com", vhost));
    assert!(dropped("vhost_combined", "user_agent.original ^= curl/", vhost));
    assert!(!dropped("vhost_combined", "destination.domain = www.example.com", vhost));
}
