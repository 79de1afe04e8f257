//! The ECS document, written straight into an output buffer through the names of [`schema`].
//!
//! Absent values are omitted (never `"-"` or `null`), empty objects vanish (see [`ObjectWriter`]).

use std::borrow::Cow;
use std::io::Write as _;
use std::net::IpAddr;

use super::added::{AddedFields, CloudOrigin, ecs_container, write_added_members, write_cloud};
use super::json::{ObjectWriter, write_json_string};
use super::schema;
use crate::parse::{
    AccessRecord, CloudFrontFields, ElbFields, ErrorLogFormat, ErrorRecord, RequestLine, Server, Timestamp,
    Upstream, UrlParts, extension, split_address_port, url_host,
};

/// What a load balancer's or CloudFront's line adds to the access-log fields, under `aws.*`.
#[derive(Debug, Clone, Copy)]
pub enum AwsFields<'r, 'a> {
    Elb(&'r ElbFields<'a>),
    CloudFront(&'r CloudFrontFields<'a>),
}

/// `event.module` and `event.dataset`: whose log, and which of its logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dataset {
    ApacheAccess,
    NginxAccess,
    ApacheError,
    NginxError,
    /// Application Load Balancer access logs, as Elastic's AWS integration names them.
    ElbAccess,
    /// CloudFront logs, as Elastic's AWS integration names them.
    CloudFront,
}

impl Dataset {
    pub fn access(server: Server) -> Self {
        match server {
            Server::Apache => Self::ApacheAccess,
            Server::Nginx => Self::NginxAccess,
            Server::AwsElb => Self::ElbAccess,
            Server::CloudFront => Self::CloudFront,
        }
    }

    pub fn error(format: ErrorLogFormat) -> Self {
        match format {
            ErrorLogFormat::Apache => Self::ApacheError,
            ErrorLogFormat::Nginx => Self::NginxError,
        }
    }
}

/// Where a line came from and when it was read.
#[derive(Debug, Clone, Copy)]
pub struct EventContext<'a> {
    /// `event.id`: the Kinesis sequence number or the Firehose record id.
    pub event_id: Option<&'a str>,
    /// `@timestamp` of documents whose line carries no time (parse failures, formats without `%t`).
    pub received_at: Timestamp,
    /// Where the event was logged, when its record says (a CloudWatch Logs envelope).
    pub log_origin: Option<LogOrigin<'a>>,
    /// The AWS account and region of the event's resources (`cloud.*`), when it came from AWS.
    pub cloud: Option<CloudOrigin<'a>>,
}

/// Where an event was logged, when its record or object says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogOrigin<'a> {
    /// The CloudWatch Logs group and stream (ECS containers log through `awslogs` into a group, one
    /// stream per task): `aws.cloudwatch.log_group` and `.log_stream`. Lines from a host's Kinesis
    /// Agent have none.
    CloudWatch { log_group: &'a str, log_stream: &'a str },
    /// A file, and where in it the line starts (its first byte, counted in the uncompressed text):
    /// `log.file.path` and `log.offset`, as Filebeat writes them. A re-run over the same file finds
    /// its earlier documents by these two.
    File { path: &'a str, offset: u64 },
}

impl<'a> LogOrigin<'a> {
    /// The name `LOG_FORMAT_BY_SOURCE` matches: the log group, or the file's path.
    pub fn source_name(&self) -> &'a str {
        match *self {
            Self::CloudWatch { log_group, .. } => log_group,
            Self::File { path, .. } => path,
        }
    }
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
    /// nginx's `$remote_port`, when the client is the peer that port belongs to (not an address
    /// found behind trusted proxies).
    pub port: Option<u16>,
}

/// What enrichment adds to a parsed line.
#[derive(Debug, Clone, Default)]
pub struct Enrichment<'a> {
    pub source: Option<SourceFields<'a>>,
    /// The `user_agent` object, as JSON.
    pub user_agent: Option<&'a [u8]>,
    /// The `Crawler` object of a recognised crawler, as JSON.
    pub crawler: Option<&'a [u8]>,
    pub tags: Tags,
    /// A `SAMPLE_WHEN` rule kept this line as one of this many: `event.sample_rate`.
    pub sample_rate: Option<u32>,
}

/// The document's `tags`, always written in the same order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tags {
    pub parse_failure: bool,
    pub geoip_lookup_failure: bool,
    pub truncated: bool,
}

impl Tags {
    pub const PARSE_FAILURE: Self =
        Self { parse_failure: true, geoip_lookup_failure: false, truncated: false };

    fn write(self, doc: &mut ObjectWriter<'_>) {
        let tags = [
            (self.parse_failure, schema::TAG_PARSE_FAILURE),
            (self.geoip_lookup_failure, schema::TAG_GEOIP_LOOKUP_FAILURE),
            (self.truncated, schema::TAG_TRUNCATED),
        ];
        if tags.iter().any(|(set, _)| *set) {
            doc.strings(schema::TAGS, tags.iter().filter(|(set, _)| *set).map(|(_, tag)| *tag));
        }
    }
}

/// Writes the document of a parsed line and returns its `@timestamp`.
/// `aws` holds what a load balancer's or CloudFront's line says beyond the access-log fields.
pub fn write_access_document(
    out: &mut Vec<u8>,
    record: &AccessRecord<'_>,
    aws: Option<AwsFields<'_, '_>>,
    enrichment: &Enrichment<'_>,
    context: &EventContext<'_>,
    added: &AddedFields,
    original: Option<&str>,
) -> Timestamp {
    let timestamp = record.time.unwrap_or(context.received_at);
    let mut doc = ObjectWriter::new(out);
    doc.string_with(schema::TIMESTAMP, |out| timestamp.write_rfc3339(out));
    if let Some(source) = &enrichment.source {
        write_source(&mut doc, source);
    }

    if let Some(user) = &record.user {
        doc.open(schema::USER);
        doc.string(schema::NAME, user);
        doc.close();
    }

    // The request line is what the client sent; the fields of its parts are used only without it.
    let request = record.request_parts();

    doc.open(schema::HTTP);
    doc.open(schema::REQUEST);
    if let Some(method) = request.method {
        doc.string(schema::METHOD, method);
    }
    if let Some(referrer) = &record.referrer {
        doc.string(schema::REFERRER, referrer);
    }
    if let Some(bytes) = record.request_bytes {
        doc.number(schema::BYTES, bytes);
    }
    if let Some(line) = request.unreadable_line {
        doc.string(schema::LINE, line);
    }
    if let Some(id) = &record.request_id {
        doc.string(schema::ID, id);
    }
    doc.close();
    if let Some(version) = request.version {
        doc.string(schema::VERSION, version);
    }
    doc.open(schema::RESPONSE);
    if let Some(status) = record.status() {
        doc.number(schema::STATUS_CODE, u64::from(status));
    }
    // `%O` counts the headers too: the whole response, not its body.
    if let Some(bytes) = record.bytes_sent {
        doc.number(schema::BYTES, bytes);
    }
    if let Some(bytes) = record.response_bytes {
        doc.open(schema::BODY);
        doc.number(schema::BYTES, bytes);
        doc.close();
    }
    doc.close();
    doc.close();

    doc.open(schema::URL);
    if let Some(scheme) = &record.scheme {
        doc.string(schema::SCHEME, scheme);
    }
    if let Some(target) = request.target {
        doc.string(schema::ORIGINAL, target);
    }
    let (path, query) = record.path_and_query(&request);
    write_path_and_query(&mut doc, path.as_deref(), query);
    doc.close();

    if let Some(user_agent) = enrichment.user_agent {
        doc.raw(schema::USER_AGENT, user_agent);
    }
    if let Some(crawler) = enrichment.crawler {
        doc.raw(schema::CRAWLER, crawler);
    }
    write_referrer_site(&mut doc, record.referrer.as_deref());

    doc.open(schema::DESTINATION);
    if let Some(server) = record.server_name.as_deref().or(record.requested_server_name.as_deref()) {
        doc.string(schema::DOMAIN, server);
    }
    if let Some(port) = record.server_port {
        doc.number(schema::PORT, u64::from(port));
    }
    doc.close();

    doc.open(schema::TLS);
    if let Some(protocol) = record.tls_protocol.as_deref() {
        // `TLSv1.3` ─▶ `tls` and `1.3`, as ECS splits it.
        match protocol.split_once('v') {
            Some((name, version)) if !name.is_empty() && !version.is_empty() => {
                doc.string(schema::VERSION_PROTOCOL, &name.to_ascii_lowercase());
                doc.string(schema::VERSION, version);
            }
            _ => doc.string(schema::VERSION_PROTOCOL, protocol),
        }
    }
    if let Some(cipher) = record.tls_cipher.as_deref() {
        doc.string(schema::CIPHER, cipher);
    }
    doc.close();

    if !record.upstream.is_empty() {
        write_upstream(&mut doc, &record.upstream);
    }

    doc.open(schema::EVENT);
    write_event_constants(
        &mut doc,
        Dataset::access(record.server),
        schema::KIND_EVENT_JSON,
        schema::TYPE_ACCESS_JSON,
    );
    match record.status() {
        Some(status) if status < 400 => doc.raw(schema::OUTCOME, schema::OUTCOME_SUCCESS_JSON),
        Some(_) => doc.raw(schema::OUTCOME, schema::OUTCOME_FAILURE_JSON),
        None => {}
    }
    if let Some(id) = context.event_id {
        doc.string(schema::ID, id);
    }
    if let Some(nanos) = record.duration_nanos {
        doc.number(schema::DURATION, nanos);
    }
    if let Some(rate) = enrichment.sample_rate {
        doc.number(schema::SAMPLE_RATE, u64::from(rate));
    }
    if let Some(AwsFields::Elb(ElbFields { request_creation_time: Some(start), .. })) = aws {
        doc.string_with(schema::START, |out| start.write_rfc3339(out));
    }
    if let Some(original) = original {
        doc.string(schema::ORIGINAL, original);
    }
    doc.close();
    enrichment.tags.write(&mut doc);
    write_aws(&mut doc, context, aws);
    write_log_origin(&mut doc, context, None);
    write_source_fields(&mut doc, context, added);
    write_ecs(&mut doc);
    doc.finish();
    timestamp
}

/// Writes the document of an error-log line and returns its `@timestamp`.
pub fn write_error_document(
    out: &mut Vec<u8>,
    record: &ErrorRecord<'_>,
    source: Option<&SourceFields<'_>>,
    tags: Tags,
    context: &EventContext<'_>,
    added: &AddedFields,
    original: Option<&str>,
) -> Timestamp {
    let mut doc = ObjectWriter::new(out);
    doc.string_with(schema::TIMESTAMP, |out| record.time.write_rfc3339(out));
    if let Some(source) = source {
        write_source(&mut doc, source);
    }

    let request = record.request_line.map(|line| (line, RequestLine::parse(line)));
    doc.open(schema::HTTP);
    doc.open(schema::REQUEST);
    if let Some((_, Some(parsed))) = &request {
        doc.string(schema::METHOD, parsed.method);
    }
    if let Some(referrer) = record.referrer {
        doc.string(schema::REFERRER, referrer);
    }
    if let Some((line, None)) = request {
        doc.string(schema::LINE, line);
    }
    doc.close();
    if let Some(version) = request.as_ref().and_then(|(_, parsed)| parsed.as_ref()?.version) {
        doc.string(schema::VERSION, version);
    }
    doc.close();
    if let Some((_, Some(parsed))) = &request {
        doc.open(schema::URL);
        doc.string(schema::ORIGINAL, parsed.target);
        let parts = UrlParts::of_target(parsed.target);
        write_path_and_query(&mut doc, parts.path.as_deref(), parts.query);
        doc.close();
    }
    doc.open(schema::DESTINATION);
    if let Some(domain) = record.host.or(record.server_name) {
        doc.string(schema::DOMAIN, domain);
    }
    doc.close();

    write_referrer_site(&mut doc, record.referrer);
    doc.string(schema::MESSAGE, &record.message);
    doc.open(schema::PROCESS);
    if let Some(pid) = record.pid {
        doc.number(schema::PID, u64::from(pid));
    }
    if let Some(thread_id) = record.thread_id {
        doc.open(schema::THREAD);
        doc.number(schema::ID, thread_id);
        doc.close();
    }
    doc.close();
    doc.open(schema::ERROR);
    if let Some(code) = record.code {
        doc.string(schema::CODE, code);
    }
    doc.close();
    match record.format {
        ErrorLogFormat::Nginx => {
            doc.open(schema::NGINX);
            doc.open(schema::ERROR);
            if let Some(id) = record.connection_id {
                doc.number(schema::CONNECTION_ID, id);
            }
            if let Some(upstream) = record.upstream {
                doc.string(schema::UPSTREAM, upstream);
            }
            doc.close();
            doc.close();
        }
        ErrorLogFormat::Apache => {
            doc.open(schema::APACHE);
            doc.open(schema::ERROR);
            if let Some(module) = record.module {
                doc.string(schema::MODULE, module);
            }
            doc.close();
            doc.close();
        }
    }

    doc.open(schema::EVENT);
    write_event_constants(
        &mut doc,
        Dataset::error(record.format),
        schema::KIND_EVENT_JSON,
        schema::TYPE_ERROR_JSON,
    );
    if let Some(id) = context.event_id {
        doc.string(schema::ID, id);
    }
    if let Some(original) = original {
        doc.string(schema::ORIGINAL, original);
    }
    doc.close();
    tags.write(&mut doc);
    write_aws(&mut doc, context, None);
    write_log_origin(&mut doc, context, Some(record));
    write_source_fields(&mut doc, context, added);
    write_ecs(&mut doc);
    doc.finish();
    record.time
}

/// The `aws` object: `aws.cloudwatch.log_group` and `.log_stream` of a CloudWatch Logs event (an
/// ECS task's: `aws.ecs.task.id`, and `container.name` after the object, its stream read once), an
/// Application Load Balancer's `aws.elb.*`, CloudFront's `aws.cloudfront.*`.
fn write_aws(doc: &mut ObjectWriter<'_>, context: &EventContext<'_>, fields: Option<AwsFields<'_, '_>>) {
    let cloudwatch = match context.log_origin {
        Some(LogOrigin::CloudWatch { log_group, log_stream }) => Some((log_group, log_stream)),
        _ => None,
    };
    if cloudwatch.is_none() && fields.is_none() {
        return;
    }
    let container = cloudwatch.and_then(|(_, log_stream)| ecs_container(log_stream));
    doc.open(schema::AWS);
    if let Some((log_group, log_stream)) = cloudwatch {
        doc.open(schema::CLOUDWATCH);
        doc.string(schema::LOG_GROUP, log_group);
        doc.string(schema::LOG_STREAM, log_stream);
        doc.close();
    }
    if let Some((_, task)) = container {
        doc.open(schema::ECS);
        doc.open(schema::TASK);
        doc.string(schema::ID, task);
        doc.close();
        doc.close();
    }
    match fields {
        Some(AwsFields::Elb(elb)) => write_elb(doc, elb),
        Some(AwsFields::CloudFront(cloudfront)) => write_cloudfront(doc, cloudfront),
        None => {}
    }
    doc.close();
    if let Some((name, _)) = container {
        doc.open(schema::CONTAINER);
        doc.string(schema::NAME, name);
        doc.close();
    }
}

/// `aws.cloudfront.*`.
fn write_cloudfront(doc: &mut ObjectWriter<'_>, cloudfront: &CloudFrontFields<'_>) {
    doc.open(schema::CLOUDFRONT);
    let texts = [
        (schema::EDGE_LOCATION, cloudfront.edge_location),
        (schema::EDGE_REQUEST_ID, cloudfront.edge_request_id),
        (schema::DOMAIN, cloudfront.distribution_domain),
        (schema::EDGE_RESULT_TYPE, cloudfront.edge_result_type),
        (schema::EDGE_RESPONSE_RESULT_TYPE, cloudfront.edge_response_result_type),
        (schema::EDGE_DETAILED_RESULT_TYPE, cloudfront.edge_detailed_result_type),
        (schema::CONTENT_TYPE, cloudfront.content_type),
        (schema::COUNTRY, cloudfront.country),
        (schema::CACHE_BEHAVIOR_PATH_PATTERN, cloudfront.cache_behavior_path_pattern),
        (schema::DISTRIBUTION_ID, cloudfront.distribution_id),
        (schema::DISTRIBUTION_DNS_NAME, cloudfront.distribution_dns_name),
    ];
    for (key, value) in texts {
        if let Some(value) = value {
            doc.string(key, value);
        }
    }
    if let Some(seconds) = cloudfront.time_to_first_byte {
        doc.raw(schema::TIME_TO_FIRST_BYTE, seconds.as_bytes());
    }
    for (key, value) in [
        (schema::CONTENT_LENGTH, cloudfront.content_length),
        (schema::RANGE_START, cloudfront.range_start),
        (schema::RANGE_END, cloudfront.range_end),
    ] {
        if let Some(value) = value {
            doc.number(key, value);
        }
    }
    doc.close();
}

/// `aws.elb.*`, in the names of Elastic's AWS integration.
fn write_elb(doc: &mut ObjectWriter<'_>, elb: &ElbFields<'_>) {
    doc.open(schema::ELB);
    doc.string(schema::NAME, elb.name);
    doc.string(schema::TYPE, elb.request_type);
    doc.open(schema::BACKEND);
    if let Some(target) = elb.target {
        match split_address_port(target) {
            Some((ip, port)) => {
                doc.string(schema::IP, ip);
                doc.number(schema::PORT, u64::from(port));
            }
            None => doc.string(schema::IP, target),
        }
    }
    if let Some(status) = elb.target_status_code {
        doc.open(schema::HTTP);
        doc.open(schema::RESPONSE);
        doc.number(schema::STATUS_CODE, u64::from(status));
        doc.close();
        doc.close();
    }
    doc.close();
    for (key, seconds) in [
        (schema::REQUEST_PROCESSING_TIME, elb.request_processing_time),
        (schema::BACKEND_PROCESSING_TIME, elb.target_processing_time),
        (schema::RESPONSE_PROCESSING_TIME, elb.response_processing_time),
    ] {
        if let Some(seconds) = seconds {
            doc.open(key);
            doc.raw(schema::SEC, seconds.as_bytes());
            doc.close();
        }
    }
    if let Some(arn) = elb.target_group_arn {
        doc.open(schema::TARGET_GROUP);
        doc.string(schema::ARN, arn);
        doc.close();
    }
    if let Some(trace_id) = elb.trace_id {
        doc.string(schema::TRACE_ID, trace_id);
    }
    if let Some(arn) = elb.chosen_cert_arn {
        doc.open(schema::CHOSEN_CERT);
        doc.string(schema::ARN, arn);
        doc.close();
    }
    if let Some(priority) = elb.matched_rule_priority {
        doc.string(schema::MATCHED_RULE_PRIORITY, priority);
    }
    if let Some(actions) = elb.actions_executed {
        doc.strings(schema::ACTION_EXECUTED, actions.split(',').filter(|a| !a.is_empty()));
    }
    if let Some(url) = elb.redirect_url {
        doc.string(schema::REDIRECT_URL, url);
    }
    if let Some(reason) = elb.error_reason {
        doc.open(schema::ERROR);
        doc.string(schema::REASON, reason);
        doc.close();
    }
    if let Some(targets) = elb.target_port_list {
        doc.strings(schema::TARGET_PORT, targets.split(' ').filter(|t| !t.is_empty()));
    }
    if let Some(statuses) = elb.target_status_code_list {
        doc.strings(schema::TARGET_STATUS_CODE, statuses.split(' ').filter(|s| !s.is_empty()));
    }
    if let Some(classification) = elb.classification {
        doc.string(schema::CLASSIFICATION, classification);
    }
    if let Some(reason) = elb.classification_reason {
        doc.string(schema::CLASSIFICATION_REASON, reason);
    }
    if let Some(id) = elb.connection_trace_id {
        doc.string(schema::CONNECTION_TRACE_ID, id);
    }
    doc.close();
}

/// `log.file.path` and `log.offset`, and an error log's `log.level` and `log.origin.file.*`, which
/// share the `log` object.
fn write_log_origin(doc: &mut ObjectWriter<'_>, context: &EventContext<'_>, error: Option<&ErrorRecord<'_>>) {
    doc.open(schema::LOG);
    if let Some(error) = error {
        doc.string(schema::LEVEL, error.level);
        if let Some((name, line)) = error.source_file {
            doc.open(schema::ORIGIN);
            doc.open(schema::FILE);
            doc.string(schema::NAME, name);
            doc.number(schema::LINE, u64::from(line));
            doc.close();
            doc.close();
        }
    }
    if let Some(LogOrigin::File { path, offset }) = context.log_origin {
        doc.open(schema::FILE);
        doc.string(schema::PATH, path);
        doc.close();
        doc.number(schema::OFFSET, offset);
    }
    doc.close();
}

/// `Referrer.domain`: the referrer's host, lowercased (host names are case-insensitive: one
/// spelling per site in the panels).
#[inline]
fn write_referrer_site(doc: &mut ObjectWriter<'_>, referrer: Option<&str>) {
    if let Some((site, capitals)) = referrer.and_then(url_host) {
        doc.open(schema::REFERRER_SITE);
        if capitals {
            doc.string(schema::DOMAIN, &site.to_ascii_lowercase());
        } else {
            doc.string(schema::DOMAIN, site);
        }
        doc.close();
    }
}

/// What the document's source says beyond the line: `cloud.*` and `ADD_FIELDS`' objects.
#[inline(always)]
fn write_source_fields(doc: &mut ObjectWriter<'_>, context: &EventContext<'_>, added: &AddedFields) {
    // Checked here, inlined: most documents of enrich-logs have no cloud fields at all.
    if context.cloud.is_some() || added.sets_cloud() {
        write_cloud(doc, context.cloud, added);
    }
    write_added_members(doc, added);
}

/// The ECS release the document follows.
#[inline(always)]
fn write_ecs(doc: &mut ObjectWriter<'_>) {
    doc.open(schema::ECS);
    doc.raw(schema::VERSION, schema::ECS_VERSION_JSON);
    doc.close();
}

/// What every document's `event` says of itself: dataset, module, kind, category and type.
#[inline(always)]
fn write_event_constants(doc: &mut ObjectWriter<'_>, dataset: Dataset, kind: &[u8], event_type: &[u8]) {
    let (dataset, module) = match dataset {
        Dataset::ApacheAccess => (schema::DATASET_JSON, schema::MODULE_JSON),
        Dataset::NginxAccess => (schema::NGINX_DATASET_JSON, schema::NGINX_MODULE_JSON),
        Dataset::ApacheError => (schema::APACHE_ERROR_DATASET_JSON, schema::MODULE_JSON),
        Dataset::NginxError => (schema::NGINX_ERROR_DATASET_JSON, schema::NGINX_MODULE_JSON),
        Dataset::ElbAccess => (schema::ELB_DATASET_JSON, schema::AWS_MODULE_JSON),
        Dataset::CloudFront => (schema::CLOUDFRONT_DATASET_JSON, schema::AWS_MODULE_JSON),
    };
    doc.raw(schema::DATASET, dataset);
    doc.raw(schema::MODULE, module);
    doc.raw(schema::KIND, kind);
    doc.raw(schema::CATEGORY, schema::CATEGORY_WEB_JSON);
    doc.raw(schema::TYPE, event_type);
}

/// Writes the document of a line that could not be read, and returns its `@timestamp`.
/// `original` is `None` only when it was left out to respect a size limit.
/// `dataset` is the configured format's (Apache's access log for `auto`, unless the line starts
/// as an error-log line).
pub fn write_failure_document(
    out: &mut Vec<u8>,
    original: Option<&str>,
    reason: &str,
    context: &EventContext<'_>,
    added: &AddedFields,
    tags: Tags,
    dataset: Dataset,
) -> Timestamp {
    let mut doc = ObjectWriter::new(out);
    doc.string_with(schema::TIMESTAMP, |out| context.received_at.write_rfc3339(out));
    doc.open(schema::EVENT);
    write_event_constants(&mut doc, dataset, schema::KIND_PIPELINE_ERROR_JSON, schema::TYPE_ERROR_JSON);
    if let Some(id) = context.event_id {
        doc.string(schema::ID, id);
    }
    if let Some(original) = original {
        doc.string(schema::ORIGINAL, original);
    }
    doc.close();
    doc.open(schema::ERROR);
    doc.string(schema::MESSAGE, reason);
    doc.close();
    tags.write(&mut doc);
    write_aws(&mut doc, context, None);
    write_log_origin(&mut doc, context, None);
    write_source_fields(&mut doc, context, added);
    write_ecs(&mut doc);
    doc.finish();
    context.received_at
}

/// What is left of a document that stays over a size limit without its original texts: its time,
/// ids, and an error that says so, tagged `_truncated`.
pub fn write_oversized_document(
    out: &mut Vec<u8>,
    timestamp: Timestamp,
    reason: &str,
    context: &EventContext<'_>,
    added: &AddedFields,
    dataset: Dataset,
) {
    let mut doc = ObjectWriter::new(out);
    doc.string_with(schema::TIMESTAMP, |out| timestamp.write_rfc3339(out));
    doc.open(schema::EVENT);
    write_event_constants(&mut doc, dataset, schema::KIND_PIPELINE_ERROR_JSON, schema::TYPE_ERROR_JSON);
    if let Some(id) = context.event_id {
        doc.string(schema::ID, id);
    }
    doc.close();
    doc.open(schema::ERROR);
    doc.string(schema::MESSAGE, reason);
    doc.close();
    Tags { truncated: true, ..Tags::default() }.write(&mut doc);
    write_aws(&mut doc, context, None);
    write_log_origin(&mut doc, context, None);
    write_source_fields(&mut doc, context, added);
    write_ecs(&mut doc);
    doc.finish();
}

/// `nginx.upstream.*`: each `$upstream_*` list as an array in nginx's order, a value per upstream
/// tried; `-` (nothing from that upstream) is `null`, and so is a value that is not what the
/// variable holds.
fn write_upstream(doc: &mut ObjectWriter<'_>, upstream: &Upstream<'_>) {
    doc.open(schema::NGINX);
    doc.open(schema::UPSTREAM);
    if let Some(list) = &upstream.address {
        doc.array_with(schema::ADDRESS, |out| write_address_list(out, list));
    }
    let numbers = [
        (schema::STATUS, &upstream.status, false),
        (schema::RESPONSE_TIME, &upstream.response_time, true),
        (schema::CONNECT_TIME, &upstream.connect_time, true),
        (schema::HEADER_TIME, &upstream.header_time, true),
    ];
    for (key, list, decimal) in numbers {
        if let Some(list) = list {
            doc.array_with(key, |out| write_number_list(out, list.as_bytes(), decimal));
        }
    }
    doc.close();
    doc.close();
}

/// Where an `$upstream_*` list's value ends at `at`: `, ` separates the servers of a group, ` : `
/// groups (an address holds `:` too, never with spaces around it). The separator's length.
#[inline(always)]
fn separator_at(list: &[u8], at: usize) -> Option<usize> {
    match list[at] {
        b',' if list.get(at + 1) == Some(&b' ') => Some(2),
        b' ' if list.get(at + 1) == Some(&b':') && list.get(at + 2) == Some(&b' ') => Some(3),
        _ => None,
    }
}

/// `$upstream_addr` as JSON strings; `-` (nothing from that upstream) is `null`.
fn write_address_list(out: &mut Vec<u8>, list: &str) {
    let bytes = list.as_bytes();
    let (mut start, mut at) = (0, 0);
    loop {
        let separator = if at == bytes.len() { Some(0) } else { separator_at(bytes, at) };
        let Some(length) = separator else {
            at += 1;
            continue;
        };
        // Cut at ASCII separators, so at character boundaries.
        match list.get(start..at).unwrap_or_default().trim_ascii() {
            "-" => out.extend_from_slice(b"null"),
            address => write_json_string(out, address),
        }
        if at == bytes.len() {
            return;
        }
        out.push(b',');
        at += length;
        start = at;
    }
}

/// `$upstream_status` (integers) or a `$upstream_*_time` list (seconds with a fraction) as JSON
/// numbers, in one pass that checks each byte as it copies it (a few bytes: fewer instructions
/// than a search and a `memcpy` call); `-` and anything that is not such a number is `null`.
fn write_number_list(out: &mut Vec<u8>, list: &[u8], decimal: bool) {
    // Most lists are one number: checked and copied whole. JSON numbers have no leading zero.
    let leading_zero = list.len() > 1 && list[0] == b'0' && list[1] != b'.';
    if !leading_zero
        && list.len() <= 15
        && list.first().is_some_and(u8::is_ascii_digit)
        && list.last().is_some_and(u8::is_ascii_digit)
    {
        let dots = list.iter().filter(|&&b| b == b'.').count();
        if dots <= usize::from(decimal) && list.iter().all(|&b| b.is_ascii_digit() || b == b'.') {
            out.extend_from_slice(list);
            return;
        }
    }
    let mut value_start = out.len();
    let (mut digits, mut dots, mut valid, mut last) = (0, 0, true, 0u8);
    let mut at = 0;
    loop {
        let separator = if at == list.len() { Some(0) } else { separator_at(list, at) };
        if let Some(length) = separator {
            if !valid || digits == 0 || digits + dots > 15 || last == b'.' {
                out.truncate(value_start);
                out.extend_from_slice(b"null");
            }
            if at == list.len() {
                return;
            }
            out.push(b',');
            value_start = out.len();
            (digits, dots, valid, last) = (0, 0, true, 0);
            at += length;
            continue;
        }
        let byte = list[at];
        match byte {
            // A second digit after a leading zero: not a JSON number.
            b'0'..=b'9' if digits == 1 && dots == 0 && last == b'0' => valid = false,
            b'0'..=b'9' => digits += 1,
            b'.' if decimal && dots == 0 && digits > 0 => dots += 1,
            _ => valid = false,
        }
        if valid {
            out.push(byte);
            last = byte;
        }
        at += 1;
    }
}

fn write_source(doc: &mut ObjectWriter<'_>, source: &SourceFields<'_>) {
    doc.open(schema::SOURCE);
    doc.string(schema::ADDRESS, &source.address);
    if let Some(ip) = source.ip {
        doc.string_with(schema::IP, |out| write_ip(out, ip));
    }
    if let Some(domain) = source.domain {
        doc.string(schema::DOMAIN, domain);
    }
    if let Some(port) = source.port {
        doc.number(schema::PORT, u64::from(port));
    }
    if let Some(geo) = source.geo {
        doc.raw(schema::GEO, geo);
    }
    if let Some(as_info) = source.as_info {
        doc.raw(schema::AS, as_info);
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
        doc.string(schema::PATH, path);
    }
    if let Some(query) = query {
        doc.string(schema::QUERY, query);
    }
    if let Some(extension) = path.and_then(extension) {
        doc.string(schema::EXTENSION, extension);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbers(list: &str, decimal: bool) -> String {
        let mut out = Vec::new();
        write_number_list(&mut out, list.as_bytes(), decimal);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn upstream_lists_split_at_both_separators_and_keep_addresses_whole() {
        let mut out = Vec::new();
        write_address_list(&mut out, "10.0.1.5:8080, 10.0.1.6:8080 : unix:/run/app.sock");
        assert_eq!(out, br#""10.0.1.5:8080","10.0.1.6:8080","unix:/run/app.sock""#);
        out.clear();
        write_address_list(&mut out, "[2001:db8::1]:80, -");
        assert_eq!(out, br#""[2001:db8::1]:80",null"#);
        assert_eq!(numbers("502, 200", false), "502,200");
        assert_eq!(numbers("-, 0.001 : 0.004", true), "null,0.001,0.004");
        assert_eq!(numbers("0.004", true), "0.004");
    }

    #[test]
    fn upstream_values_that_are_not_numbers_are_null() {
        for bad in ["1.5", "x", "", "12345678901234567", "-1", "2 00", "200,"] {
            assert_eq!(numbers(bad, false), "null", "{bad:?}");
        }
        for bad in [".5", "5.", "1.2.3", "0,5", "1e3", "00.5", "007", "-, 01"] {
            assert!(numbers(bad, true).ends_with("null"), "{bad:?}: {}", numbers(bad, true));
        }
        assert_eq!(numbers("0.5, 0, 10", true), "0.5,0,10");
        assert_eq!(numbers("x, 1, ", true), "null,1,null");
    }
}
