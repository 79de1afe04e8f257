//! Generated GeoIP databases in the GeoIP2/GeoLite2 City and ASN schemas, for tests and the demo.
//!
//! The records are whatever the caller says: this is not geographic data. The output is
//! deterministic (fixed build time), so the same entries always give the same bytes.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use ipnet::IpNet;
use mmdb_writer::Writer;
use serde::Serialize;

/// One network of a City database. `None` fields are left out of the record (partial records).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CityEntry {
    pub network: String,
    pub continent: Option<(String, String)>,
    pub country: Option<(String, String)>,
    /// Least specific first, as in GeoIP2.
    pub subdivisions: Vec<(String, String)>,
    pub city: Option<String>,
    pub postal_code: Option<String>,
    pub location: Option<(f64, f64)>,
    pub time_zone: Option<String>,
}

/// One network of an ASN database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsnEntry {
    pub network: String,
    pub number: u32,
    pub organization: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("network {0:?} is not a CIDR")]
    Network(String),
    #[error("line {line}: {reason}")]
    Source { line: usize, reason: String },
    #[error(transparent)]
    Writer(#[from] mmdb_writer::Error),
}

/// 2026-11-01T00:00:00Z, so the bytes never change between runs.
const BUILD_EPOCH_SECONDS: u64 = 1_793_491_200;

type EnglishNames = BTreeMap<&'static str, String>;

fn english(name: &str) -> EnglishNames {
    BTreeMap::from([("en", name.to_owned())])
}

#[derive(Serialize)]
struct CodeAndNames {
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iso_code: Option<String>,
    names: EnglishNames,
}

#[derive(Serialize)]
struct Names {
    names: EnglishNames,
}

#[derive(Serialize)]
struct Location {
    #[serde(skip_serializing_if = "Option::is_none")]
    latitude: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    longitude: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    time_zone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    accuracy_radius: Option<u16>,
}

#[derive(Serialize)]
struct Postal {
    code: String,
}

#[derive(Serialize)]
struct CityRecord {
    #[serde(skip_serializing_if = "Option::is_none")]
    continent: Option<CodeAndNames>,
    #[serde(skip_serializing_if = "Option::is_none")]
    country: Option<CodeAndNames>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    subdivisions: Vec<CodeAndNames>,
    #[serde(skip_serializing_if = "Option::is_none")]
    city: Option<Names>,
    #[serde(skip_serializing_if = "Option::is_none")]
    postal: Option<Postal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<Location>,
}

#[derive(Serialize)]
struct AsnRecord {
    autonomous_system_number: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    autonomous_system_organization: Option<String>,
}

fn writer(database_type: &str, description: &str) -> Writer {
    Writer::builder(database_type)
        .description(&[("en", description)])
        .build_epoch(SystemTime::UNIX_EPOCH + Duration::from_secs(BUILD_EPOCH_SECONDS))
        .build()
}

fn network(text: &str) -> Result<IpNet, Error> {
    text.parse().map_err(|_| Error::Network(text.to_owned()))
}

/// A City database (`database_type` e.g. `GeoLite2-City`) holding `entries`.
pub fn city_database(
    database_type: &str,
    description: &str,
    entries: &[CityEntry],
) -> Result<Vec<u8>, Error> {
    let mut writer = writer(database_type, description);
    for entry in entries {
        let code_and_name = |(code, name): &(String, String), as_iso: bool| CodeAndNames {
            code: (!as_iso).then(|| code.clone()),
            iso_code: as_iso.then(|| code.clone()),
            names: english(name),
        };
        let record = CityRecord {
            continent: entry.continent.as_ref().map(|c| code_and_name(c, false)),
            country: entry.country.as_ref().map(|c| code_and_name(c, true)),
            subdivisions: entry.subdivisions.iter().map(|s| code_and_name(s, true)).collect(),
            city: entry.city.as_ref().map(|name| Names { names: english(name) }),
            postal: entry.postal_code.as_ref().map(|code| Postal { code: code.clone() }),
            location: (entry.location.is_some() || entry.time_zone.is_some()).then(|| Location {
                latitude: entry.location.map(|(lat, _)| lat),
                longitude: entry.location.map(|(_, lon)| lon),
                time_zone: entry.time_zone.clone(),
                accuracy_radius: entry.location.map(|_| 20),
            }),
        };
        writer.insert(network(&entry.network)?, &record)?;
    }
    Ok(writer.to_bytes()?)
}

/// An ASN database (`database_type` e.g. `GeoLite2-ASN`) holding `entries`.
pub fn asn_database(database_type: &str, description: &str, entries: &[AsnEntry]) -> Result<Vec<u8>, Error> {
    let mut writer = writer(database_type, description);
    for entry in entries {
        let record = AsnRecord {
            autonomous_system_number: entry.number,
            autonomous_system_organization: entry.organization.clone(),
        };
        writer.insert(network(&entry.network)?, &record)?;
    }
    Ok(writer.to_bytes()?)
}

/// Reads the demo source (geoip/demo/networks.tsv): tab-separated columns
/// `network, continent_code, continent_name, country_iso_code, country_name, subdivision_iso_code,
/// subdivision_name, city_name, postal_code, latitude, longitude, time_zone, asn, as_organization`;
/// an empty or missing trailing column is an absent value, `#` starts a comment line.
pub fn parse_demo_source(text: &str) -> Result<(Vec<CityEntry>, Vec<AsnEntry>), Error> {
    let mut cities = Vec::new();
    let mut asns = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line_number = index + 1;
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let mut columns: Vec<&str> = line.split('\t').map(str::trim).collect();
        let error = |reason: String| Error::Source { line: line_number, reason };
        if columns.len() > 14 {
            return Err(error(format!("expected at most 14 tab-separated columns, found {}", columns.len())));
        }
        // Trailing columns may be left out: they are empty.
        columns.resize(14, "");
        let text = |i: usize| (!columns[i].is_empty()).then(|| columns[i].to_owned());
        let pair = |code: usize, name: usize| text(code).zip(text(name));
        let number = |i: usize| -> Result<Option<f64>, Error> {
            text(i)
                .map(|v| {
                    v.parse::<f64>().map_err(|_| error(format!("column {} is not a number: {v:?}", i + 1)))
                })
                .transpose()
        };
        network(columns[0])?;
        cities.push(CityEntry {
            network: columns[0].to_owned(),
            continent: pair(1, 2),
            country: pair(3, 4),
            subdivisions: pair(5, 6).into_iter().collect(),
            city: text(7),
            postal_code: text(8),
            location: number(9)?.zip(number(10)?),
            time_zone: text(11),
        });
        if let Some(asn) = text(12) {
            let number = asn.parse().map_err(|_| error(format!("asn is not a number: {asn:?}")))?;
            asns.push(AsnEntry { network: columns[0].to_owned(), number, organization: text(13) });
        }
    }
    Ok((cities, asns))
}

/// The demo source shipped with the repository (geoip/demo/networks.tsv).
pub const DEMO_SOURCE: &str = include_str!("../../demo/networks.tsv");
/// Says what the demo databases are, in their metadata.
pub const DEMO_DESCRIPTION: &str =
    "DEMO DATA, NOT REAL: generated from geoip/demo/networks.tsv for the sample log";

/// The demo City and ASN databases (`Demo-City`, `Demo-ASN`) built from `source`.
pub fn demo_databases(source: &str) -> Result<(Vec<u8>, Vec<u8>), Error> {
    let (cities, asns) = parse_demo_source(source)?;
    Ok((
        city_database("Demo-City", DEMO_DESCRIPTION, &cities)?,
        asn_database("Demo-ASN", DEMO_DESCRIPTION, &asns)?,
    ))
}

pub mod bench;
