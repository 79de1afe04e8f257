//! Throughput of the enrichment core over the captured Apache logs (`cargo bench -p enrichment`).
//!
//! Each iteration enriches every line of the file into one reused output buffer, as the functions
//! do with a batch: without GeoIP, and with the demo City + ASN databases (geoip/demo/networks.tsv,
//! held in memory) plus user agents. The README's figures come from here and scripts/bench.sh.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use enrichment::{Enricher, EnrichmentConfig, EventContext, Timestamp};
use geoip::{Database, DatabaseKind, GeoIp};

fn data(relative: &str) -> Vec<u8> {
    let path = format!("{}/../../{relative}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

fn lines(name: &str) -> Vec<Vec<u8>> {
    data(&format!("tests/data/{name}"))
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

fn demo_geoip() -> GeoIp {
    let (city, asn) = geoip_testdata::demo_databases(geoip_testdata::DEMO_SOURCE).expect("demo databases");
    GeoIp::new(
        Some(Database::from_bytes(city, Path::new("Demo-City"), DatabaseKind::City).expect("city")),
        Some(Database::from_bytes(asn, Path::new("Demo-ASN"), DatabaseKind::Asn).expect("asn")),
    )
}

fn enrich(c: &mut Criterion) {
    let context = EventContext { event_id: None, received_at: Timestamp::now() };
    let mut group = c.benchmark_group("enrich");
    let lines = lines("sample.log");
    group.throughput(Throughput::Elements(lines.len() as u64));
    let parser = Enricher::new(EnrichmentConfig::default(), None);
    group.bench_function("parse", |b| {
        b.iter(|| {
            for line in &lines {
                let _ = black_box(parser.parse_line(line));
            }
        })
    });
    for (name, geoip) in [("document, no geoip", None), ("document, demo geoip", Some(demo_geoip()))] {
        let mut enricher = Enricher::new(EnrichmentConfig::default(), geoip);
        let mut out = Vec::with_capacity(1 << 20);
        group.bench_function(name, |b| {
            b.iter(|| {
                out.clear();
                for line in &lines {
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
