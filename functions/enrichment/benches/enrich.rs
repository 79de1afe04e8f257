//! Throughput of the enrichment core (`cargo bench -p enrichment`), one core, over the generated
//! benchmark logs and databases (`geoip_testdata::bench`: 17,408 networks, returning visitors or a
//! new address on every line), held in memory:
//! - `parse`: the combined-format parser alone;
//! - `user agents`: the `user_agent` object of each line (cache warm, as in a running function);
//! - `geoip`: the `source.geo` + `source.as` objects of each line's address;
//! - `document`: the whole line to document into one reused buffer, as the functions do a batch.
//!
//! `scripts/bench.sh` measures the same end to end through `enrich-logs`.

use std::hint::black_box;
use std::net::IpAddr;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use enrichment::GeoCache;
use enrichment::UserAgentParser;
use enrichment::settings::EnrichmentSettings;
use enrichment::{Enricher, EventContext, Timestamp};
use geoip::{Database, DatabaseKind, GeoIp};
use geoip_testdata::bench::{Traffic, bench_databases, bench_log};

const LINES: usize = 50_000;

fn bench_geoip() -> GeoIp {
    let (city, asn) = bench_databases().expect("benchmark databases");
    GeoIp::new(
        Some(Database::from_bytes(city, Path::new("Bench-City"), DatabaseKind::City).expect("city")),
        Some(Database::from_bytes(asn, Path::new("Bench-ASN"), DatabaseKind::Asn).expect("asn")),
    )
}

fn lines(traffic: Traffic) -> Vec<Vec<u8>> {
    bench_log(LINES, traffic, 20_261_121)
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

fn enrich(c: &mut Criterion) {
    let context =
        EventContext { event_id: None, received_at: Timestamp::now(), log_origin: None, cloud: None };
    let realistic = lines(Traffic::Realistic);
    let unique = lines(Traffic::UniqueAddresses);
    let parser = Enricher::new(EnrichmentSettings::default(), None);
    let records: Vec<_> =
        realistic.iter().map(|line| parser.parse_line(line).expect("a combined line")).collect();

    let mut group = c.benchmark_group("enrich");
    group.throughput(Throughput::Elements(LINES as u64));
    group.bench_function("parse", |b| {
        b.iter(|| {
            for line in &realistic {
                let _ = black_box(parser.parse_line(line));
            }
        })
    });

    let mut user_agents = UserAgentParser::new();
    let agents: Vec<&str> = records.iter().filter_map(|r| r.user_agent.as_deref()).collect();
    group.bench_function("user agents", |b| {
        b.iter(|| {
            for agent in &agents {
                black_box(user_agents.fragment(agent));
            }
        })
    });

    let geoip = bench_geoip();
    for (name, log) in [("geoip, realistic", &realistic), ("geoip, unique addresses", &unique)] {
        let addresses: Vec<IpAddr> = log
            .iter()
            .map(|line| parser.parse_line(line).expect("a combined line"))
            .filter_map(|r| r.remote_host.as_deref()?.parse().ok())
            .collect();
        let mut cache = GeoCache::new();
        group.bench_function(name, |b| {
            b.iter(|| {
                for &address in &addresses {
                    black_box(cache.fragments(&geoip, address));
                }
            })
        });
    }

    for (name, log, geoip) in [
        ("document, realistic", &realistic, Some(bench_geoip())),
        ("document, unique addresses", &unique, Some(bench_geoip())),
        ("document, realistic, no geoip", &realistic, None),
    ] {
        let mut enricher = Enricher::new(EnrichmentSettings::default(), geoip);
        let mut out = Vec::with_capacity(LINES * 1024);
        group.bench_function(name, |b| {
            b.iter(|| {
                out.clear();
                for line in log {
                    enricher.enrich_line(line, &context, &mut out);
                    out.push(b'\n');
                }
                black_box(out.len())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, enrich);
criterion_main!(benches);
