//! The enrichment settings, with the same names everywhere (DESIGN §3): environment variables for the
//! Lambda functions, flags (falling back to the same variables) for `enrich-logs`. A bad value stops
//! start-up with a message that names the setting, the value and what is accepted.

use std::fmt;

use crate::format::{COMBINED, COMMON, LogFormat, VHOST_COMBINED};

/// A setting's environment variable and command-line flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    pub env: &'static str,
    pub flag: &'static str,
}

impl fmt::Display for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.env, self.flag)
    }
}

pub const LOG_FORMAT: Setting = Setting {
    env: "LOG_FORMAT",
    flag: "--format",
};
pub const IP_ANONYMIZATION: Setting = Setting {
    env: "IP_ANONYMIZATION",
    flag: "--anonymize-ip",
};
pub const KEEP_ORIGINAL: Setting = Setting {
    env: "KEEP_ORIGINAL",
    flag: "--keep-original",
};
pub const TRUSTED_PROXIES: Setting = Setting {
    env: "TRUSTED_PROXIES",
    flag: "--trusted-proxies",
};
pub const GEOIP_CITY_DB: Setting = Setting {
    env: "GEOIP_CITY_DB",
    flag: "--city-db",
};
pub const GEOIP_ASN_DB: Setting = Setting {
    env: "GEOIP_ASN_DB",
    flag: "--asn-db",
};
pub const GEOIP_OPTIONAL: Setting = Setting {
    env: "GEOIP_OPTIONAL",
    flag: "--geoip-optional",
};

/// A setting whose value is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {setting} value {value:?}: {expected}")]
pub struct ConfigError {
    pub setting: Setting,
    pub value: String,
    pub expected: String,
}

impl ConfigError {
    pub fn new(setting: Setting, value: &str, expected: impl Into<String>) -> Self {
        let value = match value.char_indices().nth(100) {
            Some((cut, _)) => format!("{}…", &value[..cut]),
            None => value.to_owned(),
        };
        Self {
            setting,
            value,
            expected: expected.into(),
        }
    }
}

/// How lines are read.
#[derive(Debug, Clone)]
pub enum FormatChoice {
    /// Per line: a JSON object is a Kinesis Agent record, otherwise the first built-in that matches.
    Auto,
    KinesisAgentJson,
    /// One format for every line: a built-in by name or the user's `LogFormat` string.
    Fixed(LogFormat),
}

const FORMAT_NAMES: &str =
    "auto, common, combined, vhost_combined, kinesis-agent-json, or an Apache LogFormat string";

impl FormatChoice {
    pub fn parse(value: &str) -> Result<Self, ConfigError> {
        let builtin = |source| {
            LogFormat::compile(source)
                .map(Self::Fixed)
                .map_err(|e| ConfigError::new(LOG_FORMAT, value, e.to_string()))
        };
        match value.trim() {
            "auto" | "" => Ok(Self::Auto),
            "kinesis-agent-json" => Ok(Self::KinesisAgentJson),
            "common" => builtin(COMMON),
            "combined" => builtin(COMBINED),
            "vhost_combined" => builtin(VHOST_COMBINED),
            custom if custom.contains('%') => LogFormat::compile(custom).map(Self::Fixed).map_err(|error| {
                ConfigError::new(LOG_FORMAT, value, format!("{error}; expected {FORMAT_NAMES}"))
            }),
            _ => Err(ConfigError::new(
                LOG_FORMAT,
                value,
                format!("expected {FORMAT_NAMES}"),
            )),
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
    pub fn parse(value: &str) -> Result<Self, ConfigError> {
        match value.trim() {
            "none" | "" => Ok(Self::None),
            "truncate" => Ok(Self::Truncate),
            _ => Err(ConfigError::new(
                IP_ANONYMIZATION,
                value,
                "expected none or truncate",
            )),
        }
    }
}

pub fn parse_bool(setting: Setting, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" | "" => Ok(false),
        _ => Err(ConfigError::new(
            setting,
            value,
            "expected true or false (also 1/0, yes/no, on/off)",
        )),
    }
}

/// Everything the enrichment core needs to know, read once at start-up.
#[derive(Debug, Clone)]
pub struct EnrichmentConfig {
    pub format: FormatChoice,
    pub anonymization: IpAnonymization,
    pub keep_original: bool,
}

impl Default for EnrichmentConfig {
    fn default() -> Self {
        Self {
            format: FormatChoice::Auto,
            anonymization: IpAnonymization::None,
            keep_original: false,
        }
    }
}

impl EnrichmentConfig {
    /// Reads the settings from the environment (the Lambda functions' way).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup`, which returns a variable's value if it is set.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let format = match lookup(LOG_FORMAT.env) {
            Some(value) => FormatChoice::parse(&value)?,
            None => FormatChoice::Auto,
        };
        let anonymization = match lookup(IP_ANONYMIZATION.env) {
            Some(value) => IpAnonymization::parse(&value)?,
            None => IpAnonymization::None,
        };
        let keep_original = match lookup(KEEP_ORIGINAL.env) {
            Some(value) => parse_bool(KEEP_ORIGINAL, &value)?,
            None => false,
        };
        if let Some(value) = lookup(TRUSTED_PROXIES.env).filter(|v| !v.trim().is_empty()) {
            return Err(ConfigError::new(
                TRUSTED_PROXIES,
                &value,
                "trusted proxies are not supported yet; leave it empty",
            ));
        }
        Ok(Self {
            format,
            anonymization,
            keep_original,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn from(vars: &[(&str, &str)]) -> Result<EnrichmentConfig, ConfigError> {
        let vars: HashMap<String, String> =
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        EnrichmentConfig::from_lookup(|name| vars.get(name).cloned())
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
        ])
        .unwrap();
        assert!(matches!(config.format, FormatChoice::Fixed(_)));
        assert_eq!(config.anonymization, IpAnonymization::Truncate);
        assert!(config.keep_original);
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
                "LOG_FORMAT",
                "combinded",
                "invalid LOG_FORMAT (--format) value \"combinded\": expected auto, common, combined",
            ),
            (
                "LOG_FORMAT",
                "%h %Q",
                "invalid LOG_FORMAT (--format) value \"%h %Q\": unknown directive %Q",
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
        ];
        for (name, value, message) in cases {
            let error = from(&[(name, value)]).unwrap_err().to_string();
            assert!(error.starts_with(message), "{name}={value}: {error}");
        }
    }

    #[test]
    fn long_values_are_cut() {
        let error = from(&[("IP_ANONYMIZATION", &"x".repeat(1000))]).unwrap_err();
        assert!(error.to_string().len() < 250);
    }
}
