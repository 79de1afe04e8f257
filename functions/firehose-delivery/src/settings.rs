//! What a function that delivers to Firehose reads besides the settings every function reads: the
//! delivery stream(s) and how hard to try. A bad value stops start-up with a message that names the
//! variable, the value and what is accepted.

use std::ops::RangeInclusive;
use std::time::Duration;

use enrichment::settings::{Setting, SettingError, whole_number};

pub const DELIVERY_STREAM_NAME: Setting = Setting::env_only("DELIVERY_STREAM_NAME");
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
    /// `DELIVERY_STREAM_NAME`: one Firehose stream, or several (comma-separated) that share the load.
    pub delivery_stream_names: Vec<String>,
    pub retry: RetryPolicy,
}

impl DeliverySettings {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingError> {
        let value = lookup(DELIVERY_STREAM_NAME.env).unwrap_or_default();
        Ok(Self {
            delivery_stream_names: delivery_stream_names(&value)?,
            retry: RetryPolicy::from_lookup(&lookup)?,
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
        assert_eq!(delivery.delivery_stream_names, ["weblogs"]);
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
