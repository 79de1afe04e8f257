//! The enrichment core of the weblog pipeline: Apache access-log lines in, ECS JSON documents out.
//!
//! A line goes through three stages, one folder each:
//! - [`parse`](crate::LogFormat): the `LogFormat` compiler and the line parser, Apache's escapes,
//!   times, the request line and URL;
//! - `enrich`: the client address (trusted proxies), anonymization, GeoIP and user agents;
//! - `document`: the ECS [`schema`], the JSON writer and the documents.
//!
//! [`Enricher`] runs them. It is built once from the [`settings`] and the GeoIP [`databases`] and
//! turns each line into one document; a line that cannot be read still becomes a document (tagged
//! `_parse_failure`), so nothing is lost.

pub mod databases;
mod document;
mod enrich;
mod enricher;
mod line_buffer;
mod parse;
pub mod settings;

pub use document::{
    ADDABLE_FIELDS, AddedFields, CloudOrigin, EventContext, Key, LogOrigin, json_string_len, schema,
    write_json_string,
};
pub use enrich::{DEFAULT_SECRET_PARAMS, Redaction, ShapingRules, TrustedProxies};
/// The bounded caches behind the `source.geo`/`source.as` and `user_agent` objects (public for the
/// benchmarks, which measure them alone).
pub use enrich::{GeoCache, UserAgentFragments, UserAgentParser};
pub use enricher::{DocumentLimit, Enricher, LineOutcome, MAX_LINE_BYTES, MAX_UNREADABLE_ORIGINAL};
pub use line_buffer::{LineBuffer, LineSpan};
/// The field list of the stack's CloudFront real-time log configuration, which
/// `LOG_FORMAT=cloudfront-realtime` and `auto` read by.
pub use parse::STACK_FIELDS as CLOUDFRONT_REALTIME_FIELDS;
/// Whether a line is a CloudFront standard log's `#Version:` or `#Fields:` line (no event).
pub use parse::is_cloudfront_header;
pub use parse::{AccessRecord, Escape, FormatError, LogFormat, ParseError, Server, Timestamp, UtcDateTime};

/// The crawler list the user agents are matched against (data/crawler-user-agents/).
pub mod crawlers {
    /// Each shipped pattern and its tags, in the list's order.
    pub use crate::enrich::crawler_patterns as patterns;
}

/// IP address anonymization, as `IP_ANONYMIZATION=truncate` applies it.
pub mod anonymize {
    pub use crate::enrich::{truncate, truncate_addresses_in};
}
