//! CloudWatch Embedded Metric Format: one JSON line per invocation that CloudWatch Logs turns into
//! metrics, with no API call and no extra dependency.
//!
//! The line names the namespace, one dimension set (`FunctionName`) and each metric with its
//! unit; the values are top-level members. Lambda forwards stdout to CloudWatch Logs, which
//! extracts the metrics whether the function logs as text or as JSON.
//! Specification: <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>

use enrichment::write_json_string;

/// A metric's unit, as CloudWatch names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Bytes,
    Milliseconds,
    /// No CloudWatch unit fits (days, for example).
    None,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Self::Count => "Count",
            Self::Bytes => "Bytes",
            Self::Milliseconds => "Milliseconds",
            Self::None => "None",
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
}
