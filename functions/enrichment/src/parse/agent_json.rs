//! Kinesis Agent `LOGTOJSON` records (`"logFormat": "COMBINEDAPACHELOG"` or `"COMMONAPACHELOG"`).
//!
//! The agent matches each line with a regular expression and writes the captures as JSON strings,
//! `-` turned into `null`. It does not undo Apache's escaping, so the quoted fields still carry it.

use std::borrow::Cow;

use serde::Deserialize;

use super::escape::unescape_text;
use super::line::{AccessRecord, ParseError, quoted_excerpt};
use super::time::{Timestamp, parse_u64};

#[derive(Deserialize)]
struct AgentRecord<'a> {
    #[serde(borrow, default)]
    host: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    authuser: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    datetime: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    request: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    response: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    bytes: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    referer: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    agent: Option<Cow<'a, str>>,
}

/// Whether a line looks like a JSON object (and so is a Kinesis Agent record in `auto`).
pub fn looks_like_json_object(line: &[u8]) -> bool {
    line.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

pub fn parse_agent_json(line: &[u8]) -> Result<AccessRecord<'_>, ParseError> {
    let record: AgentRecord<'_> = serde_json::from_slice(line)
        .map_err(|error| ParseError::Other(format!("not a Kinesis Agent JSON record: {error}")))?;
    if record.host.is_none()
        && record.datetime.is_none()
        && record.request.is_none()
        && record.response.is_none()
    {
        return Err(ParseError::Other(
            "JSON object has none of the Kinesis Agent keys host, datetime, request, response".into(),
        ));
    }
    let invalid = |key: &'static str, value: &str, expected: &'static str| ParseError::InvalidField {
        directive: key,
        value: quoted_excerpt(value.as_bytes()),
        expected,
        position: 0,
    };

    let time = match present(record.datetime) {
        Some(datetime) => Some(
            Timestamp::parse_clf(datetime.as_bytes())
                .ok_or_else(|| invalid("datetime", &datetime, "a time like 21/Nov/2026:05:37:48 +0000"))?,
        ),
        None => None,
    };
    let final_status = match present(record.response) {
        Some(response) => Some(
            parse_u64(response.as_bytes())
                .and_then(|status| u16::try_from(status).ok())
                .filter(|status| (100..=999).contains(status))
                .ok_or_else(|| invalid("response", &response, "a status code 100-999"))?,
        ),
        None => None,
    };
    let response_bytes = match present(record.bytes) {
        Some(bytes) => {
            Some(parse_u64(bytes.as_bytes()).ok_or_else(|| invalid("bytes", &bytes, "a byte count"))?)
        }
        None => None,
    };
    Ok(AccessRecord {
        remote_host: text(record.host),
        user: text(record.authuser),
        time,
        request_line: text(record.request),
        final_status,
        response_bytes,
        referrer: text(record.referer),
        user_agent: record.agent.map(unescape_text).filter(|agent| agent != "-"),
        ..AccessRecord::default()
    })
}

/// A value that is there: not missing, not `null`, not empty, not `-`.
fn present(value: Option<Cow<'_, str>>) -> Option<Cow<'_, str>> {
    value.filter(|v| !v.is_empty() && v != "-")
}

fn text(value: Option<Cow<'_, str>>) -> Option<Cow<'_, str>> {
    present(value).map(unescape_text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combined_record() {
        let line = br#"{"host":"81.2.69.142","ident":null,"authuser":null,"datetime":"21/Nov/2026:00:37:50 -0500","request":"GET /q\\\"x HTTP/1.1","response":"200","bytes":"18","referer":"http://www.example.test/","agent":"Caf\\xc3\\xa9/1.0"}"#;
        let record = parse_agent_json(line).unwrap();
        assert_eq!(record.remote_host.as_deref(), Some("81.2.69.142"));
        assert_eq!(record.user, None);
        assert_eq!(record.request_line.as_deref(), Some(r#"GET /q"x HTTP/1.1"#));
        assert_eq!(record.status(), Some(200));
        assert_eq!(record.response_bytes, Some(18));
        assert_eq!(record.referrer.as_deref(), Some("http://www.example.test/"));
        assert_eq!(record.user_agent.as_deref(), Some("Café/1.0"));
        assert_eq!(record.time.map(|t| t.unix_millis()), Some(1_795_239_470_000));
    }

    #[test]
    fn common_record_and_dash_values() {
        let line = br#"{"host":"::1","ident":null,"authuser":"alice","datetime":"21/Nov/2026:05:37:48 +0000","request":"-","response":"400","bytes":null}"#;
        let record = parse_agent_json(line).unwrap();
        assert_eq!(record.user.as_deref(), Some("alice"));
        assert_eq!(record.request_line, None);
        assert_eq!(record.response_bytes, None);
        assert_eq!(record.user_agent, None);
    }

    #[test]
    fn rejects_what_is_not_an_agent_record() {
        let cases: &[(&str, &[u8], &str)] = &[
            ("malformed json", br#"{"host":"#, "not a Kinesis Agent JSON record"),
            ("array", b"[1,2]", "not a Kinesis Agent JSON record"),
            ("no known keys", br#"{"level":"info"}"#, "none of the Kinesis Agent keys"),
            (
                "number where a string belongs",
                br#"{"host":"a","response":200}"#,
                "not a Kinesis Agent JSON record",
            ),
            ("bad status", br#"{"host":"a","response":"2OO"}"#, "invalid response value \"2OO\""),
            ("bad time", br#"{"host":"a","datetime":"yesterday"}"#, "invalid datetime value"),
        ];
        for (name, line, message) in cases {
            let error = parse_agent_json(line).unwrap_err().to_string();
            assert!(error.contains(message), "{name}: {error}");
        }
    }

    #[test]
    fn json_detection() {
        assert!(looks_like_json_object(b"  {\"host\":1}"));
        assert!(!looks_like_json_object(b"1.2.3.4 - - [..]"));
        assert!(!looks_like_json_object(b""));
    }
}
