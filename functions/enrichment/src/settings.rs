//! The enrichment settings, with the same names everywhere: environment variables for the Lambda
//! functions, flags (falling back to the same variables) for `enrich-logs`. Every one is read here,
//! through a `lookup` that returns a setting's value by its variable name, so the functions (the
//! environment) and the CLI (its flags) share the parsing and the messages. A bad value stops
//! start-up with a message that names the setting, the value and what is accepted.

use std::fmt;
use std::path::{Path, PathBuf};

use geoip::{Database, DatabaseKind, GeoIp, GeoIpError};

use crate::enrich::TrustedProxies;
use crate::parse::{COMBINED, COMMON, LogFormat, Timestamp, VHOST_COMBINED};

/// A setting's environment variable and command-line flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    pub env: &'static str,
    pub flag: &'static str,
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
pub const IP_ANONYMIZATION: Setting = Setting { env: "IP_ANONYMIZATION", flag: "--anonymize-ip" };
pub const KEEP_ORIGINAL: Setting = Setting { env: "KEEP_ORIGINAL", flag: "--keep-original" };
pub const TRUSTED_PROXIES: Setting = Setting { env: "TRUSTED_PROXIES", flag: "--trusted-proxies" };
pub const GEOIP_CITY_DB: Setting = Setting { env: "GEOIP_CITY_DB", flag: "--city-db" };
pub const GEOIP_ASN_DB: Setting = Setting { env: "GEOIP_ASN_DB", flag: "--asn-db" };
pub const GEOIP_OPTIONAL: Setting = Setting { env: "GEOIP_OPTIONAL", flag: "--geoip-optional" };
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
        Self { setting, value, expected: expected.into() }
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
            _ => Err(ConfigError::new(LOG_FORMAT, value, format!("expected {FORMAT_NAMES}"))),
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
            _ => Err(ConfigError::new(IP_ANONYMIZATION, value, "expected none or truncate")),
        }
    }
}

pub fn parse_bool(setting: Setting, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" | "" => Ok(false),
        _ => Err(ConfigError::new(setting, value, "expected true or false (also 1/0, yes/no, on/off)")),
    }
}

/// Everything the enrichment core needs to know, read once at start-up.
#[derive(Debug, Clone)]
pub struct EnrichmentConfig {
    pub format: FormatChoice,
    pub anonymization: IpAnonymization,
    pub keep_original: bool,
    pub trusted_proxies: TrustedProxies,
}

impl Default for EnrichmentConfig {
    fn default() -> Self {
        Self {
            format: FormatChoice::Auto,
            anonymization: IpAnonymization::None,
            keep_original: false,
            trusted_proxies: TrustedProxies::default(),
        }
    }
}

impl EnrichmentConfig {
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
        let trusted_proxies = match lookup(TRUSTED_PROXIES.env) {
            Some(value) => TrustedProxies::parse(&value)?,
            None => TrustedProxies::default(),
        };
        Ok(Self { format, anonymization, keep_original, trusted_proxies })
    }
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
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let path = |setting: Setting| lookup(setting.env).filter(|v| !v.trim().is_empty()).map(PathBuf::from);
        let optional = match lookup(GEOIP_OPTIONAL.env) {
            Some(value) => parse_bool(GEOIP_OPTIONAL, &value)?,
            None => false,
        };
        Ok(Self { city_db: path(GEOIP_CITY_DB), asn_db: path(GEOIP_ASN_DB), optional })
    }
}

/// A GeoIP database that cannot be used, with the setting that pointed at it.
#[derive(Debug, thiserror::Error)]
#[error("{setting}: {source}")]
pub struct GeoIpSetupError {
    pub setting: Setting,
    pub source: GeoIpError,
}

/// A problem with the configuration of a function: it does not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    GeoIp(#[from] GeoIpSetupError),
}

/// The opened databases, and what the caller should log about them.
#[derive(Debug)]
pub struct OpenedGeoIp {
    pub geoip: Option<GeoIp>,
    pub warnings: Vec<String>,
}

/// Opens the databases once at start-up. A City database that is missing is an error unless
/// `optional`; one that is there but unreadable or of the wrong kind is always an error. The ASN
/// database is optional at its default path and required where a path was given.
pub fn open_geoip(settings: &GeoIpSettings) -> Result<OpenedGeoIp, GeoIpSetupError> {
    let mut warnings = Vec::new();
    let city_path = settings.city_db.as_deref().unwrap_or(Path::new(DEFAULT_CITY_DB));
    let city = match Database::open(city_path, DatabaseKind::City) {
        Ok(db) => Some(db),
        Err(GeoIpError::Open { source, .. })
            if settings.optional && source.kind() == std::io::ErrorKind::NotFound =>
        {
            warnings.push(format!(
                "no City database at {} and {} is set: documents get no source.geo fields",
                city_path.display(),
                GEOIP_OPTIONAL.env
            ));
            None
        }
        Err(source) => return Err(GeoIpSetupError { setting: GEOIP_CITY_DB, source }),
    };
    let asn_path = match &settings.asn_db {
        Some(path) => Some(path.as_path()),
        None => Some(Path::new(DEFAULT_ASN_DB)).filter(|path| path.exists()),
    };
    let asn = asn_path
        .map(|path| Database::open(path, DatabaseKind::Asn))
        .transpose()
        .map_err(|source| GeoIpSetupError { setting: GEOIP_ASN_DB, source })?;
    let geoip = (city.is_some() || asn.is_some()).then(|| GeoIp::new(city, asn));
    Ok(OpenedGeoIp { geoip, warnings })
}

/// How old an opened database is, from the build time in its metadata: GeoIP data ages (MaxMind
/// rebuilds GeoLite2 twice a week, DB-IP Lite monthly), and nothing else says how old the copy in
/// use is.
#[derive(Debug, Clone, PartialEq)]
pub struct DatabaseAge {
    /// `City` or `ASN`.
    pub kind: &'static str,
    /// The metadata's `database_type`: `GeoLite2-City`, `DBIP-City-Lite`, ...
    pub database_type: String,
    pub built: Timestamp,
    /// Days from the build to now, with a fraction; 0 for a build time in the future.
    pub age_days: f64,
}

impl fmt::Display for DatabaseAge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let built = self.built.to_utc();
        write!(
            f,
            "GeoIP {} database {} built {:04}-{:02}-{:02}, {:.1} days ago",
            self.kind, self.database_type, built.year, built.month, built.day, self.age_days
        )
    }
}

/// The ages of the opened databases at `now`, City first.
pub fn database_ages(geoip: Option<&GeoIp>, now: Timestamp) -> Vec<DatabaseAge> {
    let Some(geoip) = geoip else { return Vec::new() };
    [("City", geoip.city()), ("ASN", geoip.asn())]
        .into_iter()
        .filter_map(|(kind, database)| {
            let database = database?;
            let built_millis =
                i64::try_from(database.build_epoch()).unwrap_or(i64::MAX / 1000).saturating_mul(1000);
            let built = Timestamp::from_unix_millis(built_millis).unwrap_or(now);
            let age_days = (now.unix_millis() - built.unix_millis()).max(0) as f64 / 86_400_000.0;
            Some(DatabaseAge { kind, database_type: database.database_type().to_owned(), built, age_days })
        })
        .collect()
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
            ("TRUSTED_PROXIES", "10.0.0.0/8, 2600:1f00::/24"),
        ])
        .unwrap();
        assert!(config.trusted_proxies.contains("10.1.1.1".parse().unwrap()));
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

    #[test]
    fn database_ages_come_from_the_build_time_in_the_metadata() {
        let geoip = test_support::demo_geoip();
        // The demo databases are built 2026-11-01T00:00:00Z.
        let built = Timestamp::from_unix_millis(1_793_491_200_000).unwrap();
        let now = built.plus_seconds(9 * 86_400 + 43_200).unwrap();
        let ages = database_ages(Some(&geoip), now);
        assert_eq!(ages.iter().map(|age| age.kind).collect::<Vec<_>>(), ["City", "ASN"]);
        assert!(ages.iter().all(|age| age.built == built && age.age_days == 9.5));
        assert_eq!(
            ages[0].to_string(),
            format!("GeoIP City database {} built 2026-11-01, 9.5 days ago", ages[0].database_type)
        );
        // A clock behind the build time: no negative age.
        let before = database_ages(Some(&geoip), built.plus_seconds(-3_600).unwrap());
        assert!(before.iter().all(|age| age.age_days == 0.0));
        assert!(database_ages(None, now).is_empty());
    }
}
