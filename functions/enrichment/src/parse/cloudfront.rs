//! CloudFront's logs, both kinds: one request per line, its fields separated by tabs, `-` for a
//! value CloudFront does not have.
//!
//! - Real-time logs (Kinesis): the fields in the order of the real-time log configuration's field
//!   list; the records carry no header.
//! - Standard logs (files in S3, legacy and v2 in W3C form): each file starts with `#Version:` and
//!   `#Fields:` lines, and the `#Fields:` line names the fields of the lines after it, in their
//!   order (`date time x-edge-location sc-bytes c-ip cs-method cs(Host) ...`).
//!
//! ```text
//! 1607004458.374→81.2.69.142→0.002→200→1041→GET→https→www.example.test→/index.html?x=1→352→LHR61-P3→…
//! 2019-12-04→21:02:31→LAX1→392→192.0.2.100→GET→d111111abcdef8.cloudfront.net→/index.html→200→…
//! ```
//! (`→` is a tab.) Both kinds name most fields alike: the standard logs' `cs(Referer)`,
//! `cs(User-Agent)`, `cs(Cookie)` are the real-time `cs-referer`, `cs-user-agent`, `cs-cookie`; the
//! host fields swap names (the viewer's Host is real-time logs' `cs-host` and standard logs'
//! `x-host-header`; the distribution's domain the other way round).

use std::borrow::Cow;

use super::format::Server;
use super::line::{
    AccessRecord, ParseError, find_byte_within, json_seconds, parse_seconds_as_nanos, present,
};
use super::request::percent_decode_path;
use super::time::{EpochUnit, Timestamp, date_part};

/// The field list of the stack's real-time log configuration (infra/template.yaml), which
/// `cloudfront-realtime` and `auto` read by: every field AWS documents, in its order, but those
/// that carry secrets (`cs-cookie`, `cs-headers`, `cs-header-names`), which the stack does not
/// ask CloudFront for at all.
pub const STACK_FIELDS: [&str; 37] = [
    "timestamp",
    "c-ip",
    "time-to-first-byte",
    "sc-status",
    "sc-bytes",
    "cs-method",
    "cs-protocol",
    "cs-host",
    "cs-uri-stem",
    "cs-bytes",
    "x-edge-location",
    "x-edge-request-id",
    "x-host-header",
    "time-taken",
    "cs-protocol-version",
    "c-ip-version",
    "cs-user-agent",
    "cs-referer",
    "cs-uri-query",
    "x-edge-response-result-type",
    "x-forwarded-for",
    "ssl-protocol",
    "ssl-cipher",
    "x-edge-result-type",
    "fle-encrypted-fields",
    "fle-status",
    "sc-content-type",
    "sc-content-len",
    "sc-range-start",
    "sc-range-end",
    "c-port",
    "x-edge-detailed-result-type",
    "c-country",
    "cs-accept-encoding",
    "cs-accept",
    "cache-behavior-path-pattern",
    "cs-headers-count",
];

/// What a field of the configuration's list is read into; `Skipped` for the fields the document
/// leaves out (`cs-cookie` and `cs-headers`, which hold secrets) and for names it does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloudFrontField {
    /// Real-time logs' `1607004458.374`, standard logs v2's `timestamp` (whole seconds).
    Timestamp,
    /// Standard logs v2's `timestamp(ms)`: milliseconds since 1970.
    TimestampMillis,
    /// Standard logs' `date` (`2019-12-04`, UTC) and `time` (`21:02:31`, UTC).
    Date,
    Time,
    ClientIp,
    TimeToFirstByte,
    Status,
    ResponseBytes,
    Method,
    Protocol,
    Host,
    UriStem,
    RequestBytes,
    EdgeLocation,
    EdgeRequestId,
    /// The distribution's own domain name (`d111111abcdef8.cloudfront.net`): real-time logs'
    /// `x-host-header`, standard logs' `cs(Host)`.
    DistributionDomain,
    TimeTaken,
    ProtocolVersion,
    UserAgent,
    Referrer,
    UriQuery,
    EdgeResponseResultType,
    ForwardedFor,
    TlsProtocol,
    TlsCipher,
    EdgeResultType,
    ContentType,
    ContentLength,
    RangeStart,
    RangeEnd,
    ClientPort,
    EdgeDetailedResultType,
    Country,
    CacheBehaviorPathPattern,
    DistributionId,
    DistributionDnsName,
    Skipped,
}

impl CloudFrontField {
    fn named(name: &str) -> Self {
        match name {
            "timestamp" => Self::Timestamp,
            "timestamp(ms)" => Self::TimestampMillis,
            "date" => Self::Date,
            "time" => Self::Time,
            "c-ip" => Self::ClientIp,
            "time-to-first-byte" => Self::TimeToFirstByte,
            "sc-status" => Self::Status,
            "sc-bytes" => Self::ResponseBytes,
            "cs-method" => Self::Method,
            "cs-protocol" => Self::Protocol,
            "cs-host" => Self::Host,
            "cs-uri-stem" => Self::UriStem,
            "cs-bytes" => Self::RequestBytes,
            "x-edge-location" => Self::EdgeLocation,
            "x-edge-request-id" => Self::EdgeRequestId,
            "x-host-header" => Self::DistributionDomain,
            "time-taken" => Self::TimeTaken,
            "cs-protocol-version" => Self::ProtocolVersion,
            "cs-user-agent" | "cs(User-Agent)" => Self::UserAgent,
            "cs-referer" | "cs(Referer)" => Self::Referrer,
            "cs-uri-query" => Self::UriQuery,
            "x-edge-response-result-type" => Self::EdgeResponseResultType,
            "x-forwarded-for" => Self::ForwardedFor,
            "ssl-protocol" => Self::TlsProtocol,
            "ssl-cipher" => Self::TlsCipher,
            "x-edge-result-type" => Self::EdgeResultType,
            "sc-content-type" => Self::ContentType,
            "sc-content-len" => Self::ContentLength,
            "sc-range-start" => Self::RangeStart,
            "sc-range-end" => Self::RangeEnd,
            "c-port" => Self::ClientPort,
            "x-edge-detailed-result-type" => Self::EdgeDetailedResultType,
            "c-country" => Self::Country,
            "cache-behavior-path-pattern" => Self::CacheBehaviorPathPattern,
            "primary-distribution-id" => Self::DistributionId,
            "primary-distribution-dns-name" => Self::DistributionDnsName,
            _ => Self::Skipped,
        }
    }

    /// A real-time log configuration's field list, comma-separated as the console and
    /// CloudFormation name them (`timestamp,c-ip,sc-status,...`). A name this reader does not know
    /// is read and skipped (CloudFront adds fields); a name that is not a field name at all, or a
    /// list without `timestamp`, is refused.
    pub fn parse_list(list: &str) -> Result<Vec<Self>, String> {
        let names: Vec<&str> = list.split(',').map(str::trim).collect();
        if let Some(bad) = names.iter().find(|n| {
            n.is_empty() || !n.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        }) {
            return Err(format!("{bad:?} is not a field name (lower-case letters, digits and -)"));
        }
        if !names.contains(&"timestamp") {
            return Err("the list has no timestamp field".into());
        }
        Ok(names.into_iter().map(Self::named).collect())
    }

    /// [`STACK_FIELDS`]: the stack's configuration.
    pub fn default_list() -> Vec<Self> {
        STACK_FIELDS.iter().map(|name| Self::named(name)).collect()
    }

    /// The fields a standard log file's `#Fields:` line names (separated by spaces), or `None`
    /// when `line` is not one. Names the reader does not know are read and skipped.
    pub fn parse_header(line: &str) -> Option<Vec<Self>> {
        let names = line.strip_prefix("#Fields:")?;
        // The two kinds swap the host fields: the viewer's Host header is real-time logs'
        // `cs-host` and standard logs' `x-host-header`.
        let standard_named = |name| match name {
            "x-host-header" => Self::Host,
            "cs(Host)" => Self::DistributionDomain,
            other => Self::named(other),
        };
        Some(names.split_ascii_whitespace().map(standard_named).collect())
    }
}

/// Whether `line` is one of the two header lines a standard log file starts with: `#Version:`
/// and `#Fields:`. No web server's or load balancer's line starts with `#`; other lines that do
/// are read as lines (and fail), never passed over.
pub fn is_cloudfront_header(line: &[u8]) -> bool {
    line.starts_with(b"#Fields:") || line.starts_with(b"#Version:")
}

/// Whether `line` starts as a line of a CloudFront standard log with the default fields (legacy
/// and v2 both begin with `date` and `time`): `2019-12-04`, a tab, `21:02:31`, a tab.
pub fn looks_like_standard(line: &[u8]) -> bool {
    const SHAPE: &[u8; 20] = b"0000-00-00\t00:00:00\t";
    line.len() > SHAPE.len()
        && line
            .iter()
            .zip(SHAPE)
            .all(|(&b, &shape)| if shape == b'0' { b.is_ascii_digit() } else { b == shape })
}

/// What a CloudFront line says beyond the access-log fields: `aws.cloudfront.*`. `-` is absent.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CloudFrontFields<'a> {
    pub edge_location: Option<&'a str>,
    pub edge_request_id: Option<&'a str>,
    /// The distribution's domain name.
    pub distribution_domain: Option<&'a str>,
    pub edge_result_type: Option<&'a str>,
    pub edge_response_result_type: Option<&'a str>,
    pub edge_detailed_result_type: Option<&'a str>,
    /// Seconds, as logged.
    pub time_to_first_byte: Option<&'a str>,
    pub content_type: Option<&'a str>,
    pub content_length: Option<u64>,
    pub range_start: Option<u64>,
    pub range_end: Option<u64>,
    /// CloudFront's own country of the viewer (`c-country`).
    pub country: Option<&'a str>,
    pub cache_behavior_path_pattern: Option<&'a str>,
    pub distribution_id: Option<&'a str>,
    pub distribution_dns_name: Option<&'a str>,
}

/// Whether `line` starts as a CloudFront real-time record whose field list begins with
/// `timestamp` (as the default list does): `1607004458.374` and a tab. No web server's line starts
/// so.
pub fn looks_like_realtime(line: &[u8]) -> bool {
    let digits = line.iter().take_while(|b| b.is_ascii_digit()).count();
    (9..=11).contains(&digits)
        && line.get(digits) == Some(&b'.')
        && line.get(digits + 1..digits + 4).is_some_and(|ms| ms.iter().all(u8::is_ascii_digit))
        && line.get(digits + 4) == Some(&b'\t')
}

/// Reads one line of either kind by its `fields` (the configuration's list, or the file's
/// `#Fields:` header); the caller has turned it into text (invalid UTF-8 as `\xhh`).
pub fn parse_cloudfront<'a>(
    line: &'a str,
    fields: &[CloudFrontField],
) -> Result<(AccessRecord<'a>, CloudFrontFields<'a>), ParseError> {
    let mut record = AccessRecord { server: Server::CloudFront, ..AccessRecord::default() };
    let mut cloudfront = CloudFrontFields::default();
    // What is left of the line after the fields read so far; `None` after the last one. (Not
    // `str::split`: its searcher costs more than the rest of a record on fields this short.)
    let mut rest = Some(line);
    let mut position = 0;
    let (mut stem, mut query, mut protocol_version) = (None, None, None);
    let (mut date, mut time) = (None, None);
    for &field in fields {
        let Some(remaining) = rest else {
            return Err(ParseError::Expected {
                expected: format!("{} tab-separated fields, as the field list names", fields.len()),
                position: line.len(),
            });
        };
        let raw = match find_byte_within::<32>(b'\t', remaining.as_bytes()) {
            Some(tab) => {
                rest = Some(&remaining[tab + 1..]);
                &remaining[..tab]
            }
            None => {
                rest = None;
                remaining
            }
        };
        let at = position;
        position += raw.len() + 1;
        let Some(value) = present(raw) else { continue };
        let invalid = |name: &'static str, expected: &'static str| ParseError::InvalidField {
            directive: name,
            value: value.chars().take(64).collect(),
            expected,
            position: at,
        };
        let number = |name: &'static str| value.parse::<u64>().map_err(|_| invalid(name, "a number"));
        match field {
            CloudFrontField::Timestamp => {
                // `1607004458.374`: seconds, and milliseconds after the dot.
                let (whole, fraction) = value.split_once('.').unwrap_or((value, "000"));
                let millis = (fraction.len() == 3)
                    .then(|| fraction.parse::<u32>().ok())
                    .flatten()
                    .filter(|_| fraction.bytes().all(|b| b.is_ascii_digit()));
                let time = millis.and_then(|millis| {
                    Timestamp::parse_epoch(whole.as_bytes(), EpochUnit::Seconds)?.plus_millis(millis)
                });
                record.time =
                    Some(time.ok_or_else(|| invalid("timestamp", "seconds since 1970 with milliseconds"))?);
            }
            CloudFrontField::TimestampMillis => {
                let time = Timestamp::parse_epoch(value.as_bytes(), EpochUnit::Millis);
                record.time = Some(time.ok_or_else(|| invalid("timestamp(ms)", "milliseconds since 1970"))?);
            }
            CloudFrontField::Date => date = Some((value, at)),
            CloudFrontField::Time => time = Some((value, at)),
            CloudFrontField::ClientIp => record.remote_addr = Some(Cow::Borrowed(value)),
            CloudFrontField::ClientPort => {
                record.remote_port = Some(value.parse().map_err(|_| invalid("c-port", "a port number"))?);
            }
            CloudFrontField::ForwardedFor => record.forwarded_for = Some(Cow::Borrowed(value)),
            CloudFrontField::Status => {
                // `000`: the viewer closed the connection before a response.
                let status: u16 = value.parse().map_err(|_| invalid("sc-status", "a status code"))?;
                record.final_status = (100..=999).contains(&status).then_some(status);
            }
            CloudFrontField::ResponseBytes => record.bytes_sent = Some(number("sc-bytes")?),
            CloudFrontField::RequestBytes => record.request_bytes = Some(number("cs-bytes")?),
            CloudFrontField::Method => record.method = Some(Cow::Borrowed(value)),
            CloudFrontField::Protocol => record.scheme = Some(Cow::Borrowed(value)),
            CloudFrontField::Host => record.server_name = Some(Cow::Borrowed(value)),
            CloudFrontField::UriStem => stem = Some(value),
            CloudFrontField::UriQuery => query = Some(value),
            CloudFrontField::ProtocolVersion => protocol_version = Some(value),
            CloudFrontField::TimeTaken => {
                let seconds = json_seconds(value).ok_or_else(|| invalid("time-taken", "seconds"))?;
                record.duration_nanos = parse_seconds_as_nanos(seconds.as_bytes());
            }
            // CloudFront percent-encodes the user agent and the referrer (`Mozilla/5.0%20(X11)`).
            CloudFrontField::UserAgent => record.user_agent = Some(percent_decode_path(value)),
            CloudFrontField::Referrer => record.referrer = Some(percent_decode_path(value)),
            CloudFrontField::TlsProtocol => record.tls_protocol = Some(Cow::Borrowed(value)),
            CloudFrontField::TlsCipher => record.tls_cipher = Some(Cow::Borrowed(value)),
            CloudFrontField::TimeToFirstByte => {
                cloudfront.time_to_first_byte =
                    Some(json_seconds(value).ok_or_else(|| invalid("time-to-first-byte", "seconds"))?);
            }
            CloudFrontField::EdgeLocation => cloudfront.edge_location = Some(value),
            CloudFrontField::EdgeRequestId => cloudfront.edge_request_id = Some(value),
            CloudFrontField::DistributionDomain => cloudfront.distribution_domain = Some(value),
            CloudFrontField::EdgeResultType => cloudfront.edge_result_type = Some(value),
            CloudFrontField::EdgeResponseResultType => cloudfront.edge_response_result_type = Some(value),
            CloudFrontField::EdgeDetailedResultType => cloudfront.edge_detailed_result_type = Some(value),
            CloudFrontField::ContentType => cloudfront.content_type = Some(value),
            CloudFrontField::ContentLength => cloudfront.content_length = Some(number("sc-content-len")?),
            CloudFrontField::RangeStart => cloudfront.range_start = Some(number("sc-range-start")?),
            CloudFrontField::RangeEnd => cloudfront.range_end = Some(number("sc-range-end")?),
            CloudFrontField::Country => cloudfront.country = Some(value),
            CloudFrontField::CacheBehaviorPathPattern => cloudfront.cache_behavior_path_pattern = Some(value),
            CloudFrontField::DistributionId => cloudfront.distribution_id = Some(value),
            CloudFrontField::DistributionDnsName => cloudfront.distribution_dns_name = Some(value),
            CloudFrontField::Skipped => {}
        }
    }
    // The stem holds the query in real-time logs; `cs-uri-query` is used when it does not.
    match (stem, query) {
        (Some(stem), Some(query)) if !stem.contains('?') => {
            record.url_path = Some(percent_decode_path(stem));
            record.query = Some(Cow::Borrowed(query));
        }
        (Some(stem), _) => record.request_target = Some(Cow::Borrowed(stem)),
        (None, _) => {}
    }
    record.protocol = protocol_version.map(Cow::Borrowed);
    if let (None, Some((date, at)), Some((time, _))) = (record.time, date, time) {
        record.time = Some(date_time(date, time).ok_or_else(|| ParseError::InvalidField {
            directive: "date",
            value: format!("{date} {time}").chars().take(64).collect(),
            expected: "a date (YYYY-MM-DD) and a time (HH:MM:SS), in UTC",
            position: at,
        })?);
    }
    if record.time.is_none() {
        return Err(ParseError::Expected {
            expected: "a time (timestamp, or date and time)".into(),
            position: 0,
        });
    }
    Ok((record, cloudfront))
}

/// Standard logs' `date` (`2019-12-04`) and `time` (`21:02:31`) fields, in UTC, as one time.
fn date_time(date: &str, time: &str) -> Option<Timestamp> {
    let (date, time) = (date.as_bytes(), time.as_bytes());
    if !matches!(date, [_, _, _, _, b'-', _, _, b'-', _, _])
        || !matches!(time, [_, _, b':', _, _, b':', _, _])
    {
        return None;
    }
    Timestamp::from_civil(
        i64::from(date_part(&date[..4])?),
        date_part(&date[5..7])?,
        date_part(&date[8..])?,
        date_part(&time[..2])?,
        date_part(&time[3..5])?,
        date_part(&time[6..])?,
        0,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_lists_name_known_unknown_and_refused_fields() {
        let list = CloudFrontField::parse_list("timestamp, c-ip,sc-status,cs-cookie,origin-fbl").unwrap();
        assert_eq!(
            list,
            [
                CloudFrontField::Timestamp,
                CloudFrontField::ClientIp,
                CloudFrontField::Status,
                CloudFrontField::Skipped,
                CloudFrontField::Skipped
            ]
        );
        assert!(CloudFrontField::parse_list("c-ip,sc-status").unwrap_err().contains("no timestamp"));
        assert!(
            CloudFrontField::parse_list("timestamp,,c-ip").unwrap_err().contains("\"\" is not a field name")
        );
        assert!(CloudFrontField::parse_list("timestamp,C-IP").unwrap_err().contains("\"C-IP\""));
        // The default list reads every field it has but those the document has no place for.
        let skipped: Vec<&str> = STACK_FIELDS
            .iter()
            .zip(CloudFrontField::default_list())
            .filter(|(_, field)| *field == CloudFrontField::Skipped)
            .map(|(name, _)| *name)
            .collect();
        assert_eq!(
            skipped,
            [
                "c-ip-version",
                "fle-encrypted-fields",
                "fle-status",
                "cs-accept-encoding",
                "cs-accept",
                "cs-headers-count"
            ]
        );
    }
}
