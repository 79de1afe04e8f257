//! The `source.geo` and `source.as` objects, written once per GeoIP record and then copied.
//!
//! Every address of a network, and often many networks, share one database record, identified by
//! its offset ([`geoip::RecordRef::offset`]). Decoding a City record (names, codes, coordinates)
//! costs more than the rest of the document together, so the JSON written from each record is kept
//! and a returning record costs one hash lookup and a copy. Each cache holds at most
//! [`CACHE_CAPACITY`] records and starts over when full, which bounds memory (a City fragment is
//! about 300 bytes) whatever addresses arrive. In front of them, the records of the last
//! [`ADDRESS_CAPACITY`] addresses skip the databases' tree walks for returning visitors.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use foldhash::fast::RandomState;
use geoip::{GeoIp, Location, RecordRef};

use crate::document::{ObjectWriter, schema};

pub const CACHE_CAPACITY: usize = 16_384;
/// Each address holds its records' fragments, so this also bounds what clearing the record
/// caches cannot free: at most this many distinct fragments, ~10 MB.
pub const ADDRESS_CAPACITY: usize = 32_768;

/// What the databases said about one address, as JSON fragments.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GeoFragments<'c> {
    /// The `source.geo` object; `None` when there is nothing to write.
    pub geo: Option<&'c [u8]>,
    /// The `source.as` object; `None` when there is nothing to write.
    pub as_info: Option<&'c [u8]>,
    /// There is a City database and it has no readable record for the address.
    pub city_record_missing: bool,
}

/// A record's fragment: `None` if the record could not be decoded, empty if it holds no field.
/// Shared between the record and every address that has it.
type Fragment = Option<Arc<[u8]>>;

/// What is known about one address.
#[derive(Debug)]
struct AddressEntry {
    geo: Option<Arc<[u8]>>,
    as_info: Option<Arc<[u8]>>,
    city_record_missing: bool,
}

#[derive(Debug)]
pub struct GeoCache {
    city: HashMap<usize, Fragment, RandomState>,
    asn: HashMap<usize, Fragment, RandomState>,
    addresses: HashMap<IpAddr, AddressEntry, RandomState>,
    record_capacity: usize,
    address_capacity: usize,
}

impl Default for GeoCache {
    fn default() -> Self {
        Self::with_capacities(CACHE_CAPACITY, ADDRESS_CAPACITY)
    }
}

impl GeoCache {
    pub fn new() -> Self {
        Self::default()
    }

    fn with_capacities(record_capacity: usize, address_capacity: usize) -> Self {
        Self {
            city: HashMap::default(),
            asn: HashMap::default(),
            addresses: HashMap::default(),
            record_capacity,
            address_capacity,
        }
    }

    /// The fragments for `ip`; `None` for addresses the databases are not asked about
    /// (private, loopback, documentation, ...).
    pub fn fragments(&mut self, geoip: &GeoIp, ip: IpAddr) -> Option<GeoFragments<'_>> {
        if !self.addresses.contains_key(&ip) {
            let entry = self.look_up(geoip, ip)?;
            if self.addresses.len() >= self.address_capacity {
                self.addresses.clear();
            }
            self.addresses.insert(ip, entry);
        }
        let entry = self.addresses.get(&ip)?;
        Some(GeoFragments {
            geo: entry.geo.as_deref(),
            as_info: entry.as_info.as_deref(),
            city_record_missing: entry.city_record_missing,
        })
    }

    /// Walks the databases for `ip`, writing the fragments of records not seen yet.
    fn look_up(&mut self, geoip: &GeoIp, ip: IpAddr) -> Option<AddressEntry> {
        let found = geoip.find(ip)?;
        let capacity = self.record_capacity;
        let city = found.city.as_ref().map(|record| fragment(&mut self.city, capacity, record, write_geo));
        let asn = found.asn.as_ref().map(|record| fragment(&mut self.asn, capacity, record, write_as));
        let readable_city = city.as_ref().is_some_and(Option::is_some);
        let written = |fragment: Option<Fragment>| fragment.flatten().filter(|json| !json.is_empty());
        Some(AddressEntry {
            geo: written(city),
            as_info: written(asn),
            city_record_missing: geoip.city().is_some() && !readable_city,
        })
    }

    /// Entries held right now (City records, ASN records, addresses).
    pub fn cached(&self) -> (usize, usize, usize) {
        (self.city.len(), self.asn.len(), self.addresses.len())
    }
}

/// `record`'s fragment, from `cache` or written now and kept there.
fn fragment(
    cache: &mut HashMap<usize, Fragment, RandomState>,
    capacity: usize,
    record: &RecordRef<'_>,
    write: fn(&RecordRef<'_>) -> Fragment,
) -> Fragment {
    let offset = record.offset();
    if let Some(fragment) = cache.get(&offset) {
        return fragment.clone();
    }
    if cache.len() >= capacity {
        cache.clear();
    }
    let fragment = write(record);
    cache.insert(offset, fragment.clone());
    fragment
}

/// `{…}` with the City record's fields, empty if it has none, `None` if it cannot be decoded.
fn write_geo(record: &RecordRef<'_>) -> Fragment {
    let location = record.location()?;
    Some(object(|doc| write_location(doc, &location)).into())
}

/// `{…}` with the ASN record's fields, empty if it has none, `None` if it cannot be decoded.
fn write_as(record: &RecordRef<'_>) -> Fragment {
    let Some(info) = record.as_info() else { return Some(Arc::default()) };
    Some(Arc::from(object(|doc| {
        if let Some(number) = info.number {
            doc.number(schema::NUMBER, u64::from(number));
        }
        if let Some(name) = info.organization {
            doc.open(schema::ORGANIZATION);
            doc.string(schema::NAME, name);
            doc.close();
        }
    })))
}

/// The object `write` produces, or nothing if it wrote no member.
fn object(write: impl FnOnce(&mut ObjectWriter<'_>)) -> Box<[u8]> {
    let mut out = Vec::new();
    let mut doc = ObjectWriter::new(&mut out);
    write(&mut doc);
    doc.finish();
    if out == b"{}" { Box::default() } else { out.into_boxed_slice() }
}

fn write_location(doc: &mut ObjectWriter<'_>, geo: &Location<'_>) {
    // ECS wants the country prefix: `US-WA`.
    let region_iso_code = match (geo.country_iso_code, geo.subdivision_iso_code) {
        (Some(country), Some(subdivision)) => Some(format!("{country}-{subdivision}")),
        (None, Some(subdivision)) => Some(subdivision.to_owned()),
        _ => None,
    };
    for (key, value) in [
        (schema::CONTINENT_CODE, geo.continent_code),
        (schema::CONTINENT_NAME, geo.continent_name),
        (schema::COUNTRY_ISO_CODE, geo.country_iso_code),
        (schema::COUNTRY_NAME, geo.country_name),
        (schema::REGION_ISO_CODE, region_iso_code.as_deref()),
        (schema::REGION_NAME, geo.region_name),
        (schema::CITY_NAME, geo.city_name),
        (schema::POSTAL_CODE, geo.postal_code),
        (schema::TIMEZONE, geo.timezone),
    ] {
        if let Some(value) = value {
            doc.string(key, value);
        }
    }
    if let Some((lat, lon)) = geo.coordinates {
        doc.open(schema::LOCATION);
        doc.float(schema::LAT, lat);
        doc.float(schema::LON, lon);
        doc.close();
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};
    use test_support::demo_geoip;

    use super::*;

    fn as_json(fragments: Option<GeoFragments<'_>>) -> Option<(Value, Value, bool)> {
        let parse = |json: Option<&[u8]>| json.map_or(Value::Null, |j| serde_json::from_slice(j).unwrap());
        fragments.map(|f| (parse(f.geo), parse(f.as_info), f.city_record_missing))
    }

    const ADDRESSES: [&str; 8] = [
        "81.2.69.142",
        "81.2.69.190",
        "2a02:cf40::1",
        "89.160.20.130",
        "50.114.0.7",
        "8.8.8.8",
        "10.0.0.1",
        "::1",
    ];

    #[test]
    fn fragments_hold_the_record_fields() {
        let geoip = demo_geoip();
        let mut cache = GeoCache::new();
        let (geo, as_info, missing) =
            as_json(cache.fragments(&geoip, "81.2.69.142".parse().unwrap())).unwrap();
        assert_eq!(geo["country_iso_code"], "GB");
        assert_eq!(geo["region_iso_code"], "GB-ENG");
        assert_eq!(geo["city_name"], "London");
        assert_eq!(geo["location"], json!({"lat": 51.5142, "lon": -0.0931}));
        assert_eq!(as_info, json!({"number": 20712, "organization": {"name": "Demo Andrews & Arnold"}}));
        assert!(!missing);
        let (geo, _, missing) = as_json(cache.fragments(&geoip, "50.114.0.7".parse().unwrap())).unwrap();
        assert_eq!((geo, missing), (Value::Null, true), "no City record: tagged, nothing written");
        assert_eq!(cache.fragments(&geoip, "10.0.0.1".parse().unwrap()), None, "private: not looked up");
    }

    #[test]
    fn small_caches_give_the_same_answers_as_large_ones() {
        let geoip = demo_geoip();
        let mut large = GeoCache::new();
        let mut tiny = GeoCache::with_capacities(2, 3);
        for round in 0..5 {
            for address in ADDRESSES {
                let ip = address.parse().unwrap();
                let expected = as_json(large.fragments(&geoip, ip));
                assert_eq!(as_json(tiny.fragments(&geoip, ip)), expected, "{address}, round {round}");
                let (city, asn, addresses) = tiny.cached();
                assert!(city <= 2 && asn <= 2 && addresses <= 3, "bounded: {:?}", tiny.cached());
            }
        }
    }
}
