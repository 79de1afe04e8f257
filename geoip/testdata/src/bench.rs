//! The benchmark's data: GeoIP City and ASN databases the size of a country-level real one, and
//! combined-format access logs whose visitors, user agents and pages repeat the way real traffic
//! does (a few return often, a long tail rarely), or whose every line has a new address.
//!
//! Everything is generated from a seed, so `cargo bench` and `scripts/bench.sh` see the same bytes
//! on every machine. Made-up data, labelled so in the databases' metadata.

use crate::{AsnEntry, CityEntry, Error, asn_database, city_database};

/// IPv4 networks: 16,384 consecutive /18s from 11.0.0.0 (all public), and 1,024 IPv6 /32s.
const V4_NETWORKS: u32 = 16_384;
const V4_FIRST: u32 = 11 << 24;
const V4_NETWORK_BITS: u32 = 14;
const V6_NETWORKS: u32 = 1_024;
/// Distinct City and ASN records the networks share (GeoLite2 has ~100k cities, ~80k ASes).
const CITIES: u32 = 4_000;
const SYSTEMS: u32 = 1_500;

pub const BENCH_DESCRIPTION: &str = "BENCHMARK DATA, NOT REAL: generated networks and places";

/// The City and ASN databases of the benchmark.
pub fn bench_databases() -> Result<(Vec<u8>, Vec<u8>), Error> {
    let mut cities = Vec::new();
    let mut systems = Vec::new();
    let networks = (0..V4_NETWORKS)
        .map(|i| {
            format!(
                "{}/{}",
                std::net::Ipv4Addr::from(V4_FIRST + (i << V4_NETWORK_BITS)),
                32 - V4_NETWORK_BITS
            )
        })
        .chain((0..V6_NETWORKS).map(|i| format!("2a00:{i:x}::/32")));
    for (i, network) in networks.enumerate() {
        let i = u32::try_from(i).unwrap_or(u32::MAX);
        let city = i.wrapping_mul(2_654_435_761) % CITIES;
        let country = city % 120;
        cities.push(CityEntry {
            network: network.clone(),
            continent: Some((
                ["EU", "NA", "AS", "SA", "AF", "OC"][(country % 6) as usize].into(),
                format!("Continent {}", country % 6),
            )),
            country: Some((
                format!(
                    "{}{}",
                    char::from(b'A' + (country / 26) as u8),
                    char::from(b'A' + (country % 26) as u8)
                ),
                format!("Country {country}"),
            )),
            subdivisions: vec![(format!("S{}", city % 50), format!("Region {}", city % 50))],
            city: Some(format!("City {city}")),
            postal_code: Some(format!("{:05}", city * 7)),
            location: Some((f64::from(city % 170) - 85.0 + 0.1234, f64::from(city % 360) - 180.0 + 0.5678)),
            time_zone: Some(format!("Zone/{}", city % 40)),
        });
        let system = i.wrapping_mul(40_503) % SYSTEMS;
        systems.push(AsnEntry {
            network,
            number: 64_512 + system,
            organization: Some(format!("Benchmark Network {system} Ltd")),
        });
    }
    Ok((
        city_database("Bench-City", BENCH_DESCRIPTION, &cities)?,
        asn_database("Bench-ASN", BENCH_DESCRIPTION, &systems)?,
    ))
}

/// Which log to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Traffic {
    /// Visitors return (most requests come from a few thousand addresses, with a long tail of
    /// 40,000), in sessions of a few requests each with one user agent.
    Realistic,
    /// Every line has an address no other line has: nothing about the client repeats.
    UniqueAddresses,
}

const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_{v} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.{v} Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36 Edg/{v}.0.2903.70",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.6778.81 Mobile Safari/537.36",
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0",
    "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/{v}.0 Chrome/115.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (compatible; YandexBot/3.{v}; +http://yandex.com/bots)",
    "curl/8.{v}.0",
    "python-requests/2.{v}.0",
];

const PAGES: &[&str] = &[
    "/",
    "/index.php",
    "/search.php?q=",
    "/recommendation.php?product=",
    "/products/",
    "/blog/post-",
    "/about.html",
    "/contact.html",
];
const ASSETS: &[&str] = &[
    "/static/app.js",
    "/static/app.css",
    "/img/logo.png",
    "/img/product-",
    "/favicon.ico",
    "/fonts/inter.woff2",
];
const REFERRERS: &[&str] = &[
    "-",
    "https://www.google.com/",
    "https://www.bing.com/",
    "https://shop.example.test/",
    "https://shop.example.test/products/12",
    "https://news.example.org/article/42",
];

/// A power-law pick in `0..n`: index 0 is the most frequent, the tail long.
fn skewed(rng: &mut fastrand::Rng, n: u32) -> u32 {
    let u = rng.f64();
    ((u * u * u * f64::from(n)) as u32).min(n - 1)
}

/// `lines` combined-format lines (each ending in `\n`) for `traffic`, from `seed`.
pub fn bench_log(lines: usize, traffic: Traffic, seed: u64) -> Vec<u8> {
    use std::io::Write as _;
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut out = Vec::with_capacity(lines * 240);
    // 2026-11-21T00:00:00Z, advancing a few milliseconds a line.
    let mut millis: u64 = 1_795_219_200_000;
    let mut written = 0;
    let mut unique: u32 = 0;
    while written < lines {
        let visitor = skewed(&mut rng, 40_000);
        let session = 1 + skewed(&mut rng, 30) as usize;
        let agent_index = skewed(&mut rng, (USER_AGENTS.len() * 12) as u32) as usize;
        let agent = USER_AGENTS[agent_index % USER_AGENTS.len()]
            .replace("{v}", &(120 + agent_index / USER_AGENTS.len()).to_string());
        for _ in 0..session.min(lines - written) {
            let address = match traffic {
                Traffic::Realistic => visitor_address(visitor),
                Traffic::UniqueAddresses => {
                    unique += 1;
                    // A stride coprime with 2^28 walks every network without repeating an address.
                    std::net::IpAddr::V4(std::net::Ipv4Addr::from(
                        V4_FIRST + (unique.wrapping_mul(40_961) & 0x0fff_ffff),
                    ))
                }
            };
            let (path, status, bytes) = request(&mut rng);
            let referrer = REFERRERS[skewed(&mut rng, REFERRERS.len() as u32) as usize];
            millis += rng.u64(0..6);
            let seconds = millis / 1000;
            let (h, m, s) = (seconds / 3600 % 24, seconds / 60 % 60, seconds % 60);
            let day = 21 + seconds.saturating_sub(1_795_219_200) / 86_400;
            let _ = writeln!(
                out,
                r#"{address} - - [{day:02}/Nov/2026:{h:02}:{m:02}:{s:02} +0000] "GET {path} HTTP/1.1" {status} {bytes} "{referrer}" "{agent}""#
            );
            written += 1;
        }
    }
    out
}

/// The address of visitor `index`: one per visitor, a tenth of them IPv6, spread over the networks.
fn visitor_address(index: u32) -> std::net::IpAddr {
    let spread = index.wrapping_mul(2_654_435_761);
    if index % 10 == 9 {
        let network = spread % V6_NETWORKS;
        std::net::IpAddr::V6(std::net::Ipv6Addr::new(
            0x2a00,
            network as u16,
            0,
            0,
            0,
            0,
            0,
            (index & 0xffff) as u16 | 1,
        ))
    } else {
        let network = spread % V4_NETWORKS;
        let host = 1 + (index >> 4) % ((1 << V4_NETWORK_BITS) - 2);
        std::net::IpAddr::V4(std::net::Ipv4Addr::from(V4_FIRST + (network << V4_NETWORK_BITS) + host))
    }
}

/// A page or an asset, its status and its size.
fn request(rng: &mut fastrand::Rng) -> (String, u16, u32) {
    let item = skewed(rng, 400);
    let path = if rng.u8(0..10) < 4 {
        let page = PAGES[(item as usize) % PAGES.len()];
        if page.ends_with(['=', '-', '/']) && page.len() > 1 {
            format!("{page}{item}")
        } else {
            page.to_owned()
        }
    } else {
        let asset = ASSETS[(item as usize) % ASSETS.len()];
        if asset.ends_with('-') { format!("{asset}{item}.jpg") } else { asset.to_owned() }
    };
    let status = match rng.u16(0..1000) {
        0..850 => 200,
        850..930 => 304,
        930..970 => 404,
        970..990 => 301,
        990..997 => 302,
        _ => 500,
    };
    let bytes = if status == 304 { 0 } else { 200 + rng.u32(0..60_000) };
    (path, status, bytes)
}
