//! The enrichment settings, with the same names everywhere: environment variables for the Lambda
//! functions, flags (falling back to the same variables) for `enrich-logs`. Every one is read here,
//! through a `lookup` that returns a setting's value by its variable name, so the functions (the
//! environment) and the CLI (its flags) share the parsing and the messages. A bad value stops
//! start-up with a message that names the setting, the value and what is accepted.
//!
//! This module only parses: opening the GeoIP databases the settings name is
//! [`crate::databases`]'s.

use std::fmt;
use std::ops::RangeInclusive;
use std::path::PathBuf;

use crate::document::AddedFields;
use crate::enrich::{DEFAULT_SECRET_PARAMS, Redaction, ShapingRules, TrustedProxies};
use crate::parse::{COMBINED, COMMON, CloudFrontField, ErrorLogFormat, LogFormat, VHOST_COMBINED};

/// A setting's environment variable and command-line flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    pub env: &'static str,
    pub flag: &'static str,
}

impl Setting {
    /// A setting of the Lambda functions only: an environment variable, no flag.
    pub const fn env_only(env: &'static str) -> Self {
        Self { env, flag: "" }
    }
}

impl fmt::Display for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.flag {
            "" => f.write_str(self.env),
            flag => write!(f, "{} ({flag})", self.env),
        }
    }
}

pub const LOG_FORMAT: Setting = Setting { env: "LOG_FORMAT", flag: "--format" };
pub const LOG_FORMAT_BY_SOURCE: Setting = Setting { env: "LOG_FORMAT_BY_SOURCE", flag: "--format-by-source" };
pub const IP_ANONYMIZATION: Setting = Setting { env: "IP_ANONYMIZATION", flag: "--anonymize-ip" };
pub const KEEP_ORIGINAL: Setting = Setting { env: "KEEP_ORIGINAL", flag: "--keep-original" };
pub const TRUSTED_PROXIES: Setting = Setting { env: "TRUSTED_PROXIES", flag: "--trusted-proxies" };
pub const GEOIP_CITY_DB: Setting = Setting { env: "GEOIP_CITY_DB", flag: "--city-db" };
pub const GEOIP_ASN_DB: Setting = Setting { env: "GEOIP_ASN_DB", flag: "--asn-db" };
pub const GEOIP_OPTIONAL: Setting = Setting { env: "GEOIP_OPTIONAL", flag: "--geoip-optional" };
pub const REDACT_QUERY_PARAMS: Setting =
    Setting { env: "REDACT_QUERY_PARAMS", flag: "--redact-query-params" };
pub const REDACT_EMAILS: Setting = Setting { env: "REDACT_EMAILS", flag: "--redact-emails" };
pub const DROP_WHEN: Setting = Setting { env: "DROP_WHEN", flag: "--drop-when" };
pub const SAMPLE_WHEN: Setting = Setting { env: "SAMPLE_WHEN", flag: "--sample-when" };
pub const ADD_FIELDS: Setting = Setting { env: "ADD_FIELDS", flag: "--add-fields" };
/// A setting whose value is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {setting} value {value:?}: {expected}")]
pub struct SettingError {
    pub setting: Setting,
    pub value: String,
    pub expected: String,
}

impl SettingError {
    pub fn new(setting: Setting, value: &str, expected: impl Into<String>) -> Self {
        let value = match value.char_indices().nth(100) {
            Some((cut, _)) => format!("{}…", &value[..cut]),
            None => value.to_owned(),
        };
        Self { setting, value, expected: expected.into() }
    }
}

/// How lines are read.
#[derive(Debug, Clone)]
pub enum FormatChoice {
    /// Per line: a JSON object is a Kinesis Agent record, a line that starts as an nginx or Apache
    /// error-log line is one, otherwise the first built-in access format that matches.
    Auto,
    KinesisAgentJson,
    /// One format for every line: a built-in by name or the user's `LogFormat` string.
    Fixed(LogFormat),
    /// nginx's or Apache's error log.
    ErrorLog(ErrorLogFormat),
    /// Application Load Balancer access logs.
    Alb,
    /// CloudFront real-time log records, tab-separated in the order of this field list.
    CloudFrontRealtime(Vec<CloudFrontField>),
    /// CloudFront standard log files, read by the `#Fields:` header of each file.
    CloudFrontStandard,
}

const FORMAT_NAMES: &str = "auto, common, combined, vhost_combined, kinesis-agent-json, nginx_error, apache_error, alb, cloudfront, cloudfront-realtime[:FIELD,...], an Apache LogFormat \
     string, or an nginx log_format (its quoted parts, as in nginx.conf)";

impl FormatChoice {
    pub fn parse(value: &str) -> Result<Self, SettingError> {
        let builtin = |source| {
            LogFormat::compile(source)
                .map(Self::Fixed)
                .map_err(|e| SettingError::new(LOG_FORMAT, value, e.to_string()))
        };
        match value.trim() {
            "auto" | "" => Ok(Self::Auto),
            "kinesis-agent-json" => Ok(Self::KinesisAgentJson),
            "common" => builtin(COMMON),
            "combined" => builtin(COMBINED),
            "vhost_combined" => builtin(VHOST_COMBINED),
            "nginx_error" => Ok(Self::ErrorLog(ErrorLogFormat::Nginx)),
            "apache_error" => Ok(Self::ErrorLog(ErrorLogFormat::Apache)),
            "alb" => Ok(Self::Alb),
            "cloudfront" => Ok(Self::CloudFrontStandard),
            "cloudfront-realtime" => Ok(Self::CloudFrontRealtime(CloudFrontField::default_list())),
            list if list.starts_with("cloudfront-realtime:") => {
                CloudFrontField::parse_list(&list["cloudfront-realtime:".len()..])
                    .map(Self::CloudFrontRealtime)
                    .map_err(|error| {
                        SettingError::new(
                            LOG_FORMAT,
                            value,
                            format!("{error}; expected cloudfront-realtime:FIELD,FIELD,... as the real-time log configuration lists them"),
                        )
                    })
            }
            custom if LogFormat::is_nginx(custom) => {
                LogFormat::compile_nginx(custom).map(Self::Fixed).map_err(|error| {
                    SettingError::new(LOG_FORMAT, value, format!("{error} (an nginx log_format)"))
                })
            }
            custom if custom.contains('%') => LogFormat::compile(custom).map(Self::Fixed).map_err(|error| {
                SettingError::new(LOG_FORMAT, value, format!("{error}; expected {FORMAT_NAMES}"))
            }),
            _ => Err(SettingError::new(LOG_FORMAT, value, format!("expected {FORMAT_NAMES}"))),
        }
    }
}

/// What is kept of client addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IpAnonymization {
    #[default]
    None,
    /// IPv4 to its /24, IPv6 to its /48.
    Truncate,
}

impl IpAnonymization {
    pub fn parse(value: &str) -> Result<Self, SettingError> {
        match value.trim() {
            "none" | "" => Ok(Self::None),
            "truncate" => Ok(Self::Truncate),
            _ => Err(SettingError::new(IP_ANONYMIZATION, value, "expected none or truncate")),
        }
    }
}

pub fn parse_bool(setting: Setting, value: &str) -> Result<bool, SettingError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" | "" => Ok(false),
        _ => Err(SettingError::new(setting, value, "expected true or false (also 1/0, yes/no, on/off)")),
    }
}

/// A setting's value, unless it is unset or blank.
pub fn non_blank(lookup: impl Fn(&str) -> Option<String>, setting: Setting) -> Option<String> {
    lookup(setting.env).filter(|value| !value.trim().is_empty())
}

/// A whole number in `range`, `default` when the variable is not set; `expected` says what is
/// accepted.
pub fn whole_number(
    lookup: impl Fn(&str) -> Option<String>,
    setting: Setting,
    default: u64,
    range: RangeInclusive<u64>,
    expected: impl Fn(&RangeInclusive<u64>) -> String,
) -> Result<u64, SettingError> {
    match lookup(setting.env) {
        None => Ok(default),
        Some(value) => value
            .trim()
            .parse()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| SettingError::new(setting, &value, expected(&range))),
    }
}

/// Formats of chosen sources, by the start of the source's name: an S3 object's
/// `s3://bucket/key`, a CloudWatch Logs group's name, an input file's path as given.
#[derive(Debug, Clone, Default)]
pub struct FormatsBySource {
    /// Longest prefix first, so the first match is the most specific.
    pub(crate) by_prefix: Vec<(String, FormatChoice)>,
}

impl FormatsBySource {
    /// A JSON object of source-name prefixes and `LOG_FORMAT` values,
    /// `{"s3://my-logs/alb/": "alb", "/ecs/shop/nginx": "combined"}`, or several one after another
    /// (the stack puts its log buckets' before the user's); a prefix may be named once.
    pub fn parse(value: &str) -> Result<Self, SettingError> {
        type Object = serde_json::Map<String, serde_json::Value>;
        let error = |expected: String| SettingError::new(LOG_FORMAT_BY_SOURCE, value, expected);
        let mut entries = Vec::new();
        for object in serde_json::Deserializer::from_str(value).into_iter::<Object>() {
            let object = object.map_err(|e| {
                error(format!(
                    "{e}; expected a JSON object of source prefixes and formats, as {{\"s3://my-logs/alb/\": \"alb\", \"/ecs/shop/nginx\": \"combined\"}}"
                ))
            })?;
            entries.extend(object);
        }
        let mut by_prefix: Vec<(String, FormatChoice)> = Vec::with_capacity(entries.len());
        for (prefix, format) in entries {
            if prefix.is_empty() {
                return Err(error(
                    "an empty source prefix: LOG_FORMAT is the format of every other source".into(),
                ));
            }
            if by_prefix.iter().any(|(known, _)| *known == prefix) {
                return Err(error(format!("{prefix:?} is named twice (each source prefix has one format)")));
            }
            let Some(format) = format.as_str() else {
                return Err(error(format!("the format of {prefix:?} is not a string: {format}")));
            };
            let format = FormatChoice::parse(format)
                .map_err(|e| error(format!("the format of {prefix:?}: {}: {}", e.value, e.expected)))?;
            by_prefix.push((prefix, format));
        }
        by_prefix.sort_by(|(a, _), (b, _)| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        Ok(Self { by_prefix })
    }

    /// The format of the source named `name`, if a prefix matches it.
    pub fn format_of(&self, name: &str) -> Option<&FormatChoice> {
        self.position_of(name).map(|index| &self.by_prefix[index].1)
    }

    /// Where in the list the format of the source named `name` is.
    pub(crate) fn position_of(&self, name: &str) -> Option<usize> {
        self.by_prefix.iter().position(|(prefix, _)| name.starts_with(prefix.as_str()))
    }

    pub fn is_empty(&self) -> bool {
        self.by_prefix.is_empty()
    }
}

/// Everything the enrichment core needs to know, read once at start-up.
#[derive(Debug, Clone)]
pub struct EnrichmentSettings {
    pub format: FormatChoice,
    /// Formats of chosen sources, in place of `format`.
    pub formats_by_source: FormatsBySource,
    pub anonymization: IpAnonymization,
    pub keep_original: bool,
    pub trusted_proxies: TrustedProxies,
    /// Secrets replaced by `REDACTED` before the document is written.
    pub redaction: Redaction,
    /// Lines not indexed (`DROP_WHEN`) or indexed one in N (`SAMPLE_WHEN`).
    pub shaping: ShapingRules,
    /// Fields every document carries (`ADD_FIELDS`).
    pub added: AddedFields,
}

impl Default for EnrichmentSettings {
    fn default() -> Self {
        Self {
            format: FormatChoice::Auto,
            formats_by_source: FormatsBySource::default(),
            anonymization: IpAnonymization::None,
            keep_original: false,
            trusted_proxies: TrustedProxies::default(),
            redaction: Redaction::default(),
            shaping: ShapingRules::default(),
            added: AddedFields::default(),
        }
    }
}

impl EnrichmentSettings {
    /// Reads the settings through `lookup`, which returns a variable's value if it is set.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingError> {
        let format = match lookup(LOG_FORMAT.env) {
            Some(value) => FormatChoice::parse(&value)?,
            None => FormatChoice::Auto,
        };
        let formats_by_source = match lookup(LOG_FORMAT_BY_SOURCE.env) {
            Some(value) => FormatsBySource::parse(&value)?,
            None => FormatsBySource::default(),
        };
        let anonymization = match lookup(IP_ANONYMIZATION.env) {
            Some(value) => IpAnonymization::parse(&value)?,
            None => IpAnonymization::None,
        };
        let keep_original = match lookup(KEEP_ORIGINAL.env) {
            Some(value) => parse_bool(KEEP_ORIGINAL, &value)?,
            None => false,
        };
        let trusted_proxies = match lookup(TRUSTED_PROXIES.env) {
            Some(value) => TrustedProxies::parse(&value)?,
            None => TrustedProxies::default(),
        };
        let emails = match lookup(REDACT_EMAILS.env) {
            Some(value) => parse_bool(REDACT_EMAILS, &value)?,
            None => false,
        };
        let params = match lookup(REDACT_QUERY_PARAMS.env) {
            Some(value) => secret_params(&value)?,
            None => DEFAULT_SECRET_PARAMS.iter().map(|name| (*name).to_owned()).collect(),
        };
        let redaction = Redaction::new(params.iter().map(String::as_str), emails);
        let (drop_when, sample_when) =
            (lookup(DROP_WHEN.env).unwrap_or_default(), lookup(SAMPLE_WHEN.env).unwrap_or_default());
        let shaping = ShapingRules::parse(&drop_when, &sample_when).map_err(|(sampling, error)| {
            let (setting, value) =
                if sampling { (SAMPLE_WHEN, &sample_when) } else { (DROP_WHEN, &drop_when) };
            SettingError::new(setting, value, error.to_string())
        })?;
        let added = match lookup(ADD_FIELDS.env) {
            Some(value) => AddedFields::parse(&value).map_err(|why| {
                SettingError::new(ADD_FIELDS, &value, format!("name=value pairs separated by commas: {why}"))
            })?,
            None => AddedFields::default(),
        };
        Ok(Self {
            format,
            formats_by_source,
            anonymization,
            keep_original,
            trusted_proxies,
            redaction,
            shaping,
            added,
        })
    }
}

/// `REDACT_QUERY_PARAMS`: `false` (or `off`, `none`) for none; blank, `true` or `default` for the
/// default list; else parameter names separated by commas, where `default` stands for the list.
fn secret_params(value: &str) -> Result<Vec<String>, SettingError> {
    let trimmed = value.trim();
    match trimmed.to_ascii_lowercase().as_str() {
        "false" | "off" | "none" | "0" | "no" => return Ok(Vec::new()),
        "" | "true" | "on" | "yes" | "1" => {
            return Ok(DEFAULT_SECRET_PARAMS.iter().map(|n| (*n).to_owned()).collect());
        }
        _ => {}
    }
    let mut names = Vec::new();
    for name in trimmed.split(',').map(str::trim) {
        if name.eq_ignore_ascii_case("default") {
            names.extend(DEFAULT_SECRET_PARAMS.iter().map(|n| (*n).to_owned()));
        } else if name.is_empty()
            || name.len() > 100
            || name
                .bytes()
                .any(|b| b.is_ascii_whitespace() || b.is_ascii_control() || b"=&?#\"'".contains(&b))
        {
            return Err(SettingError::new(
                REDACT_QUERY_PARAMS,
                value,
                format!(
                    "false (redact nothing), true (the default list: {}), or query parameter names \
                     separated by commas (`default` adds the list); a name has 1 to 100 characters \
                     and no space, '=', '&', '?', '#' or quote; {name:?} is not one",
                    DEFAULT_SECRET_PARAMS.join(",")
                ),
            ));
        } else {
            names.push(name.to_owned());
        }
    }
    Ok(names)
}

/// Where the Lambda layer puts the databases.
pub const DEFAULT_CITY_DB: &str = "/opt/geoip/GeoLite2-City.mmdb";
pub const DEFAULT_ASN_DB: &str = "/opt/geoip/GeoLite2-ASN.mmdb";

/// Which GeoIP databases to open.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GeoIpSettings {
    /// The City database; `None` is the default path.
    pub city_db: Option<PathBuf>,
    /// The ASN database; `None` is the default path, used only if the file is there.
    pub asn_db: Option<PathBuf>,
    /// A missing City database is not an error.
    pub optional: bool,
}

impl GeoIpSettings {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingError> {
        let path = |setting: Setting| lookup(setting.env).filter(|v| !v.trim().is_empty()).map(PathBuf::from);
        let optional = match lookup(GEOIP_OPTIONAL.env) {
            Some(value) => parse_bool(GEOIP_OPTIONAL, &value)?,
            None => false,
        };
        Ok(Self { city_db: path(GEOIP_CITY_DB), asn_db: path(GEOIP_ASN_DB), optional })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn from(vars: &[(&str, &str)]) -> Result<EnrichmentSettings, SettingError> {
        let vars: HashMap<String, String> =
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        EnrichmentSettings::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn defaults() {
        let config = from(&[]).unwrap();
        assert!(matches!(config.format, FormatChoice::Auto));
        assert_eq!(config.anonymization, IpAnonymization::None);
        assert!(!config.keep_original);
    }

    #[test]
    fn accepted_values() {
        let config = from(&[
            ("LOG_FORMAT", "%h %t \"%r\""),
            ("IP_ANONYMIZATION", "truncate"),
            ("KEEP_ORIGINAL", "TRUE"),
            ("TRUSTED_PROXIES", "10.0.0.0/8, 2600:1f00::/24"),
        ])
        .unwrap();
        assert!(config.trusted_proxies.contains("10.1.1.1".parse().unwrap()));
        assert!(matches!(config.format, FormatChoice::Fixed(_)));
        assert_eq!(config.anonymization, IpAnonymization::Truncate);
        assert!(config.keep_original);
        let added = from(&[("ADD_FIELDS", "service.name=shop")]).unwrap().added;
        assert_eq!(added, AddedFields::parse("service.name=shop").unwrap());
        assert!(!added.is_empty() && from(&[]).unwrap().added.is_empty());
        assert!(matches!(
            from(&[("LOG_FORMAT", "kinesis-agent-json")]).unwrap().format,
            FormatChoice::KinesisAgentJson
        ));
        for name in ["common", "combined", "vhost_combined", "auto"] {
            from(&[("LOG_FORMAT", name)]).unwrap();
        }
    }

    #[test]
    fn bad_values_name_setting_value_and_accepted() {
        let cases = [
            (
                "TRUSTED_PROXIES",
                "10.0.0.0/33",
                "invalid TRUSTED_PROXIES (--trusted-proxies) value \"10.0.0.0/33\": \"10.0.0.0/33\" is not a CIDR",
            ),
            (
                "LOG_FORMAT",
                "combinded",
                "invalid LOG_FORMAT (--format) value \"combinded\": expected auto, common, combined",
            ),
            ("LOG_FORMAT", "%h %Q", "invalid LOG_FORMAT (--format) value \"%h %Q\": unknown directive %Q"),
            (
                "LOG_FORMAT",
                "'$remote_addr \"$request\" $status",
                "invalid LOG_FORMAT (--format) value \"'$remote_addr \\\"$request\\\" $status\": a quoted part of \
                 the format is not closed at byte 0 of the format (an nginx log_format)",
            ),
            (
                "IP_ANONYMIZATION",
                "hash",
                "invalid IP_ANONYMIZATION (--anonymize-ip) value \"hash\": expected none or truncate",
            ),
            (
                "KEEP_ORIGINAL",
                "maybe",
                "invalid KEEP_ORIGINAL (--keep-original) value \"maybe\": expected true or false",
            ),
            (
                "ADD_FIELDS",
                "service.name=shop,user.name=root",
                "invalid ADD_FIELDS (--add-fields) value \"service.name=shop,user.name=root\": name=value pairs \
                 separated by commas: pair 2 (\"user.name=root\"): unknown field \"user.name\"; fields are \
                 service.name, service.environment",
            ),
        ];
        for (name, value, message) in cases {
            let error = from(&[(name, value)]).unwrap_err().to_string();
            assert!(error.starts_with(message), "{name}={value}: {error}");
        }
    }

    #[test]
    fn formats_by_source_match_the_longest_prefix_and_refuse_what_they_cannot_read() {
        let settings = from(&[(
            "LOG_FORMAT_BY_SOURCE",
            r#"{"s3://logs/": "common", "s3://logs/alb/": "alb", "/ecs/shop/nginx": "nginx_error"}"#,
        )])
        .unwrap();
        let by_source = &settings.formats_by_source;
        assert!(matches!(by_source.format_of("s3://logs/alb/2026/x.log.gz"), Some(FormatChoice::Alb)));
        assert!(matches!(by_source.format_of("s3://logs/apache/x.log"), Some(FormatChoice::Fixed(_))));
        assert!(matches!(by_source.format_of("/ecs/shop/nginx-errors"), Some(FormatChoice::ErrorLog(_))));
        assert!(by_source.format_of("/ecs/shop/apache").is_none(), "LOG_FORMAT's");
        assert!(from(&[("LOG_FORMAT_BY_SOURCE", " ")]).unwrap().formats_by_source.is_empty());
        // As the stack joins its log buckets' objects and the parameter's (empty or not).
        let joined = from(&[(
            "LOG_FORMAT_BY_SOURCE",
            r#"{"s3://alb-logs/shop/": "alb"}  {"/ecs/web": "nginx_error"}"#,
        )])
        .unwrap()
        .formats_by_source;
        assert!(matches!(joined.format_of("s3://alb-logs/shop/AWSLogs/x.log.gz"), Some(FormatChoice::Alb)));
        assert!(matches!(joined.format_of("/ecs/web"), Some(FormatChoice::ErrorLog(_))));
        let stack_only = from(&[("LOG_FORMAT_BY_SOURCE", r#" {"s3://cdn-logs/": "cloudfront"} "#)]).unwrap();
        assert!(matches!(
            stack_only.formats_by_source.format_of("s3://cdn-logs/E2.gz"),
            Some(FormatChoice::CloudFrontStandard)
        ));

        for (value, message) in [
            ("alb", "expected a JSON object of source prefixes and formats"),
            (r#"["alb"]"#, "expected a JSON object"),
            (r#"{"": "alb"}"#, "an empty source prefix: LOG_FORMAT is the format of every other source"),
            (r#"{"s3://logs/": 3}"#, "the format of \"s3://logs/\" is not a string: 3"),
            (r#"{"s3://logs/": "%h %Q"}"#, "the format of \"s3://logs/\": %h %Q: unknown directive %Q"),
            (r#"{"s3://logs/": "alb"} {"s3://logs/": "common"}"#, "\"s3://logs/\" is named twice"),
            (r#"{"s3://logs/": "alb"} ["common"]"#, "expected a JSON object"),
        ] {
            let error = from(&[("LOG_FORMAT_BY_SOURCE", value)]).unwrap_err().to_string();
            assert!(error.starts_with("invalid LOG_FORMAT_BY_SOURCE (--format-by-source) value"), "{error}");
            assert!(error.contains(message), "{value}: {error}");
        }
    }

    #[test]
    fn long_values_are_cut() {
        let error = from(&[("IP_ANONYMIZATION", &"x".repeat(1000))]).unwrap_err();
        assert!(error.to_string().len() < 250);
    }
}
