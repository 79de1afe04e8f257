//! The document's schema: every ECS field name, tag and constant value, written once.
//!
//! Names are [`Key`]s, one per distinct member name (`name` serves `user.name`,
//! `user_agent.name`, `user_agent.os.name`, ...). The writer, the GeoIP and user-agent fragment
//! caches and the truncation of oversized documents all write through these constants, and
//! [`FIELDS`] lists every leaf field a document can carry, which the tests hold the OpenSearch
//! index template to.

use super::json::{Key, key};

// Top-level members.
pub const TIMESTAMP: Key = key!("@timestamp");
pub const SOURCE: Key = key!("source");
pub const USER: Key = key!("user");
pub const HTTP: Key = key!("http");
pub const URL: Key = key!("url");
pub const USER_AGENT: Key = key!("user_agent");
pub const DESTINATION: Key = key!("destination");
pub const EVENT: Key = key!("event");
pub const ERROR: Key = key!("error");
pub const TLS: Key = key!("tls");
/// `aws.cloudwatch.*`: where a CloudWatch Logs event was logged, as Elastic's AWS integration
/// names it (ECS has no field for a log group).
pub const AWS: Key = key!("aws");
/// `log.file.path` and `log.offset`: the file a line was read from (an archived object in S3);
/// an error log's `log.level` and `log.origin.file.*`.
pub const LOG: Key = key!("log");
pub const ECS: Key = key!("ecs");
/// `cloud.*`: the account and region of the event's AWS resources, or as `ADD_FIELDS` says.
pub const CLOUD: Key = key!("cloud");
/// `container.name`: an ECS task's container, from its `awslogs` stream.
pub const CONTAINER: Key = key!("container");
// Set by `ADD_FIELDS` only (written from the setting's own rendering; named here for [`FIELDS`]).
pub const SERVICE: Key = key!("service");
pub const HOST: Key = key!("host");
/// Not ECS (which has no field for it): capitalised, as ECS advises for custom fields, so that no
/// ECS release can ever define it.
pub const CRAWLER: Key = key!("Crawler");
/// `Referrer.domain`: the host of `http.request.referrer` (ECS has no field for it; capitalised like
/// `Crawler`).
pub const REFERRER_SITE: Key = key!("Referrer");
pub const TAGS: Key = key!("tags");
pub const PROCESS: Key = key!("process");
/// `apache.error.module`, as Elastic's Apache integration names it.
pub const APACHE: Key = key!("apache");

// Nested objects.
pub const ACCOUNT: Key = key!("account");
pub const TASK: Key = key!("task");
pub const NODE: Key = key!("node");
pub const GEO: Key = key!("geo");
pub const AS: Key = key!("as");
pub const ORGANIZATION: Key = key!("organization");
pub const REQUEST: Key = key!("request");
pub const RESPONSE: Key = key!("response");
pub const BODY: Key = key!("body");
pub const OS: Key = key!("os");
pub const DEVICE: Key = key!("device");
pub const LOCATION: Key = key!("location");
pub const CLOUDWATCH: Key = key!("cloudwatch");
pub const FILE: Key = key!("file");
pub const ORIGIN: Key = key!("origin");
pub const THREAD: Key = key!("thread");
/// `aws.elb.*`: an Application Load Balancer's fields, as Elastic's AWS integration names them.
pub const ELB: Key = key!("elb");
pub const BACKEND: Key = key!("backend");
pub const REQUEST_PROCESSING_TIME: Key = key!("request_processing_time");
pub const BACKEND_PROCESSING_TIME: Key = key!("backend_processing_time");
pub const RESPONSE_PROCESSING_TIME: Key = key!("response_processing_time");
pub const TARGET_GROUP: Key = key!("target_group");
pub const CHOSEN_CERT: Key = key!("chosen_cert");
/// `aws.cloudfront.*`: a CloudFront distribution's fields.
pub const CLOUDFRONT: Key = key!("cloudfront");

// Leaf members.
pub const ADDRESS: Key = key!("address");
pub const IP: Key = key!("ip");
pub const DOMAIN: Key = key!("domain");
pub const CONTINENT_CODE: Key = key!("continent_code");
pub const CONTINENT_NAME: Key = key!("continent_name");
pub const COUNTRY_ISO_CODE: Key = key!("country_iso_code");
pub const COUNTRY_NAME: Key = key!("country_name");
pub const REGION_ISO_CODE: Key = key!("region_iso_code");
pub const REGION_NAME: Key = key!("region_name");
pub const CITY_NAME: Key = key!("city_name");
pub const POSTAL_CODE: Key = key!("postal_code");
pub const TIMEZONE: Key = key!("timezone");
pub const LAT: Key = key!("lat");
pub const LON: Key = key!("lon");
pub const NUMBER: Key = key!("number");
pub const NAME: Key = key!("name");
pub const METHOD: Key = key!("method");
pub const REFERRER: Key = key!("referrer");
pub const BYTES: Key = key!("bytes");
/// `http.request.line`: the one non-ECS field, for request lines that are not `METHOD TARGET`.
pub const LINE: Key = key!("line");
pub const VERSION: Key = key!("version");
pub const STATUS_CODE: Key = key!("status_code");
pub const ORIGINAL: Key = key!("original");
pub const PATH: Key = key!("path");
pub const QUERY: Key = key!("query");
pub const EXTENSION: Key = key!("extension");
pub const PORT: Key = key!("port");
pub const DATASET: Key = key!("dataset");
pub const ID: Key = key!("id");
pub const DURATION: Key = key!("duration");
pub const SAMPLE_RATE: Key = key!("sample_rate");
pub const MESSAGE: Key = key!("message");
pub const VERSION_PROTOCOL: Key = key!("version_protocol");
pub const MODULE: Key = key!("module");
pub const KIND: Key = key!("kind");
pub const CATEGORY: Key = key!("category");
pub const TYPE: Key = key!("type");
pub const OUTCOME: Key = key!("outcome");
pub const FULL: Key = key!("full");
pub const CATEGORIES: Key = key!("categories");
pub const CIPHER: Key = key!("cipher");
pub const LOG_GROUP: Key = key!("log_group");
pub const LOG_STREAM: Key = key!("log_stream");
pub const OFFSET: Key = key!("offset");
pub const SCHEME: Key = key!("scheme");
pub const NGINX: Key = key!("nginx");
pub const UPSTREAM: Key = key!("upstream");
pub const STATUS: Key = key!("status");
pub const RESPONSE_TIME: Key = key!("response_time");
pub const CONNECT_TIME: Key = key!("connect_time");
pub const HEADER_TIME: Key = key!("header_time");
pub const LEVEL: Key = key!("level");
pub const PID: Key = key!("pid");
pub const CODE: Key = key!("code");
pub const CONNECTION_ID: Key = key!("connection_id");
pub const START: Key = key!("start");
pub const SEC: Key = key!("sec");
pub const ARN: Key = key!("arn");
pub const TRACE_ID: Key = key!("trace_id");
pub const MATCHED_RULE_PRIORITY: Key = key!("matched_rule_priority");
pub const ACTION_EXECUTED: Key = key!("action_executed");
pub const REDIRECT_URL: Key = key!("redirect_url");
pub const REASON: Key = key!("reason");
pub const TARGET_PORT: Key = key!("target_port");
pub const TARGET_STATUS_CODE: Key = key!("target_status_code");
pub const CLASSIFICATION: Key = key!("classification");
pub const CLASSIFICATION_REASON: Key = key!("classification_reason");
pub const CONNECTION_TRACE_ID: Key = key!("connection_trace_id");
pub const EDGE_LOCATION: Key = key!("edge_location");
pub const EDGE_REQUEST_ID: Key = key!("edge_request_id");
pub const EDGE_RESULT_TYPE: Key = key!("edge_result_type");
pub const EDGE_RESPONSE_RESULT_TYPE: Key = key!("edge_response_result_type");
pub const EDGE_DETAILED_RESULT_TYPE: Key = key!("edge_detailed_result_type");
pub const TIME_TO_FIRST_BYTE: Key = key!("time_to_first_byte");
pub const CONTENT_TYPE: Key = key!("content_type");
pub const CONTENT_LENGTH: Key = key!("content_length");
pub const RANGE_START: Key = key!("range_start");
pub const RANGE_END: Key = key!("range_end");
pub const COUNTRY: Key = key!("country");
pub const CACHE_BEHAVIOR_PATH_PATTERN: Key = key!("cache_behavior_path_pattern");
pub const DISTRIBUTION_ID: Key = key!("distribution_id");
pub const DISTRIBUTION_DNS_NAME: Key = key!("distribution_dns_name");
pub const PROVIDER: Key = key!("provider");
pub const REGION: Key = key!("region");
pub const AVAILABILITY_ZONE: Key = key!("availability_zone");
pub const ENVIRONMENT: Key = key!("environment");
pub const HOSTNAME: Key = key!("hostname");

// Values that are the same in every document, as JSON: written with one copy each.
/// `ecs.version`: the ECS release whose field definitions the documents follow.
pub const ECS_VERSION_JSON: &[u8] = br#""8.17.0""#;
pub const DATASET_JSON: &[u8] = br#""apache.access""#;
pub const MODULE_JSON: &[u8] = br#""apache""#;
pub const NGINX_DATASET_JSON: &[u8] = br#""nginx.access""#;
pub const NGINX_MODULE_JSON: &[u8] = br#""nginx""#;
pub const APACHE_ERROR_DATASET_JSON: &[u8] = br#""apache.error""#;
pub const NGINX_ERROR_DATASET_JSON: &[u8] = br#""nginx.error""#;
pub const ELB_DATASET_JSON: &[u8] = br#""aws.elb_logs""#;
pub const AWS_MODULE_JSON: &[u8] = br#""aws""#;
pub const CLOUDFRONT_DATASET_JSON: &[u8] = br#""aws.cloudfront_logs""#;
/// `event.kind` of a line that was read, and of one that could not be.
pub const KIND_EVENT_JSON: &[u8] = br#""event""#;
pub const KIND_PIPELINE_ERROR_JSON: &[u8] = br#""pipeline_error""#;
pub const CATEGORY_WEB_JSON: &[u8] = br#"["web"]"#;
pub const TYPE_ACCESS_JSON: &[u8] = br#"["access"]"#;
/// `event.type` of an error-log line, and of a line that could not be read.
pub const TYPE_ERROR_JSON: &[u8] = br#"["error"]"#;
/// `event.outcome`: a status below 400, and from 400.
pub const OUTCOME_SUCCESS_JSON: &[u8] = br#""success""#;
pub const OUTCOME_FAILURE_JSON: &[u8] = br#""failure""#;

/// The line did not match its format (or could not be read at all).
pub const TAG_PARSE_FAILURE: &str = "_parse_failure";
/// A global client address that the City database has no record for.
pub const TAG_GEOIP_LOOKUP_FAILURE: &str = "_geoip_lookup_failure";
/// Something was left out to respect a size limit (the line, or the document's original texts).
pub const TAG_TRUNCATED: &str = "_truncated";

/// Every leaf field a document can carry, as the path of keys that leads to it. `source.geo.location`
/// is a leaf: a `{lat, lon}` geo point.
pub const FIELDS: &[&[Key]] = &[
    &[TIMESTAMP],
    &[SOURCE, ADDRESS],
    &[SOURCE, IP],
    &[SOURCE, DOMAIN],
    &[SOURCE, PORT],
    &[SOURCE, GEO, CONTINENT_CODE],
    &[SOURCE, GEO, CONTINENT_NAME],
    &[SOURCE, GEO, COUNTRY_ISO_CODE],
    &[SOURCE, GEO, COUNTRY_NAME],
    &[SOURCE, GEO, REGION_ISO_CODE],
    &[SOURCE, GEO, REGION_NAME],
    &[SOURCE, GEO, CITY_NAME],
    &[SOURCE, GEO, POSTAL_CODE],
    &[SOURCE, GEO, TIMEZONE],
    &[SOURCE, GEO, LOCATION],
    &[SOURCE, AS, NUMBER],
    &[SOURCE, AS, ORGANIZATION, NAME],
    &[USER, NAME],
    &[HTTP, REQUEST, METHOD],
    &[HTTP, REQUEST, REFERRER],
    &[HTTP, REQUEST, BYTES],
    &[HTTP, REQUEST, LINE],
    &[HTTP, REQUEST, ID],
    &[HTTP, VERSION],
    &[HTTP, RESPONSE, STATUS_CODE],
    &[HTTP, RESPONSE, BYTES],
    &[HTTP, RESPONSE, BODY, BYTES],
    &[URL, ORIGINAL],
    &[URL, PATH],
    &[URL, QUERY],
    &[URL, EXTENSION],
    &[URL, SCHEME],
    &[USER_AGENT, ORIGINAL],
    &[USER_AGENT, NAME],
    &[USER_AGENT, VERSION],
    &[USER_AGENT, OS, NAME],
    &[USER_AGENT, OS, VERSION],
    &[USER_AGENT, OS, FULL],
    &[USER_AGENT, DEVICE, NAME],
    &[DESTINATION, DOMAIN],
    &[DESTINATION, PORT],
    &[TLS, VERSION_PROTOCOL],
    &[TLS, VERSION],
    &[TLS, CIPHER],
    &[NGINX, UPSTREAM, ADDRESS],
    &[NGINX, UPSTREAM, STATUS],
    &[NGINX, UPSTREAM, RESPONSE_TIME],
    &[NGINX, UPSTREAM, CONNECT_TIME],
    &[NGINX, UPSTREAM, HEADER_TIME],
    &[NGINX, ERROR, CONNECTION_ID],
    &[NGINX, ERROR, UPSTREAM],
    &[APACHE, ERROR, MODULE],
    &[MESSAGE],
    &[PROCESS, PID],
    &[PROCESS, THREAD, ID],
    &[EVENT, DATASET],
    &[EVENT, MODULE],
    &[EVENT, KIND],
    &[EVENT, CATEGORY],
    &[EVENT, TYPE],
    &[EVENT, OUTCOME],
    &[EVENT, ID],
    &[EVENT, DURATION],
    &[EVENT, SAMPLE_RATE],
    &[EVENT, START],
    &[EVENT, ORIGINAL],
    &[ERROR, MESSAGE],
    &[ERROR, CODE],
    &[TAGS],
    &[AWS, CLOUDWATCH, LOG_GROUP],
    &[AWS, CLOUDWATCH, LOG_STREAM],
    &[AWS, ECS, TASK, ID],
    &[AWS, ELB, NAME],
    &[AWS, ELB, TYPE],
    &[AWS, ELB, BACKEND, IP],
    &[AWS, ELB, BACKEND, PORT],
    &[AWS, ELB, BACKEND, HTTP, RESPONSE, STATUS_CODE],
    &[AWS, ELB, REQUEST_PROCESSING_TIME, SEC],
    &[AWS, ELB, BACKEND_PROCESSING_TIME, SEC],
    &[AWS, ELB, RESPONSE_PROCESSING_TIME, SEC],
    &[AWS, ELB, TARGET_GROUP, ARN],
    &[AWS, ELB, TRACE_ID],
    &[AWS, ELB, CHOSEN_CERT, ARN],
    &[AWS, ELB, MATCHED_RULE_PRIORITY],
    &[AWS, ELB, ACTION_EXECUTED],
    &[AWS, ELB, REDIRECT_URL],
    &[AWS, ELB, ERROR, REASON],
    &[AWS, ELB, TARGET_PORT],
    &[AWS, ELB, TARGET_STATUS_CODE],
    &[AWS, ELB, CLASSIFICATION],
    &[AWS, ELB, CLASSIFICATION_REASON],
    &[AWS, ELB, CONNECTION_TRACE_ID],
    &[AWS, CLOUDFRONT, EDGE_LOCATION],
    &[AWS, CLOUDFRONT, EDGE_REQUEST_ID],
    &[AWS, CLOUDFRONT, DOMAIN],
    &[AWS, CLOUDFRONT, EDGE_RESULT_TYPE],
    &[AWS, CLOUDFRONT, EDGE_RESPONSE_RESULT_TYPE],
    &[AWS, CLOUDFRONT, EDGE_DETAILED_RESULT_TYPE],
    &[AWS, CLOUDFRONT, CONTENT_TYPE],
    &[AWS, CLOUDFRONT, COUNTRY],
    &[AWS, CLOUDFRONT, CACHE_BEHAVIOR_PATH_PATTERN],
    &[AWS, CLOUDFRONT, DISTRIBUTION_ID],
    &[AWS, CLOUDFRONT, DISTRIBUTION_DNS_NAME],
    &[AWS, CLOUDFRONT, TIME_TO_FIRST_BYTE],
    &[AWS, CLOUDFRONT, CONTENT_LENGTH],
    &[AWS, CLOUDFRONT, RANGE_START],
    &[AWS, CLOUDFRONT, RANGE_END],
    &[LOG, LEVEL],
    &[LOG, ORIGIN, FILE, NAME],
    &[LOG, ORIGIN, FILE, LINE],
    &[LOG, FILE, PATH],
    &[LOG, OFFSET],
    &[CLOUD, PROVIDER],
    &[CLOUD, REGION],
    &[CLOUD, AVAILABILITY_ZONE],
    &[CLOUD, ACCOUNT, ID],
    &[CONTAINER, NAME],
    // `ADD_FIELDS`' fields (`labels.*` is mapped by a dynamic template: its names are the user's).
    &[SERVICE, NAME],
    &[SERVICE, ENVIRONMENT],
    &[SERVICE, VERSION],
    &[SERVICE, ID],
    &[SERVICE, NODE, NAME],
    &[HOST, NAME],
    &[HOST, HOSTNAME],
    &[HOST, ID],
    &[ORGANIZATION, NAME],
    &[ORGANIZATION, ID],
    &[ECS, VERSION],
    &[CRAWLER, CATEGORIES],
    &[REFERRER_SITE, DOMAIN],
];

/// The dotted paths of [`FIELDS`] (`source.geo.city_name`), in the order a document has them.
pub fn field_paths() -> impl Iterator<Item = String> {
    FIELDS.iter().map(|path| path.iter().map(Key::name).collect::<Vec<_>>().join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_distinct_and_dotted() {
        let paths: Vec<String> = field_paths().collect();
        let distinct: std::collections::BTreeSet<&String> = paths.iter().collect();
        assert_eq!(distinct.len(), paths.len());
        assert_eq!(paths[0], "@timestamp");
        assert!(paths.contains(&"source.as.organization.name".to_owned()));
    }
}
