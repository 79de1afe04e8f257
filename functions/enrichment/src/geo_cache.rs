//! The `source.geo` and `source.as` objects, written once per GeoIP record and then copied.
//!
//! Every address of a network, and often many networks, share one database record, identified by
//! its offset ([`geoip::RecordRef::offset`]). Decoding a City record (names, codes, coordinates)
//! costs more than the rest of the document together, so the JSON written from each record is kept
//! and a returning record costs one hash lookup and a copy. Each cache holds at most
//! [`CACHE_CAPACITY`] records and starts over when full, which bounds memory (a City fragment is
//! about 300 bytes) whatever addresses arrive.

use std::collections::HashMap;

use foldhash::fast::RandomState;
use geoip::{Found, Location, RecordRef};

use crate::json::ObjectWriter;

pub const CACHE_CAPACITY: usize = 16_384;

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
type Fragment = Option<Box<[u8]>>;

#[derive(Debug, Default)]
pub struct GeoCache {
    city: HashMap<usize, Fragment, RandomState>,
    asn: HashMap<usize, Fragment, RandomState>,
}

impl GeoCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// The fragments for what [`geoip::GeoIp::find`] found; `has_city_db` tells a missing City
    /// record from a missing City database.
    pub fn fragments(&mut self, found: &Found<'_>, has_city_db: bool) -> GeoFragments<'_> {
        let Self { city, asn } = self;
        let city_fragment = found.city.as_ref().map(|record| cached(city, record, write_geo));
        let asn_fragment = found.asn.as_ref().map(|record| cached(asn, record, write_as));
        let readable_city = city_fragment.as_ref().is_some_and(Option::is_some);
        GeoFragments {
            geo: city_fragment.flatten().filter(|json| !json.is_empty()),
            as_info: asn_fragment.flatten().filter(|json| !json.is_empty()),
            city_record_missing: has_city_db && !readable_city,
        }
    }

    /// Records held right now (City, ASN).
    pub fn cached(&self) -> (usize, usize) {
        (self.city.len(), self.asn.len())
    }
}

fn cached<'c>(
    cache: &'c mut HashMap<usize, Fragment, RandomState>,
    record: &RecordRef<'_>,
    write: fn(&RecordRef<'_>) -> Fragment,
) -> Option<&'c [u8]> {
    if cache.len() >= CACHE_CAPACITY && !cache.contains_key(&record.offset()) {
        cache.clear();
    }
    cache.entry(record.offset()).or_insert_with(|| write(record)).as_deref()
}

/// `{…}` with the City record's fields, empty if it has none, `None` if it cannot be decoded.
fn write_geo(record: &RecordRef<'_>) -> Fragment {
    let location = record.location()?;
    Some(object(|doc| write_location(doc, &location)))
}

/// `{…}` with the ASN record's fields, empty if it has none, `None` if it cannot be decoded.
fn write_as(record: &RecordRef<'_>) -> Fragment {
    let Some(info) = record.as_info() else { return Some(Box::default()) };
    Some(object(|doc| {
        if let Some(number) = info.number {
            doc.number("number", u64::from(number));
        }
        if let Some(name) = info.organization {
            doc.open("organization");
            doc.string("name", name);
            doc.close();
        }
    }))
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
        ("continent_code", geo.continent_code),
        ("continent_name", geo.continent_name),
        ("country_iso_code", geo.country_iso_code),
        ("country_name", geo.country_name),
        ("region_iso_code", region_iso_code.as_deref()),
        ("region_name", geo.region_name),
        ("city_name", geo.city_name),
        ("postal_code", geo.postal_code),
        ("timezone", geo.timezone),
    ] {
        if let Some(value) = value {
            doc.string(key, value);
        }
    }
    if let Some((lat, lon)) = geo.coordinates {
        doc.open("location");
        doc.float("lat", lat);
        doc.float("lon", lon);
        doc.close();
    }
}
