//! tests/events/kinesis-*.json: Lambda Kinesis events built from the captured Apache logs in
//! tests/data/, in the shape Lambda delivers them. Committed for `cargo lambda invoke --data-file`;
//! this test fails when they drift. Regenerate with
//! `UPDATE_EVENTS=1 cargo test -p kinesis-enricher --test events`.
#![allow(clippy::unwrap_used)] // a test that cannot read its fixtures should stop right there

use lambda_shell::kpl;
use test_support::fixtures::{
    agent_json_record, cloudwatch_envelope, kinesis_event, line_record, log_lines, sync_events,
};

/// Every record shape in one batch: 13 documents (1 + 3 + 4 from the KPL aggregate + 2 + 0 for the
/// control message + 1 + 1 + 1 for the binary record).
fn mixed() -> Vec<Vec<u8>> {
    let sample = log_lines("sample");
    let lines = |range: std::ops::Range<usize>| {
        sample[range].iter().map(|l| format!("{l}\n")).collect::<String>().into_bytes()
    };
    vec![
        line_record(&sample[1]),
        lines(2..5),
        kpl::aggregate("web-1", &[&line_record(&sample[5]), &lines(6..8), &agent_json_record(&sample[9])]),
        cloudwatch_envelope("DATA_MESSAGE", &[&sample[10], &sample[11]]),
        cloudwatch_envelope(
            "CONTROL_MESSAGE",
            &["CWL CONTROL MESSAGE: Checking health of destination Kinesis stream."],
        ),
        agent_json_record(&sample[12]),
        line_record("this line is not an access log line"),
        b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03 binary, not text \xff\xfe".to_vec(),
    ]
}

#[test]
fn committed_events_match_the_generator() {
    let stale = sync_events(&[("kinesis-mixed.json", kinesis_event(&mixed()))]);
    assert!(
        stale.is_empty(),
        "{stale:?} out of date: run UPDATE_EVENTS=1 cargo test -p kinesis-enricher --test events"
    );
}
