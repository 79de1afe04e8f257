//! `enrich-logs` as a user runs it: the built binary, files and standard input, flags and variables.
#![allow(clippy::unwrap_used)] // a test that cannot read its fixtures should stop right there

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const COMBINED_LINE: &str = r#"81.2.69.142 - - [21/Nov/2026:06:45:50 +0100] "GET /docs/report.2026.pdf?x=1 HTTP/1.1" 200 7 "https://www.google.com/" "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0""#;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data")
        .join(name)
}

/// The binary with none of the settings' variables inherited from the environment running the tests.
fn enrich_logs() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_enrich-logs"));
    for var in [
        "LOG_FORMAT",
        "GEOIP_CITY_DB",
        "GEOIP_ASN_DB",
        "GEOIP_OPTIONAL",
        "TRUSTED_PROXIES",
        "IP_ANONYMIZATION",
        "KEEP_ORIGINAL",
    ] {
        command.env_remove(var);
    }
    command
}

fn run_with_stdin(mut command: Command, stdin: &[u8]) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The binary stops before reading when a setting is bad: it may close stdin first.
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}

fn documents(output: &Output) -> Vec<Value> {
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
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
    assert!(
        docs[1]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("matches none of")
    );
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
    let lines: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(
        lines[0],
        serde_json::json!({"index": {"_index": "weblogs-2026.11.21"}})
    );
    assert_eq!(lines[1]["source"]["ip"], "81.2.69.142");
    assert!(
        lines[2]["index"]["_index"]
            .as_str()
            .unwrap()
            .starts_with("weblogs-")
    );
    assert_eq!(lines[3]["tags"][0], "_parse_failure");
}

#[test]
fn stats_go_to_stderr() {
    let mut command = enrich_logs();
    command.arg("--stats");
    let output = run_with_stdin(
        command,
        format!("{COMBINED_LINE}\nbroken\n{COMBINED_LINE}\n").as_bytes(),
    );
    let stderr = String::from_utf8(output.stderr.clone()).unwrap();
    assert_eq!(documents(&output).len(), 3);
    assert!(
        stderr.starts_with("lines: 3, documents: 3, parse failures: 1, seconds: "),
        "{stderr}"
    );
    assert!(stderr.contains("lines/s: "), "{stderr}");
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
    assert_eq!(
        docs[0]["tags"][0], "_parse_failure",
        "a vhost line is not a common line"
    );

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
    let docs = documents(&run_with_stdin(
        command,
        format!("{COMBINED_LINE}\n{ipv6}\n").as_bytes(),
    ));
    assert_eq!(
        docs[0]["event"]["original"],
        COMBINED_LINE.replace("81.2.69.142", "81.2.69.0")
    );
    assert_eq!(docs[0]["source"]["ip"], "81.2.69.0");
    assert_eq!(docs[0]["source"]["address"], "81.2.69.0");
    assert_eq!(docs[1]["source"]["ip"], "2a02:cf40:1234::");
    assert!(
        docs[1]["event"]["original"]
            .as_str()
            .unwrap()
            .starts_with("2a02:cf40:1234:: - - "),
        "{}",
        docs[1]
    );

    let mut failure = enrich_logs();
    failure.args(["--anonymize-ip", "truncate"]);
    let docs = documents(&run_with_stdin(failure, b"broken line from 203.0.113.77"));
    assert_eq!(docs[0]["event"]["original"], "broken line from 203.0.113.0");

    let mut by_variable = enrich_logs();
    by_variable
        .env("KEEP_ORIGINAL", "false")
        .env("IP_ANONYMIZATION", "none");
    let docs = documents(&run_with_stdin(by_variable, COMBINED_LINE.as_bytes()));
    assert!(docs[0]["event"].get("original").is_none());
    assert_eq!(docs[0]["source"]["ip"], "81.2.69.142");
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
    type Case = (
        &'static [&'static str],
        &'static [(&'static str, &'static str)],
        &'static str,
    );
    let cases: &[Case] = &[
        (
            &["--format", "combinded"],
            &[],
            "invalid LOG_FORMAT (--format) value \"combinded\"",
        ),
        (&[], &[("LOG_FORMAT", "%h %Q")], "unknown directive %Q"),
        (
            &["--anonymize-ip", "hash"],
            &[],
            "invalid IP_ANONYMIZATION (--anonymize-ip) value \"hash\": expected none or truncate",
        ),
        (
            &["--keep-original=maybe"],
            &[],
            "invalid KEEP_ORIGINAL (--keep-original) value \"maybe\"",
        ),
        (
            &[],
            &[("KEEP_ORIGINAL", "2")],
            "invalid KEEP_ORIGINAL (--keep-original) value \"2\"",
        ),
        (
            &[],
            &[("GEOIP_OPTIONAL", "perhaps")],
            "invalid GEOIP_OPTIONAL (--geoip-optional) value \"perhaps\"",
        ),
        (
            &["--output", "bulk", "--index", "Weblogs"],
            &[],
            "invalid --index value \"Weblogs\"",
        ),
        (&["--output", "xml"], &[], "invalid value 'xml' for '--output"),
        (
            &["--city-db", "/tmp/City.mmdb"],
            &[],
            "GEOIP_CITY_DB (--city-db) is set to \"/tmp/City.mmdb\", but GeoIP lookups are not supported",
        ),
        (
            &[],
            &[("TRUSTED_PROXIES", "10.0.0.0/8")],
            "TRUSTED_PROXIES (--trusted-proxies)",
        ),
    ];
    for (args, vars, message) in cases {
        let mut command = enrich_logs();
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
    let mut command = enrich_logs();
    command.args(["--no-geoip", "--city-db", "/nonexistent.mmdb"]);
    assert_eq!(
        documents(&run_with_stdin(command, COMBINED_LINE.as_bytes())).len(),
        1
    );
}

#[test]
fn unreadable_file_fails_before_any_output() {
    let output = enrich_logs()
        .arg(data("combined.log"))
        .arg("/nonexistent/access.log")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot read /nonexistent/access.log"), "{stderr}");
}
