//! Test-only stand-ins, shared by the functions' integration tests. Each says what it replaces:
//! - [`http::HttpServer`]: a minimal HTTP/1.1 server on 127.0.0.1 (keep-alive, one thread per
//!   connection), the base of the others;
//! - [`runtime_api::LocalRuntimeApi`]: Lambda's Runtime API, to run a function's real `main`;
//! - [`faulty_firehose::FaultyFirehose`]: a Firehose PutRecordBatch endpoint (awsJson1_1) that
//!   injects throttling and entry failures, which the real service and moto never do on demand;
//! - [`moto::MotoServer`]: starts and stops (by process id) a real moto server from the venv;
//! - [`fixtures`]: the pieces of the committed events in tests/events/, made from tests/data/;
//! - [`demo_geoip`], [`demo_database_files`]: the demo GeoIP databases, in memory or as files.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)] // test support: a broken fixture should stop the test

pub mod faulty_firehose;
pub mod fixtures;
pub mod http;
pub mod moto;
pub mod runtime_api;

use std::path::{Path, PathBuf};

use geoip::{Database, DatabaseKind, GeoIp};

/// A path in the repository.
pub fn repo(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(relative)
}

/// The demo City + ASN databases (geoip/demo/networks.tsv), in memory.
pub fn demo_geoip() -> GeoIp {
    let (city, asn) = geoip_testdata::demo_databases(geoip_testdata::DEMO_SOURCE).unwrap();
    GeoIp::new(
        Some(Database::from_bytes(city, Path::new("Demo-City.mmdb"), DatabaseKind::City).unwrap()),
        Some(Database::from_bytes(asn, Path::new("Demo-ASN.mmdb"), DatabaseKind::Asn).unwrap()),
    )
}

/// Bytes from hex text (the hostile corpus keeps its lines as `line_hex`).
pub fn hex_decode(hex: &str) -> Vec<u8> {
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect()
}

/// Writes the demo City and ASN databases into `dir`; returns their paths.
pub fn demo_database_files(dir: &Path) -> (PathBuf, PathBuf) {
    let (city, asn) = geoip_testdata::demo_databases(geoip_testdata::DEMO_SOURCE).unwrap();
    std::fs::create_dir_all(dir).unwrap();
    let (city_path, asn_path) = (dir.join("Demo-City.mmdb"), dir.join("Demo-ASN.mmdb"));
    std::fs::write(&city_path, city).unwrap();
    std::fs::write(&asn_path, asn).unwrap();
    (city_path, asn_path)
}

/// A fresh directory under the system's temporary directory.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("{name}-{}-{:?}", std::process::id(), std::thread::current().id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
