//! Application Load Balancer access logs: space-separated fields, some quoted, in the order AWS
//! documents them. New fields are only ever appended, so a line may stop after any field from
//! the user agent on (older load balancers), and fields after the last known one are skipped.
//!
//! ```text
//! https 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.086 0.048 0.037 200 200 0 57 "GET https://www.example.com:443/ HTTP/1.1" "curl/7.46.0" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337281-1d84f3d73c47ec4e58577259" "www.example.com" "arn:aws:acm:us-east-2:123456789012:certificate/12345678-1234-1234-1234-123456789012" 1 2018-07-02T22:22:48.364000Z "authenticate,forward" "-" "-" "10.0.0.1:80" "200" "-" "-" TID_1234abcd5678ef90
//! ```

use std::borrow::Cow;

use super::format::Server;
use super::line::{
    AccessRecord, ParseError, find_byte_within, find_byte2, json_seconds, parse_seconds_as_nanos, present,
};
use super::request::{RequestLine, scheme_end};
use super::time::{Timestamp, date_part, parse_u64};

/// How many bytes of a field are looked at in a register before memchr is called: ALB's fields
/// (addresses with ports, times, ARNs, ids) are mostly under 48 bytes.
const IN_REGISTER: usize = 48;

/// The request types an ALB line starts with.
const TYPES: [&str; 6] = ["http", "https", "h2", "grpcs", "ws", "wss"];

/// What an ALB line says beyond the access-log fields: `aws.elb.*`, in the names of Elastic's AWS
/// integration. `-` is absent; times are as logged (seconds with milliseconds).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ElbFields<'a> {
    /// `app/my-loadbalancer/50dc6c495c0c9188`.
    pub name: &'a str,
    /// `http`, `https`, `h2`, `grpcs`, `ws`, `wss`.
    pub request_type: &'a str,
    pub target: Option<&'a str>,
    pub request_processing_time: Option<&'a str>,
    pub target_processing_time: Option<&'a str>,
    pub response_processing_time: Option<&'a str>,
    pub target_status_code: Option<u16>,
    pub target_group_arn: Option<&'a str>,
    pub trace_id: Option<&'a str>,
    pub chosen_cert_arn: Option<&'a str>,
    pub matched_rule_priority: Option<&'a str>,
    pub request_creation_time: Option<Timestamp>,
    /// Comma-separated: `waf,forward`.
    pub actions_executed: Option<&'a str>,
    pub redirect_url: Option<&'a str>,
    pub error_reason: Option<&'a str>,
    /// Space-separated `ip:port` of each target tried.
    pub target_port_list: Option<&'a str>,
    /// Space-separated statuses of each target tried.
    pub target_status_code_list: Option<&'a str>,
    pub classification: Option<&'a str>,
    pub classification_reason: Option<&'a str>,
    pub connection_trace_id: Option<&'a str>,
}

/// Whether `line` starts as an ALB access-log line: a request type, a space and a date. No web
/// server's line starts so (a client address or a host name is not followed by a date).
pub fn looks_like_alb(line: &[u8]) -> bool {
    let Some(space) = line.iter().take(6).position(|&b| b == b' ') else { return false };
    TYPES.iter().any(|t| t.as_bytes() == &line[..space])
        && line.get(space + 1..space + 5).is_some_and(|year| year.iter().all(u8::is_ascii_digit))
        && line.get(space + 5) == Some(&b'-')
}

/// Splits an ALB line into its fields: unquoted ones end at a space, quoted ones at the first `"`
/// that is not escaped (`\"`) and is followed by a space or the end of the line.
struct Fields<'a> {
    line: &'a str,
    at: usize,
}

impl<'a> Fields<'a> {
    /// The next field and where it starts; `None` at the end of the line.
    fn next_field(&mut self) -> Option<(&'a str, usize)> {
        let line = self.line.as_bytes();
        let start = self.at;
        if start >= line.len() {
            return None;
        }
        // Most fields are a few bytes long: found in a register, not by memchr's set-up.
        let (value_start, value_end, next) = if line[start] == b'"' {
            let mut from = start + 1;
            loop {
                let Some(offset) = find_byte2::<IN_REGISTER>(b'"', b'\\', &line[from..]) else {
                    break (start + 1, line.len(), line.len());
                };
                let at = from + offset;
                if line[at] == b'\\' {
                    from = (at + 2).min(line.len());
                } else if matches!(line.get(at + 1), None | Some(b' ')) {
                    break (start + 1, at, at + 1);
                } else {
                    from = at + 1;
                }
            }
        } else {
            let end = find_byte_within::<IN_REGISTER>(b' ', &line[start..])
                .map_or(line.len(), |offset| start + offset);
            (start, end, end)
        };
        // One space between fields.
        self.at = if line.get(next) == Some(&b' ') { next + 1 } else { next };
        // The ends are at ASCII bytes or the end of the line: character boundaries.
        Some((self.line.get(value_start..value_end)?, start))
    }
}

/// Reads one ALB line, which the caller has turned into text (invalid UTF-8 as `\xhh`).
pub fn parse_alb(line: &str) -> Result<(AccessRecord<'_>, ElbFields<'_>), ParseError> {
    let mut fields = Fields { line, at: 0 };
    let mut next = |what: &str| {
        let position = fields.at;
        fields.next_field().ok_or_else(|| ParseError::Expected { expected: what.to_owned(), position })
    };
    let invalid =
        |name: &'static str, value: &str, expected: &'static str, position: usize| ParseError::InvalidField {
            directive: name,
            value: value.chars().take(64).collect(),
            expected,
            position,
        };

    let mut record = AccessRecord { server: Server::AwsElb, ..AccessRecord::default() };
    let (request_type, at) = next("the request type")?;
    if !TYPES.contains(&request_type) {
        return Err(invalid("type", request_type, "http, https, h2, grpcs, ws or wss", at));
    }
    let (time, at) = next("the time")?;
    record.time = Some(
        parse_iso8601(time)
            .ok_or_else(|| invalid("time", time, "a time like 2018-07-02T22:23:00.186641Z", at))?,
    );
    let (name, _) = next("the load balancer")?;
    let mut elb = ElbFields { name, request_type, ..ElbFields::default() };

    let (client, at) = next("client:port")?;
    if let Some(client) = present(client) {
        let (address, port) = split_address_port(client)
            .ok_or_else(|| invalid("client:port", client, "an address and a port", at))?;
        record.remote_addr = Some(Cow::Borrowed(address));
        record.remote_port = Some(port);
    }
    elb.target = present(next("target:port")?.0);
    let mut time_field = |what: &str| -> Result<Option<&str>, ParseError> {
        let (value, at) = next(what)?;
        match value {
            "-1" | "-" => Ok(None),
            value => {
                json_seconds(value).map(Some).ok_or_else(|| invalid("processing time", value, "seconds", at))
            }
        }
    };
    elb.request_processing_time = time_field("request_processing_time")?;
    elb.target_processing_time = time_field("target_processing_time")?;
    elb.response_processing_time = time_field("response_processing_time")?;
    let mut status = |what: &'static str| -> Result<Option<u16>, ParseError> {
        let (value, at) = next(what)?;
        match present(value) {
            None => Ok(None),
            Some(value) => parse_u64(value.as_bytes())
                .and_then(|s| u16::try_from(s).ok())
                .filter(|s| (100..=999).contains(s))
                .map(Some)
                .ok_or_else(|| invalid(what, value, "a status code 100-999", at)),
        }
    };
    record.final_status = status("elb_status_code")?;
    elb.target_status_code = status("target_status_code")?;
    let mut bytes = |what: &'static str| -> Result<Option<u64>, ParseError> {
        let (value, at) = next(what)?;
        match present(value) {
            None => Ok(None),
            Some(value) => {
                parse_u64(value.as_bytes()).map(Some).ok_or_else(|| invalid(what, value, "a byte count", at))
            }
        }
    };
    record.request_bytes = bytes("received_bytes")?;
    record.bytes_sent = bytes("sent_bytes")?;

    let (request, _) = next("the request")?;
    // A request ALB could not read is `- - - `.
    if !request.trim_matches(['-', ' ']).is_empty() {
        record.request = RequestLine::parse(request);
        if let Some(parsed) = record.request {
            url_authority(parsed.target, &mut record);
        }
        record.request_line = Some(Cow::Borrowed(request));
    }
    let (user_agent, _) = next("the user agent")?;
    record.user_agent = present(user_agent).map(unescape);

    // From here on a line may end: older load balancers write fewer fields.
    let mut optional = || fields.next_field().map(|(value, _)| value);
    record.tls_cipher = optional().and_then(present).map(Cow::Borrowed);
    record.tls_protocol = optional().and_then(present).map(Cow::Borrowed);
    elb.target_group_arn = optional().and_then(present);
    elb.trace_id = optional().and_then(present);
    if let Some(domain) = optional().and_then(present) {
        record.server_name = Some(Cow::Borrowed(domain));
    }
    elb.chosen_cert_arn = optional().and_then(present);
    elb.matched_rule_priority = optional().and_then(present);
    elb.request_creation_time = optional().and_then(parse_iso8601);
    elb.actions_executed = optional().and_then(present);
    elb.redirect_url = optional().and_then(present);
    elb.error_reason = optional().and_then(present);
    elb.target_port_list = optional().and_then(present);
    elb.target_status_code_list = optional().and_then(present);
    elb.classification = optional().and_then(present);
    elb.classification_reason = optional().and_then(present);
    elb.connection_trace_id = optional().and_then(present);

    record.duration_nanos = total_nanos(&elb);
    Ok((record, elb))
}

/// A quoted value with `\"` and `\\` read back as `"` and `\`.
fn unescape(value: &str) -> Cow<'_, str> {
    if !value.contains('\\') {
        return Cow::Borrowed(value);
    }
    let mut text = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match (c, chars.clone().next()) {
            ('\\', Some(next @ ('"' | '\\'))) => {
                text.push(next);
                chars.next();
            }
            _ => text.push(c),
        }
    }
    Cow::Owned(text)
}

/// The three processing times together, when all are known.
fn total_nanos(elb: &ElbFields<'_>) -> Option<u64> {
    let nanos = |value: Option<&str>| parse_seconds_as_nanos(value?.as_bytes());
    nanos(elb.request_processing_time)?
        .checked_add(nanos(elb.target_processing_time)?)?
        .checked_add(nanos(elb.response_processing_time)?)
}

/// `url.scheme`, and the host and port of an absolute request URL as the requested server (used
/// for `destination.*` when the client sent no SNI name).
fn url_authority<'a>(target: &'a str, record: &mut AccessRecord<'a>) {
    let Some(scheme_end) = scheme_end(target) else { return };
    record.scheme = Some(Cow::Borrowed(&target[..scheme_end]));
    let rest = &target[scheme_end + 3..];
    let authority = &rest[..memchr::memchr2(b'/', b'?', rest.as_bytes()).unwrap_or(rest.len())];
    let (host, port) = match split_address_port(authority) {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    if !host.is_empty() {
        record.requested_server_name = Some(Cow::Borrowed(host));
    }
    record.server_port = port;
}

/// `192.168.131.39:2817`, `[2001:db8::1]:443` or `2001:db8::1:443` into address and port.
pub(crate) fn split_address_port(text: &str) -> Option<(&str, u16)> {
    let colon = memchr::memrchr(b':', text.as_bytes())?;
    let (address, port) = (&text[..colon], &text[colon + 1..]);
    let port = parse_u64(port.as_bytes()).and_then(|port| u16::try_from(port).ok())?;
    let address = address.strip_prefix('[').and_then(|a| a.strip_suffix(']')).unwrap_or(address);
    (!address.is_empty()).then_some((address, port))
}

/// `2018-07-02T22:23:00.186641Z`.
fn parse_iso8601(text: &str) -> Option<Timestamp> {
    let bytes = text.as_bytes();
    if bytes.len() < 20
        || bytes[4] != b'-'
        || bytes[7] != b'-'
        || bytes[10] != b'T'
        || bytes[13] != b':'
        || bytes[16] != b':'
    {
        return None;
    }
    let number = |range: std::ops::Range<usize>| date_part(&bytes[range]);
    let rest = text.get(19..)?.strip_suffix('Z')?;
    let millis = match rest.strip_prefix('.') {
        Some(digits)
            if !digits.is_empty() && digits.len() <= 9 && digits.bytes().all(|b| b.is_ascii_digit()) =>
        {
            // The first three digits, as milliseconds.
            digits
                .bytes()
                .chain(std::iter::repeat(b'0'))
                .take(3)
                .fold(0, |ms, b| ms * 10 + u32::from(b - b'0'))
        }
        None if rest.is_empty() => 0,
        _ => return None,
    };
    Timestamp::from_civil(
        i64::from(number(0..4)?),
        number(5..7)?,
        number(8..10)?,
        number(11..13)?,
        number(14..16)?,
        number(17..19)?,
        0,
    )?
    .plus_millis(millis)
}
