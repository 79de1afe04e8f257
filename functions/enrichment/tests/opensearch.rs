//! The OpenSearch artefacts in infra/opensearch/ against what the enrichment writes. No OpenSearch
//! server runs here, so the checks are structural:
//! - index-template.json: every field a document can carry is mapped with a type that accepts its
//!   JSON value, so OpenSearch never guesses a mapping (the template sets `dynamic: false`, so an
//!   unmapped field would be stored but not searchable). The documents come from every captured
//!   Apache format, the demo GeoIP data, parse failures, unreadable records and the hostile corpus.
//! - dashboards.ndjson: the saved objects parse as OpenSearch Dashboards writes them, every
//!   reference resolves, every field a visualisation aggregates on is mapped and aggregatable, and
//!   the dashboard shows every visualisation.
#![allow(clippy::unwrap_used)] // a test that cannot read its fixtures should stop right there

use std::collections::{BTreeMap, BTreeSet, HashSet};

use enrichment::settings::EnrichmentSettings;
use enrichment::settings::FormatChoice;
use enrichment::{Enricher, EventContext, LogOrigin, Timestamp};
use serde_json::{Value, json};
use test_support::{demo_geoip, hex_decode, repo};

fn index_template() -> Value {
    serde_json::from_slice(&std::fs::read(repo("infra/opensearch/index-template.json")).unwrap()).unwrap()
}

/// Mapped leaf fields, dotted path ─▶ OpenSearch type (multi-fields are not separate fields of
/// the document, so they are not listed).
fn mapped_fields(properties: &Value, prefix: &str, out: &mut BTreeMap<String, String>) {
    for (name, mapping) in properties.as_object().unwrap() {
        let path = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
        match (mapping.get("type"), mapping.get("properties")) {
            (Some(kind), None) => {
                out.insert(path, kind.as_str().unwrap().to_owned());
            }
            (None, Some(children)) => mapped_fields(children, &path, out),
            _ => panic!("{path}: a mapping needs either a type or properties: {mapping}"),
        }
    }
}

/// What a JSON value of a document is, as far as a mapping is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum JsonKind {
    String,
    Integer,
    Float,
    GeoPoint,
}

/// Leaf fields of a document, dotted path ─▶ kinds seen. `{lat, lon}` objects are geo points and
/// arrays contribute their elements' kind. Documents carry no booleans and no nulls, but for the
/// places of upstreams that said nothing in `nginx.upstream`'s arrays.
fn document_fields(value: &Value, prefix: &str, out: &mut BTreeMap<String, BTreeSet<JsonKind>>) {
    let mut record = |kind| {
        out.entry(prefix.to_owned()).or_default().insert(kind);
    };
    match value {
        Value::Object(map) if map.len() == 2 && map.contains_key("lat") && map.contains_key("lon") => {
            record(JsonKind::GeoPoint)
        }
        Value::Object(map) => {
            for (name, child) in map {
                let path = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
                document_fields(child, &path, out);
            }
        }
        // nginx.upstream's arrays keep a place per upstream tried: `null` where one said nothing
        // (OpenSearch indexes the other values).
        Value::Array(items) => items
            .iter()
            .filter(|item| !(item.is_null() && prefix.starts_with("nginx.upstream.")))
            .for_each(|item| document_fields(item, prefix, out)),
        Value::String(_) => record(JsonKind::String),
        Value::Number(n) if n.is_u64() || n.is_i64() => record(JsonKind::Integer),
        Value::Number(_) => record(JsonKind::Float),
        Value::Bool(_) | Value::Null => panic!("{prefix}: documents carry no booleans or nulls: {value}"),
    }
}

/// Whether OpenSearch indexes a JSON value of `kind` into a field of `mapping` type as intended.
fn accepts(mapping: &str, kind: JsonKind, path: &str) -> bool {
    match (mapping, kind) {
        ("keyword" | "text", JsonKind::String) => true,
        ("long", JsonKind::Integer) => true,
        ("double" | "scaled_float", JsonKind::Integer | JsonKind::Float) => true,
        ("geo_point", JsonKind::GeoPoint) => true,
        // `ip` and `date` take strings, but only of their own shape, checked below per value.
        ("ip", JsonKind::String) => path == "source.ip",
        ("date", JsonKind::String) => matches!(path, "@timestamp" | "event.start"),
        _ => false,
    }
}

fn lines_of(relative: &str) -> Vec<Vec<u8>> {
    let text = std::fs::read(repo(relative)).unwrap();
    text.split(|&b| b == b'\n').filter(|l| !l.is_empty()).map(<[u8]>::to_vec).collect()
}

/// Every kind of document the enrichment writes: each captured Apache format (with the demo GeoIP
/// data, so location and network fields appear), the less common formats, the sample log with anonymization and kept
/// originals, hostnames in `%h`, the hostile corpus (parse failures included) and unreadable records.
fn all_documents() -> Vec<Value> {
    let context = EventContext {
        event_id: Some("49590338271490256608559692538361571095921575989136588898"),
        received_at: Timestamp::from_unix_millis(1_795_239_468_000).unwrap(),
        log_origin: None,
        cloud: None,
    };
    let mut documents = Vec::new();
    let mut write = |enricher: &mut Enricher, line: &[u8]| {
        let mut out = Vec::new();
        enricher.enrich_line(line, &context, &mut out);
        documents.push(serde_json::from_slice::<Value>(&out).unwrap());
    };

    let formats = std::fs::read_to_string(repo("tests/data/logformats.tsv")).unwrap();
    for (name, format) in
        formats.lines().filter(|l| !l.starts_with('#') && !l.is_empty()).map(|l| l.split_once('\t').unwrap())
    {
        let config = EnrichmentSettings {
            format: FormatChoice::parse(format).unwrap(),
            ..EnrichmentSettings::default()
        };
        let mut enricher = Enricher::new(config, Some(demo_geoip()));
        for line in lines_of(&format!("tests/data/{name}.log")) {
            write(&mut enricher, &line);
        }
    }

    // The less common formats (strftime times, mod_ssl's TLS fields, ...): name, where, format.
    let formats = std::fs::read_to_string(repo("tests/data/formats/logformats.tsv")).unwrap();
    for columns in formats
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split('\t').collect::<Vec<_>>())
    {
        let config = EnrichmentSettings {
            format: FormatChoice::parse(columns[2]).unwrap(),
            ..EnrichmentSettings::default()
        };
        let mut enricher = Enricher::new(config, Some(demo_geoip()));
        for line in lines_of(&format!("tests/data/formats/{}.log", columns[0])) {
            write(&mut enricher, &line);
        }
    }

    // Real nginx logs in every escape mode (tests/data/nginx/capture.sh): name, log_format.
    let nginx = std::fs::read_to_string(repo("tests/data/nginx/logformats.tsv")).unwrap();
    for (name, format) in
        nginx.lines().filter(|l| !l.starts_with('#') && !l.is_empty()).filter_map(|l| l.split_once('\t'))
    {
        let config = EnrichmentSettings {
            format: FormatChoice::parse(format).unwrap(),
            ..EnrichmentSettings::default()
        };
        let mut enricher = Enricher::new(config, Some(demo_geoip()));
        for line in lines_of(&format!("tests/data/nginx/{name}.log")) {
            write(&mut enricher, &line);
        }
    }

    // Application Load Balancer lines: AWS's examples and the edge cases, read by `auto`.
    let mut enricher = Enricher::new(EnrichmentSettings::default(), Some(demo_geoip()));
    for log in ["tests/data/alb/aws-docs-examples.log", "tests/data/alb/edge-cases.log"] {
        for line in lines_of(log) {
            write(&mut enricher, &line);
        }
    }

    // CloudFront real-time records by the default list (`auto`), and by a configuration's list that
    // names the distribution.
    for line in lines_of("tests/data/cloudfront/realtime-default.log") {
        write(&mut enricher, &line);
    }
    let distribution = EnrichmentSettings {
        format: FormatChoice::parse("cloudfront-realtime:timestamp,c-ip,sc-status,primary-distribution-id,primary-distribution-dns-name").unwrap(),
        ..EnrichmentSettings::default()
    };
    let mut with_distribution = Enricher::new(distribution, Some(demo_geoip()));
    write(
        &mut with_distribution,
        b"1795239468.123\t81.2.69.142\t200\tE1A2B3C4D5E6F7\td111111abcdef8.cloudfront.net",
    );

    // The captures' error logs, nginx's and Apache's, read by `auto`.
    let mut enricher = Enricher::new(EnrichmentSettings::default(), Some(demo_geoip()));
    for log in ["tests/data/nginx/error.log", "tests/data/formats/error.log"] {
        for line in lines_of(log) {
            write(&mut enricher, &line);
        }
    }
    write(
        &mut enricher,
        b"[Mon Dec 07 09:29:31.788234 2026] [rewrite:trace3] [pid 7985] mod_rewrite.c(483): [client 81.2.69.142:58856] AH00001: applying pattern",
    );

    let keep_all = EnrichmentSettings { keep_original: true, ..EnrichmentSettings::default() };
    let mut enricher = Enricher::new(keep_all, Some(demo_geoip()));
    for line in lines_of("tests/data/sample.log") {
        write(&mut enricher, &line);
    }
    write(&mut enricher, br#"monitoring-server - - [21/Nov/2026:06:45:50 +0100] "GET /health HTTP/1.1" 200 2 "-" "curl/8.5.0""#);

    let mut enricher = Enricher::new(EnrichmentSettings::default(), Some(demo_geoip()));
    for case in std::fs::read_to_string(repo("tests/hostile/lines.jsonl")).unwrap().lines() {
        let case: Value = serde_json::from_str(case).unwrap();
        write(&mut enricher, &hex_decode(case["line_hex"].as_str().unwrap()));
    }

    // An ECS task's line from its CloudWatch Logs stream, with every field ADD_FIELDS may set.
    let every_added = enrichment::ADDABLE_FIELDS
        .iter()
        .map(|name| format!("{name}=value of {name}"))
        .chain(["labels.team=web".to_owned()])
        .collect::<Vec<_>>()
        .join(",");
    let added = EnrichmentSettings {
        added: enrichment::AddedFields::parse(&every_added).unwrap(),
        ..EnrichmentSettings::default()
    };
    let mut with_added = Enricher::new(added, Some(demo_geoip()));
    let task = EventContext {
        log_origin: Some(LogOrigin::CloudWatch {
            log_group: "/ecs/web",
            log_stream: "web/apache/0123456789abcdef0123456789abcdef",
        }),
        cloud: Some(enrichment::CloudOrigin { region: Some("eu-west-1"), account_id: Some("123456789012") }),
        ..context
    };
    let mut out = Vec::new();
    with_added.enrich_line(&lines_of("tests/data/sample.log")[0], &task, &mut out);
    documents.push(serde_json::from_slice(&out).unwrap());

    let mut out = Vec::new();
    enricher.write_unreadable_record(
        b"\x1f\x8b\x08 not really gzip",
        "corrupt gzip: invalid deflate stream",
        &context,
        &mut out,
    );
    documents.push(serde_json::from_slice(&out).unwrap());

    // A container's line, from a CloudWatch Logs envelope (ECS awslogs): its group and stream.
    let origin =
        LogOrigin::CloudWatch { log_group: "/ecs/weblogs-web", log_stream: "web/web/0123456789abcdef" };
    let from_container = EventContext { log_origin: Some(origin), ..context };
    let mut out = Vec::new();
    enricher.enrich_line(&lines_of("tests/data/sample.log")[0], &from_container, &mut out);
    let document: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(document["aws"]["cloudwatch"]["log_group"], "/ecs/weblogs-web");
    assert_eq!(document["aws"]["cloudwatch"]["log_stream"], "web/web/0123456789abcdef");
    documents.push(document);

    // A line of an archived object in S3: the object and where the line starts in it.
    let origin =
        LogOrigin::File { path: "s3://weblogs-archive/apache/access_log-20261101.gz", offset: 1_234_567 };
    let from_archive = EventContext { log_origin: Some(origin), ..context };
    let mut out = Vec::new();
    enricher.enrich_line(&lines_of("tests/data/sample.log")[0], &from_archive, &mut out);
    let document: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(document["log"]["file"]["path"], "s3://weblogs-archive/apache/access_log-20261101.gz");
    assert_eq!(document["log"]["offset"], 1_234_567);
    documents.push(document);

    // A line a sampling rule kept: the rate it stands for.
    let sampling = EnrichmentSettings::from_lookup(|name| {
        (name == "SAMPLE_WHEN").then(|| "1/2: url.path ^= /".to_owned())
    })
    .unwrap();
    let mut sampler = Enricher::new(sampling, None);
    let sampled = lines_of("tests/data/sample.log")
        .iter()
        .find_map(|line| {
            let mut out = Vec::new();
            sampler
                .enrich_line(line, &context, &mut out)
                .has_document()
                .then(|| serde_json::from_slice::<Value>(&out).unwrap())
        })
        .unwrap();
    assert_eq!(sampled["event"]["sample_rate"], 2);
    documents.push(sampled);
    documents
}

#[test]
fn every_field_a_document_carries_is_mapped_with_a_compatible_type() {
    let template = index_template();
    let mut mapped = BTreeMap::new();
    mapped_fields(&template["template"]["mappings"]["properties"], "", &mut mapped);

    let documents = all_documents();
    let mut seen = BTreeMap::new();
    for document in &documents {
        document_fields(document, "", &mut seen);
        let ip = document["source"]["ip"].as_str();
        assert!(
            ip.is_none_or(|ip| ip.parse::<std::net::IpAddr>().is_ok()),
            "source.ip must be an address: {document}"
        );
        for timestamp in
            [&document["@timestamp"], &document["event"]["start"]].into_iter().filter_map(Value::as_str)
        {
            assert!(
                timestamp.len() == 24 && timestamp.ends_with('Z'),
                "times are RFC 3339 UTC with ms: {timestamp}"
            );
        }
    }

    // Labels are the user's names: the stack's setup maps those its ADD_FIELDS sets
    // (infra/opensearch/apply.py, tested there); the template holds their object, empty.
    assert_eq!(template["template"]["mappings"]["properties"]["labels"], json!({ "properties": {} }));
    assert!(seen.contains_key("labels.team"));
    seen.retain(|path, _| !path.starts_with("labels."));
    for (path, kinds) in &seen {
        let mapping =
            mapped.get(path).unwrap_or_else(|| panic!("{path} ({kinds:?}) is not in the index template"));
        for &kind in kinds {
            assert!(
                accepts(mapping, kind, path),
                "{path}: a {kind:?} value does not fit the {mapping} mapping"
            );
        }
    }
    // The other way round: the corpus reaches every mapped field, so this test sees them all.
    let unseen: Vec<_> = mapped.keys().filter(|path| !seen.contains_key(*path)).collect();
    assert!(unseen.is_empty(), "mapped but never produced by the test corpus: {unseen:?}");
    assert!(documents.len() > 500, "{} documents", documents.len());
}

/// Every document says what it is the way ECS defines it: ECS release, module and dataset (the
/// server's, Apache or nginx), kind
/// (`pipeline_error` exactly for the lines that could not be read), category, type, and an outcome
/// that follows the status.
#[test]
fn every_document_is_categorised_as_ecs_defines() {
    for doc in all_documents() {
        let event = &doc["event"];
        assert_eq!(doc["ecs"]["version"], "8.17.0", "{doc}");
        let module = event["module"].as_str().unwrap_or_default();
        assert!(matches!(module, "apache" | "nginx" | "aws"), "{doc}");
        let error_log = event["dataset"] == json!(format!("{module}.error"));
        let access = match module {
            "aws" => vec![json!("aws.elb_logs"), json!("aws.cloudfront_logs")],
            _ => vec![json!(format!("{module}.access"))],
        };
        assert!(error_log || access.contains(&event["dataset"]), "{doc}");
        assert_eq!(event["category"], json!(["web"]), "{doc}");
        let failed = doc["tags"].as_array().is_some_and(|tags| tags.contains(&json!("_parse_failure")));
        if failed {
            assert_eq!(
                (&event["kind"], &event["type"]),
                (&json!("pipeline_error"), &json!(["error"])),
                "{doc}"
            );
            assert!(event.get("outcome").is_none(), "{doc}");
        } else if error_log {
            assert_eq!((&event["kind"], &event["type"]), (&json!("event"), &json!(["error"])), "{doc}");
            assert!(doc["log"]["level"].is_string() && doc["message"].is_string(), "{doc}");
        } else {
            assert_eq!((&event["kind"], &event["type"]), (&json!("event"), &json!(["access"])), "{doc}");
            let outcome = match doc["http"]["response"]["status_code"].as_u64() {
                Some(status) if status < 400 => json!("success"),
                Some(_) => json!("failure"),
                None => Value::Null,
            };
            assert_eq!(event["outcome"], outcome, "{doc}");
        }
    }
}

#[test]
fn the_template_maps_exactly_the_fields_of_the_schema() {
    let mut mapped = BTreeMap::new();
    mapped_fields(&index_template()["template"]["mappings"]["properties"], "", &mut mapped);
    let mapped: BTreeSet<String> = mapped.into_keys().collect();
    let schema: BTreeSet<String> = enrichment::schema::field_paths().collect();
    assert_eq!(mapped, schema, "infra/opensearch/index-template.json and the document schema disagree");
}

#[test]
fn the_template_matches_the_indices_firehose_and_enrich_logs_write() {
    let template = index_template();
    let patterns: Vec<&str> =
        template["index_patterns"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
    assert_eq!(patterns, ["weblogs-*"]);
    // Firehose appends `-YYYY-MM-DD` (OneDay rotation) to IndexName `weblogs`; enrich-logs' default
    // index is checked against the pattern in its own tests.
    let mappings = &template["template"]["mappings"];
    assert_eq!(mappings["dynamic"], Value::Bool(false), "nothing may be mapped by guessing");
    assert_eq!(mappings["date_detection"], Value::Bool(false));
    assert_eq!(
        mappings["properties"]["source"]["properties"]["geo"]["properties"]["location"]["type"],
        "geo_point"
    );
    assert_eq!(mappings["properties"]["url"]["properties"]["original"]["type"], "text");
    assert_eq!(
        mappings["properties"]["url"]["properties"]["original"]["fields"]["keyword"]["type"],
        "keyword"
    );
}

fn saved_objects() -> Vec<Value> {
    let text = std::fs::read_to_string(repo("infra/opensearch/dashboards.ndjson")).unwrap();
    text.lines().map(|line| serde_json::from_str(line).unwrap()).collect()
}

/// A saved object's attribute that Dashboards stores as a JSON string.
fn embedded_json(object: &Value, pointer: &str) -> Value {
    let text = object["attributes"].pointer(pointer).and_then(Value::as_str);
    serde_json::from_str(text.unwrap_or_else(|| panic!("{}: {pointer} is not a string", object["id"])))
        .unwrap()
}

fn mapped_types() -> BTreeMap<String, String> {
    let mut mapped = BTreeMap::new();
    mapped_fields(&index_template()["template"]["mappings"]["properties"], "", &mut mapped);
    mapped
}

#[test]
fn saved_objects_reference_each_other_and_only_mapped_fields() {
    let objects = saved_objects();
    let mapped = mapped_types();
    let ids: HashSet<(&str, &str)> =
        objects.iter().map(|o| (o["type"].as_str().unwrap(), o["id"].as_str().unwrap())).collect();
    assert_eq!(ids.len(), objects.len(), "(type, id) pairs are unique");

    let index_patterns: Vec<&Value> = objects.iter().filter(|o| o["type"] == "index-pattern").collect();
    assert_eq!(index_patterns.len(), 1);
    assert_eq!(index_patterns[0]["attributes"]["title"], index_template()["index_patterns"][0]);
    assert_eq!(index_patterns[0]["attributes"]["timeFieldName"], "@timestamp");
    assert_eq!(mapped["@timestamp"], "date");

    for object in &objects {
        for reference in object["references"].as_array().unwrap() {
            let target = (reference["type"].as_str().unwrap(), reference["id"].as_str().unwrap());
            assert!(ids.contains(&target), "{}: reference {reference} is not in the file", object["id"]);
        }
    }

    for object in objects.iter().filter(|o| o["type"] == "visualization") {
        let id = object["id"].as_str().unwrap();
        let state = embedded_json(object, "/visState");
        assert_eq!(state["title"], object["attributes"]["title"], "{id}");
        let search = embedded_json(object, "/kibanaSavedObjectMeta/searchSourceJSON");
        let index_ref = search["indexRefName"].as_str().unwrap();
        assert!(
            object["references"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["name"] == index_ref && r["type"] == "index-pattern"),
            "{id}: {index_ref} names no index-pattern reference"
        );
        for agg in state["aggs"].as_array().unwrap() {
            let kind = agg["type"].as_str().unwrap();
            if let Some(field) = agg["params"]["field"].as_str() {
                let mapping = mapped.get(field).unwrap_or_else(|| panic!("{id}: {field} is not mapped"));
                let fits = match kind {
                    "geohash_grid" => mapping == "geo_point",
                    "date_histogram" => mapping == "date",
                    "terms" | "cardinality" => matches!(mapping.as_str(), "keyword" | "long" | "ip"),
                    "percentiles" | "avg" | "max" | "sum" | "range" => {
                        matches!(mapping.as_str(), "long" | "scaled_float" | "double")
                    }
                    other => panic!("{id}: no rule for a {other} aggregation"),
                };
                assert!(fits, "{id}: a {kind} aggregation cannot run on {field} ({mapping})");
            }
            for filter in agg["params"]["filters"].as_array().into_iter().flatten() {
                let query = filter["input"]["query"].as_str().unwrap();
                let field = query.trim_start_matches("not ").split(':').next().unwrap();
                assert_eq!(mapped.get(field).map(String::as_str), Some("keyword"), "{id}: filter {query}");
            }
        }
    }
}

#[test]
fn the_dashboard_shows_every_visualisation_without_overlaps() {
    let objects = saved_objects();
    let dashboards: Vec<&Value> = objects.iter().filter(|o| o["type"] == "dashboard").collect();
    assert_eq!(dashboards.len(), 1);
    let dashboard = dashboards[0];
    let references = dashboard["references"].as_array().unwrap();
    let panels = embedded_json(dashboard, "/panelsJSON");
    let mut shown = HashSet::new();
    let mut cells = HashSet::new();
    for panel in panels.as_array().unwrap() {
        let name = panel["panelRefName"].as_str().unwrap();
        let reference =
            references.iter().find(|r| r["name"] == name).unwrap_or_else(|| panic!("{name} unresolved"));
        assert_eq!(reference["type"], "visualization");
        shown.insert(reference["id"].as_str().unwrap());
        let grid = &panel["gridData"];
        let [x, y, w, h] = ["x", "y", "w", "h"].map(|k| grid[k].as_u64().unwrap());
        assert!(x + w <= 48, "{name} is wider than the 48-column grid");
        for cell in (x..x + w).flat_map(|cx| (y..y + h).map(move |cy| (cx, cy))) {
            assert!(cells.insert(cell), "{name} overlaps another panel at {cell:?}");
        }
    }
    let visualisations: HashSet<&str> =
        objects.iter().filter(|o| o["type"] == "visualization").map(|o| o["id"].as_str().unwrap()).collect();
    assert_eq!(shown, visualisations);
}

#[test]
fn the_dashboard_answers_who_visits_the_site() {
    // (visualisation type, aggregation type, field) that the issue asks the dashboard for.
    let wanted = [
        ("tile_map", "geohash_grid", "source.geo.location"),
        ("pie", "terms", "user_agent.name"),
        ("pie", "terms", "user_agent.os.name"),
        ("pie", "terms", "user_agent.device.name"),
        ("table", "terms", "url.path"),
        ("histogram", "terms", "http.response.status_code"),
        ("histogram", "terms", "event.outcome"),
        ("pie", "terms", "Crawler.categories"),
        ("histogram", "date_histogram", "@timestamp"),
        ("heatmap", "date_histogram", "@timestamp"),
        ("histogram", "terms", "log.level"),
        ("table", "terms", "message"),
        ("histogram", "terms", "aws.cloudfront.edge_result_type"),
        ("table", "terms", "aws.cloudfront.edge_location"),
        ("line", "percentiles", "aws.elb.backend_processing_time.sec"),
        ("table", "terms", "aws.elb.error.reason"),
    ];
    let states: Vec<Value> = saved_objects()
        .iter()
        .filter(|o| o["type"] == "visualization")
        .map(|o| embedded_json(o, "/visState"))
        .collect();
    for (vis_type, agg_type, field) in wanted {
        let found = states.iter().any(|state| {
            state["type"] == vis_type
                && state["aggs"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|a| a["type"] == agg_type && a["params"]["field"] == field)
        });
        assert!(found, "no {vis_type} with a {agg_type} aggregation on {field}");
    }
    let bots = states.iter().find(|s| s["title"] == "Bots vs humans").unwrap();
    let filters = bots["aggs"][1]["params"]["filters"].as_array().unwrap();
    assert_eq!(filters.len(), 2, "bots and humans split the documents between them");
}
