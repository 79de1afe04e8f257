//! The GeoIP databases the settings name: opened once at start-up ([`open_geoip`]), and how old
//! each one is ([`database_ages`]), which the functions log and write as metrics and `enrich-logs
//! --stats` prints.

use std::fmt;
use std::path::Path;

use geoip::{Database, DatabaseKind, GeoIp, GeoIpError};

use crate::parse::Timestamp;
use crate::settings::{
    DEFAULT_ASN_DB, DEFAULT_CITY_DB, GEOIP_ASN_DB, GEOIP_CITY_DB, GEOIP_OPTIONAL, GeoIpSettings, Setting,
};

/// A GeoIP database that cannot be used, with the setting that pointed at it.
#[derive(Debug, thiserror::Error)]
#[error("{setting}: {source}")]
pub struct GeoIpSetupError {
    pub setting: Setting,
    pub source: GeoIpError,
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
    pub kind: DatabaseKind,
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
            self.kind.name(),
            self.database_type,
            built.year,
            built.month,
            built.day,
            self.age_days
        )
    }
}

/// The ages of the opened databases at `now`, City first.
pub fn database_ages(geoip: Option<&GeoIp>, now: Timestamp) -> Vec<DatabaseAge> {
    let Some(geoip) = geoip else { return Vec::new() };
    [(DatabaseKind::City, geoip.city()), (DatabaseKind::Asn, geoip.asn())]
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
    use super::*;

    #[test]
    fn database_ages_come_from_the_build_time_in_the_metadata() {
        let geoip = test_support::demo_geoip();
        // The demo databases are built 2026-11-01T00:00:00Z.
        let built = Timestamp::from_unix_millis(1_793_491_200_000).unwrap();
        let now = built.plus_seconds(9 * 86_400 + 43_200).unwrap();
        let ages = database_ages(Some(&geoip), now);
        assert_eq!(
            ages.iter().map(|age| age.kind).collect::<Vec<_>>(),
            [DatabaseKind::City, DatabaseKind::Asn]
        );
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
