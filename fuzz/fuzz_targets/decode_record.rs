//! One record's data through the Kinesis decoder as the function meets it: plain, and split into
//! the two user records of a KPL aggregate. Text is cut into lines as bytes, so every line of a
//! text record is one document whatever its bytes (but a CloudFront standard log's header lines); CloudWatch Logs envelopes, gzip bombs and
//! broken aggregates end as documents too. The record enricher is built once and kept.
#![no_main]

use std::cell::RefCell;

use enrichment::Enricher;
use enrichment::settings::EnrichmentSettings;
use firehose_delivery::MAX_ENTRY_BYTES;
use kinesis_enricher::RecordEnricher;
use kinesis_enricher::event::{KinesisEvent, KinesisEventRecord, KinesisRecord};
use lambda_shell::records::lines;
use lambda_shell::{base64, kpl};
use libfuzzer_sys::fuzz_target;

thread_local! {
    static RECORDS: RefCell<RecordEnricher> =
        RefCell::new(RecordEnricher::new(Enricher::new(EnrichmentSettings::default(), None), 1 << 20));
}

fn record(sequence: &str, data: &[u8]) -> KinesisEventRecord<'static> {
    let mut encoded = Vec::new();
    base64::encode_append(data, &mut encoded);
    let data = String::from_utf8(encoded).expect("base64 is ASCII");
    KinesisEventRecord {
        kinesis: KinesisRecord {
            sequence_number: sequence.to_owned().into(),
            data: data.into(),
            ..Default::default()
        },
        ..Default::default()
    }
}

fuzz_target!(|data: &[u8]| {
    let (first, second) = data.split_at(data.len() / 2);
    let event = KinesisEvent {
        records: vec![record("1", data), record("2", &kpl::aggregate("pk", &[first, second]))],
    };
    RECORDS.with_borrow_mut(|records| {
        let batch = records.prepare(&event);
        assert!(batch.entries().iter().all(|entry| entry.len() <= MAX_ENTRY_BYTES && entry.ends_with(b"\n")));
        // Text (neither gzip nor a KPL aggregate): one document per line, none more, none fewer,
        // but for a CloudFront standard log's `#Version:`/`#Fields:` lines, which are no events.
        if !data.starts_with(&[0x1f, 0x8b]) && kpl::deaggregate(data).is_none() {
            let documents = batch.entry_records().iter().filter(|&&record| record == 0).count();
            assert_eq!(documents, lines(data).filter(|line| !enrichment::is_cloudfront_header(line)).count());
        }
    });
});
