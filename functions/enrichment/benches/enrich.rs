//! Throughput of the enrichment core over the captured Apache logs (`cargo bench -p enrichment`).
//!
//! Each iteration enriches every line of the file into one reused output buffer, as the functions
//! do with a batch. The figures in the README come from here and from `scripts/bench.sh`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use enrichment::{Enricher, EnrichmentConfig, EventContext, Timestamp};

fn lines(name: &str) -> Vec<Vec<u8>> {
    let path = format!("{}/../../tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
    text.split(|&b| b == b'\n').filter(|l| !l.is_empty()).map(<[u8]>::to_vec).collect()
}

fn enrich(c: &mut Criterion) {
    let context = EventContext {
        event_id: None,
        received_at: Timestamp::from_unix_millis(0).unwrap_or_else(Timestamp::now),
    };
    let mut enricher = Enricher::new(EnrichmentConfig::default(), None);
    let mut group = c.benchmark_group("enrich");
    for file in ["sample.log", "combined.log"] {
        let lines = lines(file);
        group.throughput(Throughput::Elements(lines.len() as u64));
        let mut out = Vec::with_capacity(1 << 20);
        group.bench_function(format!("parse/{file}"), |b| {
            b.iter(|| {
                for line in &lines {
                    let _ = black_box(enricher.parse_line(line));
                }
            })
        });
        group.bench_function(format!("document/{file}"), |b| {
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
