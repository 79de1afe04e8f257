//! The settings every function reads, in this one place, through a `lookup` that returns an
//! environment variable's value (the real environment in [`crate::start`], a table in tests).
//!
//! The enrichment settings (`LOG_FORMAT`, `GEOIP_*`, ...) are read by [`enrichment::settings`],
//! which `enrich-logs` shares; this module adds what every function has besides. What only some
//! functions read lives with them: the delivery settings in `firehose_delivery`, the AWS clients'
//! in `aws_clients`. A bad value stops start-up with a message that names the variable, the value
//! and what is accepted.

use enrichment::settings::{EnrichmentSettings, GeoIpSettings, Setting, SettingError, whole_number};

use crate::emf::MetricsTarget;
use crate::records::DEFAULT_MAX_DECOMPRESSED_BYTES;

/// The cap on decompressed CloudWatch Logs envelopes.
pub const MAX_DECOMPRESSED_BYTES: Setting = Setting::env_only("MAX_DECOMPRESSED_BYTES");
pub const METRICS_NAMESPACE: Setting = Setting::env_only("METRICS_NAMESPACE");
/// Set by Lambda: the EMF metrics' `FunctionName` dimension.
pub const AWS_LAMBDA_FUNCTION_NAME: Setting = Setting::env_only("AWS_LAMBDA_FUNCTION_NAME");
/// Set by Lambda: the version running (`$LATEST` or a number), which a function invoking itself names.
pub const AWS_LAMBDA_FUNCTION_VERSION: Setting = Setting::env_only("AWS_LAMBDA_FUNCTION_VERSION");

pub const DEFAULT_METRICS_NAMESPACE: &str = "WeblogEnrichment";

/// What every function reads: the enrichment and GeoIP settings, the gzip cap and the metrics.
#[derive(Debug, Clone)]
pub struct Settings {
    pub enrichment: EnrichmentSettings,
    pub geoip: GeoIpSettings,
    /// `MAX_DECOMPRESSED_BYTES`: 64 KiB to 256 MiB.
    pub max_decompressed_bytes: usize,
    pub metrics: MetricsTarget,
}

impl Settings {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingError> {
        let max_decompressed_bytes = whole_number(
            &lookup,
            MAX_DECOMPRESSED_BYTES,
            DEFAULT_MAX_DECOMPRESSED_BYTES as u64,
            64 * 1024..=256 * 1024 * 1024,
            |range| format!("a byte count from {} to {}", range.start(), range.end()),
        )?;
        Ok(Self {
            max_decompressed_bytes: usize::try_from(max_decompressed_bytes).unwrap_or(usize::MAX),
            metrics: metrics_target(&lookup)?,
            enrichment: EnrichmentSettings::from_lookup(&lookup)?,
            geoip: GeoIpSettings::from_lookup(&lookup)?,
        })
    }
}

/// `METRICS_NAMESPACE` (default `WeblogEnrichment`) and `AWS_LAMBDA_FUNCTION_NAME`.
fn metrics_target(lookup: impl Fn(&str) -> Option<String>) -> Result<MetricsTarget, SettingError> {
    let namespace = lookup(METRICS_NAMESPACE.env).unwrap_or_else(|| DEFAULT_METRICS_NAMESPACE.to_owned());
    // CloudWatch: 1-255 characters, no leading colon.
    if namespace.is_empty() || namespace.len() > 255 || namespace.starts_with(':') {
        return Err(SettingError::new(
            METRICS_NAMESPACE,
            &namespace,
            "1 to 255 characters, not starting with ':'",
        ));
    }
    let function_name = lookup(AWS_LAMBDA_FUNCTION_NAME.env).unwrap_or_else(|| "local".to_owned());
    Ok(MetricsTarget { namespace, function_name })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(variables: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        |name| variables.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned())
    }

    #[test]
    fn defaults() {
        let settings = Settings::from_lookup(|_| None).unwrap();
        assert_eq!(settings.max_decompressed_bytes, 4 * 1024 * 1024);
        assert_eq!(
            settings.metrics,
            MetricsTarget { namespace: "WeblogEnrichment".into(), function_name: "local".into() }
        );
        let named =
            Settings::from_lookup(lookup(&[("AWS_LAMBDA_FUNCTION_NAME", "weblogs-kinesis")])).unwrap();
        assert_eq!(named.metrics.function_name, "weblogs-kinesis");
    }

    #[test]
    fn bad_values_name_the_variable_the_value_and_what_is_accepted() {
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
