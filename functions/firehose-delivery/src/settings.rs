//! What a function that delivers documents reads besides the settings every function reads: where
//! to (`DELIVERY`: Firehose's delivery stream(s), or an OpenSearch domain's `_bulk`) and how hard to
//! try. A bad value stops start-up with a message that names the variable, the value and what is
//! accepted.

use std::ops::RangeInclusive;
use std::time::Duration;

use enrichment::settings::{Setting, SettingError, non_blank, parse_bool, whole_number};

pub const DELIVERY: Setting = Setting::env_only("DELIVERY");
pub const DELIVERY_STREAM_NAME: Setting = Setting::env_only("DELIVERY_STREAM_NAME");
pub const OPENSEARCH_ENDPOINT: Setting = Setting::env_only("OPENSEARCH_ENDPOINT");
pub const OPENSEARCH_INDEX_PREFIX: Setting = Setting::env_only("OPENSEARCH_INDEX_PREFIX");
pub const OPENSEARCH_MAX_BULK_BYTES: Setting = Setting::env_only("OPENSEARCH_MAX_BULK_BYTES");
pub const OPENSEARCH_GZIP: Setting = Setting::env_only("OPENSEARCH_GZIP");
pub const FAILED_DOCUMENTS_BUCKET: Setting = Setting::env_only("FAILED_DOCUMENTS_BUCKET");

/// OpenSearch Service's smallest request limit (`http.max_content_length` of the smallest
/// instance types): the default `_bulk` body.
pub const DEFAULT_MAX_BULK_BYTES: u64 = 10 * 1024 * 1024;
pub const DELIVERY_MAX_ATTEMPTS: Setting = Setting::env_only("DELIVERY_MAX_ATTEMPTS");
pub const DELIVERY_BASE_BACKOFF_MS: Setting = Setting::env_only("DELIVERY_BASE_BACKOFF_MS");
pub const DELIVERY_MAX_BACKOFF_MS: Setting = Setting::env_only("DELIVERY_MAX_BACKOFF_MS");

/// The most delivery streams one function spreads its documents over.
pub const MAX_DELIVERY_STREAMS: usize = 16;

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

impl RetryPolicy {
    /// `DELIVERY_MAX_ATTEMPTS`, `DELIVERY_BASE_BACKOFF_MS` and `DELIVERY_MAX_BACKOFF_MS`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingError> {
        let expected =
            |range: &RangeInclusive<u64>| format!("a whole number from {} to {}", range.start(), range.end());
        let defaults = RetryPolicy::default();
        let max_attempts =
            whole_number(&lookup, DELIVERY_MAX_ATTEMPTS, u64::from(defaults.max_attempts), 1..=20, expected)?;
        let base_delay = whole_number(&lookup, DELIVERY_BASE_BACKOFF_MS, 100, 1..=10_000, expected)?;
        let max_delay = whole_number(&lookup, DELIVERY_MAX_BACKOFF_MS, 5_000, 1..=60_000, expected)?;
        Ok(RetryPolicy {
            max_attempts: u32::try_from(max_attempts).unwrap_or(defaults.max_attempts),
            base_delay: Duration::from_millis(base_delay),
            max_delay: Duration::from_millis(max_delay),
            safety_margin: defaults.safety_margin,
        })
    }
}

/// Where the documents go and how hard delivery tries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliverySettings {
    pub destination: Destination,
    pub retry: RetryPolicy,
}

/// `DELIVERY`: `firehose` (the default) or `opensearch`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// `DELIVERY_STREAM_NAME`: one Firehose stream, or several (comma-separated) that share the load.
    Firehose(Vec<String>),
    OpenSearch(OpenSearchSettings),
}

/// Direct delivery: `_bulk` requests to the domain, each document created with its own id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenSearchSettings {
    /// `OPENSEARCH_ENDPOINT`: `https://` and the domain's endpoint, no path.
    pub endpoint: String,
    /// `OPENSEARCH_INDEX_PREFIX`: documents go to `<prefix>-YYYY-MM-DD` by their `@timestamp`.
    pub index_prefix: String,
    /// `OPENSEARCH_MAX_BULK_BYTES`: the most one `_bulk` body holds (before compression).
    pub max_bulk_bytes: usize,
    /// `OPENSEARCH_GZIP`: bodies sent gzip-compressed.
    pub gzip: bool,
    /// `FAILED_DOCUMENTS_BUCKET`: where documents the domain refuses are kept (`failed/`).
    pub failed_documents_bucket: String,
}

impl DeliverySettings {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingError> {
        let mode = non_blank(&lookup, DELIVERY).unwrap_or_default();
        let destination = match mode.trim().to_ascii_lowercase().as_str() {
            "" | "firehose" => {
                let value = lookup(DELIVERY_STREAM_NAME.env).unwrap_or_default();
                Destination::Firehose(delivery_stream_names(&value)?)
            }
            "opensearch" => Destination::OpenSearch(OpenSearchSettings::from_lookup(&lookup)?),
            _ => {
                return Err(SettingError::new(
                    DELIVERY,
                    &mode,
                    "firehose (PutRecordBatch to DELIVERY_STREAM_NAME) or opensearch (_bulk to \
                     OPENSEARCH_ENDPOINT)",
                ));
            }
        };
        Ok(Self { destination, retry: RetryPolicy::from_lookup(&lookup)? })
    }

    /// The delivery streams, for a function that delivers to Firehose only; `DELIVERY=opensearch`
    /// is refused, naming the function.
    pub fn firehose_only(self, function: &str) -> Result<(Vec<String>, RetryPolicy), SettingError> {
        match self.destination {
            Destination::Firehose(names) => Ok((names, self.retry)),
            Destination::OpenSearch(_) => Err(SettingError::new(
                DELIVERY,
                "opensearch",
                format!("firehose: {function} delivers to Firehose only"),
            )),
        }
    }
}

impl OpenSearchSettings {
    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingError> {
        let endpoint = non_blank(&lookup, OPENSEARCH_ENDPOINT).unwrap_or_default();
        let endpoint = endpoint.trim().trim_end_matches('/');
        let host = endpoint.strip_prefix("https://").or_else(|| endpoint.strip_prefix("http://"));
        if !host.is_some_and(|host| !host.is_empty() && !host.contains(['/', '?', '#', ' '])) {
            return Err(SettingError::new(
                OPENSEARCH_ENDPOINT,
                endpoint,
                "the domain's endpoint as an https:// URL without a path (required with DELIVERY=opensearch)",
            ));
        }
        let prefix = non_blank(&lookup, OPENSEARCH_INDEX_PREFIX).unwrap_or_else(|| "weblogs".into());
        let valid_prefix = (1..=200).contains(&prefix.len())
            && prefix
                .bytes()
                .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || b"_-.".contains(&byte))
            && !prefix.starts_with(['_', '-', '.']);
        if !valid_prefix {
            return Err(SettingError::new(
                OPENSEARCH_INDEX_PREFIX,
                &prefix,
                "an index name's start: 1 to 200 lowercase letters, digits, '_', '-' or '.', not starting \
                 with '_', '-' or '.'",
            ));
        }
        let expected = |range: &RangeInclusive<u64>| {
            format!("a whole number of bytes from {} to {}", range.start(), range.end())
        };
        let max_bulk_bytes = whole_number(
            &lookup,
            OPENSEARCH_MAX_BULK_BYTES,
            DEFAULT_MAX_BULK_BYTES,
            (1 << 20)..=(100 << 20),
            expected,
        )?;
        let gzip = match lookup(OPENSEARCH_GZIP.env) {
            Some(value) => parse_bool(OPENSEARCH_GZIP, &value)?,
            None => false,
        };
        let bucket = non_blank(&lookup, FAILED_DOCUMENTS_BUCKET).unwrap_or_default();
        let valid_bucket = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || b".-".contains(&byte));
        if !valid_bucket {
            return Err(SettingError::new(
                FAILED_DOCUMENTS_BUCKET,
                &bucket,
                "the name of the S3 bucket that keeps documents the domain refuses (required with \
                 DELIVERY=opensearch)",
            ));
        }
        Ok(Self {
            endpoint: endpoint.to_owned(),
            index_prefix: prefix,
            max_bulk_bytes: usize::try_from(max_bulk_bytes).unwrap_or(usize::MAX),
            gzip,
            failed_documents_bucket: bucket,
        })
    }
}

/// `DELIVERY_STREAM_NAME`'s value: Firehose stream names (1 to 64 letters, digits, `_`, `.`, `-`),
/// separated by commas, each once, at most [`MAX_DELIVERY_STREAMS`].
pub fn delivery_stream_names(value: &str) -> Result<Vec<String>, SettingError> {
    let refuse = || {
        SettingError::new(
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

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(variables: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        |name| variables.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned())
    }

    fn delivery(variables: &[(&str, &str)]) -> Result<DeliverySettings, String> {
        DeliverySettings::from_lookup(lookup(variables)).map_err(|error| error.to_string())
    }

    #[test]
    fn defaults() {
        let delivery = delivery(&[("DELIVERY_STREAM_NAME", "weblogs")]).unwrap();
        assert_eq!(delivery.retry, RetryPolicy::default());
        assert_eq!(delivery.destination, Destination::Firehose(vec!["weblogs".into()]));
    }

    const DIRECT: [(&str, &str); 3] = [
        ("DELIVERY", "opensearch"),
        ("OPENSEARCH_ENDPOINT", "https://search-weblogs-abc.eu-west-1.es.amazonaws.com/"),
        ("FAILED_DOCUMENTS_BUCKET", "weblogs-backup-123"),
    ];

    #[test]
    fn direct_delivery_needs_the_domain_and_a_bucket_for_refused_documents() {
        let settings = delivery(&DIRECT).unwrap();
        assert_eq!(
            settings.destination,
            Destination::OpenSearch(OpenSearchSettings {
                endpoint: "https://search-weblogs-abc.eu-west-1.es.amazonaws.com".into(),
                index_prefix: "weblogs".into(),
                max_bulk_bytes: 10 * 1024 * 1024,
                gzip: false,
                failed_documents_bucket: "weblogs-backup-123".into(),
            })
        );
        let error = settings.firehose_only("s3-archive-enricher").unwrap_err().to_string();
        assert_eq!(
            error,
            "invalid DELIVERY value \"opensearch\": firehose: s3-archive-enricher delivers to Firehose only"
        );
        let mut chosen = DIRECT.to_vec();
        chosen.extend([("OPENSEARCH_INDEX_PREFIX", "shop-logs"), ("OPENSEARCH_MAX_BULK_BYTES", "5242880")]);
        chosen.push(("OPENSEARCH_GZIP", "true"));
        let Destination::OpenSearch(direct) = delivery(&chosen).unwrap().destination else { panic!() };
        assert_eq!(
            (direct.index_prefix.as_str(), direct.max_bulk_bytes, direct.gzip),
            ("shop-logs", 5 << 20, true)
        );
    }

    #[test]
    fn bad_direct_delivery_settings_are_named() {
        let cases: [(&str, &str, &str); 8] = [
            ("DELIVERY", "kafka", "firehose (PutRecordBatch"),
            ("OPENSEARCH_ENDPOINT", "search-weblogs.es.amazonaws.com", "https:// URL"),
            ("OPENSEARCH_ENDPOINT", "https://search-weblogs.es.amazonaws.com/_bulk", "without a path"),
            ("OPENSEARCH_INDEX_PREFIX", "WebLogs", "lowercase"),
            ("OPENSEARCH_INDEX_PREFIX", "_weblogs", "not starting"),
            ("OPENSEARCH_MAX_BULK_BYTES", "1000", "from 1048576 to 104857600"),
            ("OPENSEARCH_GZIP", "maybe", "true or false"),
            ("FAILED_DOCUMENTS_BUCKET", "Backup_Bucket", "S3 bucket"),
        ];
        for (name, value, accepted) in cases {
            let mut variables: Vec<(&str, &str)> =
                DIRECT.iter().copied().filter(|(n, _)| *n != name).collect();
            variables.push((name, value));
            let error = delivery(&variables).unwrap_err();
            assert!(error.starts_with(&format!("invalid {name} value \"{value}\"")), "{error}");
            assert!(error.contains(accepted), "{name}: {error}");
        }
        let missing: Vec<(&str, &str)> =
            DIRECT.iter().copied().filter(|(n, _)| *n != "FAILED_DOCUMENTS_BUCKET").collect();
        assert!(delivery(&missing).unwrap_err().contains("FAILED_DOCUMENTS_BUCKET"));
    }

    #[test]
    fn the_stream_is_required() {
        for variables in [&[][..], &[("DELIVERY_STREAM_NAME", "  ")][..]] {
            assert!(delivery(variables).unwrap_err().contains("DELIVERY_STREAM_NAME"), "{variables:?}");
        }
    }

    #[test]
    fn one_delivery_stream_or_several() {
        let several = [("DELIVERY_STREAM_NAME", "weblogs-1, weblogs-2,weblogs.3")];
        let (names, _) = delivery(&several).unwrap().firehose_only("kinesis-enricher").unwrap();
        assert_eq!(names, ["weblogs-1", "weblogs-2", "weblogs.3"]);
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
            assert_eq!(delivery(&[("DELIVERY_STREAM_NAME", "weblogs"), (name, value)]).unwrap_err(), message);
        }
    }
}
