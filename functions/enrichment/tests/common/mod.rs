//! What the format tests share: an enricher for a `LOG_FORMAT` value, the document of a line, and
//! the repository's test data.
#![allow(dead_code, clippy::unwrap_used)] // each test file uses part of it; fixtures stop a test

use std::path::PathBuf;

use enrichment::settings::{EnrichmentSettings, FormatChoice};
use enrichment::{Enricher, EventContext, Timestamp};
use serde_json::Value;

/// The settings of a `LOG_FORMAT` value, the rest default.
pub fn settings(format: &str) -> EnrichmentSettings {
    EnrichmentSettings { format: FormatChoice::parse(format).unwrap(), ..EnrichmentSettings::default() }
}

/// An enricher without GeoIP.
pub fn enricher(settings: EnrichmentSettings) -> Enricher {
    Enricher::new(settings, None)
}

/// What the tests' lines arrive with: no id, received at the epoch (lines without a time show it).
pub fn context() -> EventContext<'static> {
    EventContext {
        event_id: None,
        received_at: Timestamp::from_unix_millis(0).unwrap(),
        log_origin: None,
        cloud: None,
    }
}

/// The document of `line` and whether the line was a parse failure.
pub fn enrich(enricher: &mut Enricher, line: &[u8]) -> (bool, Value) {
    let context = context();
    let mut out = Vec::new();
    let outcome = enricher.enrich_line(line, &context, &mut out);
    (outcome.parse_failure, serde_json::from_slice(&out).unwrap())
}

/// The documents of lines that must all be read.
pub fn documents<L: AsRef<[u8]>>(
    settings: EnrichmentSettings,
    lines: impl IntoIterator<Item = L>,
) -> Vec<Value> {
    let mut enricher = enricher(settings);
    lines
        .into_iter()
        .map(|line| {
            let (failed, doc) = enrich(&mut enricher, line.as_ref());
            assert!(!failed, "{}: {doc}", String::from_utf8_lossy(line.as_ref()));
            doc
        })
        .collect()
}

/// The document of a line that must be a `_parse_failure` of `dataset`, whose message says
/// `message`.
pub fn failure(enricher: &mut Enricher, line: &str, dataset: &str, message: &str) -> Value {
    let (failed, doc) = enrich(enricher, line.as_bytes());
    assert!(failed, "{line}: {doc}");
    assert_eq!(doc["event"]["dataset"], dataset, "{line}");
    assert_eq!(doc["tags"], serde_json::json!(["_parse_failure"]), "{line}");
    assert!(doc["error"]["message"].as_str().unwrap().contains(message), "{line}: {doc}");
    doc
}

/// A file of tests/data, as text (invalid UTF-8 replaced: no field the tests compare holds any).
pub fn data(relative: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data").join(relative);
    String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned()
}

/// The lines of a file of tests/data.
pub fn data_lines(relative: &str) -> Vec<String> {
    data(relative).lines().map(str::to_owned).collect()
}

/// What a line of a file (from `source`, for `LOG_FORMAT_BY_SOURCE`) read from its start gives: its
/// document and whether it was a parse failure, or `None` for a CloudFront standard log's header
/// line (no document).
pub fn enrich_file(enricher: &mut Enricher, source: Option<&str>, text: &str) -> Vec<Option<(bool, Value)>> {
    let context = context();
    enricher.start_file(source, None);
    text.lines()
        .map(|line| {
            let mut out = Vec::new();
            let outcome = enricher.enrich_line(line.as_bytes(), &context, &mut out);
            if outcome.header {
                assert!(out.is_empty(), "{line}: a header line writes no document");
                return None;
            }
            Some((outcome.parse_failure, serde_json::from_slice(&out).unwrap()))
        })
        .collect()
}

/// The documents of a file's lines, which must all be read (header lines give none).
pub fn file_documents(settings: EnrichmentSettings, text: &str) -> Vec<Value> {
    enrich_file(&mut enricher(settings), None, text)
        .into_iter()
        .flatten()
        .map(|(failed, doc)| {
            assert!(!failed, "{doc}");
            doc
        })
        .collect()
}
