//! The ECS document of DESIGN §4, written straight into an output buffer.
//!
//! Absent values are omitted (never `"-"` or `null`), empty objects vanish (see [`crate::json`]).

use std::borrow::Cow;
use std::io::Write as _;
use std::net::IpAddr;

use crate::json::ObjectWriter;
use crate::key;
use crate::parse::AccessRecord;
use crate::request::{RequestLine, UrlParts, extension, http_version};
use crate::time::Timestamp;

/// `event.dataset` of every document.
pub const DATASET: &str = "apache.access";

/// Where a line came from and when it was read.
#[derive(Debug, Clone, Copy)]
pub struct EventContext<'a> {
    /// `event.id`: the Kinesis sequence number or the Firehose record id.
    pub event_id: Option<&'a str>,
    /// `@timestamp` of documents whose line carries no time (parse failures, formats without `%t`).
    pub received_at: Timestamp,
}

/// The `source.*` fields, worked out by the enricher.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceFields<'a> {
    /// `%h` as logged (truncated when anonymizing and it is an address).
    pub address: Cow<'a, str>,
    /// The client: `%h`, or the address found behind trusted proxies (truncated when anonymizing).
    pub ip: Option<IpAddr>,
    /// `%h` when it is a host name.
    pub domain: Option<&'a str>,
    /// The `source.geo` object, as JSON.
    pub geo: Option<&'a [u8]>,
    /// The `source.as` object, as JSON.
    pub as_info: Option<&'a [u8]>,
}

/// What enrichment adds to a parsed line.
#[derive(Debug, Clone, Default)]
pub struct Enrichment<'a> {
    pub source: Option<SourceFields<'a>>,
    /// The `user_agent` object, as JSON.
    pub user_agent: Option<&'a [u8]>,
    /// A global client address the City database has no record for.
    pub geoip_lookup_failure: bool,
}

/// Writes the document of a parsed line and returns its `@timestamp`.
pub fn write_access_document(
    out: &mut Vec<u8>,
    record: &AccessRecord<'_>,
    enrichment: &Enrichment<'_>,
    context: &EventContext<'_>,
    original: Option<&str>,
) -> Timestamp {
    let timestamp = record.time.unwrap_or(context.received_at);
    let mut doc = ObjectWriter::new(out);
    doc.string_with(key!("@timestamp"), |out| timestamp.write_rfc3339(out));
    if let Some(source) = &enrichment.source {
        write_source(&mut doc, source);
    }

    if let Some(user) = &record.user {
        doc.open(key!("user"));
        doc.string(key!("name"), user);
        doc.close();
    }

    // The request line is what the client sent; %m, %H, %U and %q are used only without it.
    let request = record.request_line.as_deref().map(|line| (line, RequestLine::parse(line)));
    let (method, version, target) = match request {
        Some((_, Some(parsed))) => (Some(parsed.method), parsed.version, Some(parsed.target)),
        Some((_, None)) => (None, None, None),
        None => (record.method.as_deref(), record.protocol.as_deref().and_then(http_version), None),
    };

    doc.open(key!("http"));
    doc.open(key!("request"));
    if let Some(method) = method {
        doc.string(key!("method"), method);
    }
    if let Some(referrer) = &record.referrer {
        doc.string(key!("referrer"), referrer);
    }
    if let Some(bytes) = record.request_bytes {
        doc.number(key!("bytes"), bytes);
    }
    if let Some((line, None)) = request {
        doc.string(key!("line"), line);
    }
    doc.close();
    if let Some(version) = version {
        doc.string(key!("version"), version);
    }
    doc.open(key!("response"));
    if let Some(status) = record.status() {
        doc.number(key!("status_code"), u64::from(status));
    }
    if let Some(bytes) = record.body_bytes() {
        doc.open(key!("body"));
        doc.number(key!("bytes"), bytes);
        doc.close();
    }
    doc.close();
    doc.close();

    doc.open(key!("url"));
    if let Some(target) = target {
        doc.string(key!("original"), target);
        let parts = UrlParts::of_target(target);
        write_path_and_query(&mut doc, parts.path.as_deref(), parts.query);
    } else if request.is_none() {
        // %U is already decoded by Apache.
        write_path_and_query(&mut doc, record.url_path.as_deref(), record.query.as_deref());
    }
    doc.close();

    if let Some(user_agent) = enrichment.user_agent {
        doc.raw(key!("user_agent"), user_agent);
    }

    doc.open(key!("destination"));
    if let Some(server) = record.server_name.as_deref().or(record.requested_server_name.as_deref()) {
        doc.string(key!("domain"), server);
    }
    if let Some(port) = record.server_port {
        doc.number(key!("port"), u64::from(port));
    }
    doc.close();

    doc.open(key!("event"));
    doc.string(key!("dataset"), DATASET);
    if let Some(id) = context.event_id {
        doc.string(key!("id"), id);
    }
    if let Some(nanos) = record.duration_nanos {
        doc.number(key!("duration"), nanos);
    }
    if let Some(original) = original {
        doc.string(key!("original"), original);
    }
    doc.close();
    if enrichment.geoip_lookup_failure {
        doc.raw(key!("tags"), br#"["_geoip_lookup_failure"]"#);
    }
    doc.finish();
    timestamp
}

/// Tags of a line that did not parse, and of one that was also cut short.
pub const PARSE_FAILURE_TAGS: &[u8] = br#"["_parse_failure"]"#;
pub const TRUNCATED_PARSE_FAILURE_TAGS: &[u8] = br#"["_parse_failure","_truncated"]"#;

/// Writes the document of a line that could not be read, and returns its `@timestamp`.
pub fn write_failure_document(
    out: &mut Vec<u8>,
    original: &str,
    reason: &str,
    context: &EventContext<'_>,
    tags: &[u8],
) -> Timestamp {
    let mut doc = ObjectWriter::new(out);
    doc.string_with(key!("@timestamp"), |out| context.received_at.write_rfc3339(out));
    doc.open(key!("event"));
    doc.string(key!("dataset"), DATASET);
    if let Some(id) = context.event_id {
        doc.string(key!("id"), id);
    }
    doc.string(key!("original"), original);
    doc.close();
    doc.open(key!("error"));
    doc.string(key!("message"), reason);
    doc.close();
    doc.raw(key!("tags"), tags);
    doc.finish();
    context.received_at
}

fn write_source(doc: &mut ObjectWriter<'_>, source: &SourceFields<'_>) {
    doc.open(key!("source"));
    doc.string(key!("address"), &source.address);
    if let Some(ip) = source.ip {
        doc.string_with(key!("ip"), |out| write_ip(out, ip));
    }
    if let Some(domain) = source.domain {
        doc.string(key!("domain"), domain);
    }
    if let Some(geo) = source.geo {
        doc.raw(key!("geo"), geo);
    }
    if let Some(as_info) = source.as_info {
        doc.raw(key!("as"), as_info);
    }
    doc.close();
}

/// An address in its canonical text form. IPv4 (nearly every line) skips `fmt`, which costs
/// more than the rest of the `source` object.
fn write_ip(out: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            let mut digits = itoa::Buffer::new();
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                out.extend_from_slice(digits.format(octet).as_bytes());
            }
        }
        // Writing into a Vec cannot fail.
        IpAddr::V6(v6) => {
            let _ = write!(out, "{v6}");
        }
    }
}

fn write_path_and_query(doc: &mut ObjectWriter<'_>, path: Option<&str>, query: Option<&str>) {
    if let Some(path) = path {
        doc.string(key!("path"), path);
    }
    if let Some(query) = query {
        doc.string(key!("query"), query);
    }
    if let Some(extension) = path.and_then(extension) {
        doc.string(key!("extension"), extension);
    }
}
