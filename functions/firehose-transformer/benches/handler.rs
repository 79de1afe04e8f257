//! The Firehose handler on full-size requests built from the sample log (`cargo bench -p
//! firehose-transformer`): 0.5 MB (the README's recommended processor buffer: every record fits)
//! and 3 MB (Firehose's largest: the response budget overflows). Demo GeoIP databases, in memory.

use std::hint::black_box;
use std::path::Path;

use aws_lambda_events::event::firehose::KinesisFirehoseEvent;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use enrichment::emf::MetricsTarget;
use enrichment::{Enricher, EnrichmentConfig};
use firehose_transformer::Transformer;
use geoip::{Database, DatabaseKind, GeoIp};

fn request(raw_bytes: usize) -> KinesisFirehoseEvent {
    let path = format!("{}/../../tests/data/sample.log", env!("CARGO_MANIFEST_DIR"));
    let sample = std::fs::read_to_string(path).expect("sample log");
    let lines: Vec<&str> = sample.lines().collect();
    let mut records = Vec::new();
    let mut size = 0;
    while size < raw_bytes {
        let data = format!("{}\n", lines[records.len() % lines.len()]);
        size += data.len();
        records.push(serde_json::json!({
            "recordId": format!("{:056}", records.len()),
            "approximateArrivalTimestamp": 1_795_239_470_000_i64,
            "data": BASE64.encode(data),
        }));
    }
    serde_json::from_value(
        serde_json::json!({"invocationId": "bench", "region": "eu-west-1", "records": records}),
    )
    .expect("request")
}

fn transformer() -> Transformer {
    let (city, asn) = geoip_testdata::demo_databases(geoip_testdata::DEMO_SOURCE).expect("demo databases");
    let geoip = GeoIp::new(
        Some(Database::from_bytes(city, Path::new("Demo-City"), DatabaseKind::City).expect("city")),
        Some(Database::from_bytes(asn, Path::new("Demo-ASN"), DatabaseKind::Asn).expect("asn")),
    );
    let metrics = MetricsTarget { namespace: "Bench".into(), function_name: "bench".into() };
    Transformer::new(Enricher::new(EnrichmentConfig::default(), Some(geoip)), 4 << 20, metrics)
}

fn handler(c: &mut Criterion) {
    let mut group = c.benchmark_group("firehose");
    group.sample_size(20);
    for (name, bytes) in [("0.5 MB request", 512 * 1024), ("3 MB request", 3 * 1024 * 1024)] {
        let event = request(bytes);
        group.throughput(Throughput::Elements(event.records.len() as u64));
        let mut transformer = transformer();
        group.bench_function(name, |b| b.iter(|| black_box(transformer.handle(&event))));
    }
    group.finish();
}

criterion_group!(benches, handler);
criterion_main!(benches);
