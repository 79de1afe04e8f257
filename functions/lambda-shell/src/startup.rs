//! The one start-up path of every function, before the first invocation: the settings every
//! function reads, the GeoIP databases opened once, their warnings and ages logged, the ages'
//! EMF line written, then the function's own constructor, which gets all of that ([`Startup`])
//! and reads its own settings from the same environment.

use enrichment::databases::{DatabaseAge, GeoIpSetupError, database_ages, open_geoip};
use enrichment::settings::SettingError;
use enrichment::{Enricher, Timestamp};
use geoip::DatabaseKind;

use crate::emf::{MetricsTarget, Unit};
use crate::settings::Settings;

/// A problem with the configuration of a function: it does not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Setting(#[from] SettingError),
    #[error(transparent)]
    GeoIp(#[from] GeoIpSetupError),
}

/// What a function's constructor gets.
pub struct Startup<'a> {
    /// The enrichment core, built from the enrichment settings and the opened databases.
    pub enricher: Enricher,
    /// `MAX_DECOMPRESSED_BYTES`, for the functions that decode records.
    pub max_decompressed_bytes: usize,
    /// The environment, for the settings only this function reads.
    pub environment: &'a dyn Fn(&str) -> Option<String>,
}

impl std::fmt::Debug for Startup<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Startup")
            .field("enricher", &self.enricher)
            .field("max_decompressed_bytes", &self.max_decompressed_bytes)
            .finish_non_exhaustive()
    }
}

/// A function ready to serve: its handler, and where its metrics go.
#[derive(Debug)]
pub struct Function<H> {
    pub handler: H,
    pub metrics: MetricsTarget,
}

/// Starts the function from this environment's variables (see [`start_with`]). Freed memory is
/// kept for the next invocation from here on ([`crate::memory`]).
pub fn start<H>(
    build: impl FnOnce(Startup<'_>) -> Result<H, StartupError>,
) -> Result<Function<H>, StartupError> {
    crate::memory::keep_freed_memory();
    start_with(&|name: &str| std::env::var(name).ok(), build)
}

/// Reads the settings through `environment`, opens the GeoIP databases and builds the handler
/// with `build`. Warnings are logged (WARN); a configuration error is logged at ERROR and
/// returned, which stops the function. Once the handler is built, the databases' ages are logged
/// (INFO) and written as EMF metrics, once per execution environment.
pub fn start_with<H>(
    environment: &dyn Fn(&str) -> Option<String>,
    build: impl FnOnce(Startup<'_>) -> Result<H, StartupError>,
) -> Result<Function<H>, StartupError> {
    let (function, ages, now) = open(environment, build).inspect_err(|error| {
        tracing::error!(%error, "configuration error: the function cannot start");
    })?;
    for age in &ages {
        tracing::info!("{age}");
    }
    if let Some(line) = database_age_metrics(&function.metrics, &ages, now) {
        println!("{line}");
    }
    Ok(function)
}

fn open<H>(
    environment: &dyn Fn(&str) -> Option<String>,
    build: impl FnOnce(Startup<'_>) -> Result<H, StartupError>,
) -> Result<(Function<H>, Vec<DatabaseAge>, Timestamp), StartupError> {
    let settings = Settings::from_lookup(environment)?;
    let opened = open_geoip(&settings.geoip)?;
    for warning in &opened.warnings {
        tracing::warn!("{warning}");
    }
    let now = Timestamp::now();
    let ages = database_ages(opened.geoip.as_ref(), now);
    let startup = Startup {
        enricher: Enricher::new(settings.enrichment, opened.geoip),
        max_decompressed_bytes: settings.max_decompressed_bytes,
        environment,
    };
    let handler = build(startup)?;
    Ok((Function { handler, metrics: settings.metrics }, ages, now))
}

/// The EMF line of the databases' ages (`GeoIpCityDatabaseAgeDays`, `GeoIpAsnDatabaseAgeDays`),
/// if there is a database.
fn database_age_metrics(target: &MetricsTarget, ages: &[DatabaseAge], now: Timestamp) -> Option<String> {
    let metrics: Vec<(&'static str, f64, Unit)> = ages
        .iter()
        .map(|age| {
            let name = match age.kind {
                DatabaseKind::City => "GeoIpCityDatabaseAgeDays",
                DatabaseKind::Asn => "GeoIpAsnDatabaseAgeDays",
            };
            (name, age.age_days, Unit::None)
        })
        .collect();
    (!metrics.is_empty()).then(|| target.line(now.unix_millis(), &metrics))
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    #[test]
    fn database_ages_are_one_emf_line_and_none_without_databases() {
        let target =
            MetricsTarget { namespace: "WeblogEnrichment".into(), function_name: "kinesis-enricher".into() };
        let now = Timestamp::from_unix_millis(1_795_000_000_000).unwrap();
        assert_eq!(database_age_metrics(&target, &[], now), None);
        let age = |kind: DatabaseKind, age_days| DatabaseAge {
            kind,
            database_type: format!("GeoLite2-{}", kind.name()),
            built: now,
            age_days,
        };
        let ages = [age(DatabaseKind::City, 2.5), age(DatabaseKind::Asn, 3.0)];
        let line = database_age_metrics(&target, &ages, now).unwrap();
        let line: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            (line["GeoIpCityDatabaseAgeDays"].as_f64(), line["GeoIpAsnDatabaseAgeDays"].as_f64()),
            (Some(2.5), Some(3.0))
        );
        assert_eq!(line["_aws"]["Timestamp"], 1_795_000_000_000_i64);
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Metrics"],
            json!([{"Name": "GeoIpCityDatabaseAgeDays", "Unit": "None"}, {"Name": "GeoIpAsnDatabaseAgeDays", "Unit": "None"}])
        );
        assert_eq!(line["FunctionName"], "kinesis-enricher");
    }

    fn environment<'a>(variables: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        |name| variables.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned())
    }

    #[test]
    fn the_constructor_gets_the_core_the_cap_and_the_environment() {
        let test_support::DemoDatabaseFiles(city, asn, _dir) = test_support::demo_database_files("startup");
        let variables = [
            ("GEOIP_CITY_DB", city.to_str().unwrap()),
            ("GEOIP_ASN_DB", asn.to_str().unwrap()),
            ("MAX_DECOMPRESSED_BYTES", "65536"),
            ("AWS_LAMBDA_FUNCTION_NAME", "weblogs-kinesis"),
            ("OWN_SETTING", "mine"),
        ];
        let function = start_with(&environment(&variables), |startup| {
            assert!(
                startup.enricher.geoip().is_some_and(|geoip| geoip.city().is_some() && geoip.asn().is_some())
            );
            assert_eq!(startup.max_decompressed_bytes, 65_536);
            Ok((startup.environment)("OWN_SETTING"))
        })
        .unwrap();
        assert_eq!(function.handler.as_deref(), Some("mine"));
        assert_eq!(function.metrics.function_name, "weblogs-kinesis");
    }

    #[test]
    fn a_bad_setting_or_database_stops_before_the_constructor() {
        let cases: [&[(&str, &str)]; 3] = [
            &[("LOG_FORMAT", "combinded"), ("GEOIP_OPTIONAL", "true")],
            &[("GEOIP_CITY_DB", "/nonexistent/City.mmdb")],
            &[
                ("GEOIP_CITY_DB", "/nonexistent/City.mmdb"),
                ("GEOIP_OPTIONAL", "true"),
                ("GEOIP_ASN_DB", "/nonexistent/ASN.mmdb"),
            ],
        ];
        for variables in cases {
            let error = start_with(&environment(variables), |_| -> Result<(), StartupError> {
                panic!("built despite {variables:?}")
            })
            .unwrap_err();
            let named = variables.iter().any(|(name, value)| {
                let text = error.to_string();
                text.contains(name) && (text.contains(value) || name.starts_with("GEOIP"))
            });
            assert!(named, "{variables:?}: {error}");
        }
        // The constructor's own error stops the function too.
        let own = start_with(
            &environment(&[("GEOIP_OPTIONAL", "true"), ("GEOIP_CITY_DB", "/nonexistent/City.mmdb")]),
            |_| {
                Err::<(), _>(StartupError::Setting(SettingError::new(
                    enrichment::settings::Setting { env: "OWN_SETTING", flag: "" },
                    "x",
                    "y",
                )))
            },
        );
        assert!(own.unwrap_err().to_string().contains("OWN_SETTING"));
    }
}
