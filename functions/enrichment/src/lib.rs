//! The enrichment core of the weblog pipeline: Apache access-log lines in, ECS JSON documents out.
//!
//! [`Enricher`] is built once from an [`EnrichmentConfig`] and turns each line into one document;
//! a line that cannot be read still becomes a document (tagged `_parse_failure`), so nothing is lost.

pub mod agent_json;
pub mod anonymize;
pub mod client;
pub mod config;
pub mod document;
pub mod emf;
pub mod enrich;
pub mod escape;
pub mod format;
pub mod geo_cache;
pub mod json;
pub mod kpl;
pub mod line_reader;
pub mod output;
pub mod parse;
pub mod records;
pub mod request;
pub mod time;
pub mod user_agent;

pub use config::{ConfigError, EnrichmentConfig, FormatChoice, IpAnonymization};
pub use document::EventContext;
pub use enrich::{Enricher, LineOutcome};
pub use format::LogFormat;
pub use parse::{AccessRecord, ParseError};
pub use time::Timestamp;

/// A line without its `\n` or `\r\n`.
pub fn strip_line_ending(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}
