//! The pipeline of one line: parse (stage 1), enrich (stage 2), write the document (stage 3).

use std::borrow::Cow;
use std::net::IpAddr;

use geoip::GeoIp;

use crate::document::{
    AwsFields, Dataset, Enrichment, EventContext, SourceFields, Tags, write_access_document,
    write_error_document, write_failure_document, write_oversized_document,
};
use crate::enrich::{
    Field, GeoCache, LineFields, Redaction, Scan, Scope, UserAgentParser, Verdict, truncate,
    truncate_addresses_in,
};
use crate::parse::{
    AccessRecord, COMBINED, COMMON, CloudFrontField, Directive, ElbFields, ErrorLogFormat, ErrorRecord,
    LogFormat, ParseError, Timestamp, VHOST_COMBINED, as_logged, is_cloudfront_header, looks_like_alb,
    looks_like_json_object, looks_like_realtime, looks_like_standard, parse_agent_json, parse_alb,
    parse_cloudfront,
};
use crate::settings::{EnrichmentSettings, FormatChoice, IpAnonymization};

/// `event.original` of an unreadable record, or of a line over [`MAX_LINE_BYTES`], keeps at most
/// this many bytes.
pub const MAX_UNREADABLE_ORIGINAL: usize = 64 * 1024;

/// Lines longer than this are not parsed: Apache's own limits keep real lines far shorter (the
/// request line is at most 8 KiB), and the cap bounds the work and memory a line can cost.
pub const MAX_LINE_BYTES: usize = 1024 * 1024;

/// What `auto` tries, in this order.
const BUILTIN_NAMES: [&str; 3] = ["combined", "vhost_combined", "common"];

/// A UTF-8 byte order mark, which editors put at the start of a file.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// What became of one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineOutcome {
    /// The document's `@timestamp` (for index names).
    pub timestamp: Timestamp,
    /// The line did not match its format; the document carries `_parse_failure`.
    pub parse_failure: bool,
    /// A global client address the City database does not know; tagged `_geoip_lookup_failure`.
    pub geoip_lookup_failure: bool,
    /// The document was over the [`DocumentLimit`] and lost its original texts (or all but its time
    /// and ids); tagged `_truncated`.
    pub truncated: bool,
    /// The line was a header line of a CloudFront standard log file (`#Version:`, `#Fields:`):
    /// no event, so no document was written; a `#Fields:` line says how the lines after it read.
    pub header: bool,
    /// A `DROP_WHEN` rule matched: no document was written.
    pub dropped: bool,
    /// A `SAMPLE_WHEN` rule matched and the line was not the one in N kept: no document.
    pub sampled_out: bool,
}

impl LineOutcome {
    fn document(
        timestamp: Timestamp,
        parse_failure: bool,
        geoip_lookup_failure: bool,
        truncated: bool,
    ) -> Self {
        Self {
            timestamp,
            parse_failure,
            geoip_lookup_failure,
            truncated,
            header: false,
            dropped: false,
            sampled_out: false,
        }
    }

    /// A line a rule dropped or sampled out (`verdict`): no document. `timestamp`: the line's time
    /// where it was read, else its arrival.
    fn left_out(verdict: Verdict, timestamp: Timestamp) -> Self {
        Self {
            dropped: verdict == Verdict::Drop,
            sampled_out: verdict == Verdict::SampledOut,
            ..Self::document(timestamp, false, false, false)
        }
    }

    /// Whether a document was written for the line (not a header line, not dropped or sampled
    /// out by a rule).
    pub fn has_document(&self) -> bool {
        !(self.header || self.dropped || self.sampled_out)
    }
}

/// A size that documents must not exceed (a delivery service's record limit).
///
/// A document over it is written again without `event.original` and `user_agent.original`, tagged
/// `_truncated`; if it is still over, only its time, ids and an `error.message` that says so are
/// kept. Documents are never rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentLimit {
    /// The largest document, in bytes.
    pub max_bytes: usize,
    /// How the error message names the limit (`Firehose's 1024000-byte record limit`).
    pub name: String,
}

/// Turns access-log lines into ECS documents. Built once at start-up, used for every line.
#[derive(Debug)]
pub struct Enricher {
    settings: EnrichmentSettings,
    /// `auto` tries these in order; no line can match two of them.
    builtins: [LogFormat; 3],
    geoip: Option<GeoIp>,
    geo_cache: GeoCache,
    user_agents: UserAgentParser,
    limit: Option<DocumentLimit>,
    /// What `auto` reads CloudFront real-time records by: the documented field order.
    cloudfront_default: Vec<CloudFrontField>,
    /// The `#Fields:` header of the file being read (CloudFront standard logs), if it had one.
    file_header: Option<FileHeader>,
    /// The file's format from `LOG_FORMAT_BY_SOURCE` (its place there), if its source has one.
    source_format: Option<usize>,
}

/// A standard log file's `#Fields:` line, and the fields it names.
#[derive(Debug)]
struct FileHeader {
    line: String,
    fields: Vec<CloudFrontField>,
}

impl FileHeader {
    fn read(line: &str) -> Option<Self> {
        let fields = CloudFrontField::parse_header(line)?;
        Some(Self { line: line.to_owned(), fields })
    }
}

impl Enricher {
    pub fn new(settings: EnrichmentSettings, geoip: Option<GeoIp>) -> Self {
        let compile = |source| {
            LogFormat::compile(source).unwrap_or_else(|error| panic!("built-in format {source:?}: {error}"))
        };
        Self {
            settings,
            builtins: [compile(COMBINED), compile(VHOST_COMBINED), compile(COMMON)],
            geoip,
            geo_cache: GeoCache::new(),
            user_agents: UserAgentParser::new(),
            limit: None,
            cloudfront_default: CloudFrontField::default_list(),
            file_header: None,
            source_format: None,
        }
    }

    /// Starts a new file (an S3 object, an input file, a record) from `source` (`s3://bucket/key`,
    /// a CloudWatch Logs group, a path): its lines are read by the source's format from
    /// `LOG_FORMAT_BY_SOURCE`, else `LOG_FORMAT`, and a CloudFront standard log's `#Fields:`
    /// header of the file before is forgotten. `header` is the one in force where a file is
    /// resumed in the middle (a continuation), as [`Self::file_header`] gave it.
    pub fn start_file(&mut self, source: Option<&str>, header: Option<&str>) {
        self.source_format = source.and_then(|source| self.settings.formats_by_source.position_of(source));
        self.file_header = header.and_then(FileHeader::read);
    }

    /// The format lines are read by now.
    fn format(&self) -> &FormatChoice {
        match self.source_format {
            Some(index) => &self.settings.formats_by_source.by_prefix[index].1,
            None => &self.settings.format,
        }
    }

    /// The `#Fields:` line in force in the file being read, to resume it elsewhere.
    pub fn file_header(&self) -> Option<&str> {
        self.file_header.as_ref().map(|header| header.line.as_str())
    }

    /// Keeps every document within `limit`.
    pub fn with_document_limit(mut self, limit: DocumentLimit) -> Self {
        self.limit = Some(limit);
        self
    }

    pub fn settings(&self) -> &EnrichmentSettings {
        &self.settings
    }

    /// Whose logs the configured format reads: `auto` and Kinesis Agent records are Apache's
    /// access logs.
    fn dataset(&self) -> Dataset {
        match self.format() {
            FormatChoice::Fixed(format) => Dataset::access(format.server()),
            FormatChoice::ErrorLog(format) => Dataset::error(*format),
            FormatChoice::Alb => Dataset::ElbAccess,
            FormatChoice::CloudFrontRealtime(_) | FormatChoice::CloudFrontStandard => Dataset::CloudFront,
            FormatChoice::Auto | FormatChoice::KinesisAgentJson => Dataset::ApacheAccess,
        }
    }

    /// Which reader `line` goes to: the configured format's, or under `auto` the one whose shape
    /// the line starts with (error logs, ALB lines, CloudFront records and files; no line starts
    /// as two of them, nor as an access line). In a file with a `#Fields:` header, `auto` reads
    /// every line by the header.
    fn reader_of(&self, line: &[u8]) -> Reader {
        match self.format() {
            FormatChoice::ErrorLog(format) => Reader::ErrorLog(*format),
            FormatChoice::Alb => Reader::Alb,
            FormatChoice::CloudFrontRealtime(_) => Reader::CloudFront,
            FormatChoice::CloudFrontStandard if is_cloudfront_header(line) => Reader::HeaderLine,
            FormatChoice::CloudFrontStandard => Reader::CloudFrontStandard,
            FormatChoice::Fixed(_) | FormatChoice::KinesisAgentJson => Reader::Access,
            FormatChoice::Auto => {
                if is_cloudfront_header(line) {
                    Reader::HeaderLine
                } else if self.file_header.is_some() || looks_like_standard(line) {
                    Reader::CloudFrontStandard
                } else if let Some(format) = ErrorLogFormat::recognise(line) {
                    Reader::ErrorLog(format)
                } else if looks_like_alb(line) {
                    Reader::Alb
                } else if looks_like_realtime(line) {
                    Reader::CloudFront
                } else {
                    Reader::Access
                }
            }
        }
    }

    pub fn geoip(&self) -> Option<&GeoIp> {
        self.geoip.as_ref()
    }

    /// Reads one access-log line (without its line ending) by the configured format.
    pub fn parse_line<'a>(&self, line: &'a [u8]) -> Result<AccessRecord<'a>, ParseError> {
        match self.format() {
            FormatChoice::Fixed(format) => format.parse(line),
            FormatChoice::ErrorLog(format) => Err(ParseError::Other(format!(
                "{} is an error-log format: it reads no access lines",
                format.name()
            ))),
            // The document also takes the ALB's own fields, which `write_line` keeps.
            FormatChoice::Alb => std::str::from_utf8(line)
                .map_err(|_| ParseError::Other("an ALB line that is not UTF-8".into()))
                .and_then(|text| parse_alb(text).map(|(record, _)| record)),
            FormatChoice::CloudFrontRealtime(fields) => std::str::from_utf8(line)
                .map_err(|_| ParseError::Other("a CloudFront record that is not UTF-8".into()))
                .and_then(|text| parse_cloudfront(text, fields).map(|(record, _)| record)),
            FormatChoice::CloudFrontStandard => {
                let header = self.file_header.as_ref().ok_or_else(|| ParseError::Other(NO_HEADER.into()))?;
                std::str::from_utf8(line)
                    .map_err(|_| ParseError::Other("a CloudFront line that is not UTF-8".into()))
                    .and_then(|text| parse_cloudfront(text, &header.fields).map(|(record, _)| record))
            }
            FormatChoice::KinesisAgentJson => parse_agent_json(line),
            FormatChoice::Auto if looks_like_json_object(line) => parse_agent_json(line),
            FormatChoice::Auto => {
                let mut furthest: Option<(ParseError, &str)> = None;
                for (format, name) in self.builtins.iter().zip(BUILTIN_NAMES) {
                    match format.parse(line) {
                        Ok(record) => return Ok(record),
                        Err(error)
                            if furthest.as_ref().is_none_or(|(f, _)| error.progress() > f.progress()) =>
                        {
                            furthest = Some((error, name));
                        }
                        Err(_) => {}
                    }
                }
                let (error, closest) =
                    furthest.unwrap_or_else(|| (ParseError::Other("empty line".into()), BUILTIN_NAMES[0]));
                Err(ParseError::Other(format!(
                    "line matches none of combined, vhost_combined, common (closest: {closest}: {error}); \
                     for another format set LOG_FORMAT (--format) to the server's LogFormat or nginx log_format"
                )))
            }
        }
    }

    /// Appends the document of a record that could not be read as text at all (binary data,
    /// corrupt gzip): `event.original` holds the data as logged-style text (non-UTF-8 bytes as
    /// `\xhh`), cut to [`MAX_UNREADABLE_ORIGINAL`] bytes, `error.message` the reason, tag
    /// `_parse_failure`. Nothing is lost silently: the record is in the index, searchable.
    pub fn write_unreadable_record(
        &self,
        data: &[u8],
        reason: &str,
        context: &EventContext<'_>,
        out: &mut Vec<u8>,
    ) -> LineOutcome {
        let start = out.len();
        let original = kept_original(&self.settings, data);
        let timestamp = write_failure_document(
            out,
            Some(&original),
            reason,
            context,
            &self.settings.added,
            Tags::PARSE_FAILURE,
            self.dataset(),
        );
        let outcome = LineOutcome::document(timestamp, true, false, false);
        if !self.over_limit(out.len() - start) {
            return outcome;
        }
        out.truncate(start);
        let tags = Tags { truncated: true, ..Tags::PARSE_FAILURE };
        write_failure_document(out, None, reason, context, &self.settings.added, tags, self.dataset());
        self.within_limit(out, start, outcome, context)
    }

    /// Appends the document for `line` to `out`. Never fails: a line that does not parse becomes a
    /// document with `event.original`, `error.message` and the `_parse_failure` tag.
    pub fn enrich_line(&mut self, line: &[u8], context: &EventContext<'_>, out: &mut Vec<u8>) -> LineOutcome {
        let start = out.len();
        let outcome = self.write_line(line, context, out, Originals::Keep);
        if !self.over_limit(out.len() - start) {
            return outcome;
        }
        out.truncate(start);
        let outcome = self.write_line(line, context, out, Originals::Drop);
        self.within_limit(out, start, outcome, context)
    }

    fn over_limit(&self, document_bytes: usize) -> bool {
        self.limit.as_ref().is_some_and(|limit| document_bytes > limit.max_bytes)
    }

    /// The document just written from `start`, without its original texts, or the smallest
    /// document if it is still over the limit.
    #[cold]
    fn within_limit(
        &self,
        out: &mut Vec<u8>,
        start: usize,
        outcome: LineOutcome,
        context: &EventContext<'_>,
    ) -> LineOutcome {
        let outcome = LineOutcome { truncated: true, ..outcome };
        let size = out.len() - start;
        if let Some(limit) = self.limit.as_ref().filter(|limit| size > limit.max_bytes) {
            out.truncate(start);
            let reason =
                format!("document of {size} bytes is over {} even without its original text", limit.name);
            write_oversized_document(
                out,
                outcome.timestamp,
                &reason,
                context,
                &self.settings.added,
                self.dataset(),
            );
        }
        outcome
    }

    fn write_line(
        &mut self,
        line: &[u8],
        context: &EventContext<'_>,
        out: &mut Vec<u8>,
        originals: Originals,
    ) -> LineOutcome {
        let truncated = originals == Originals::Drop;
        let line = line.strip_prefix(BOM).unwrap_or(line);
        if line.len() > MAX_LINE_BYTES {
            let reason = format!(
                "line is over the {MAX_LINE_BYTES}-byte line limit; event.original keeps its first {MAX_UNREADABLE_ORIGINAL} bytes"
            );
            let original = (originals == Originals::Keep).then(|| kept_original(&self.settings, line));
            let tags = Tags { truncated: true, ..Tags::PARSE_FAILURE };
            let timestamp = write_failure_document(
                out,
                original.as_deref(),
                &reason,
                context,
                &self.settings.added,
                tags,
                self.dataset(),
            );
            return LineOutcome::document(timestamp, true, false, truncated);
        }
        match self.reader_of(line) {
            Reader::ErrorLog(format) => return self.write_error_line(format, line, context, out, originals),
            Reader::Alb => return self.write_alb_line(line, context, out, originals),
            Reader::CloudFront => return self.write_cloudfront_line(false, line, context, out, originals),
            Reader::CloudFrontStandard => {
                return self.write_cloudfront_line(true, line, context, out, originals);
            }
            Reader::HeaderLine => {
                // `#Fields:` names the fields of the lines after it; `#Version:` says nothing the
                // document needs.
                if let Some(header) = FileHeader::read(&as_logged(line)) {
                    self.file_header = Some(header);
                }
                return LineOutcome {
                    header: true,
                    ..LineOutcome::document(context.received_at, false, false, false)
                };
            }
            Reader::Access => {}
        }
        // A line that holds a shaping rule's text is read first only as far as the rules' fields:
        // most such lines are the ones the rules leave out (health checks), then never read whole.
        let texts_found = self.settings.shaping.texts_in(line);
        let mut verdict = None;
        if texts_found {
            verdict = self.skimmed_verdict(line);
            if let Some(left_out @ (Verdict::Drop | Verdict::SampledOut)) = verdict {
                return LineOutcome::left_out(left_out, context.received_at);
            }
        }
        let rules = RulesRead { texts_found: Some(texts_found), verdict };
        match self.parse_line(line) {
            // The access-log readers borrow their values from the line itself.
            Ok(record) => self.write_record(&record, None, (line, true), rules, context, out, originals),
            Err(error) => {
                self.write_parse_failure(&error.to_string(), line, context, out, originals, self.dataset())
            }
        }
    }

    /// The shaping rules' verdict on an access-log line, from the fields they test alone (see
    /// [`LogFormat::skim`]); `None` where the line is not read that way (a JSON line, another
    /// reader's format) or does not match its format that far.
    fn skimmed_verdict(&mut self, line: &[u8]) -> Option<Verdict> {
        let scan = self.settings.shaping.scan_found(true, true);
        let wanted = |directive| read_by_rules(scan, directive);
        let mut record = AccessRecord::default();
        let skimmed = match self.format() {
            FormatChoice::Fixed(format) => format.skim(line, wanted, &mut record),
            // The first of the built-in formats the line starts as: they share the fields they
            // have in common, in the same places.
            FormatChoice::Auto if !looks_like_json_object(line) => self.builtins.iter().any(|format| {
                let skimmed = format.skim(line, wanted, &mut record);
                if !skimmed {
                    record = AccessRecord::default();
                }
                skimmed
            }),
            _ => false,
        };
        if !skimmed {
            return None;
        }
        let Self { settings, user_agents, .. } = self;
        let fields = line_fields(scan, settings, user_agents, &record);
        Some(settings.shaping.verdict(scan, &fields, line))
    }

    /// The document of a line that did not match its format.
    fn write_parse_failure(
        &self,
        reason: &str,
        line: &[u8],
        context: &EventContext<'_>,
        out: &mut Vec<u8>,
        originals: Originals,
        dataset: Dataset,
    ) -> LineOutcome {
        let truncated = originals == Originals::Drop;
        let original = (originals == Originals::Keep).then(|| original_text(&self.settings, line));
        let tags = Tags { truncated, ..Tags::PARSE_FAILURE };
        let timestamp = write_failure_document(
            out,
            original.as_deref(),
            reason,
            context,
            &self.settings.added,
            tags,
            dataset,
        );
        LineOutcome::document(timestamp, true, false, truncated)
    }

    /// The document of a parsed access-log line: its client's location and network, its user agent.
    /// `line`: the raw line, and whether the record's values were read from it (not from a copy
    /// of it as text, which a line that is not UTF-8 needs).
    #[allow(clippy::too_many_arguments)]
    fn write_record(
        &mut self,
        record: &AccessRecord<'_>,
        aws: Option<AwsFields<'_, '_>>,
        line: (&[u8], bool),
        rules: RulesRead,
        context: &EventContext<'_>,
        out: &mut Vec<u8>,
        originals: Originals,
    ) -> LineOutcome {
        let truncated = originals == Originals::Drop;
        let (line, read_from_line) = line;
        let Self { settings, geoip, geo_cache, user_agents, .. } = self;
        // The rules first: a line not indexed costs no lookup. Their texts are looked for in the
        // line only where the values they test are the line's own bytes.
        let verdict = match rules.verdict {
            Some(verdict) => verdict,
            None if settings.shaping.is_empty() => Verdict::Keep,
            None => {
                let values_as_logged = read_from_line && record.rule_values_as_logged();
                let scan = match rules.texts_found {
                    Some(found) => settings.shaping.scan_found(found, values_as_logged),
                    None => settings.shaping.scan(line, values_as_logged),
                };
                if scan.may_match() {
                    let fields = line_fields(scan, settings, user_agents, record);
                    settings.shaping.verdict(scan, &fields, line)
                } else {
                    Verdict::Keep
                }
            }
        };
        if matches!(verdict, Verdict::Drop | Verdict::SampledOut) {
            return LineOutcome::left_out(verdict, record.time.unwrap_or(context.received_at));
        }
        let redacted = redacted_record(&settings.redaction, record, read_from_line.then_some(line));
        let record = redacted.as_ref().unwrap_or(record);
        let sample_rate = match verdict {
            Verdict::Sampled(rate) => Some(rate),
            _ => None,
        };
        let mut enrichment =
            Enrichment { tags: Tags { truncated, ..Tags::default() }, sample_rate, ..Enrichment::default() };
        if let Some(logged) = record.remote_host.as_deref().or(record.remote_addr.as_deref()) {
            let (source, lookup_failure) = source(
                settings,
                geoip.as_ref(),
                geo_cache,
                logged,
                record.forwarded_for.as_deref(),
                record.remote_port,
            );
            enrichment.source = Some(source);
            enrichment.tags.geoip_lookup_failure = lookup_failure;
        }
        if let Some(agent) = record.user_agent.as_deref() {
            let fragments = match originals {
                Originals::Keep => user_agents.fragment(agent),
                Originals::Drop => user_agents.fragment_without_original(agent),
            };
            enrichment.user_agent = Some(fragments.user_agent).filter(|json| !json.is_empty());
            enrichment.crawler = fragments.crawler;
        }
        let original =
            (settings.keep_original && originals == Originals::Keep).then(|| original_text(settings, line));
        let timestamp = write_access_document(
            out,
            record,
            aws,
            &enrichment,
            context,
            &settings.added,
            original.as_deref(),
        );
        LineOutcome::document(timestamp, false, enrichment.tags.geoip_lookup_failure, truncated)
    }

    fn write_alb_line(
        &mut self,
        line: &[u8],
        context: &EventContext<'_>,
        out: &mut Vec<u8>,
        originals: Originals,
    ) -> LineOutcome {
        // ALB writes text, but not always valid UTF-8: a byte that is not becomes `\xhh`.
        let text = as_logged(line);
        match parse_alb(&text) {
            Ok((record, elb)) => {
                // The URL a redirect rule answered with carries the request's query.
                let redirect = elb.redirect_url.map(|url| self.settings.redaction.redact(url, Scope::Url));
                let elb = ElbFields { redirect_url: redirect.as_deref(), ..elb };
                let read_from_line = matches!(text, Cow::Borrowed(_));
                self.write_record(
                    &record,
                    Some(AwsFields::Elb(&elb)),
                    (line, read_from_line),
                    RulesRead::default(),
                    context,
                    out,
                    originals,
                )
            }
            Err(error) => {
                let reason = format!("line does not match alb: {error}");
                self.write_parse_failure(&reason, line, context, out, originals, Dataset::ElbAccess)
            }
        }
    }

    /// A CloudFront line: a real-time record by the configured field list (or the stack's), or a
    /// standard log file's line by the file's `#Fields:` header.
    fn write_cloudfront_line(
        &mut self,
        standard: bool,
        line: &[u8],
        context: &EventContext<'_>,
        out: &mut Vec<u8>,
        originals: Originals,
    ) -> LineOutcome {
        let (fields, read_by) = match (standard, &self.file_header, self.format()) {
            (true, Some(header), _) => (header.fields.as_slice(), "the file's CloudFront #Fields header"),
            (true, None, _) => {
                return self.write_parse_failure(
                    NO_HEADER,
                    line,
                    context,
                    out,
                    originals,
                    Dataset::CloudFront,
                );
            }
            (false, _, FormatChoice::CloudFrontRealtime(fields)) => {
                (fields.as_slice(), "cloudfront-realtime")
            }
            (false, _, _) => (self.cloudfront_default.as_slice(), "cloudfront-realtime"),
        };
        let text = as_logged(line);
        let read_from_line = matches!(text, Cow::Borrowed(_));
        match parse_cloudfront(&text, fields) {
            Ok((record, cloudfront)) => self.write_record(
                &record,
                Some(AwsFields::CloudFront(&cloudfront)),
                (line, read_from_line),
                RulesRead::default(),
                context,
                out,
                originals,
            ),
            Err(error) => {
                let reason = format!("line does not match {read_by}: {error}");
                self.write_parse_failure(&reason, line, context, out, originals, Dataset::CloudFront)
            }
        }
    }

    fn write_error_line(
        &mut self,
        format: ErrorLogFormat,
        line: &[u8],
        context: &EventContext<'_>,
        out: &mut Vec<u8>,
        originals: Originals,
    ) -> LineOutcome {
        let truncated = originals == Originals::Drop;
        // Error logs are text, but not always valid UTF-8: a byte that is not becomes `\xhh`.
        let text = as_logged(line);
        let record = match format.parse(&text) {
            Ok(record) => record,
            Err(error) => {
                let reason = format!("line does not match {}: {error}", format.name());
                return self.write_parse_failure(
                    &reason,
                    line,
                    context,
                    out,
                    originals,
                    Dataset::error(format),
                );
            }
        };
        let Self { settings, geoip, geo_cache, .. } = self;
        let redaction = &settings.redaction;
        let (request_line, upstream, referrer) = (
            record.request_line.map(|text| redaction.redact(text, Scope::Url)),
            record.upstream.map(|text| redaction.redact(text, Scope::Url)),
            record.referrer.map(|text| redaction.redact(text, Scope::Url)),
        );
        let record = ErrorRecord {
            request_line: request_line.as_deref(),
            upstream: upstream.as_deref(),
            referrer: referrer.as_deref(),
            message: redaction.redact_cow(record.message, Scope::Line),
            ..record
        };
        let mut tags = Tags { truncated, ..Tags::default() };
        let source = record.client.map(|client| {
            let (source, lookup_failure) =
                source(settings, geoip.as_ref(), geo_cache, client, None, record.client_port);
            tags.geoip_lookup_failure = lookup_failure;
            source
        });
        let original =
            (settings.keep_original && originals == Originals::Keep).then(|| original_text(settings, line));
        let timestamp = write_error_document(
            out,
            &record,
            source.as_ref(),
            tags,
            context,
            &settings.added,
            original.as_deref(),
        );
        LineOutcome::document(timestamp, false, tags.geoip_lookup_failure, truncated)
    }
}

/// The readers a line can go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reader {
    /// A web server's access log (the configured format, or `auto`'s built-ins).
    Access,
    ErrorLog(ErrorLogFormat),
    Alb,
    /// CloudFront real-time records, by the configured field list or the stack's.
    CloudFront,
    /// A line of a CloudFront standard log file, by its `#Fields:` header.
    CloudFrontStandard,
    /// `#Version:` or `#Fields:` of a standard log file.
    HeaderLine,
}

/// Why a CloudFront standard log line without a header cannot be read.
const NO_HEADER: &str = "a CloudFront standard log line with no #Fields header before it in its file: \
     the header names the fields (a file read from its start has it; a line alone does not)";

/// Whether a document keeps its original texts (`event.original`, `user_agent.original`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Originals {
    Keep,
    /// Left out to bring a document under the [`DocumentLimit`].
    Drop,
}

/// At most [`MAX_UNREADABLE_ORIGINAL`] bytes of `data` as `event.original` text.
fn kept_original(settings: &EnrichmentSettings, data: &[u8]) -> String {
    // Escaping can quadruple the size: never look at more than the kept part needs.
    let mut original = original_text(settings, &data[..data.len().min(MAX_UNREADABLE_ORIGINAL)]).into_owned();
    if original.len() > MAX_UNREADABLE_ORIGINAL {
        let mut cut = MAX_UNREADABLE_ORIGINAL;
        while !original.is_char_boundary(cut) {
            cut -= 1;
        }
        original.truncate(cut);
    }
    original
}

/// The `source.*` fields for the logged client `%h` (and `X-Forwarded-For` behind trusted
/// proxies, nginx's `$remote_port`), and whether the GeoIP lookup found nothing for a global address.
fn source<'a>(
    settings: &EnrichmentSettings,
    geoip: Option<&GeoIp>,
    geo_cache: &'a mut GeoCache,
    logged: &'a str,
    forwarded_for: Option<&str>,
    remote_port: Option<u16>,
) -> (SourceFields<'a>, bool) {
    let Ok(remote) = logged.parse::<IpAddr>() else {
        let source = SourceFields {
            address: Cow::Borrowed(logged),
            ip: None,
            domain: Some(logged),
            geo: None,
            as_info: None,
            port: remote_port,
        };
        return (source, false);
    };
    let client = settings.trusted_proxies.client(remote, forwarded_for);
    // GeoIP always sees the full address; anonymization applies to what is written.
    let fragments = geoip.and_then(|geoip| geo_cache.fragments(geoip, client)).unwrap_or_default();
    let (address, ip) = match settings.anonymization {
        IpAnonymization::None => (Cow::Borrowed(logged), client),
        IpAnonymization::Truncate => {
            (Cow::Owned(truncate(remote.to_canonical()).to_string()), truncate(client))
        }
    };
    // The peer's port describes the client only when the client is that peer.
    let port = remote_port.filter(|_| client == remote);
    let source = SourceFields {
        address,
        ip: Some(ip),
        domain: None,
        geo: fragments.geo,
        as_info: fragments.as_info,
        port,
    };
    (source, fragments.city_record_missing)
}

/// The raw line for `event.original`: as logged, addresses truncated when anonymizing, secrets
/// redacted.
fn original_text<'a>(settings: &EnrichmentSettings, line: &'a [u8]) -> Cow<'a, str> {
    let text = as_logged(line);
    let text = match settings.anonymization {
        IpAnonymization::None => text,
        IpAnonymization::Truncate => match truncate_addresses_in(&text) {
            Cow::Borrowed(_) => text,
            Cow::Owned(truncated) => Cow::Owned(truncated),
        },
    };
    settings.redaction.redact_cow(text, Scope::Line)
}

/// What the shaping rules found out about a line before it was parsed: whether it holds one of
/// their texts (`None`: not searched yet) and their verdict, if they could give it on the fields
/// they test alone.
#[derive(Debug, Clone, Copy, Default)]
struct RulesRead {
    texts_found: Option<bool>,
    verdict: Option<Verdict>,
}

/// Whether the shaping rules `scan` leaves to read test the value of `directive` (as
/// [`line_fields`] takes them from a record).
fn read_by_rules(scan: Scan, directive: Directive) -> bool {
    match directive {
        Directive::RequestLine
        | Directive::Method
        | Directive::UrlPath
        | Directive::UrlPathAndQuery
        | Directive::UrlPathAndArgs
        | Directive::QueryString
        | Directive::RequestTarget => {
            scan.needs(Field::UrlPath) || scan.needs(Field::UrlQuery) || scan.needs(Field::Method)
        }
        Directive::FinalStatus | Directive::OriginalStatus => scan.needs(Field::Status),
        Directive::RemoteHost | Directive::RemoteAddr | Directive::ForwardedFor => {
            scan.needs(Field::SourceIp)
        }
        Directive::UserAgent => scan.needs(Field::UserAgent) || scan.needs(Field::CrawlerCategory),
        Directive::ServerName | Directive::RequestedServerName => scan.needs(Field::DestinationDomain),
        _ => false,
    }
}

/// What the shaping rules look at in `record`: only the fields the rules `scan` left to read use.
fn line_fields<'a>(
    rules: Scan,
    settings: &EnrichmentSettings,
    user_agents: &mut UserAgentParser,
    record: &'a AccessRecord<'a>,
) -> LineFields<'a> {
    let mut fields = LineFields {
        status: record.status(),
        user_agent: record.user_agent.as_deref(),
        destination_domain: record.server_name.as_deref().or(record.requested_server_name.as_deref()),
        ..LineFields::default()
    };
    if rules.needs(Field::UrlPath) || rules.needs(Field::UrlQuery) || rules.needs(Field::Method) {
        // As the document reads them.
        let request = record.request_parts();
        fields.method = request.method;
        (fields.url_path, fields.url_query) = record.path_and_query(&request);
    }
    if rules.needs(Field::SourceIp) {
        let logged = record.remote_host.as_deref().or(record.remote_addr.as_deref());
        fields.source_ip = logged
            .and_then(|logged| logged.parse::<IpAddr>().ok())
            .map(|remote| settings.trusted_proxies.client(remote, record.forwarded_for.as_deref()));
    }
    if rules.needs(Field::CrawlerCategory)
        && let Some(agent) = fields.user_agent
    {
        fields.crawler_categories = user_agents.classify(agent).crawler_categories;
    }
    fields
}

/// A copy of `record` with its secrets redacted, when it has any: the request line and target
/// (`url.original`, `url.query`), the query, the referrer, and with e-mail addresses the path.
/// `line`: the line the record was read from, when its values are its bytes.
fn redacted_record<'a>(
    redaction: &Redaction,
    record: &AccessRecord<'a>,
    line: Option<&[u8]>,
) -> Option<AccessRecord<'a>> {
    if redaction.is_off() {
        return None;
    }
    // A parameter follows a `?` in a URL: a line without one has none to redact (unless the
    // format logs the query on its own, without its `?`). One pass over the line costs less than
    // looking at each field.
    let values_logged = line.filter(|_| record.values_borrowed && record.query.is_none());
    if !redaction.emails() && values_logged.is_some_and(|line| memchr::memchr(b'?', line).is_none()) {
        return None;
    }
    let field = |value: &Option<Cow<'a, str>>, scope: Scope| -> Option<Cow<'a, str>> {
        match redaction.redact(value.as_deref()?, scope) {
            Cow::Borrowed(_) => None,
            Cow::Owned(redacted) => Some(Cow::Owned(redacted)),
        }
    };
    let request_line = field(&record.request_line, Scope::Url);
    let request_target = field(&record.request_target, Scope::Url);
    let query = field(&record.query, Scope::Query);
    let referrer = field(&record.referrer, Scope::Url);
    let url_path = if redaction.emails() { field(&record.url_path, Scope::Url) } else { None };
    if request_line.is_none()
        && request_target.is_none()
        && query.is_none()
        && referrer.is_none()
        && url_path.is_none()
    {
        return None;
    }
    let mut copy = record.clone();
    if request_line.is_some() {
        copy.request_line = request_line;
        // Read again from the redacted line.
        copy.request = None;
    }
    copy.request_target = request_target.or(copy.request_target);
    copy.query = query.or(copy.query);
    copy.referrer = referrer.or(copy.referrer);
    copy.url_path = url_path.or(copy.url_path);
    Some(copy)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn enrich(settings: EnrichmentSettings, line: &str) -> (LineOutcome, Value) {
        let context = EventContext {
            event_id: Some("49590338271490256608559692538361571095921575989136588898"),
            received_at: Timestamp::from_unix_millis(1_000).unwrap(),
            log_origin: None,
            cloud: None,
        };
        let mut out = Vec::new();
        let outcome = Enricher::new(settings, None).enrich_line(line.as_bytes(), &context, &mut out);
        (outcome, serde_json::from_slice(&out).unwrap())
    }

    fn with_format(format: &str) -> EnrichmentSettings {
        EnrichmentSettings { format: FormatChoice::parse(format).unwrap(), ..EnrichmentSettings::default() }
    }

    #[test]
    fn the_referring_site_is_the_referrers_host() {
        let line = |referrer: &str| {
            format!(
                r#"81.2.69.142 - - [21/Nov/2026:06:45:50 +0100] "GET / HTTP/1.1" 200 5 "{referrer}" "curl/8.5.0""#
            )
        };
        let site =
            |referrer: &str| enrich(EnrichmentSettings::default(), &line(referrer)).1["Referrer"].clone();
        assert_eq!(site("https://News.Example.org:443/story?id=1"), json!({"domain": "news.example.org"}));
        // Secrets of the referrer's user part never reach the field.
        assert_eq!(site("https://alice:pw@example.com/"), json!({"domain": "example.com"}));
        for none in ["-", "/internal/link", "about:blank"] {
            assert_eq!(site(none), Value::Null, "{none}");
        }
        // An error-log line's referrer too.
        let error = r#"2026/12/07 10:00:00 [error] 12#12: *5 open() "/srv/x" failed (2: No such file or directory), client: 81.2.69.142, server: shop.example, request: "GET /x HTTP/1.1", host: "shop.example", referrer: "https://www.example.com/page""#;
        assert_eq!(enrich(EnrichmentSettings::default(), error).1["Referrer"]["domain"], "www.example.com");
    }

    #[test]
    fn failure_document_shape() {
        let (outcome, doc) = enrich(EnrichmentSettings::default(), "not a log line");
        assert!(outcome.parse_failure);
        assert_eq!(
            doc,
            json!({
                "@timestamp": "1970-01-01T00:00:01.000Z",
                "event": {"dataset": "apache.access", "module": "apache", "kind": "pipeline_error", "category": ["web"], "type": ["error"], "id": "49590338271490256608559692538361571095921575989136588898", "original": "not a log line"},
                "ecs": {"version": "8.17.0"},
                "error": {"message": "line matches none of combined, vhost_combined, common (closest: combined: expected `[` opening the time at byte 10); for another format set LOG_FORMAT (--format) to the server's LogFormat or nginx log_format"},
                "tags": ["_parse_failure"],
            })
        );
    }

    #[test]
    fn auto_reports_the_attempt_that_got_furthest() {
        let line = r#"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 x"#;
        let (_, doc) = enrich(EnrichmentSettings::default(), line);
        let message = doc["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(r#"(closest: common: invalid %b value "x" at byte 62: expected a byte count)"#),
            "{message}"
        );
    }

    #[test]
    fn fields_appended_to_combined_are_read_past() {
        let head = r#"81.2.69.142 - - [21/Nov/2026:05:00:36 +0000] "GET / HTTP/1.1" 200 5 "-" "Mozilla/5.0 (X11) Firefox/15.0a2""#;
        for (name, trailing) in [
            ("a quoted field", r#" "-""#),
            ("X-Forwarded-For", r#" "203.0.113.7, 10.0.0.2""#),
            ("an unquoted field", " 545"),
            ("several", r#" "-" 545 www.example.test "a \"q\" b""#),
        ] {
            for settings in [EnrichmentSettings::default(), with_format("combined")] {
                let (outcome, doc) = enrich(settings, &format!("{head}{trailing}"));
                assert!(!outcome.parse_failure, "{name}: {doc}");
                assert_eq!(doc["user_agent"]["original"], "Mozilla/5.0 (X11) Firefox/15.0a2", "{name}");
            }
        }
        // Not fields: a quote in a word, a doubled space, an unclosed quote.
        for trailing in [r#" a"b"#, r#"  545"#, r#" "open"#] {
            let (outcome, doc) = enrich(with_format("combined"), &format!("{head}{trailing}"));
            assert!(
                outcome.parse_failure || doc["user_agent"]["original"] != "Mozilla/5.0 (X11) Firefox/15.0a2",
                "{trailing}: {doc}"
            );
        }
    }

    #[test]
    fn fields_without_a_request_line() {
        let (outcome, doc) = enrich(
            with_format(r#"%a %{msec}t %m "%U" %q %H %>s %B %{ms}T %V"#),
            "2a02:cf40::1 1795239468123 POST \"/a b.php\" ?x=%20 HTTP/2.0 201 0 12 shop.example.test",
        );
        assert!(!outcome.parse_failure, "{doc}");
        assert_eq!(
            doc,
            json!({
                "@timestamp": "2026-11-21T05:37:48.123Z",
                "source": {"address": "2a02:cf40::1", "ip": "2a02:cf40::1"},
                "http": {"request": {"method": "POST"}, "version": "2.0", "response": {"status_code": 201, "body": {"bytes": 0}}},
                "url": {"path": "/a b.php", "query": "x=%20", "extension": "php"},
                "destination": {"domain": "shop.example.test"},
                "event": {"dataset": "apache.access", "module": "apache", "kind": "event", "category": ["web"], "type": ["access"], "outcome": "success", "id": "49590338271490256608559692538361571095921575989136588898", "duration": 12_000_000},
                "ecs": {"version": "8.17.0"},
            })
        );
    }

    #[test]
    fn kinesis_agent_records_in_auto() {
        let line = r#"{"host":"::ffff:81.2.69.142","ident":null,"authuser":null,"datetime":"21/Nov/2026:05:00:36 +0000","request":"GET /index.html HTTP/1.1","response":"200","bytes":"18","referer":null,"agent":"curl/8.5.0"}"#;
        let (outcome, doc) = enrich(EnrichmentSettings::default(), line);
        assert!(!outcome.parse_failure, "{doc}");
        assert_eq!(doc["source"], json!({"address": "::ffff:81.2.69.142", "ip": "81.2.69.142"}));
        assert_eq!(doc["url"]["extension"], "html");
        assert_eq!(outcome.timestamp.unix_millis(), 1_795_237_236_000);
    }

    #[test]
    fn format_without_time_uses_the_received_time() {
        let (outcome, doc) = enrich(with_format(r#"%h "%r" %>s"#), r#"81.2.69.142 "GET / HTTP/1.1" 200"#);
        assert_eq!(outcome.timestamp.unix_millis(), 1_000);
        assert_eq!(doc["@timestamp"], "1970-01-01T00:00:01.000Z");
    }

    /// Documents over the limit lose their original texts first, then all but time and ids, and
    /// say so in their tags; under the limit nothing changes.
    #[test]
    fn documents_over_the_limit_shrink_in_two_steps() {
        let context = EventContext {
            event_id: Some("id-1"),
            received_at: Timestamp::from_unix_millis(1_000).unwrap(),
            log_origin: None,
            cloud: None,
        };
        let limited = |max_bytes| {
            let settings = EnrichmentSettings { keep_original: true, ..EnrichmentSettings::default() };
            Enricher::new(settings, None)
                .with_document_limit(DocumentLimit { max_bytes, name: "the test's limit".into() })
        };
        let agent = format!("curl/8.5.0 {}", "\u{1}".repeat(2_000));
        let line = format!(
            r#"81.2.69.142 - - [21/Nov/2026:05:00:36 +0000] "GET /a.html HTTP/1.1" 200 5 "-" "{agent}""#
        );
        let write = |enricher: &mut Enricher, line: &str| {
            let mut out = b"before".to_vec();
            let outcome = enricher.enrich_line(line.as_bytes(), &context, &mut out);
            assert!(out.starts_with(b"before"), "what the buffer held is kept");
            (outcome, serde_json::from_slice::<Value>(&out[6..]).unwrap(), out.len() - 6)
        };

        let (outcome, whole, size) = write(&mut limited(1 << 20), &line);
        assert!(!outcome.truncated && size > 12_000, "{size}");
        assert_eq!(whole["user_agent"]["original"], agent.as_str());

        let (outcome, shortened, size) = write(&mut limited(2_000), &line);
        assert!(outcome.truncated && size <= 2_000, "{size}");
        assert_eq!(shortened["tags"], json!(["_truncated"]));
        assert_eq!(
            shortened["user_agent"],
            json!({"name": "curl", "version": "8.5.0", "device": {"name": "Spider"}})
        );
        assert_eq!(
            shortened["Crawler"],
            json!({"categories": ["http-library"]}),
            "kept when the document shrinks"
        );
        assert!(shortened["event"].get("original").is_none());
        let mut expected = whole.clone();
        expected["event"].as_object_mut().unwrap().remove("original");
        expected["user_agent"].as_object_mut().unwrap().remove("original");
        expected["tags"] = json!(["_truncated"]);
        assert_eq!(shortened, expected, "everything else is kept");

        let (outcome, minimal, size) = write(&mut limited(150), &line);
        assert!(outcome.truncated && size <= 400, "{size}");
        assert_eq!(
            minimal,
            json!({
                "@timestamp": "2026-11-21T05:00:36.000Z",
                "event": {"dataset": "apache.access", "module": "apache", "kind": "pipeline_error", "category": ["web"], "type": ["error"], "id": "id-1"},
                "ecs": {"version": "8.17.0"},
                "error": {"message": format!("document of {} bytes is over the test's limit even without its original text", shortened.to_string().len())},
                "tags": ["_truncated"],
            })
        );

        // A line that does not parse keeps its reason and both tags; an unreadable record too.
        let (outcome, failure, _) = write(&mut limited(1_000), &"\u{1}".repeat(500));
        assert!(outcome.truncated && outcome.parse_failure);
        assert_eq!(failure["tags"], json!(["_parse_failure", "_truncated"]));
        assert!(failure["event"].get("original").is_none() && failure["error"]["message"].is_string());
        let mut out = Vec::new();
        let outcome = limited(300).write_unreadable_record(&[0xff; 500], "not text", &context, &mut out);
        let unreadable: Value = serde_json::from_slice(&out).unwrap();
        assert!(outcome.truncated && out.len() <= 300);
        assert_eq!(unreadable["tags"], json!(["_parse_failure", "_truncated"]));
        assert_eq!(unreadable["error"]["message"], "not text");
    }
}
