//! Property tests: for any input, the guarantees users rely on hold.
#![allow(clippy::unwrap_used)] // a failing property should stop right there

use std::net::IpAddr;

use enrichment::anonymize::{truncate, truncate_addresses_in};
use enrichment::settings::EnrichmentSettings;
use enrichment::{Enricher, EventContext, LogFormat, Timestamp};
use proptest::prelude::*;

fn delimiter() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just(" "),
        Just(", "),
        Just("\""),
        Just("["),
        Just("]"),
        Just("="),
        Just("/"),
        Just(";"),
        Just("(")
    ]
}

proptest! {
    /// Anonymization never leaves more of an address than its /24 or /48 network, wherever the
    /// address stands in a line (between the delimiters logs use).
    #[test]
    fn anonymization_keeps_only_the_network(
        ip in any::<IpAddr>(),
        before in "[g-z ]{0,20}",
        left in delimiter(),
        right in delimiter(),
        after in "[g-z ]{0,20}",
    ) {
        let ip = ip.to_canonical();
        let text = format!("{before}{left}{ip}{right}{after}");
        let anonymized = truncate_addresses_in(&text);
        let network = truncate(ip);
        prop_assert!(anonymized.contains(&network.to_string()), "{} -> {}", text, anonymized);
        if network != ip {
            prop_assert!(!anonymized.contains(&format!("{left}{ip}{right}")), "{} -> {}", text, anonymized);
        }
    }
}

/// Apache's `ap_escape_logitem`: `"` and `\` escaped, control and non-ASCII bytes as `\xhh`.
fn apache_escape(value: &[u8]) -> String {
    let mut out = String::new();
    for &byte in value {
        match byte {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            0x20..=0x7e => out.push(char::from(byte)),
            _ => out.push_str(&format!("\\x{byte:02x}")),
        }
    }
    out
}

#[derive(Debug, Clone)]
struct Values {
    host: IpAddr,
    user: Option<String>,
    epoch: i64,
    offset_minutes: i32,
    method: String,
    path: String,
    status: u16,
    bytes: Option<u64>,
    referrer: Option<String>,
    agent: Vec<u8>,
    duration_us: u64,
}

fn values() -> impl Strategy<Value = Values> {
    (
        any::<IpAddr>(),
        proptest::option::of("[a-z][a-z0-9._-]{0,12}"),
        0i64..4_102_444_800,
        -14 * 60..=14 * 60i32,
        "(GET|POST|HEAD|PUT|DELETE|PROPFIND)",
        "/[a-zA-Z0-9._~%/-]{0,40}",
        100u16..=599,
        proptest::option::of(0u64..10_000_000_000),
        proptest::option::of("https?://[a-z.]{1,20}/[ -~]{0,30}"),
        proptest::collection::vec(any::<u8>(), 0..120),
        0u64..100_000_000,
    )
        .prop_map(
            |(
                host,
                user,
                epoch,
                offset_minutes,
                method,
                path,
                status,
                bytes,
                referrer,
                agent,
                duration_us,
            )| Values {
                host: host.to_canonical(),
                user,
                epoch,
                offset_minutes: offset_minutes - offset_minutes % 15,
                method,
                path,
                status,
                bytes,
                referrer,
                agent,
                duration_us,
            },
        )
}

/// `%t` as Apache writes it for an epoch second in a time zone `offset_minutes` east of UTC.
fn clf_time(epoch: i64, offset_minutes: i32) -> String {
    let local =
        Timestamp::from_unix_millis((epoch + i64::from(offset_minutes) * 60) * 1000).unwrap().to_utc();
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let offset = offset_minutes.unsigned_abs();
    format!(
        "[{:02}/{}/{:04}:{:02}:{:02}:{:02} {sign}{:02}{:02}]",
        local.day,
        MONTHS[local.month as usize - 1],
        local.year,
        local.hour,
        local.minute,
        local.second,
        offset / 60,
        offset % 60
    )
}

proptest! {
    /// A compiled LogFormat reads back what an Apache-style formatter wrote with the same format.
    #[test]
    fn a_compiled_format_reads_what_apache_writes(v in values(), extra_quoted_header in any::<bool>()) {
        let format = if extra_quoted_header {
            r#"%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i" %D "%{Accept-Language}i""#
        } else {
            r#"%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i" %D"#
        };
        let dash = |value: Option<String>| value.unwrap_or_else(|| "-".to_owned());
        let mut line = format!(
            "{} - {} {} \"{} {} HTTP/1.1\" {} {} \"{}\" \"{}\" {}",
            v.host,
            dash(v.user.clone()),
            clf_time(v.epoch, v.offset_minutes),
            v.method,
            v.path,
            v.status,
            v.bytes.map_or("-".to_owned(), |b| b.to_string()),
            dash(v.referrer.as_deref().map(|r| apache_escape(r.as_bytes()))),
            apache_escape(&v.agent),
            v.duration_us,
        );
        if extra_quoted_header {
            line.push_str(" \"en-GB,en;q=0.9\"");
        }
        let record = LogFormat::compile(format).unwrap().parse(line.as_bytes()).unwrap();
        let host = v.host.to_string();
        let request = format!("{} {} HTTP/1.1", v.method, v.path);
        prop_assert_eq!(record.remote_host.as_deref(), Some(host.as_str()));
        prop_assert_eq!(record.user.as_deref(), v.user.as_deref());
        prop_assert_eq!(record.time.map(|t| t.unix_millis()), Some(v.epoch * 1000));
        prop_assert_eq!(record.request_line.as_deref(), Some(request.as_str()));
        prop_assert_eq!(record.status(), Some(v.status));
        prop_assert_eq!(record.response_bytes, Some(v.bytes.unwrap_or(0)));
        prop_assert_eq!(record.referrer.as_deref(), v.referrer.as_deref().filter(|r| *r != "-"));
        let agent = record.user_agent.as_deref();
        match String::from_utf8(v.agent.clone()) {
            // A `-` user agent means "none"; anything else comes back as sent.
            Ok(text) if text == "-" => prop_assert_eq!(agent, None),
            Ok(text) => prop_assert_eq!(agent, Some(text.as_str())),
            Err(_) => {
                let escaped = apache_escape(&v.agent);
                prop_assert_eq!(agent, Some(escaped.as_str()));
            }
        }
        prop_assert_eq!(record.duration_nanos, Some(v.duration_us * 1000));
    }

    /// Whatever the bytes, a line gives one valid JSON document.
    #[test]
    fn any_bytes_give_one_document(line in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let context = EventContext { event_id: None, received_at: Timestamp::from_unix_millis(0).unwrap() , log_origin: None , cloud: None};
        let mut out = Vec::new();
        Enricher::new(EnrichmentSettings::default(), None).enrich_line(&line, &context, &mut out);
        let document: serde_json::Value = serde_json::from_slice(&out).unwrap();
        prop_assert!(document.is_object());
    }
}
