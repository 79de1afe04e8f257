//! CloudWatch Embedded Metric Format: one JSON line per invocation that CloudWatch Logs turns into
//! metrics, with no API call and no extra dependency.
//!
//! The line names the namespace, one dimension set (`FunctionName`) and each metric with its
//! unit; the values are top-level members. Lambda forwards stdout to CloudWatch Logs, which
//! extracts the metrics whether the function logs as text or as JSON.
//! Specification: <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>

use crate::config::{ConfigError, Setting};
use crate::json::write_json_string;

pub const METRICS_NAMESPACE: Setting = Setting { env: "METRICS_NAMESPACE", flag: "" };
pub const DEFAULT_NAMESPACE: &str = "WeblogEnrichment";

/// A metric's unit, as CloudWatch names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Bytes,
    Milliseconds,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Self::Count => "Count",
            Self::Bytes => "Bytes",
            Self::Milliseconds => "Milliseconds",
        }
    }
}

/// Where the metrics go: namespace and the function they describe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsTarget {
    pub namespace: String,
    pub function_name: String,
}

impl MetricsTarget {
    /// `METRICS_NAMESPACE` (default `WeblogEnrichment`) and `AWS_LAMBDA_FUNCTION_NAME`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let namespace = lookup(METRICS_NAMESPACE.env).unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned());
        // CloudWatch: 1-255 characters, no leading colon.
        if namespace.is_empty() || namespace.len() > 255 || namespace.starts_with(':') {
            return Err(ConfigError::new(
                METRICS_NAMESPACE,
                &namespace,
                "1 to 255 characters, not starting with ':'",
            ));
        }
        let function_name = lookup("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|| "local".to_owned());
        Ok(Self { namespace, function_name })
    }

    /// The EMF line for `metrics` at `timestamp_ms`, without a line ending.
    pub fn line(&self, timestamp_ms: i64, metrics: &[(&'static str, f64, Unit)]) -> String {
        let mut out = Vec::with_capacity(256 + metrics.len() * 64);
        out.extend_from_slice(br#"{"_aws":{"Timestamp":"#);
        out.extend_from_slice(timestamp_ms.to_string().as_bytes());
        out.extend_from_slice(br#","CloudWatchMetrics":[{"Namespace":"#);
        write_json_string(&mut out, &self.namespace);
        out.extend_from_slice(br#","Dimensions":[["FunctionName"]],"Metrics":["#);
        for (index, (name, _, unit)) in metrics.iter().enumerate() {
            if index > 0 {
                out.push(b',');
            }
            out.extend_from_slice(br#"{"Name":""#);
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(br#"","Unit":""#);
            out.extend_from_slice(unit.as_str().as_bytes());
            out.extend_from_slice(br#""}"#);
        }
        out.extend_from_slice(br#"]}]},"FunctionName":"#);
        write_json_string(&mut out, &self.function_name);
        for (name, value, _) in metrics {
            out.extend_from_slice(b",\"");
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"\":");
            // Serializing an f64 into a Vec cannot fail; metric values are finite.
            let _ = serde_json::to_writer(&mut out, value);
        }
        out.push(b'}');
        String::from_utf8(out).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    #[test]
    fn line_follows_the_specification() {
        let target =
            MetricsTarget { namespace: "Weblogs".into(), function_name: "firehose-transformer".into() };
        let line = target
            .line(1_795_239_468_000, &[("RecordsIn", 3.0, Unit::Count), ("BytesIn", 1024.0, Unit::Bytes)]);
        let value: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            value,
            json!({
                "_aws": {
                    "Timestamp": 1_795_239_468_000_i64,
                    "CloudWatchMetrics": [{
                        "Namespace": "Weblogs",
                        "Dimensions": [["FunctionName"]],
                        "Metrics": [{"Name": "RecordsIn", "Unit": "Count"}, {"Name": "BytesIn", "Unit": "Bytes"}],
                    }],
                },
                "FunctionName": "firehose-transformer",
                "RecordsIn": 3.0,
                "BytesIn": 1024.0,
            })
        );
    }

    #[test]
    fn namespace_setting() {
        let target = MetricsTarget::from_lookup(|_| None).unwrap();
        assert_eq!(target.namespace, "WeblogEnrichment");
        let error =
            MetricsTarget::from_lookup(|name| (name == "METRICS_NAMESPACE").then(String::new)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid METRICS_NAMESPACE value \"\": 1 to 255 characters, not starting with ':'"
        );
    }
}
