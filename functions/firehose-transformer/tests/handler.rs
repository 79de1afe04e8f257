//! The handler on the committed events (tests/events/firehose-*.json) and on a full-size request.
#![allow(clippy::unwrap_used)] // a test that cannot read its fixtures should stop right there

use std::time::Instant;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use enrichment::settings::EnrichmentSettings;
use firehose_transformer::event::TransformationRequest;
use firehose_transformer::{
    RESPONSE_BUDGET_BYTES, Summary, TransformHandler, TransformResult, TransformationResponse,
};
use lambda_shell::Handler as _;
use serde::Deserialize as _;
use serde_json::{Value, json};

mod support;

use support::{demo_transformer as transformer, repo, request_of};

fn event(name: &str) -> TransformationRequest<'static> {
    support::parse(&std::fs::read(repo(&format!("tests/events/{name}"))).unwrap()).into_owned()
}

/// Checks one answer per recordId, in order, and returns each answer's result and decoded data.
fn answers(
    event: &TransformationRequest,
    response: &TransformationResponse,
) -> Vec<(TransformResult, Option<Vec<u8>>)> {
    let asked: Vec<&str> = event.records.iter().map(|r| &*r.record_id).collect();
    let records = response.records().unwrap();
    let answered: Vec<&str> = records.iter().map(|r| r.record_id.as_str()).collect();
    assert_eq!(answered, asked, "one answer per recordId, in order");
    records.iter().map(|r| (r.result, r.data.as_ref().map(|d| BASE64.decode(d).unwrap()))).collect()
}

fn document(data: &[u8]) -> Value {
    assert_eq!(data.last(), Some(&b'\n'), "one document per record, newline-terminated");
    serde_json::from_slice(data).unwrap()
}

/// Every document of every Firehose event file says what it is as ECS defines it.
#[test]
fn every_document_of_the_event_files_is_categorised() {
    for name in [
        "firehose-apache-lines.json",
        "firehose-kinesis-agent-json.json",
        "firehose-cloudwatch-logs.json",
        "firehose-bad-records.json",
    ] {
        let event = event(name);
        let (response, _) = transformer().handle(&event);
        for (result, data) in answers(&event, &response) {
            if result != TransformResult::Ok {
                continue;
            }
            let doc = document(&data.unwrap());
            let failed = doc["tags"].as_array().is_some_and(|tags| tags.contains(&json!("_parse_failure")));
            let kind = if failed { "pipeline_error" } else { "event" };
            assert_eq!(doc["event"]["kind"], kind, "{name}: {doc}");
            assert_eq!(doc["event"]["module"], "apache", "{name}: {doc}");
            assert_eq!(doc["event"]["category"], json!(["web"]), "{name}: {doc}");
            assert_eq!(doc["ecs"]["version"], "8.17.0", "{name}: {doc}");
        }
    }
}

#[test]
fn apache_lines_are_enriched() {
    let event = event("firehose-apache-lines.json");
    let (response, summary) = transformer().handle(&event);
    let docs: Vec<Value> = answers(&event, &response)
        .into_iter()
        .map(|(result, data)| {
            assert_eq!(result, TransformResult::Ok);
            document(&data.unwrap())
        })
        .collect();
    assert_eq!(docs.len(), 12);
    for (doc, record) in docs.iter().zip(&event.records) {
        assert_eq!(doc["event"]["id"].as_str(), Some(&*record.record_id));
        assert!(doc.get("tags").is_none_or(|tags| tags == &json!(["_geoip_lookup_failure"])), "{doc}");
    }
    let london = &docs[0];
    assert_eq!(london["source"]["ip"], "81.2.69.142");
    assert_eq!(london["source"]["geo"]["city_name"], "London");
    assert_eq!(london["source"]["geo"]["location"], json!({"lat": 51.5142, "lon": -0.0931}));
    assert_eq!(london["source"]["as"]["number"], 20712);
    assert_eq!(london["user_agent"]["device"]["name"], "Smartphone");
    assert_eq!(london["url"]["path"], "/grüße.txt");
    assert_eq!(docs[3]["tags"], json!(["_geoip_lookup_failure"]));
    assert_eq!(docs[4]["user_agent"]["device"]["name"], "Spider");
    assert_eq!(docs[5]["http"]["request"]["line"], "\u{16}\u{3}\u{1}");
    assert_eq!(docs[8]["user_agent"]["original"], r"Caf\xe9Browser/1.0 (Latin-1)");
    assert_eq!(docs[9]["user_agent"]["original"], "Läufer/2.0 (UTF-8 ✓)");
    assert_eq!(docs[10]["user"]["name"], "alice");
    assert_eq!(
        summary,
        Summary {
            records_in: 12,
            ok: 12,
            geoip_misses: 1,
            bytes_in: summary.bytes_in,
            bytes_out: summary.bytes_out,
            aged_lines: 12,
            // Their ages depend on when the test runs: the_answer_says_how_old_its_lines_are.
            lag_median_ms: summary.lag_median_ms,
            lag_max_ms: summary.lag_max_ms,
            ..Summary::default()
        }
    );
    assert!(summary.bytes_out > summary.bytes_in);
}

#[test]
fn kinesis_agent_json_records_are_enriched() {
    let event = event("firehose-kinesis-agent-json.json");
    let (response, summary) = transformer().handle(&event);
    for (result, data) in answers(&event, &response) {
        assert_eq!(result, TransformResult::Ok);
        let doc = document(&data.unwrap());
        assert!(doc["source"]["ip"].is_string() && doc["@timestamp"] == "2026-11-21T05:45:50.000Z", "{doc}");
        assert!(doc["user_agent"]["name"].is_string(), "{doc}");
    }
    assert_eq!((summary.ok, summary.parse_failures), (5, 0));
}

#[test]
fn cloudwatch_logs_envelopes() {
    let event = event("firehose-cloudwatch-logs.json");
    let (response, summary) = transformer().handle(&event);
    let answers = answers(&event, &response);
    assert_eq!(answers[0].0, TransformResult::Ok);
    assert!(document(answers[0].1.as_ref().unwrap())["source"]["ip"].is_string());
    assert_eq!(answers[1].0, TransformResult::ProcessingFailed, "three events in one Firehose record");
    assert_eq!(
        answers[1].1.as_deref(),
        Some(&BASE64.decode(&*event.records[1].data).unwrap()[..]),
        "the original data, kept"
    );
    assert_eq!(answers[2], (TransformResult::Dropped, None), "a control message");
    assert_eq!((summary.ok, summary.processing_failed, summary.dropped, summary.multi_event), (1, 1, 1, 1));
}

/// A document says the account and region of its delivery stream, or of the log's owner.
#[test]
fn documents_say_their_account_and_region() {
    let logs = event("firehose-cloudwatch-logs.json");
    let (response, _) = transformer().handle(&logs);
    let log_event = document(answers(&logs, &response)[0].1.as_ref().unwrap());
    assert_eq!(
        log_event["cloud"],
        json!({"provider": "aws", "region": "eu-west-1", "account": {"id": "123456789012"}})
    );
    assert_eq!(log_event["container"], json!({"name": "apache"}));
    let lines = event("firehose-apache-lines.json");
    let (response, _) = transformer().handle(&lines);
    let line = document(answers(&lines, &response)[0].1.as_ref().unwrap());
    assert_eq!(line["cloud"]["region"], "eu-west-1");
    assert_eq!(line["cloud"]["account"]["id"], "123456789012");
}

#[test]
fn bad_records_each_get_their_documented_answer() {
    let event = event("firehose-bad-records.json");
    let (response, summary) = transformer().handle(&event);
    let answers = answers(&event, &response);
    let results: Vec<TransformResult> = answers.iter().map(|(result, _)| *result).collect();
    use TransformResult::*;
    assert_eq!(
        results,
        [ProcessingFailed, Ok, ProcessingFailed, ProcessingFailed, Dropped, Ok, Ok, Ok],
        "two lines; binary; corrupt gzip; gzip bomb; empty; not a log line; a good line; a Latin-1 line"
    );
    for (index, (result, data)) in answers.iter().enumerate() {
        if *result == ProcessingFailed {
            assert_eq!(
                data.as_deref(),
                Some(&BASE64.decode(&*event.records[index].data).unwrap()[..]),
                "record {index} keeps its data"
            );
        }
    }
    let unparsed = document(answers[5].1.as_ref().unwrap());
    assert_eq!(unparsed["tags"], json!(["_parse_failure"]));
    assert_eq!(unparsed["event"]["original"], "this line is not an access log line");
    // Bytes that are no text are one line all the same: a parse failure, its odd bytes written as
    // Apache writes them.
    let binary = document(answers[1].1.as_ref().unwrap());
    assert_eq!(binary["tags"], json!(["_parse_failure"]));
    let original = binary["event"]["original"].as_str().unwrap();
    assert!(
        original.starts_with("\u{16}\u{3}\u{1}\u{0}\\xa5")
            && original.ends_with(r" binary, not text \xff\xfe"),
        "{original}"
    );
    let latin1 = document(answers[7].1.as_ref().unwrap());
    assert!(latin1.get("tags").is_none(), "{latin1}");
    assert!(latin1["url"]["original"].as_str().unwrap().starts_with(r"/caf\xe9/"), "{latin1}");
    assert_eq!((summary.undecodable, summary.multi_event, summary.parse_failures), (2, 1, 2));
}

/// The README's processor buffer (0.5 MB): every record of the sample is enriched and fits.
#[test]
fn half_megabyte_request_fits_whole() {
    let (event, raw_bytes) = request_of(512 * 1024);
    let (response, summary) = transformer().handle(&event);
    let serialized = TransformHandler::response_json(response.clone());
    eprintln!(
        "0.5 MB request: {} records, {raw_bytes} raw bytes, response {} bytes",
        event.records.len(),
        serialized.len()
    );
    assert_eq!(summary.ok as usize, event.records.len());
    assert!(serialized.len() < RESPONSE_BUDGET_BYTES);
}

/// A 3 MB request (Firehose's largest buffer for a Lambda processor) of short lines: enriched, it
/// would be about four times the limit. Every record not enriched is answered with its original
/// data, and those answers alone take ~5.7 MB of the budget, so only the first records fit as `Ok`;
/// the rest are `ProcessingFailed`, none missing. (Hence the README's 0.5 MB processor buffer.)
#[test]
fn three_megabyte_request_stays_under_six_megabytes() {
    let (event, raw_bytes) = request_of(3 * 1024 * 1024);
    let mut transformer = transformer();
    let started = Instant::now();
    let (response, summary) = transformer.handle(&event);
    let elapsed = started.elapsed();
    let serialized = TransformHandler::response_json(response.clone());
    eprintln!(
        "3 MB request: {} records, {} raw bytes, response {} bytes, {} Ok, {} over the limit, handled in {:?}",
        event.records.len(),
        raw_bytes,
        serialized.len(),
        summary.ok,
        summary.over_response_limit,
        elapsed
    );

    assert!(serialized.len() <= RESPONSE_BUDGET_BYTES, "{} bytes", serialized.len());
    assert!(serialized.len() > RESPONSE_BUDGET_BYTES - 4096, "the budget is used, not wasted");
    let answers = answers(&event, &response);
    let enriched = answers.iter().filter(|(result, _)| *result == TransformResult::Ok).count();
    assert!(enriched > 100, "{enriched} records enriched");
    for (index, (result, data)) in answers.iter().enumerate() {
        match result {
            TransformResult::Ok => assert!(document(data.as_ref().unwrap())["source"]["ip"].is_string()),
            TransformResult::ProcessingFailed => {
                assert_eq!(data.as_deref(), Some(&BASE64.decode(&*event.records[index].data).unwrap()[..]))
            }
            TransformResult::Dropped => panic!("record {index} dropped"),
        }
    }
    assert_eq!(summary.ok as usize, enriched);
    assert_eq!(summary.over_response_limit as usize, answers.len() - enriched);
}

#[test]
fn configuration_errors_name_the_setting() {
    let cases = [
        (("LOG_FORMAT", "combinded"), "invalid LOG_FORMAT (--format) value \"combinded\""),
        (
            ("MAX_DECOMPRESSED_BYTES", "10"),
            "invalid MAX_DECOMPRESSED_BYTES value \"10\": a byte count from 65536",
        ),
        (
            ("GEOIP_CITY_DB", "/nonexistent/City.mmdb"),
            "GEOIP_CITY_DB (--city-db): cannot open GeoIP database /nonexistent/City.mmdb",
        ),
    ];
    for ((name, value), message) in cases {
        let environment = |key: &str| (key == name).then(|| value.to_owned());
        let started =
            lambda_shell::start_with(&environment, |startup| Ok(TransformHandler::from_startup(startup)));
        let error = started.unwrap_err().to_string();
        assert!(error.starts_with(message), "{name}={value}: {error}");
    }
}

/// Found by fuzzing (`firehose_handler`): a fractional `approximateArrivalTimestamp` made the
/// `aws_lambda_events` decoder panic before the handler ran. Broken base64 used to fail the whole
/// invocation. Now both are ordinary records.
#[test]
fn hostile_request_fields_are_handled_per_record() {
    let sample = std::fs::read_to_string(repo("tests/data/sample.log")).unwrap();
    let line = format!("{}\n", sample.lines().next().unwrap());
    let json = json!({
        "records": [
            {"recordId": "fractional", "approximateArrivalTimestamp": 1_795_239_470_000.5, "data": BASE64.encode(&line)},
            {"recordId": "not-base64", "approximateArrivalTimestamp": 1_795_239_470_000_i64, "data": "%%% not base64 %%%"},
            {"recordId": "huge-timestamp", "approximateArrivalTimestamp": 1e300, "data": BASE64.encode(&line)},
            {"recordId": "no-timestamp", "data": BASE64.encode(&line)},
        ],
    });
    let event = TransformationRequest::deserialize(&json).unwrap();
    let (response, summary) = transformer().handle(&event);
    let results: Vec<TransformResult> = response.records().unwrap().iter().map(|r| r.result).collect();
    use TransformResult::*;
    assert_eq!(results, [Ok, ProcessingFailed, Ok, Ok]);
    assert_eq!(response.records().unwrap()[1].data.as_deref(), Some("%%% not base64 %%%"), "kept as it came");
    assert_eq!(summary.undecodable, 1);
}

/// A record whose line a rule drops, or leaves out by sampling, is answered `Dropped` (Firehose
/// counts it as dropped on purpose, never as a failure) and counted.
#[test]
fn records_the_rules_leave_out_are_answered_dropped_and_counted() {
    let vars = [
        ("DROP_WHEN", "user_agent.original ^= ELB-HealthChecker/"),
        ("SAMPLE_WHEN", "1/1000000: url.path ^= /static/"),
    ];
    let settings = EnrichmentSettings::from_lookup(|name| {
        vars.iter().find(|(n, _)| *n == name).map(|(_, value)| (*value).to_owned())
    })
    .unwrap();
    let mut handler = TransformHandler::new(enrichment::Enricher::new(settings, None), 4 << 20);
    let lines = [
        r#"10.0.1.17 - - [07/Dec/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "ELB-HealthChecker/2.0""#,
        r#"203.0.113.7 - - [07/Dec/2026:10:00:01 +0000] "GET /static/app.css HTTP/1.1" 200 5 "-" "Mozilla/5.0""#,
        r#"203.0.113.7 - - [07/Dec/2026:10:00:02 +0000] "GET / HTTP/1.1" 200 5 "-" "Mozilla/5.0""#,
    ];
    let records: Vec<Value> = lines
        .iter()
        .enumerate()
        .map(|(n, line)| json!({"recordId": format!("r{n}"), "approximateArrivalTimestamp": 1_795_239_470_000_i64, "data": BASE64.encode(format!("{line}\n"))}))
        .collect();
    let json = json!({ "records": records });
    let event = TransformationRequest::deserialize(&json).unwrap();
    let (response, summary) = handler.handle(&event);
    let results: Vec<TransformResult> = response.records().unwrap().iter().map(|r| r.result).collect();
    assert_eq!(results, [TransformResult::Dropped, TransformResult::Dropped, TransformResult::Ok]);
    assert_eq!((summary.dropped_lines, summary.sampled_out_lines, summary.dropped, summary.ok), (1, 1, 2, 1));
}

/// The answer says how old its documents' lines are (median, maximum): the sample log's lines are
/// from 21 November 2026, weeks before the tests run.
#[test]
fn the_answer_says_how_old_its_lines_are() {
    let lines = event("firehose-apache-lines.json");
    let (_, summary) = transformer().handle(&lines);
    assert!(summary.ok > 0);
    assert_eq!(summary.aged_lines, summary.ok - summary.parse_failures);
    let since_the_lines = enrichment::Timestamp::now().unix_millis() - 1_795_305_600_000; // 2026-11-22
    assert!(summary.lag_median_ms as i64 > since_the_lines, "{summary:?}");
    assert!(summary.lag_max_ms >= summary.lag_median_ms, "{summary:?}");
}
