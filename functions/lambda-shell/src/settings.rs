//! Every setting of the Lambda functions, read in this one place through a `lookup` that returns
//! an environment variable's value (the real environment in [`crate::start`], a table in tests).
//!
//! The enrichment settings (`LOG_FORMAT`, `GEOIP_*`, ...) are read by [`enrichment::settings`],
//! which `enrich-logs` shares; this module adds what only the functions have. A bad value stops
//! start-up with a message that names the variable, the value and what is accepted.

use std::ops::RangeInclusive;
use std::time::Duration;

use enrichment::EnrichmentConfig;
use enrichment::settings::{ConfigError, GeoIpSettings, Setting};

use crate::emf::MetricsTarget;
use crate::records::DEFAULT_MAX_DECOMPRESSED_BYTES;

/// The cap on decompressed CloudWatch Logs envelopes.
pub const MAX_DECOMPRESSED_BYTES: Setting = lambda_only("MAX_DECOMPRESSED_BYTES");
pub const METRICS_NAMESPACE: Setting = lambda_only("METRICS_NAMESPACE");
/// Set by Lambda: the EMF metrics' `FunctionName` dimension.
pub const AWS_LAMBDA_FUNCTION_NAME: Setting = lambda_only("AWS_LAMBDA_FUNCTION_NAME");
/// Set by Lambda: the version running (`$LATEST` or a number), which a function invoking itself names.
pub const AWS_LAMBDA_FUNCTION_VERSION: Setting = lambda_only("AWS_LAMBDA_FUNCTION_VERSION");
pub const DELIVERY_STREAM_NAME: Setting = lambda_only("DELIVERY_STREAM_NAME");
pub const DELIVERY_MAX_ATTEMPTS: Setting = lambda_only("DELIVERY_MAX_ATTEMPTS");
pub const DELIVERY_BASE_BACKOFF_MS: Setting = lambda_only("DELIVERY_BASE_BACKOFF_MS");
pub const DELIVERY_MAX_BACKOFF_MS: Setting = lambda_only("DELIVERY_MAX_BACKOFF_MS");
pub const AWS_REGION: Setting = lambda_only("AWS_REGION");
pub const AWS_ACCESS_KEY_ID: Setting = lambda_only("AWS_ACCESS_KEY_ID");
pub const AWS_SECRET_ACCESS_KEY: Setting = lambda_only("AWS_SECRET_ACCESS_KEY");
pub const AWS_SESSION_TOKEN: Setting = lambda_only("AWS_SESSION_TOKEN");
pub const AWS_ENDPOINT_URL_FIREHOSE: Setting = lambda_only("AWS_ENDPOINT_URL_FIREHOSE");
pub const AWS_ENDPOINT_URL_S3: Setting = lambda_only("AWS_ENDPOINT_URL_S3");
pub const AWS_ENDPOINT_URL_LAMBDA: Setting = lambda_only("AWS_ENDPOINT_URL_LAMBDA");
pub const AWS_ENDPOINT_URL: Setting = lambda_only("AWS_ENDPOINT_URL");

pub const DEFAULT_METRICS_NAMESPACE: &str = "WeblogEnrichment";

const fn lambda_only(env: &'static str) -> Setting {
    Setting { env, flag: "" }
}

/// What every function reads: the enrichment and GeoIP settings, the gzip cap and the metrics.
#[derive(Debug, Clone)]
pub struct Settings {
    pub enrichment: EnrichmentConfig,
    pub geoip: GeoIpSettings,
    /// `MAX_DECOMPRESSED_BYTES`: 64 KiB to 256 MiB.
    pub max_decompressed_bytes: usize,
    pub metrics: MetricsTarget,
}

impl Settings {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let max_decompressed_bytes = number(
            &lookup,
            MAX_DECOMPRESSED_BYTES,
            DEFAULT_MAX_DECOMPRESSED_BYTES as u64,
            64 * 1024..=256 * 1024 * 1024,
            |range| format!("a byte count from {} to {}", range.start(), range.end()),
        )?;
        Ok(Self {
            max_decompressed_bytes: usize::try_from(max_decompressed_bytes).unwrap_or(usize::MAX),
            metrics: metrics_target(&lookup)?,
            enrichment: EnrichmentConfig::from_lookup(&lookup)?,
            geoip: GeoIpSettings::from_lookup(&lookup)?,
        })
    }
}

/// `METRICS_NAMESPACE` (default `WeblogEnrichment`) and `AWS_LAMBDA_FUNCTION_NAME`.
fn metrics_target(lookup: impl Fn(&str) -> Option<String>) -> Result<MetricsTarget, ConfigError> {
    let namespace = lookup(METRICS_NAMESPACE.env).unwrap_or_else(|| DEFAULT_METRICS_NAMESPACE.to_owned());
    // CloudWatch: 1-255 characters, no leading colon.
    if namespace.is_empty() || namespace.len() > 255 || namespace.starts_with(':') {
        return Err(ConfigError::new(
            METRICS_NAMESPACE,
            &namespace,
            "1 to 255 characters, not starting with ':'",
        ));
    }
    let function_name = lookup(AWS_LAMBDA_FUNCTION_NAME.env).unwrap_or_else(|| "local".to_owned());
    Ok(MetricsTarget { namespace, function_name })
}

/// How hard delivery tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Rounds of calls, the first included.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// Time kept free before the invocation's deadline: no new round starts inside it.
    pub safety_margin: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
            safety_margin: Duration::from_secs(3),
        }
    }
}

/// What a function that delivers to Firehose reads besides [`Settings`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliverySettings {
    /// `DELIVERY_STREAM_NAME`: one Firehose stream, or several (comma-separated) that share the load.
    pub delivery_stream_names: Vec<String>,
    pub retry: RetryPolicy,
    pub aws: AwsSettings,
}

/// The most delivery streams one function spreads its documents over.
pub const MAX_DELIVERY_STREAMS: usize = 16;

impl DeliverySettings {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let value = lookup(DELIVERY_STREAM_NAME.env).unwrap_or_default();
        Ok(Self {
            delivery_stream_names: delivery_stream_names(&value)?,
            retry: RetryPolicy::from_lookup(&lookup)?,
            aws: AwsSettings::from_lookup(&lookup)?,
        })
    }
}

/// `DELIVERY_STREAM_NAME`'s value: Firehose stream names (1 to 64 letters, digits, `_`, `.`, `-`),
/// separated by commas, each once, at most [`MAX_DELIVERY_STREAMS`].
pub fn delivery_stream_names(value: &str) -> Result<Vec<String>, ConfigError> {
    let refuse = || {
        ConfigError::new(
            DELIVERY_STREAM_NAME,
            value,
            format!(
                "the name of the Firehose delivery stream to write to (required), or up to \
                 {MAX_DELIVERY_STREAMS} different names separated by commas; a name has 1 to 64 \
                 letters, digits, '_', '.' or '-'"
            ),
        )
    };
    let names: Vec<String> = value.split(',').map(|name| name.trim().to_owned()).collect();
    let valid_name = |name: &String| {
        (1..=64).contains(&name.len())
            && name.bytes().all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'.' | b'-'))
    };
    let distinct = names.iter().enumerate().all(|(i, name)| !names[..i].contains(name));
    if names.len() > MAX_DELIVERY_STREAMS || !names.iter().all(valid_name) || !distinct {
        return Err(refuse());
    }
    Ok(names)
}

impl RetryPolicy {
    /// `DELIVERY_MAX_ATTEMPTS`, `DELIVERY_BASE_BACKOFF_MS` and `DELIVERY_MAX_BACKOFF_MS`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let whole_number =
            |range: &RangeInclusive<u64>| format!("a whole number from {} to {}", range.start(), range.end());
        let defaults = RetryPolicy::default();
        let max_attempts =
            number(&lookup, DELIVERY_MAX_ATTEMPTS, u64::from(defaults.max_attempts), 1..=20, whole_number)?;
        let base_delay = number(&lookup, DELIVERY_BASE_BACKOFF_MS, 100, 1..=10_000, whole_number)?;
        let max_delay = number(&lookup, DELIVERY_MAX_BACKOFF_MS, 5_000, 1..=60_000, whole_number)?;
        Ok(RetryPolicy {
            max_attempts: u32::try_from(max_attempts).unwrap_or(defaults.max_attempts),
            base_delay: Duration::from_millis(base_delay),
            max_delay: Duration::from_millis(max_delay),
            safety_margin: defaults.safety_margin,
        })
    }
}

/// The AWS SDK client's settings, from the variables Lambda sets for every function (the region and
/// the execution role's credentials) and the SDK's standard endpoint override.
#[derive(Clone, PartialEq, Eq)]
pub struct AwsSettings {
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
    /// `AWS_ENDPOINT_URL_FIREHOSE`, else `AWS_ENDPOINT_URL`: an http(s) URL.
    pub endpoint_url: Option<String>,
}

impl std::fmt::Debug for AwsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the credentials.
        f.debug_struct("AwsSettings")
            .field("region", &self.region)
            .field("endpoint_url", &self.endpoint_url)
            .finish_non_exhaustive()
    }
}

impl AwsSettings {
    /// A missing region or credentials, or an endpoint that is not an http(s) URL, is an error that
    /// names the variable.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let required = |setting: Setting, expected: &str| {
            non_blank(&lookup, setting).ok_or_else(|| ConfigError::new(setting, "", expected))
        };
        let region = required(AWS_REGION, "an AWS region such as eu-west-1 (Lambda sets it)")?;
        let access_key_id =
            required(AWS_ACCESS_KEY_ID, "the access key of the function's role (Lambda sets it)")?;
        let secret_access_key =
            required(AWS_SECRET_ACCESS_KEY, "the secret key of the function's role (Lambda sets it)")?;
        let endpoint_url = endpoint_url(&lookup, AWS_ENDPOINT_URL_FIREHOSE)?;
        Ok(Self {
            region: region.trim().to_owned(),
            access_key_id,
            secret_access_key,
            session_token: non_blank(&lookup, AWS_SESSION_TOKEN),
            endpoint_url,
        })
    }
}

/// The SDK's endpoint override for one service: its own variable (`AWS_ENDPOINT_URL_S3`), else
/// `AWS_ENDPOINT_URL`; an http(s) URL.
pub fn endpoint_url(
    lookup: impl Fn(&str) -> Option<String>,
    service: Setting,
) -> Result<Option<String>, ConfigError> {
    let endpoint = [service, AWS_ENDPOINT_URL]
        .into_iter()
        .find_map(|setting| non_blank(&lookup, setting).map(|url| (setting, url)));
    match endpoint {
        Some((setting, url)) if !(url.starts_with("http://") || url.starts_with("https://")) => {
            Err(ConfigError::new(setting, &url, "an http:// or https:// URL"))
        }
        Some((_, url)) => Ok(Some(url)),
        None => Ok(None),
    }
}

fn non_blank(lookup: impl Fn(&str) -> Option<String>, setting: Setting) -> Option<String> {
    lookup(setting.env).filter(|value| !value.trim().is_empty())
}

/// A whole number in `range`, `default` when the variable is not set.
fn number(
    lookup: impl Fn(&str) -> Option<String>,
    setting: Setting,
    default: u64,
    range: RangeInclusive<u64>,
    expected: impl Fn(&RangeInclusive<u64>) -> String,
) -> Result<u64, ConfigError> {
    match lookup(setting.env) {
        None => Ok(default),
        Some(value) => value
            .trim()
            .parse()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| ConfigError::new(setting, &value, expected(&range))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(variables: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        |name| variables.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned())
    }

    const LAMBDA: [(&str, &str); 5] = [
        ("DELIVERY_STREAM_NAME", "weblogs"),
        ("AWS_REGION", "eu-west-1"),
        ("AWS_ACCESS_KEY_ID", "ASIAEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
        ("AWS_SESSION_TOKEN", "token"),
    ];

    fn delivery(variables: &[(&str, &str)]) -> Result<DeliverySettings, String> {
        DeliverySettings::from_lookup(lookup(variables)).map_err(|error| error.to_string())
    }

    #[test]
    fn defaults() {
        let settings = Settings::from_lookup(|_| None).unwrap();
        assert_eq!(settings.max_decompressed_bytes, 4 * 1024 * 1024);
        assert_eq!(
            settings.metrics,
            MetricsTarget { namespace: "WeblogEnrichment".into(), function_name: "local".into() }
        );
        let delivery = delivery(&LAMBDA).unwrap();
        assert_eq!(delivery.retry, RetryPolicy::default());
        assert_eq!(delivery.aws.session_token.as_deref(), Some("token"));
        assert_eq!(delivery.aws.endpoint_url, None);
    }

    #[test]
    fn the_lambda_environment_is_enough() {
        assert!(delivery(&LAMBDA[..4]).is_ok(), "long-term keys have no session token");
        let mut with_endpoint = LAMBDA.to_vec();
        with_endpoint.push(("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"));
        assert_eq!(
            delivery(&with_endpoint).unwrap().aws.endpoint_url.as_deref(),
            Some("http://127.0.0.1:5000")
        );
        with_endpoint.push(("AWS_ENDPOINT_URL_FIREHOSE", "https://firehose.example"));
        assert_eq!(
            delivery(&with_endpoint).unwrap().aws.endpoint_url.as_deref(),
            Some("https://firehose.example")
        );
    }

    #[test]
    fn missing_region_or_credentials_are_named() {
        for missing in ["DELIVERY_STREAM_NAME", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
            let variables: Vec<_> = LAMBDA.iter().copied().filter(|(name, _)| *name != missing).collect();
            let error = delivery(&variables).unwrap_err();
            assert!(error.contains(missing), "{missing}: {error}");
            let mut blank = variables.clone();
            blank.push((missing, "  "));
            assert!(delivery(&blank).unwrap_err().contains(missing), "{missing} blank");
        }
    }

    #[test]
    fn one_delivery_stream_or_several() {
        assert_eq!(delivery(&LAMBDA).unwrap().delivery_stream_names, ["weblogs"]);
        let mut several = LAMBDA.to_vec();
        several[0] = ("DELIVERY_STREAM_NAME", "weblogs-1, weblogs-2,weblogs.3");
        assert_eq!(
            delivery(&several).unwrap().delivery_stream_names,
            ["weblogs-1", "weblogs-2", "weblogs.3"]
        );
        let sixteen: Vec<String> = (1..=16).map(|i| format!("s{i}")).collect();
        assert_eq!(delivery_stream_names(&sixteen.join(",")).unwrap(), sixteen);
        let seventeen: Vec<String> = (1..=17).map(|i| format!("s{i}")).collect();
        for bad in [
            "weblogs,weblogs",
            "weblogs,,other",
            "weblogs,",
            "web logs",
            "weblogs/1",
            &"x".repeat(65),
            &seventeen.join(","),
        ] {
            let error = delivery_stream_names(bad).unwrap_err().to_string();
            assert!(error.contains("DELIVERY_STREAM_NAME"), "{bad}: {error}");
            assert!(error.contains(bad), "{bad}: {error}");
            assert!(error.contains("separated by commas"), "{bad}: {error}");
        }
    }

    #[test]
    fn an_endpoint_must_be_an_http_url() {
        for setting in ["AWS_ENDPOINT_URL_FIREHOSE", "AWS_ENDPOINT_URL"] {
            let mut variables = LAMBDA.to_vec();
            variables.push((setting, "localhost:5000"));
            let error = delivery(&variables).unwrap_err();
            assert!(error.contains(setting) && error.contains("localhost:5000"), "{error}");
            assert!(error.contains("http://"), "{error}");
        }
    }

    #[test]
    fn each_service_takes_its_own_endpoint_before_the_general_one() {
        let variables = [
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
            ("AWS_ENDPOINT_URL_LAMBDA", "http://127.0.0.1:7000"),
        ];
        let url = |service| endpoint_url(lookup(&variables), service).unwrap();
        assert_eq!(url(AWS_ENDPOINT_URL_S3).as_deref(), Some("http://127.0.0.1:5000"));
        assert_eq!(url(AWS_ENDPOINT_URL_LAMBDA).as_deref(), Some("http://127.0.0.1:7000"));
        assert_eq!(endpoint_url(lookup(&[]), AWS_ENDPOINT_URL_S3).unwrap(), None);
        let error = endpoint_url(lookup(&[("AWS_ENDPOINT_URL_S3", "s3.local")]), AWS_ENDPOINT_URL_S3);
        assert!(error.unwrap_err().to_string().contains("AWS_ENDPOINT_URL_S3"));
    }

    #[test]
    fn bad_values_name_the_variable_the_value_and_what_is_accepted() {
        let cases = [
            (
                "DELIVERY_MAX_ATTEMPTS",
                "0",
                "invalid DELIVERY_MAX_ATTEMPTS value \"0\": a whole number from 1 to 20",
            ),
            (
                "DELIVERY_BASE_BACKOFF_MS",
                "x",
                "invalid DELIVERY_BASE_BACKOFF_MS value \"x\": a whole number from 1 to 10000",
            ),
            (
                "DELIVERY_MAX_BACKOFF_MS",
                "60001",
                "invalid DELIVERY_MAX_BACKOFF_MS value \"60001\": a whole number from 1 to 60000",
            ),
        ];
        for (name, value, message) in cases {
            let mut variables = LAMBDA.to_vec();
            variables.push((name, value));
            assert_eq!(delivery(&variables).unwrap_err(), message);
        }
        let settings = |name: &'static str, value: &'static str| {
            Settings::from_lookup(lookup(&[(name, value)])).unwrap_err().to_string()
        };
        assert_eq!(
            settings("MAX_DECOMPRESSED_BYTES", "1"),
            "invalid MAX_DECOMPRESSED_BYTES value \"1\": a byte count from 65536 to 268435456"
        );
        assert_eq!(
            settings("METRICS_NAMESPACE", ""),
            "invalid METRICS_NAMESPACE value \"\": 1 to 255 characters, not starting with ':'"
        );
        assert!(
            settings("LOG_FORMAT", "combinded")
                .starts_with("invalid LOG_FORMAT (--format) value \"combinded\"")
        );
        assert!(
            settings("GEOIP_OPTIONAL", "perhaps").starts_with("invalid GEOIP_OPTIONAL (--geoip-optional)")
        );
    }
}
