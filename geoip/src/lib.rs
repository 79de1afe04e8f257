//! GeoIP City and ASN lookups: the only code in the workspace that touches `maxminddb`.
//!
//! Databases are memory-mapped once at start-up and never decoded eagerly. A lookup decodes only
//! the fields the document needs (English names, codes, location, time zone, AS number and
//! organisation), borrowing the strings from the map.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use maxminddb::Reader;
use serde::Deserialize;

/// Where a database's bytes live.
#[derive(Debug)]
pub enum Source {
    Mapped(maxminddb::Mmap),
    InMemory(Vec<u8>),
}

impl AsRef<[u8]> for Source {
    fn as_ref(&self) -> &[u8] {
        match self {
            Self::Mapped(map) => map,
            Self::InMemory(bytes) => bytes,
        }
    }
}

/// What a database must be: the City schema or the ASN schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseKind {
    City,
    Asn,
}

impl DatabaseKind {
    /// `City` or `ASN`, as people name the two databases.
    pub fn name(self) -> &'static str {
        match self {
            Self::City => "City",
            Self::Asn => "ASN",
        }
    }

    /// GeoIP2/GeoLite2/DB-IP City (and Enterprise, a superset), or GeoLite2/DB-IP ASN (and ISP).
    fn accepts(self, database_type: &str) -> bool {
        let database_type = database_type.to_ascii_lowercase();
        match self {
            Self::City => database_type.contains("city") || database_type.contains("enterprise"),
            Self::Asn => database_type.contains("asn") || database_type.contains("isp"),
        }
    }

    fn expected(self) -> &'static str {
        match self {
            Self::City => "a City database (GeoLite2-City, GeoIP2-City, DB-IP City Lite)",
            Self::Asn => "an ASN database (GeoLite2-ASN, DB-IP ASN Lite)",
        }
    }
}

/// A database that cannot be used. Each names the file and what was wrong with it.
#[derive(Debug, thiserror::Error)]
pub enum GeoIpError {
    #[error("cannot open GeoIP database {path}: {source}")]
    Open { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a MaxMind DB file: {reason}")]
    NotMaxMind { path: PathBuf, reason: String },
    #[error("{path} is a {found:?} database, expected {expected}")]
    WrongKind { path: PathBuf, found: String, expected: &'static str },
}

/// One opened, validated database.
#[derive(Debug)]
pub struct Database {
    reader: Reader<Source>,
}

impl Database {
    /// Memory-maps the file at `path` and checks that it is a database of `kind`.
    pub fn open(path: &Path, kind: DatabaseKind) -> Result<Self, GeoIpError> {
        let file =
            std::fs::File::open(path).map_err(|source| GeoIpError::Open { path: path.to_owned(), source })?;
        // SAFETY: the map is read-only and the databases are replaced by deploying a new Lambda
        // layer (or file), never truncated in place while a process has them open; that is the
        // contract memory-mapped MaxMind readers rely on everywhere.
        #[allow(unsafe_code)]
        let map = unsafe { maxminddb::Mmap::map(&file) }
            .map_err(|source| GeoIpError::Open { path: path.to_owned(), source })?;
        Self::from_source(Source::Mapped(map), path, kind)
    }

    /// A database held in memory (tests); `label` stands for the path in error messages.
    pub fn from_bytes(bytes: Vec<u8>, label: &Path, kind: DatabaseKind) -> Result<Self, GeoIpError> {
        Self::from_source(Source::InMemory(bytes), label, kind)
    }

    fn from_source(source: Source, path: &Path, kind: DatabaseKind) -> Result<Self, GeoIpError> {
        let reader = Reader::from_source(source)
            .map_err(|error| GeoIpError::NotMaxMind { path: path.to_owned(), reason: error.to_string() })?;
        let found = &reader.metadata().database_type;
        if !kind.accepts(found) {
            return Err(GeoIpError::WrongKind {
                path: path.to_owned(),
                found: found.clone(),
                expected: kind.expected(),
            });
        }
        Ok(Self { reader })
    }

    /// The `database_type` from the file's metadata (`GeoLite2-City`, ...).
    pub fn database_type(&self) -> &str {
        &self.reader.metadata().database_type
    }

    /// The English description from the metadata, if any.
    pub fn description(&self) -> Option<&str> {
        self.reader.metadata().description.get("en").map(String::as_str)
    }

    /// When the database was built, in seconds since the epoch (the metadata's `build_epoch`).
    pub fn build_epoch(&self) -> u64 {
        self.reader.metadata().build_epoch
    }
}

/// The City and ASN databases; either may be missing.
#[derive(Debug)]
pub struct GeoIp {
    city: Option<Database>,
    asn: Option<Database>,
}

/// What the databases know about one global address.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lookup<'a> {
    pub location: Option<Location<'a>>,
    pub as_info: Option<AsInfo<'a>>,
    /// There is a City database and it has no record for the address (`_geoip_lookup_failure`).
    pub city_record_missing: bool,
}

/// The `source.geo.*` fields. Every field may be absent (partial records).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Location<'a> {
    pub continent_code: Option<&'a str>,
    pub continent_name: Option<&'a str>,
    pub country_iso_code: Option<&'a str>,
    pub country_name: Option<&'a str>,
    /// The most specific subdivision's ISO code (`WA`); ECS's `region_iso_code` is `US-WA`.
    pub subdivision_iso_code: Option<&'a str>,
    pub region_name: Option<&'a str>,
    pub city_name: Option<&'a str>,
    pub postal_code: Option<&'a str>,
    pub timezone: Option<&'a str>,
    /// `(lat, lon)`, only when both are known.
    pub coordinates: Option<(f64, f64)>,
}

/// The `source.as.*` fields.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AsInfo<'a> {
    pub number: Option<u32>,
    pub organization: Option<&'a str>,
}

impl GeoIp {
    pub fn new(city: Option<Database>, asn: Option<Database>) -> Self {
        Self { city, asn }
    }

    pub fn city(&self) -> Option<&Database> {
        self.city.as_ref()
    }

    pub fn asn(&self) -> Option<&Database> {
        self.asn.as_ref()
    }

    /// Looks `ip` up in both databases; `None` for private, loopback, link-local, documentation
    /// and other non-global addresses, which are not looked up. A record that cannot be decoded
    /// counts as no record.
    pub fn lookup(&self, ip: IpAddr) -> Option<Lookup<'_>> {
        let found = self.find(ip)?;
        let location = found.city.as_ref().and_then(RecordRef::location);
        Some(Lookup {
            city_record_missing: self.city.is_some() && location.is_none(),
            location,
            as_info: found.asn.as_ref().and_then(RecordRef::as_info),
        })
    }

    /// Walks both databases' trees for `ip` without decoding anything: the records found, each
    /// identified by its offset, so a caller can keep what it made of a record and skip decoding
    /// it again (every address of a network, and often many networks, share one record).
    /// `None` for addresses that are not looked up (see [`GeoIp::lookup`]).
    pub fn find(&self, ip: IpAddr) -> Option<Found<'_>> {
        let ip = ip.to_canonical();
        if !is_global(ip) {
            return None;
        }
        fn record(db: Option<&Database>, ip: IpAddr) -> Option<RecordRef<'_>> {
            let result = db?.reader.lookup(ip).ok()?;
            Some(RecordRef { offset: result.offset()?, result })
        }
        Some(Found { city: record(self.city.as_ref(), ip), asn: record(self.asn.as_ref(), ip) })
    }
}

/// The records [`GeoIp::find`] found for one address.
#[derive(Debug)]
pub struct Found<'a> {
    pub city: Option<RecordRef<'a>>,
    pub asn: Option<RecordRef<'a>>,
}

/// A record in a database, not yet decoded.
#[derive(Debug)]
pub struct RecordRef<'a> {
    offset: usize,
    result: maxminddb::LookupResult<'a, Source>,
}

impl<'a> RecordRef<'a> {
    /// Where the record starts in the data section: equal offsets are the same record.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The `source.geo.*` fields of a City record; `None` if it cannot be decoded.
    pub fn location(&self) -> Option<Location<'a>> {
        let record: CityRecord<'a> = self.result.decode().ok()??;
        Some(location_of(&record))
    }

    /// The `source.as.*` fields of an ASN record; `None` if it cannot be decoded or is empty.
    pub fn as_info(&self) -> Option<AsInfo<'a>> {
        let record: AsnRecord<'a> = self.result.decode().ok()??;
        let info = AsInfo {
            number: record.autonomous_system_number,
            organization: record.autonomous_system_organization,
        };
        (info != AsInfo::default()).then_some(info)
    }
}

#[derive(Deserialize, Default)]
struct EnglishName<'a> {
    #[serde(borrow, default)]
    en: Option<&'a str>,
}

#[derive(Deserialize, Default)]
struct CodedPlace<'a> {
    #[serde(borrow, default)]
    code: Option<&'a str>,
    #[serde(borrow, default)]
    iso_code: Option<&'a str>,
    #[serde(borrow, default)]
    names: EnglishName<'a>,
}

#[derive(Deserialize, Default)]
struct RecordLocation<'a> {
    #[serde(default)]
    latitude: Option<f64>,
    #[serde(default)]
    longitude: Option<f64>,
    #[serde(borrow, default)]
    time_zone: Option<&'a str>,
}

#[derive(Deserialize, Default)]
struct RecordPostal<'a> {
    #[serde(borrow, default)]
    code: Option<&'a str>,
}

/// The part of a GeoIP2 City record the document uses; the rest is skipped undecoded.
#[derive(Deserialize)]
struct CityRecord<'a> {
    #[serde(borrow, default)]
    continent: CodedPlace<'a>,
    #[serde(borrow, default)]
    country: CodedPlace<'a>,
    #[serde(borrow, default)]
    subdivisions: Vec<CodedPlace<'a>>,
    #[serde(borrow, default)]
    city: CodedPlace<'a>,
    #[serde(borrow, default)]
    postal: RecordPostal<'a>,
    #[serde(borrow, default)]
    location: RecordLocation<'a>,
}

#[derive(Deserialize)]
struct AsnRecord<'a> {
    #[serde(default)]
    autonomous_system_number: Option<u32>,
    #[serde(borrow, default)]
    autonomous_system_organization: Option<&'a str>,
}

fn location_of<'a>(record: &CityRecord<'a>) -> Location<'a> {
    let most_specific = record.subdivisions.last();
    let coordinates = match (record.location.latitude, record.location.longitude) {
        (Some(lat), Some(lon)) if lat.is_finite() && lon.is_finite() => Some((lat, lon)),
        _ => None,
    };
    Location {
        continent_code: record.continent.code,
        continent_name: record.continent.names.en,
        country_iso_code: record.country.iso_code,
        country_name: record.country.names.en,
        subdivision_iso_code: most_specific.and_then(|s| s.iso_code),
        region_name: most_specific.and_then(|s| s.names.en),
        city_name: record.city.names.en,
        postal_code: record.postal.code,
        timezone: record.location.time_zone,
        coordinates,
    }
}

/// Whether `ip` can be routed on the internet, so that a GeoIP lookup means something.
pub fn is_global(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => is_global_v4(v4),
        IpAddr::V6(v6) => is_global_v6(v6),
    }
}

fn is_global_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_documentation()
        || ip.is_multicast()
        || ip.is_broadcast()
        || a == 0 // "this network"
        || (a == 100 && (b & 0xc0) == 64) // 100.64.0.0/10 carrier-grade NAT
        || (a == 192 && b == 0 && c == 0) // 192.0.0.0/24 IETF protocol assignments
        || (a == 198 && (b & 0xfe) == 18) // 198.18.0.0/15 benchmarking
        || a >= 240) // 240.0.0.0/4 reserved
}

fn is_global_v6(ip: Ipv6Addr) -> bool {
    let [s0, s1, ..] = ip.segments();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || ip.is_unique_local()
        || ip.is_unicast_link_local()
        || (s0 == 0x2001 && s1 == 0x0db8) // 2001:db8::/32 documentation
        || (s0 == 0x3fff && s1 < 0x1000) // 3fff::/20 documentation
        || (s0 == 0x0100 && ip.segments()[1..4] == [0, 0, 0]) // 100::/64 discard
        || (s0 == 0x2001 && s1 < 0x0200)) // 2001::/23 IETF protocol assignments
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_addresses() {
        let cases = [
            ("81.2.69.142", true),
            ("2a02:cf40::1", true),
            ("::ffff:81.2.69.142", true),
            ("10.20.30.40", false),
            ("172.16.0.1", false),
            ("192.168.1.23", false),
            ("127.0.0.1", false),
            ("169.254.1.1", false),
            ("100.64.0.1", false),
            ("192.0.2.44", false),
            ("198.51.100.23", false),
            ("203.0.113.9", false),
            ("198.18.0.1", false),
            ("224.0.0.1", false),
            ("255.255.255.255", false),
            ("0.0.0.0", false),
            ("::1", false),
            ("::", false),
            ("fe80::1", false),
            ("fd00::1", false),
            ("2001:db8::1", false),
            ("ff02::1", false),
            ("::ffff:10.0.0.1", false),
        ];
        for (ip, expected) in cases {
            assert_eq!(is_global(ip.parse().unwrap()), expected, "{ip}");
        }
    }
}
