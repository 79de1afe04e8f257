//! Lookups against City and ASN databases generated here (geoip-testdata), IPv4 and IPv6.
#![allow(clippy::unwrap_used)] // a test that cannot build its fixtures should stop right there

use std::net::IpAddr;
use std::path::Path;

use geoip::{AsInfo, Database, DatabaseKind, GeoIp, GeoIpError, Location, Lookup};
use geoip_testdata::{AsnEntry, CityEntry, asn_database, city_database};

fn pair(code: &str, name: &str) -> Option<(String, String)> {
    Some((code.to_owned(), name.to_owned()))
}

fn city_entries() -> Vec<CityEntry> {
    vec![
        CityEntry {
            network: "81.2.69.128/26".into(),
            continent: pair("EU", "Europe"),
            country: pair("GB", "United Kingdom"),
            subdivisions: vec![("ENG".into(), "England".into()), ("WBK".into(), "West Berkshire".into())],
            city: Some("Boxford".into()),
            postal_code: Some("OX1".into()),
            location: Some((51.75, -1.25)),
            time_zone: Some("Europe/London".into()),
        },
        CityEntry {
            network: "2a02:cf40::/29".into(),
            continent: pair("EU", "Europe"),
            country: pair("NO", "Norway"),
            subdivisions: vec![("03".into(), "Oslo".into())],
            city: Some("Oslo".into()),
            postal_code: None,
            location: Some((59.9127, 10.7461)),
            time_zone: Some("Europe/Oslo".into()),
        },
        // Partial records: country only, and a time zone without coordinates.
        CityEntry {
            network: "89.160.20.128/25".into(),
            country: pair("SE", "Sweden"),
            ..CityEntry::default()
        },
        CityEntry {
            network: "2001:480::/32".into(),
            continent: pair("NA", "North America"),
            time_zone: Some("America/Chicago".into()),
            ..CityEntry::default()
        },
    ]
}

fn asn_entries() -> Vec<AsnEntry> {
    vec![
        AsnEntry {
            network: "81.2.69.0/24".into(),
            number: 20712,
            organization: Some("Andrews & Arnold Ltd".into()),
        },
        AsnEntry {
            network: "89.160.20.0/24".into(),
            number: 29518,
            organization: Some("Bredband2 AB".into()),
        },
        AsnEntry { network: "2001:480::/32".into(), number: 668, organization: None },
        // An address the City database does not know.
        AsnEntry {
            network: "50.114.0.0/16".into(),
            number: 23352,
            organization: Some("Server Central".into()),
        },
    ]
}

fn geoip(with_asn: bool) -> GeoIp {
    let city = city_database("GeoLite2-City", "test", &city_entries()).unwrap();
    let city = Database::from_bytes(city, Path::new("city.mmdb"), DatabaseKind::City).unwrap();
    let asn = with_asn.then(|| {
        let asn = asn_database("GeoLite2-ASN", "test", &asn_entries()).unwrap();
        Database::from_bytes(asn, Path::new("asn.mmdb"), DatabaseKind::Asn).unwrap()
    });
    GeoIp::new(Some(city), asn)
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

#[test]
fn full_record_ipv4_with_most_specific_subdivision() {
    let db = geoip(true);
    let Lookup { location, as_info, city_record_missing } = db.lookup(ip("81.2.69.142")).unwrap();
    assert!(!city_record_missing);
    assert_eq!(
        location.unwrap(),
        Location {
            continent_code: Some("EU"),
            continent_name: Some("Europe"),
            country_iso_code: Some("GB"),
            country_name: Some("United Kingdom"),
            subdivision_iso_code: Some("WBK"),
            region_name: Some("West Berkshire"),
            city_name: Some("Boxford"),
            postal_code: Some("OX1"),
            timezone: Some("Europe/London"),
            coordinates: Some((51.75, -1.25)),
        }
    );
    assert_eq!(as_info, Some(AsInfo { number: Some(20712), organization: Some("Andrews & Arnold Ltd") }));
}

#[test]
fn full_record_ipv6_and_ipv4_mapped() {
    let db = geoip(true);
    let Lookup { location, as_info, .. } = db.lookup(ip("2a02:cf40::1")).unwrap();
    let location = location.unwrap();
    assert_eq!(location.city_name, Some("Oslo"));
    assert_eq!(location.coordinates, Some((59.9127, 10.7461)));
    assert_eq!(as_info, None);
    assert_eq!(db.lookup(ip("::ffff:81.2.69.142")), db.lookup(ip("81.2.69.142")));
}

#[test]
fn partial_records() {
    let db = geoip(true);
    let Lookup { location, as_info, .. } = db.lookup(ip("89.160.20.130")).unwrap();
    let sweden =
        Location { country_iso_code: Some("SE"), country_name: Some("Sweden"), ..Location::default() };
    assert_eq!(location.unwrap(), sweden);
    assert_eq!(as_info.unwrap().number, Some(29518));

    let Lookup { location, as_info, .. } = db.lookup(ip("2001:480::52")).unwrap();
    let location = location.unwrap();
    assert_eq!(location.coordinates, None, "no coordinates without both latitude and longitude");
    assert_eq!(location.timezone, Some("America/Chicago"));
    assert_eq!(as_info, Some(AsInfo { number: Some(668), organization: None }));
}

#[test]
fn missing_records() {
    let db = geoip(true);
    let missing = Lookup { location: None, as_info: None, city_record_missing: true };
    assert_eq!(db.lookup(ip("8.8.8.8")), Some(missing.clone()));
    assert_eq!(db.lookup(ip("2600::1")), Some(missing.clone()));
    let as_info = Some(AsInfo { number: Some(23352), organization: Some("Server Central") });
    assert_eq!(db.lookup(ip("50.114.0.7")), Some(Lookup { as_info, ..missing.clone() }));
    assert_eq!(geoip(false).lookup(ip("50.114.0.7")), Some(missing));
}

#[test]
fn asn_only() {
    let asn = asn_database("GeoLite2-ASN", "test", &asn_entries()).unwrap();
    let asn = Database::from_bytes(asn, Path::new("asn.mmdb"), DatabaseKind::Asn).unwrap();
    let db = GeoIp::new(None, Some(asn));
    let lookup = db.lookup(ip("81.2.69.142")).unwrap();
    assert_eq!(lookup.as_info.unwrap().number, Some(20712));
    assert!(lookup.location.is_none());
    assert!(!lookup.city_record_missing, "no City database: nothing to miss");
}

#[test]
fn non_global_addresses_are_not_looked_up() {
    let db = geoip(true);
    for address in [
        "10.20.30.40",
        "192.168.1.23",
        "127.0.0.1",
        "::1",
        "fe80::1",
        "fd12::1",
        "2001:db8::1",
        "::ffff:192.168.0.1",
    ] {
        assert_eq!(db.lookup(ip(address)), None, "{address}");
    }
}

#[test]
fn records_of_a_network_share_one_offset() {
    let db = geoip(false);
    let city_record = |address: &str| db.find(ip(address)).and_then(|found| found.city).map(|r| r.offset());
    let first = city_record("81.2.69.129");
    assert!(first.is_some());
    assert_eq!(city_record("81.2.69.190"), first);
    assert_ne!(city_record("89.160.20.130"), first);
    assert_eq!(city_record("8.8.8.8"), None);
    assert!(db.find(ip("10.0.0.1")).is_none(), "private addresses are not looked up");
}

#[test]
fn wrong_or_broken_files_name_the_path_and_what_was_found() {
    let asn = asn_database("GeoLite2-ASN", "test", &asn_entries()).unwrap();
    let error = Database::from_bytes(asn, Path::new("/opt/geoip/GeoLite2-City.mmdb"), DatabaseKind::City)
        .unwrap_err();
    assert!(matches!(error, GeoIpError::WrongKind { .. }));
    assert_eq!(
        error.to_string(),
        "/opt/geoip/GeoLite2-City.mmdb is a \"GeoLite2-ASN\" database, expected a City database (GeoLite2-City, GeoIP2-City, DB-IP City Lite)"
    );

    let city = city_database("GeoLite2-City", "test", &city_entries()).unwrap();
    let error = Database::from_bytes(city, Path::new("asn.mmdb"), DatabaseKind::Asn).unwrap_err();
    assert!(
        error.to_string().starts_with("asn.mmdb is a \"GeoLite2-City\" database, expected an ASN database")
    );

    let error = Database::from_bytes(b"not a database".to_vec(), Path::new("x.mmdb"), DatabaseKind::City)
        .unwrap_err();
    assert!(error.to_string().starts_with("x.mmdb is not a MaxMind DB file: "), "{error}");

    let error = Database::open(Path::new("/nonexistent/GeoLite2-City.mmdb"), DatabaseKind::City).unwrap_err();
    assert!(
        error.to_string().starts_with("cannot open GeoIP database /nonexistent/GeoLite2-City.mmdb: "),
        "{error}"
    );
}

#[test]
fn opens_by_memory_map_and_accepts_other_city_vendors() {
    let dir = std::env::temp_dir().join(format!("geoip-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for database_type in ["GeoIP2-City", "DBIP-City-Lite", "GeoIP2-Enterprise"] {
        let path = dir.join(format!("{database_type}.mmdb"));
        std::fs::write(&path, city_database(database_type, "test", &city_entries()).unwrap()).unwrap();
        let db = Database::open(&path, DatabaseKind::City).unwrap();
        assert_eq!(db.database_type(), database_type);
        let geoip = GeoIp::new(Some(db), None);
        assert!(geoip.lookup(ip("81.2.69.142")).unwrap().location.is_some());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
