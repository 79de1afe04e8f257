//! `LOG_FORMAT_BY_SOURCE`: a file is read by the format of its source (an S3 key prefix, a log
//! group), and every other by `LOG_FORMAT`.
#![allow(clippy::unwrap_used)] // a test that cannot read its fixtures should stop right there

mod common;

use enrichment::settings::EnrichmentSettings;

#[test]
fn a_source_with_a_format_of_its_own() {
    // Apache's `common` for everything but two prefixes of the bucket.
    let settings = EnrichmentSettings {
        formats_by_source: enrichment::settings::FormatsBySource::parse(
            r#"{"s3://logs/cdn/": "cloudfront", "s3://logs/alb/": "alb"}"#,
        )
        .unwrap(),
        ..common::settings("common")
    };
    let mut enricher = common::enricher(settings);
    let alb_line = common::data_lines("alb/aws-docs-examples.log").remove(0);
    let apache_line = "192.0.2.7 - - [21/Nov/2026:05:37:48 +0000] \"GET / HTTP/1.1\" 200 512";
    let read = |enricher: &mut enrichment::Enricher, source: Option<&str>, line: &str| {
        enricher.start_file(source, None);
        common::enrich(enricher, line.as_bytes())
    };
    let (failed, doc) = read(&mut enricher, Some("s3://logs/alb/2026/11/21/x.log.gz"), &alb_line);
    assert!(!failed && doc["event"]["dataset"] == "aws.elb_logs", "{doc}");
    let (failed, doc) = read(&mut enricher, Some("s3://logs/apache/access.log"), &alb_line);
    assert!(failed && doc["event"]["dataset"] == "apache.access", "common, not alb: {doc}");
    let (failed, _) = read(&mut enricher, None, apache_line);
    assert!(!failed);
    let (failed, _) = read(&mut enricher, Some("s3://logs/alb/x.log"), apache_line);
    assert!(failed, "alb, not common");

    let cdn = common::data("cloudfront/standard-legacy.log");
    let source = Some("s3://logs/cdn/E2EXAMPLE.2019-12-04-21.a1b2c3d4.gz");
    let results: Vec<_> = common::enrich_file(&mut enricher, source, &cdn)
        .into_iter()
        .map(|result| result.map(|(failed, doc)| (failed, doc["event"]["dataset"].clone())))
        .collect();
    let request = Some((false, serde_json::json!("aws.cloudfront_logs")));
    assert_eq!(results, [None, None, request.clone(), request.clone(), request.clone(), request]);
}
