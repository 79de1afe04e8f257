//! `enrich-logs` as a user runs it: the built binary, files and standard input, flags and variables.
#![allow(clippy::unwrap_used)] // a test that cannot read its fixtures should stop right there

use std::io::Write;
use std::path::PathBuf;

use std::process::{Command, Output, Stdio};
use test_support::{DemoDatabaseFiles, demo_database_files};

use serde_json::Value;

const COMBINED_LINE: &str = r#"81.2.69.142 - - [21/Nov/2026:06:45:50 +0100] "GET /docs/report.2026.pdf?x=1 HTTP/1.1" 200 7 "https://www.google.com/" "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0""#;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data").join(name)
}

/// The binary without GeoIP (most tests are about everything else).
fn enrich_logs() -> Command {
    let mut command = enrich_logs_bare();
    command.arg("--no-geoip");
    command
}

/// The binary with none of the settings' variables inherited from the environment running the tests.
fn enrich_logs_bare() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_enrich-logs"));
    for var in [
        "LOG_FORMAT",
        "GEOIP_CITY_DB",
        "GEOIP_ASN_DB",
        "GEOIP_OPTIONAL",
        "TRUSTED_PROXIES",
        "IP_ANONYMIZATION",
        "KEEP_ORIGINAL",
        "REDACT_QUERY_PARAMS",
        "REDACT_EMAILS",
        "DROP_WHEN",
        "SAMPLE_WHEN",
    ] {
        command.env_remove(var);
    }
    command
}

fn run_with_stdin(mut command: Command, stdin: &[u8]) -> Output {
    let mut child =
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    // The binary stops before reading when a setting is bad: it may close stdin first.
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}

fn documents(output: &Output) -> Vec<Value> {
    assert!(output.status.success(), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn one_document_per_line_in_order_parse_failures_included() {
    let input = format!(
        "{COMBINED_LINE}\nthis is not a log line\n\n{COMBINED_LINE}\r\n{{\"host\":\"2a02:cf40::1\",\"datetime\":\"21/Nov/2026:05:00:36 +0000\",\"request\":\"GET / HTTP/1.1\",\"response\":\"304\",\"bytes\":null,\"referer\":null,\"agent\":\"curl/8.5.0\"}}"
    );
    let docs = documents(&run_with_stdin(enrich_logs(), input.as_bytes()));
    assert_eq!(docs.len(), 5);
    assert_eq!(docs[0]["@timestamp"], "2026-11-21T05:45:50.000Z");
    assert_eq!(docs[0]["source"]["ip"], "81.2.69.142");
    assert_eq!(docs[0]["url"]["path"], "/docs/report.2026.pdf");
    assert_eq!(docs[0]["url"]["query"], "x=1");
    assert_eq!(docs[0]["url"]["extension"], "pdf");
    assert_eq!(docs[0]["http"]["request"]["referrer"], "https://www.google.com/");
    assert_eq!(docs[0]["event"]["dataset"], "apache.access");
    assert!(docs[0]["event"].get("original").is_none());

    assert_eq!(docs[1]["tags"], serde_json::json!(["_parse_failure"]));
    assert_eq!(docs[1]["event"]["original"], "this is not a log line");
    assert!(docs[1]["error"]["message"].as_str().unwrap().contains("matches none of"));
    assert!(docs[1]["@timestamp"].as_str().unwrap().ends_with('Z'));

    assert_eq!(docs[2]["event"]["original"], "", "an empty line is a line too");
    assert_eq!(docs[3], docs[0], "CRLF line endings are not part of the line");
    assert_eq!(docs[4]["source"]["ip"], "2a02:cf40::1");
    assert_eq!(docs[4]["http"]["response"]["status_code"], 304);
}

#[test]
fn reads_files_in_order_and_dash_as_stdin() {
    let mut command = enrich_logs();
    command.arg(data("common.log")).arg("-").arg(data("combined.log"));
    let docs = documents(&run_with_stdin(command, format!("{COMBINED_LINE}\n").as_bytes()));
    assert_eq!(docs.len(), 48 + 1 + 48);
    assert_eq!(docs[48]["source"]["ip"], "81.2.69.142");
    assert!(docs[0].get("user_agent").is_none(), "common has no user agent");
    assert!(docs[49].get("user_agent").is_some());
}

#[test]
fn bulk_output_names_the_index_from_the_timestamp() {
    let mut command = enrich_logs();
    command.args(["--output", "bulk", "--index", "weblogs-%Y.%m.%d"]);
    let output = run_with_stdin(command, format!("{COMBINED_LINE}\nbroken\n").as_bytes());
    assert!(output.status.success());
    let lines: Vec<Value> =
        String::from_utf8(output.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0], serde_json::json!({"index": {"_index": "weblogs-2026.11.21"}}));
    assert_eq!(lines[1]["source"]["ip"], "81.2.69.142");
    assert!(lines[2]["index"]["_index"].as_str().unwrap().starts_with("weblogs-"));
    assert_eq!(lines[3]["tags"][0], "_parse_failure");
}

#[test]
fn the_default_index_is_one_the_opensearch_index_template_applies_to() {
    let template: Value = serde_json::from_slice(
        &std::fs::read(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../infra/opensearch/index-template.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let mut command = enrich_logs();
    command.args(["--output", "bulk"]);
    let output = run_with_stdin(command, format!("{COMBINED_LINE}\n").as_bytes());
    let action: Value =
        serde_json::from_str(String::from_utf8(output.stdout).unwrap().lines().next().unwrap()).unwrap();
    let index = action["index"]["_index"].as_str().unwrap();
    // As Firehose names the stack's daily index (IndexName `weblogs`, OneDay rotation).
    assert_eq!(index, "weblogs-2026-11-21");
    let patterns = template["index_patterns"].as_array().unwrap();
    assert!(
        patterns.iter().any(|p| p
            .as_str()
            .unwrap()
            .strip_suffix('*')
            .is_some_and(|prefix| index.starts_with(prefix))),
        "{index} matches none of {patterns:?}"
    );
}

/// `FakeBulkIndex`: what an OpenSearch index holds after `_bulk` requests of `index` actions (no
/// OpenSearch server runs here): an action with an `_id` replaces the document of that id, one
/// without gets a new id.
#[derive(Default)]
struct FakeBulkIndex {
    documents: std::collections::HashMap<(String, String), Value>,
    generated: usize,
}

impl FakeBulkIndex {
    fn bulk(&mut self, body: &[u8]) {
        let lines: Vec<Value> =
            std::str::from_utf8(body).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        for pair in lines.chunks(2) {
            let action = &pair[0]["index"];
            let index = action["_index"].as_str().unwrap().to_owned();
            let id = match action["_id"].as_str() {
                Some(id) => id.to_owned(),
                None => {
                    self.generated += 1;
                    format!("generated-{}", self.generated)
                }
            };
            self.documents.insert((index, id), pair[1].clone());
        }
    }
}

#[test]
fn a_backfill_with_stable_ids_can_be_run_again_without_duplicates() {
    let sample = data("sample.log");
    let lines = std::fs::read_to_string(&sample).unwrap().lines().count();
    let run = |stable_ids: bool| {
        let mut command = enrich_logs();
        command.args(["--output", "bulk"]).arg(&sample);
        if stable_ids {
            command.arg("--stable-ids");
        }
        let output = command.output().unwrap();
        assert!(output.status.success());
        output.stdout
    };
    let mut index = FakeBulkIndex::default();
    index.bulk(&run(true));
    assert_eq!(index.documents.len(), lines);
    index.bulk(&run(true));
    assert_eq!(index.documents.len(), lines, "the second run overwrote the first");
    assert!(index.documents.keys().all(|(name, _)| name.starts_with("weblogs-2026-11-")));

    let mut without_ids = FakeBulkIndex::default();
    without_ids.bulk(&run(false));
    without_ids.bulk(&run(false));
    assert_eq!(without_ids.documents.len(), 2 * lines, "without ids every run adds copies");
}

#[test]
fn stats_go_to_stderr() {
    let mut command = enrich_logs();
    command.arg("--stats");
    let output = run_with_stdin(command, format!("{COMBINED_LINE}\nbroken\n{COMBINED_LINE}\n").as_bytes());
    let stderr = String::from_utf8(output.stderr.clone()).unwrap();
    assert_eq!(documents(&output).len(), 3);
    assert!(
        stderr.starts_with("lines: 3, documents: 3, parse failures: 1, geoip misses: 0, seconds: "),
        "{stderr}"
    );
    assert!(stderr.contains("lines/s: "), "{stderr}");
}

#[test]
fn stats_count_the_lines_the_rules_leave_out() {
    let check =
        r#"10.0.1.17 - - [07/Dec/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "ELB-HealthChecker/2.0""#;
    let asset = r#"203.0.113.7 - - [07/Dec/2026:10:00:00 +0000] "GET /static/app.css HTTP/1.1" 200 5 "-" "curl/8.5.0""#;
    let mut command = enrich_logs();
    command.args([
        "--stats",
        "--drop-when",
        "user_agent.original ^= ELB-HealthChecker/",
        "--sample-when",
        "1/1000000: url.path ^= /static/",
    ]);
    let input = format!("{check}\n{COMBINED_LINE}\n{asset}\n{check}\n");
    let output = run_with_stdin(command, input.as_bytes());
    assert_eq!(documents(&output).len(), 1, "the visit only");
    let stderr = String::from_utf8(output.stderr.clone()).unwrap();
    assert!(
        stderr.starts_with("lines: 4, documents: 1, dropped: 2, sampled out: 1, parse failures: 0"),
        "{stderr}"
    );

    let mut refused = enrich_logs();
    refused.args(["--drop-when", "url.path = /a; method = GET"]);
    let output = run_with_stdin(refused, b"");
    assert_eq!(output.status.code(), Some(1), "a bad setting");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("invalid DROP_WHEN (--drop-when) value"), "{stderr}");
    assert!(stderr.contains("rule 2, condition 1 (\"method = GET\"): unknown field \"method\""), "{stderr}");
}

#[test]
fn added_fields_are_in_every_document_and_no_cloud_is_guessed() {
    let mut command = enrich_logs();
    command.args(["--add-fields", "service.name=shop,service.environment=prod,labels.team=web"]);
    // A region in the shell's environment says nothing of where a file's lines were logged.
    command.env("AWS_REGION", "eu-west-1");
    let docs = documents(&run_with_stdin(command, format!("{COMBINED_LINE}\nbroken\n").as_bytes()));
    assert_eq!(docs.len(), 2);
    for doc in &docs {
        assert_eq!(doc["service"], serde_json::json!({"name": "shop", "environment": "prod"}), "{doc}");
        assert_eq!(doc["labels"]["team"], "web", "{doc}");
        assert!(doc.get("cloud").is_none(), "{doc}");
    }

    let mut refused = enrich_logs();
    refused.args(["--add-fields", "service.name=shop,labels.a.b=1"]);
    let output = run_with_stdin(refused, b"");
    assert_eq!(output.status.code(), Some(1), "a bad setting");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("invalid ADD_FIELDS (--add-fields) value"), "{stderr}");
    assert!(stderr.contains("pair 2 (\"labels.a.b=1\")"), "{stderr}");
}

#[test]
fn format_flag_and_variable() {
    let line = r#"www.example.test:443 81.2.69.142 - - [21/Nov/2026:06:45:50 +0100] "GET / HTTP/1.1" 200 512 "-" "curl/8.5.0""#;
    let mut by_flag = enrich_logs();
    by_flag.args(["--format", "vhost_combined"]);
    let docs = documents(&run_with_stdin(by_flag, line.as_bytes()));
    assert_eq!(docs[0]["destination"]["domain"], "www.example.test");
    assert_eq!(docs[0]["destination"]["port"], 443);

    let mut by_variable = enrich_logs();
    by_variable.env("LOG_FORMAT", "common");
    let docs = documents(&run_with_stdin(by_variable, line.as_bytes()));
    assert_eq!(docs[0]["tags"][0], "_parse_failure", "a vhost line is not a common line");

    let mut custom = enrich_logs();
    custom.args(["--format", r#"%{X-Forwarded-For}i %h %l %u %t "%r" %>s %b %D"#]);
    let docs = documents(&run_with_stdin(
        custom,
        br#"203.0.113.7, 10.0.0.2 10.0.0.1 - - [21/Nov/2026:06:45:50 +0100] "GET / HTTP/1.1" 200 5 1530"#,
    ));
    assert_eq!(docs[0]["source"]["ip"], "10.0.0.1");
    assert_eq!(docs[0]["event"]["duration"], 1_530_000);
}

#[test]
fn keep_original_and_anonymize() {
    let mut command = enrich_logs();
    command.args(["--keep-original", "--anonymize-ip", "truncate"]);
    let ipv6 =
        r#"2a02:cf40:1234:5678::1 - - [21/Nov/2026:06:45:50 +0100] "GET / HTTP/1.1" 200 5 "-" "curl/8.5.0""#;
    let docs = documents(&run_with_stdin(command, format!("{COMBINED_LINE}\n{ipv6}\n").as_bytes()));
    assert_eq!(docs[0]["event"]["original"], COMBINED_LINE.replace("81.2.69.142", "81.2.69.0"));
    assert_eq!(docs[0]["source"]["ip"], "81.2.69.0");
    assert_eq!(docs[0]["source"]["address"], "81.2.69.0");
    assert_eq!(docs[1]["source"]["ip"], "2a02:cf40:1234::");
    assert!(
        docs[1]["event"]["original"].as_str().unwrap().starts_with("2a02:cf40:1234:: - - "),
        "{}",
        docs[1]
    );

    let mut failure = enrich_logs();
    failure.args(["--anonymize-ip", "truncate"]);
    let docs = documents(&run_with_stdin(failure, b"broken line from 203.0.113.77"));
    assert_eq!(docs[0]["event"]["original"], "broken line from 203.0.113.0");

    let mut by_variable = enrich_logs();
    by_variable.env("KEEP_ORIGINAL", "false").env("IP_ANONYMIZATION", "none");
    let docs = documents(&run_with_stdin(by_variable, COMBINED_LINE.as_bytes()));
    assert!(docs[0]["event"].get("original").is_none());
    assert_eq!(docs[0]["source"]["ip"], "81.2.69.142");
}

#[test]
fn lines_over_the_limit_are_cut_and_long_lines_under_it_are_read_whole() {
    const LIMIT: usize = 1024 * 1024;
    let long_agent = "A".repeat(300 * 1024);
    let long_line = COMBINED_LINE.replace("Firefox/133.0", &format!("Firefox/133.0 {long_agent}"));
    let mut input = format!("{COMBINED_LINE}\n{long_line}\n").into_bytes();
    input.extend(std::iter::repeat_n(b'x', 3 * LIMIT));
    input.extend_from_slice(format!("\n{COMBINED_LINE}").as_bytes());

    let mut child = enrich_logs().stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // Written from a thread: the output of these lines is larger than a pipe holds.
    let writer = std::thread::spawn(move || stdin.write_all(&input).unwrap());
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();

    let docs = documents(&output);
    assert_eq!(docs.len(), 4);
    assert_eq!(docs[0]["source"]["ip"], "81.2.69.142");
    assert!(docs[1]["user_agent"]["original"].as_str().unwrap().ends_with(&long_agent));
    assert_eq!(docs[1]["http"]["response"]["status_code"], 200);
    assert_eq!(docs[2]["tags"], serde_json::json!(["_parse_failure", "_truncated"]));
    assert_eq!(docs[2]["event"]["original"].as_str().unwrap().len(), 64 * 1024);
    assert!(docs[2]["error"]["message"].as_str().unwrap().contains("line limit"));
    assert_eq!(docs[3], docs[0], "the line after a cut one is read from its start");
}

#[test]
fn invalid_utf8_lines_become_documents() {
    let docs = documents(&run_with_stdin(enrich_logs(), b"caf\xe9 \xff broken\n"));
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0]["event"]["original"], r"caf\xe9 \xff broken");
}

#[test]
fn bad_settings_fail_before_reading_with_the_setting_named() {
    // (arguments, environment, what stderr must say)
    type Case = (&'static [&'static str], &'static [(&'static str, &'static str)], &'static str);
    let cases: &[Case] = &[
        (&["--format", "combinded"], &[], "invalid LOG_FORMAT (--format) value \"combinded\""),
        (&[], &[("LOG_FORMAT", "%h %Q")], "unknown directive %Q"),
        (
            &["--anonymize-ip", "hash"],
            &[],
            "invalid IP_ANONYMIZATION (--anonymize-ip) value \"hash\": expected none or truncate",
        ),
        (&["--keep-original=maybe"], &[], "invalid KEEP_ORIGINAL (--keep-original) value \"maybe\""),
        (&[], &[("KEEP_ORIGINAL", "2")], "invalid KEEP_ORIGINAL (--keep-original) value \"2\""),
        (
            &[],
            &[("GEOIP_OPTIONAL", "perhaps")],
            "invalid GEOIP_OPTIONAL (--geoip-optional) value \"perhaps\"",
        ),
        (&["--output", "bulk", "--index", "Weblogs"], &[], "invalid --index value \"Weblogs\""),
        (&["--output", "xml"], &[], "invalid value 'xml' for '--output"),
        (
            &["--city-db", "/tmp/City.mmdb"],
            &[],
            "GEOIP_CITY_DB (--city-db): cannot open GeoIP database /tmp/City.mmdb: No such file",
        ),
        (&[], &[], "cannot open GeoIP database /opt/geoip/GeoLite2-City.mmdb"),
        (
            &["--geoip-optional", "--asn-db", "/tmp/ASN.mmdb"],
            &[],
            "GEOIP_ASN_DB (--asn-db): cannot open GeoIP database /tmp/ASN.mmdb",
        ),
        (
            &[],
            &[("TRUSTED_PROXIES", "10.0.0.0/8, proxy.local")],
            "invalid TRUSTED_PROXIES (--trusted-proxies) value",
        ),
    ];
    for (args, vars, message) in cases {
        let mut command = enrich_logs_bare();
        command.args(*args).envs(vars.iter().copied());
        let output = run_with_stdin(command, COMBINED_LINE.as_bytes());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} {vars:?}");
        assert!(output.stdout.is_empty(), "{args:?} {vars:?}");
        assert!(stderr.contains(message), "{args:?} {vars:?}: {stderr}");
    }
}

#[test]
fn no_geoip_ignores_database_settings() {
    let mut command = enrich_logs_bare();
    command.args(["--no-geoip", "--city-db", "/nonexistent.mmdb"]);
    assert_eq!(documents(&run_with_stdin(command, COMBINED_LINE.as_bytes())).len(), 1);
}

#[test]
fn unreadable_file_fails_before_any_output() {
    let output = enrich_logs().arg(data("combined.log")).arg("/nonexistent/access.log").output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot read /nonexistent/access.log"), "{stderr}");
}

/// The demo databases (geoip/demo/networks.tsv), generated into a fresh directory that goes when
/// the result is dropped.
fn demo_databases() -> DemoDatabaseFiles {
    demo_database_files("enrich-logs-cli")
}

#[test]
fn geoip_and_user_agent_fields_on_the_sample_log() {
    let DemoDatabaseFiles(city, asn, _dir) = demo_databases();
    let mut command = enrich_logs_bare();
    command.arg("--city-db").arg(&city).arg("--asn-db").arg(&asn).arg("--stats").arg(data("sample.log"));
    let output = command.output().unwrap();
    let docs = documents(&output);
    assert_eq!(docs.len(), 400);
    let first_from =
        |ip: &str| docs.iter().find(|d| d["source"]["ip"] == ip).unwrap_or_else(|| panic!("{ip}"));

    let london = first_from("81.2.69.142");
    assert_eq!(
        london["source"]["geo"],
        serde_json::json!({
            "continent_code": "EU", "continent_name": "Europe", "country_iso_code": "GB", "country_name": "United Kingdom",
            "region_iso_code": "GB-ENG", "region_name": "England", "city_name": "London", "postal_code": "EC1A",
            "timezone": "Europe/London", "location": {"lat": 51.5142, "lon": -0.0931},
        })
    );
    assert_eq!(
        london["source"]["as"],
        serde_json::json!({"number": 20712, "organization": {"name": "Demo Andrews & Arnold"}})
    );
    assert!(london.get("tags").is_none());

    let sweden = first_from("89.160.20.128");
    assert_eq!(
        sweden["source"]["geo"],
        serde_json::json!({"continent_code": "EU", "continent_name": "Europe", "country_iso_code": "SE", "country_name": "Sweden", "timezone": "Europe/Stockholm"})
    );
    assert_eq!(first_from("2a02:cf40::1")["source"]["geo"]["city_name"], "Oslo");

    let unknown = first_from("50.114.0.7");
    assert_eq!(unknown["tags"], serde_json::json!(["_geoip_lookup_failure"]));
    assert!(unknown["source"].get("geo").is_none());
    let private = first_from("10.20.30.40");
    assert!(private.get("tags").is_none() && private["source"].get("geo").is_none());

    let iphone = docs.iter().find(|d| d["user_agent"]["os"]["name"] == "iOS").unwrap();
    assert_eq!(iphone["user_agent"]["os"]["full"], "iOS 18.1");
    assert_eq!(iphone["user_agent"]["name"], "Safari");
    assert_eq!(iphone["user_agent"]["device"]["name"], "Smartphone");
    let bot = docs.iter().find(|d| d["user_agent"]["name"] == "Googlebot").unwrap();
    assert_eq!(bot["user_agent"]["device"]["name"], "Spider");

    let misses = docs.iter().filter(|d| d["tags"][0] == "_geoip_lookup_failure").count();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains(&format!("parse failures: 0, geoip misses: {misses},")), "{stderr}");
    // --stats also says how old the databases are (the demo ones are built 2026-11-01).
    for kind in ["City", "ASN"] {
        let line =
            stderr.lines().find(|l| l.starts_with(&format!("GeoIP {kind} database "))).unwrap_or_default();
        assert!(line.contains(" built 2026-11-01, ") && line.ends_with(" days ago"), "{stderr}");
    }
}

#[test]
fn trusted_proxies_and_anonymization_with_geoip() {
    let DemoDatabaseFiles(city, asn, _dir) = demo_databases();
    let line = r#"81.2.69.142, 10.0.0.2 10.0.0.1 - - [21/Nov/2026:06:45:50 +0100] "GET / HTTP/1.1" 200 5"#;
    let mut command = enrich_logs_bare();
    command.arg("--city-db").arg(&city).arg("--asn-db").arg(&asn);
    command.args([
        "--format",
        r#"%{X-Forwarded-For}i %h %l %u %t "%r" %>s %b"#,
        "--anonymize-ip",
        "truncate",
    ]);
    command.env("TRUSTED_PROXIES", "10.0.0.0/8");
    let docs = documents(&run_with_stdin(command, line.as_bytes()));
    assert_eq!(docs[0]["source"]["address"], "10.0.0.0", "%h, truncated");
    assert_eq!(docs[0]["source"]["ip"], "81.2.69.0", "the client behind the proxies, truncated");
    assert_eq!(docs[0]["source"]["geo"]["city_name"], "London", "looked up with the full address");
}

#[test]
fn database_of_the_wrong_kind_stops_start_up() {
    let DemoDatabaseFiles(city, asn, _dir) = demo_databases();
    let output = enrich_logs_bare().arg("--city-db").arg(&asn).arg("--asn-db").arg(&city).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "GEOIP_CITY_DB (--city-db): {} is a \"Demo-ASN\" database, expected a City database",
            asn.display()
        )),
        "{stderr}"
    );
}

#[test]
fn missing_city_database_is_a_warning_when_optional() {
    let DemoDatabaseFiles(_, asn, _dir) = demo_databases();
    let mut command = enrich_logs_bare();
    command.args(["--city-db", "/nonexistent/City.mmdb", "--geoip-optional"]).arg("--asn-db").arg(&asn);
    let output = run_with_stdin(command, COMBINED_LINE.as_bytes());
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let docs = documents(&output);
    assert!(stderr.contains("warning: no City database at /nonexistent/City.mmdb"), "{stderr}");
    assert!(docs[0]["source"].get("geo").is_none());
    assert!(docs[0].get("tags").is_none(), "no City database: nothing is a lookup failure");
    assert_eq!(docs[0]["source"]["as"]["number"], 20712);
}
