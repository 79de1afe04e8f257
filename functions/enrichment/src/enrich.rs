//! The enrichment core both Lambda functions and `enrich-logs` run: one line in, one document out.

use std::borrow::Cow;
use std::net::IpAddr;

use crate::agent_json::{looks_like_json_object, parse_agent_json};
use crate::anonymize::{truncate, truncate_addresses_in};
use crate::config::{EnrichmentConfig, FormatChoice, IpAnonymization};
use crate::document::{Client, EventContext, write_access_document, write_failure_document};
use crate::escape::as_logged;
use crate::format::{COMBINED, COMMON, LogFormat, VHOST_COMBINED};
use crate::parse::{AccessRecord, ParseError};
use crate::time::Timestamp;

/// What became of one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineOutcome {
    /// The document's `@timestamp` (for index names).
    pub timestamp: Timestamp,
    /// The line did not match its format; the document carries `_parse_failure`.
    pub parse_failure: bool,
}

/// Turns access-log lines into ECS documents. Built once at start-up, used for every line.
#[derive(Debug)]
pub struct Enricher {
    config: EnrichmentConfig,
    /// `auto` tries these in order; no line can match two of them.
    builtins: [LogFormat; 3],
}

impl Enricher {
    pub fn new(config: EnrichmentConfig) -> Self {
        let compile = |source| {
            LogFormat::compile(source).unwrap_or_else(|error| panic!("built-in format {source:?}: {error}"))
        };
        Self {
            config,
            builtins: [compile(COMBINED), compile(VHOST_COMBINED), compile(COMMON)],
        }
    }

    pub fn config(&self) -> &EnrichmentConfig {
        &self.config
    }

    /// Reads one line (without its line ending) by the configured format.
    pub fn parse_line<'a>(&self, line: &'a [u8]) -> Result<AccessRecord<'a>, ParseError> {
        match &self.config.format {
            FormatChoice::Fixed(format) => format.parse(line),
            FormatChoice::KinesisAgentJson => parse_agent_json(line),
            FormatChoice::Auto if looks_like_json_object(line) => parse_agent_json(line),
            FormatChoice::Auto => {
                let mut furthest: Option<ParseError> = None;
                for format in &self.builtins {
                    match format.parse(line) {
                        Ok(record) => return Ok(record),
                        Err(error) if furthest.as_ref().is_none_or(|f| error.position() > f.position()) => {
                            furthest = Some(error);
                        }
                        Err(_) => {}
                    }
                }
                let error = furthest.unwrap_or_else(|| ParseError::Other("empty line".into()));
                Err(ParseError::Other(format!(
                    "line matches none of combined, vhost_combined, common: {error}"
                )))
            }
        }
    }

    /// Appends the document for `line` to `out`. Never fails: a line that does not parse becomes a
    /// document with `event.original`, `error.message` and the `_parse_failure` tag.
    pub fn enrich_line(&self, line: &[u8], context: &EventContext<'_>, out: &mut Vec<u8>) -> LineOutcome {
        match self.parse_line(line) {
            Ok(record) => {
                let address = record.remote_host.as_deref().or(record.remote_addr.as_deref());
                let client = address.map(|address| self.client(address));
                let original = self.config.keep_original.then(|| self.original_text(line));
                let timestamp =
                    write_access_document(out, &record, client.as_ref(), context, original.as_deref());
                LineOutcome {
                    timestamp,
                    parse_failure: false,
                }
            }
            Err(error) => {
                let timestamp =
                    write_failure_document(out, &self.original_text(line), &error.to_string(), context);
                LineOutcome {
                    timestamp,
                    parse_failure: true,
                }
            }
        }
    }

    /// The raw line for `event.original`: as logged, addresses truncated when anonymizing.
    fn original_text<'a>(&self, line: &'a [u8]) -> Cow<'a, str> {
        let text = as_logged(line);
        match self.config.anonymization {
            IpAnonymization::None => text,
            IpAnonymization::Truncate => match truncate_addresses_in(&text) {
                Cow::Borrowed(_) => text,
                Cow::Owned(truncated) => Cow::Owned(truncated),
            },
        }
    }

    fn client<'a>(&self, logged: &'a str) -> Client<'a> {
        match logged.parse::<IpAddr>() {
            Ok(ip) => {
                let ip = ip.to_canonical();
                match self.config.anonymization {
                    IpAnonymization::None => Client::Address {
                        logged,
                        ip,
                        anonymized: false,
                    },
                    IpAnonymization::Truncate => Client::Address {
                        logged,
                        ip: truncate(ip),
                        anonymized: true,
                    },
                }
            }
            Err(_) => Client::HostName(logged),
        }
    }
}
