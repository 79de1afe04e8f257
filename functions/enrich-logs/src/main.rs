//! `enrich-logs`: access-log files (or standard input) in, one ECS JSON document per line out.
//!
//! Its own here: the flags, the line reader and the output formats. The settings are read by the
//! same code as the Lambda functions' (`enrichment::settings`), from the flags, which fall back to
//! the same environment variables.

mod line_reader;
mod output;

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, ValueEnum};
use enrichment::databases::{GeoIpSetupError, database_ages, open_geoip};
use enrichment::settings::{self, EnrichmentSettings, GeoIpSettings, Setting, SettingError};
use enrichment::{Enricher, EventContext, MAX_LINE_BYTES, Timestamp};

use crate::line_reader::LineReader;
use crate::output::{DEFAULT_INDEX, IndexPattern, IndexPatternError, OutputFormat};

/// Enrich Apache and nginx logs (access and error), ALB access logs and CloudFront real-time records
/// into ECS JSON documents, one per input line, in order.
///
/// Every setting falls back to the environment variable the Lambda functions read.
#[derive(Debug, Parser)]
#[command(name = "enrich-logs", version)]
struct Args {
    /// Log files; none or `-` reads standard input.
    files: Vec<PathBuf>,

    /// auto, common, combined, vhost_combined, kinesis-agent-json, nginx_error, apache_error, alb,
    /// cloudfront (standard log files), cloudfront-realtime[:FIELD,...], an Apache LogFormat
    /// string, or an nginx log_format (its quoted parts).
    #[arg(long, env = "LOG_FORMAT", default_value = "auto", value_name = "FORMAT")]
    format: String,

    /// Formats of chosen inputs, by the start of their path as given: a JSON object, as
    /// '{"logs/alb/": "alb", "logs/cdn/": "cloudfront"}'; other inputs are read by --format.
    #[arg(long, env = "LOG_FORMAT_BY_SOURCE", value_name = "JSON")]
    format_by_source: Option<String>,

    /// GeoIP City database [default: /opt/geoip/GeoLite2-City.mmdb].
    #[arg(long, env = "GEOIP_CITY_DB", value_name = "PATH")]
    city_db: Option<String>,

    /// GeoIP ASN database [default: /opt/geoip/GeoLite2-ASN.mmdb, if present].
    #[arg(long, env = "GEOIP_ASN_DB", value_name = "PATH")]
    asn_db: Option<String>,

    /// Start without the City database instead of failing.
    #[arg(long, env = "GEOIP_OPTIONAL", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    geoip_optional: Option<String>,

    /// No GeoIP lookups at all.
    #[arg(long)]
    no_geoip: bool,

    /// Comma-separated CIDRs of proxies whose X-Forwarded-For entries are believed (mod_remoteip's walk).
    #[arg(long, env = "TRUSTED_PROXIES", value_name = "CIDRS")]
    trusted_proxies: Option<String>,

    /// none, or truncate: IPv4 to /24, IPv6 to /48.
    #[arg(long = "anonymize-ip", env = "IP_ANONYMIZATION", default_value = "none", value_name = "MODE")]
    anonymize_ip: String,

    /// Also keep the raw line in event.original for lines that parse.
    #[arg(long, env = "KEEP_ORIGINAL", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    keep_original: Option<String>,

    /// Query parameters whose values become REDACTED in the URL, the query, the referrer and
    /// event.original: false for none, or names separated by commas (`default` adds the default
    /// list). Default: password, passwd, token, access_token, id_token, refresh_token, api_key,
    /// apikey, secret, code, session, X-Amz-Signature, X-Amz-Credential, X-Amz-Security-Token,
    /// Signature.
    #[arg(long, env = "REDACT_QUERY_PARAMS", value_name = "NAMES")]
    redact_query_params: Option<String>,

    /// Also replace e-mail addresses in the URL, the referrer and event.original by REDACTED.
    #[arg(long, env = "REDACT_EMAILS", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    redact_emails: Option<String>,

    /// Rules of lines not to index: conditions joined by ` and `, rules separated by `;`
    /// (`user_agent.original ^= ELB-HealthChecker/; url.path = /health`). See docs/shaping.md.
    #[arg(long, env = "DROP_WHEN", value_name = "RULES")]
    drop_when: Option<String>,

    /// Rules of lines to index one in N, each starting with its rate
    /// (`1/20: url.path ^= /static/ and http.response.status_code = 200`).
    #[arg(long, env = "SAMPLE_WHEN", value_name = "RULES")]
    sample_when: Option<String>,

    /// Fields every document carries: name=value pairs separated by commas
    /// (`service.name=shop,service.environment=prod,labels.team=web`).
    #[arg(long, env = "ADD_FIELDS", value_name = "FIELDS")]
    add_fields: Option<String>,

    /// ndjson: one document per line; bulk: OpenSearch _bulk body (an action line before each document).
    #[arg(long, value_enum, default_value_t = OutputKind::Ndjson)]
    output: OutputKind,

    /// Index name for --output bulk; %Y %m %d %H come from the document's @timestamp (UTC).
    #[arg(long, default_value = DEFAULT_INDEX, value_name = "NAME")]
    index: String,

    /// With --output bulk: give each document an _id made from its file (its full path), line
    /// number and line, so indexing the same file again overwrites instead of duplicating.
    #[arg(long)]
    stable_ids: bool,

    /// Print a summary to standard error: lines, documents, parse failures, GeoIP misses, lines per second.
    #[arg(long)]
    stats: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OutputKind {
    Ndjson,
    Bulk,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("enrich-logs: {error}");
            ExitCode::from(1)
        }
    }
}

/// Input is read this many bytes at a time, and output written in batches of about this size.
const IO_CHUNK: usize = 256 * 1024;

fn run(args: &Args) -> io::Result<()> {
    let (mut enricher, output) =
        settings(args).map_err(|error| io::Error::new(io::ErrorKind::InvalidInput, error))?;
    let inputs = open_inputs(&args.files)?;

    let started = Instant::now();
    let mut out = io::stdout().lock();
    let mut stats = Stats::default();
    // Documents are written straight into one batch buffer, written out when it is full.
    let mut batch = Vec::with_capacity(IO_CHUNK + 64 * 1024);
    let mut prefix = Vec::with_capacity(64);
    for (name, source, input) in inputs {
        let mut lines = LineReader::new(input, IO_CHUNK, MAX_LINE_BYTES);
        enricher.start_file(Some(&name), None);
        let mut line_number = 0;
        while let Some((line, read_at)) = lines
            .next_line()
            .map_err(|error| io::Error::new(error.kind(), format!("reading {name}: {error}")))?
        {
            // The time a line is read stamps the documents of lines that carry none.
            let context =
                EventContext { event_id: None, received_at: read_at, log_origin: None, cloud: None };
            let document_start = batch.len();
            let line = strip_line_ending(line);
            line_number += 1;
            let outcome = enricher.enrich_line(line, &context, &mut batch);
            stats.lines += 1;
            if !outcome.has_document() {
                stats.headers += u64::from(outcome.header);
                stats.dropped += u64::from(outcome.dropped);
                stats.sampled_out += u64::from(outcome.sampled_out);
                continue;
            }
            prefix.clear();
            output.write_prefix(outcome.timestamp, (&source, line_number, line), &mut prefix);
            if !prefix.is_empty() {
                batch.splice(document_start..document_start, prefix.iter().copied());
            }
            batch.push(b'\n');
            if batch.len() >= IO_CHUNK {
                out.write_all(&batch)?;
                batch.clear();
            }
            stats.parse_failures += u64::from(outcome.parse_failure);
            stats.geoip_misses += u64::from(outcome.geoip_lookup_failure);
        }
    }
    out.write_all(&batch)?;
    out.flush()?;
    if args.stats {
        stats.print(started.elapsed().as_secs_f64());
        for age in database_ages(enricher.geoip(), Timestamp::now()) {
            eprintln!("{age}");
        }
    }
    Ok(())
}

/// A setting that stops the run before any input is read.
#[derive(Debug, thiserror::Error)]
enum SetupError {
    #[error(transparent)]
    Setting(#[from] SettingError),
    #[error(transparent)]
    Index(#[from] IndexPatternError),
    #[error("{0} (run with --no-geoip or --geoip-optional to go without)")]
    GeoIp(#[from] GeoIpSetupError),
}

/// Checks every setting and opens the databases before any input is read.
fn settings(args: &Args) -> Result<(Enricher, OutputFormat), SetupError> {
    // The flags (or their variables), by the variable names the settings code reads.
    let flags: [(Setting, Option<&String>); 13] = [
        (settings::LOG_FORMAT, Some(&args.format)),
        (settings::LOG_FORMAT_BY_SOURCE, args.format_by_source.as_ref()),
        (settings::IP_ANONYMIZATION, Some(&args.anonymize_ip)),
        (settings::KEEP_ORIGINAL, args.keep_original.as_ref()),
        (settings::TRUSTED_PROXIES, args.trusted_proxies.as_ref()),
        (settings::GEOIP_CITY_DB, args.city_db.as_ref()),
        (settings::GEOIP_ASN_DB, args.asn_db.as_ref()),
        (settings::GEOIP_OPTIONAL, args.geoip_optional.as_ref()),
        (settings::REDACT_QUERY_PARAMS, args.redact_query_params.as_ref()),
        (settings::REDACT_EMAILS, args.redact_emails.as_ref()),
        (settings::DROP_WHEN, args.drop_when.as_ref()),
        (settings::SAMPLE_WHEN, args.sample_when.as_ref()),
        (settings::ADD_FIELDS, args.add_fields.as_ref()),
    ];
    let flag = |name: &str| {
        flags.iter().find(|(setting, _)| setting.env == name).and_then(|(_, value)| value.cloned())
    };
    let enrichment = EnrichmentSettings::from_lookup(flag)?;
    let geoip_settings = GeoIpSettings::from_lookup(flag)?;
    let output = match args.output {
        OutputKind::Ndjson => OutputFormat::Ndjson,
        OutputKind::Bulk => {
            OutputFormat::Bulk { index: IndexPattern::parse(&args.index)?, stable_ids: args.stable_ids }
        }
    };
    let geoip = if args.no_geoip {
        None
    } else {
        let opened = open_geoip(&geoip_settings)?;
        for warning in &opened.warnings {
            eprintln!("enrich-logs: warning: {warning}");
        }
        opened.geoip
    };
    Ok((Enricher::new(enrichment, geoip), output))
}

/// A line without its `\n` or `\r\n`.
fn strip_line_ending(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// An input: its name for messages, what names it in document ids (the full path), its reader.
type Input = (String, String, Box<dyn Read>);

/// Opens every input up front, so a missing file fails before any output is written.
fn open_inputs(files: &[PathBuf]) -> io::Result<Vec<Input>> {
    let stdin = || {
        let name = "standard input".to_owned();
        (name.clone(), name, Box::new(io::stdin()) as Box<dyn Read>)
    };
    if files.is_empty() {
        return Ok(vec![stdin()]);
    }
    files
        .iter()
        .map(|path| {
            if path.as_os_str() == "-" {
                return Ok(stdin());
            }
            let file = File::open(path).map_err(|error| {
                io::Error::new(error.kind(), format!("cannot read {}: {error}", path.display()))
            })?;
            let source = std::fs::canonicalize(path).unwrap_or_else(|_| path.clone()).display().to_string();
            Ok((path.display().to_string(), source, Box::new(file) as Box<dyn Read>))
        })
        .collect()
}

#[derive(Debug, Default)]
struct Stats {
    lines: u64,
    /// CloudFront standard logs' `#Version:`/`#Fields:` lines: read, no document.
    headers: u64,
    /// Lines a `DROP_WHEN` rule dropped, or a `SAMPLE_WHEN` rule left out: no document.
    dropped: u64,
    sampled_out: u64,
    parse_failures: u64,
    geoip_misses: u64,
}

impl Stats {
    fn print(&self, seconds: f64) {
        // Every line is one document, parse failures included, but a CloudFront file's header and
        // the lines the rules left out: lines = documents + headers + dropped + sampled out.
        let per_second = if seconds > 0.0 { self.lines as f64 / seconds } else { 0.0 };
        let shaped = if self.dropped + self.sampled_out > 0 {
            format!(", dropped: {}, sampled out: {}", self.dropped, self.sampled_out)
        } else {
            String::new()
        };
        eprintln!(
            "lines: {}, documents: {}{shaped}, parse failures: {}, geoip misses: {}, seconds: {:.3}, lines/s: {:.0}",
            self.lines,
            self.lines - self.headers - self.dropped - self.sampled_out,
            self.parse_failures,
            self.geoip_misses,
            seconds,
            per_second
        );
    }
}
