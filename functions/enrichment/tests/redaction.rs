//! Secrets kept out of the documents: every default-listed query parameter redacted in the four
//! places a document can show it (`url.original`, `url.query`, the referrer, `event.original`), in
//! every kind of line that carries a URL; a line without secrets written byte for byte as before.
#![allow(clippy::unwrap_used)] // fixtures stop a test

mod common;

use common::{data_lines, enrich, enricher, settings};
use enrichment::settings::{EnrichmentSettings, KEEP_ORIGINAL, REDACT_EMAILS, REDACT_QUERY_PARAMS};
use enrichment::{DEFAULT_SECRET_PARAMS, Enricher, Redaction};
use serde_json::Value;

fn with_original(format: &str) -> EnrichmentSettings {
    EnrichmentSettings { keep_original: true, ..settings(format) }
}

/// Every string in the document, wherever it is.
fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(text) => out.push(text.clone()),
        Value::Array(items) => items.iter().for_each(|item| strings(item, out)),
        Value::Object(fields) => fields.values().for_each(|field| strings(field, out)),
        _ => {}
    }
}

fn assert_no_secret(doc: &Value, secret: &str) {
    let mut texts = Vec::new();
    strings(doc, &mut texts);
    assert!(texts.iter().all(|text| !text.contains(secret)), "{secret} in {doc}");
}

#[test]
fn every_default_parameter_is_redacted_in_all_four_places() {
    let mut enricher = enricher(with_original("combined"));
    for name in DEFAULT_SECRET_PARAMS {
        let line = format!(
            r#"203.0.113.7 - - [07/Dec/2026:10:00:00 +0000] "GET /account?lang=de&{name}=s3cret-in-url&page=2 HTTP/1.1" 200 512 "https://shop.example/login?{name}=s3cret-in-referrer" "Mozilla/5.0""#
        );
        let (failed, doc) = enrich(&mut enricher, line.as_bytes());
        assert!(!failed, "{doc}");
        assert_eq!(doc["url"]["original"], format!("/account?lang=de&{name}=REDACTED&page=2"), "{name}");
        assert_eq!(doc["url"]["query"], format!("lang=de&{name}=REDACTED&page=2"), "{name}");
        assert_eq!(doc["url"]["path"], "/account");
        assert_eq!(doc["http"]["request"]["referrer"], format!("https://shop.example/login?{name}=REDACTED"));
        assert_eq!(
            doc["event"]["original"],
            line.replace("s3cret-in-url", "REDACTED").replace("s3cret-in-referrer", "REDACTED")
        );
        assert_no_secret(&doc, "s3cret");
    }
}

#[test]
fn lines_of_every_kind_keep_their_secrets_out() {
    let cases: [(&str, String); 7] = [
        // nginx's `$args` without a `?` anywhere in the line.
        (
            r#"$remote_addr [$time_local] "$request_method $uri" $status "$args""#,
            r#"203.0.113.7 [07/Dec/2026:10:00:00 +0000] "GET /reset" 200 "token=s3cret""#.into(),
        ),
        // A query logged on its own (%q) and a line that does not parse.
        ("%h %t \"%U%q\" %>s", r#"203.0.113.7 [07/Dec/2026:10:00:00 +0000] "/reset?token=s3cret" 200"#.into()),
        ("combined", r#"203.0.113.7 - - [07/Dec/2026:10:00:00 +0000] "GET /cb?code=s3cret HTTP/1.1" 200 nonsense"#.into()),
        // nginx: $request_uri and $args.
        (
            r#"$remote_addr [$time_local] "$request_method $request_uri" $status "$args""#,
            r#"203.0.113.7 [07/Dec/2026:10:00:00 +0000] "GET /dl?X-Amz-Signature=s3cret&X-Amz-Credential=s3cretkey" 200 "X-Amz-Signature=s3cret&X-Amz-Credential=s3cretkey""#.into(),
        ),
        // An ALB request, and the URL a redirect rule answered with.
        (
            "alb",
            r#"https 2026-12-07T10:00:00.000000Z app/shop/50dc6c495c0c9188 203.0.113.7:48160 - 0.000 0.000 0.000 302 - 120 0 "GET https://shop.example:443/login?session=s3cret HTTP/1.1" "curl/8.5.0" TLS_AES_128_GCM_SHA256 TLSv1.3 - "Root=1-58337327-72bd00b0343d75b906739c42" "shop.example" "arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012" 0 2026-12-07T10:00:00.000000Z "redirect" "https://shop.example:443/signin?session=s3cret" "-" "-" "-" "-" "-" "-" TID_1"#.into(),
        ),
        // CloudFront's query field.
        (
            "cloudfront-realtime:timestamp,c-ip,cs-method,cs-uri-stem,sc-status,cs-uri-query,cs-referer",
            "1796637600.000\t203.0.113.7\tGET\t/video.mp4\t200\tExpires=1796&Signature=s3cret&Key-Pair-Id=K2\thttps://shop.example/?api_key=s3cret".into(),
        ),
        // nginx's error log: the request, the upstream URL and the referrer.
        (
            "nginx_error",
            r#"2026/12/07 10:00:00 [error] 10952#10952: *12 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 203.0.113.7, server: shop.example, request: "GET /api?apikey=s3cret HTTP/1.1", upstream: "http://127.0.0.1:8080/api?apikey=s3cret", host: "shop.example", referrer: "https://shop.example/?password=s3cret""#.into(),
        ),
    ];
    for (format, line) in cases {
        let mut enricher = enricher(with_original(format));
        let (_, doc) = enrich(&mut enricher, line.as_bytes());
        assert_no_secret(&doc, "s3cret");
        let mut texts = Vec::new();
        strings(&doc, &mut texts);
        assert!(texts.iter().any(|text| text.contains("=REDACTED")), "{format}: {doc}");
    }
}

#[test]
fn a_log_without_secrets_is_written_byte_for_byte_as_without_redaction() {
    let lines = data_lines("sample.log");
    let write = |redaction: Redaction| {
        let settings = EnrichmentSettings { keep_original: true, redaction, ..EnrichmentSettings::default() };
        let mut enricher = Enricher::new(settings, None);
        let context = common::context();
        let mut out = Vec::new();
        for line in &lines {
            enricher.enrich_line(line.as_bytes(), &context, &mut out);
            out.push(b'\n');
        }
        out
    };
    let emails = Redaction::new(DEFAULT_SECRET_PARAMS.iter().copied(), true);
    assert_eq!(write(Redaction::default()), write(Redaction::off()));
    assert_eq!(write(emails), write(Redaction::off()));
    assert!(lines.len() > 100);
}

#[test]
fn the_settings_choose_the_list_and_emails() {
    let read = |vars: &[(&str, &str)]| {
        EnrichmentSettings::from_lookup(|name| {
            vars.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned())
        })
    };
    let line = br#"203.0.113.7 - - [07/Dec/2026:10:00:00 +0000] "GET /u/jane@example.com?token=t1&sid=t2 HTTP/1.1" 200 5 "-" "-""#;
    let url = |vars: &[(&str, &str)]| {
        let mut enricher = Enricher::new(read(vars).unwrap(), None);
        enrich(&mut enricher, line).1["url"]["original"].as_str().unwrap().to_owned()
    };
    assert_eq!(url(&[]), "/u/jane@example.com?token=REDACTED&sid=t2", "on by default");
    assert_eq!(
        url(&[(REDACT_QUERY_PARAMS.env, "")]),
        "/u/jane@example.com?token=REDACTED&sid=t2",
        "blank: the default"
    );
    assert_eq!(url(&[(REDACT_QUERY_PARAMS.env, "false")]), "/u/jane@example.com?token=t1&sid=t2", "off");
    assert_eq!(
        url(&[(REDACT_QUERY_PARAMS.env, "sid")]),
        "/u/jane@example.com?token=t1&sid=REDACTED",
        "one's own list"
    );
    assert_eq!(
        url(&[(REDACT_QUERY_PARAMS.env, "default, SID")]),
        "/u/jane@example.com?token=REDACTED&sid=REDACTED"
    );
    assert_eq!(url(&[(REDACT_EMAILS.env, "true")]), "/u/REDACTED?token=REDACTED&sid=t2");
    assert_eq!(
        url(&[(KEEP_ORIGINAL.env, "true"), (REDACT_QUERY_PARAMS.env, "none")]),
        "/u/jane@example.com?token=t1&sid=t2"
    );

    for (value, bad) in [("token,", "\"\""), ("pass word", "\"pass word\""), ("a=b", "\"a=b\"")] {
        let error = read(&[(REDACT_QUERY_PARAMS.env, value)]).unwrap_err().to_string();
        assert!(
            error
                .starts_with(&format!("invalid REDACT_QUERY_PARAMS (--redact-query-params) value {value:?}")),
            "{error}"
        );
        assert!(error.contains(&format!("{bad} is not one")), "{error}");
        assert!(error.contains("true (the default list: password,passwd,token,"), "{error}");
    }
    let error = read(&[(REDACT_EMAILS.env, "maybe")]).unwrap_err().to_string();
    assert!(error.starts_with("invalid REDACT_EMAILS (--redact-emails) value \"maybe\""), "{error}");
}
