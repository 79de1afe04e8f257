//! The Firehose handler on full-size requests built from the sample log (`cargo bench -p
//! firehose-transformer`): 0.5 MB (the README's recommended processor buffer: every record fits)
//! and 3 MB (Firehose's largest: the response budget overflows). Demo GeoIP databases, in memory.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

#[path = "../tests/support/mod.rs"]
mod support;

fn handler(c: &mut Criterion) {
    let mut group = c.benchmark_group("firehose");
    group.sample_size(20);
    for (name, bytes) in [("0.5 MB request", 512 * 1024), ("3 MB request", 3 * 1024 * 1024)] {
        let (event, _) = support::request_of(bytes);
        group.throughput(Throughput::Elements(event.records.len() as u64));
        let mut transformer = support::demo_transformer();
        group.bench_function(name, |b| b.iter(|| black_box(transformer.handle(&event))));
    }
    group.finish();
}

criterion_group!(benches, handler);
criterion_main!(benches);
