//! Test-only stand-ins, shared by the functions' integration tests. Each says what it replaces:
//! - [`http::HttpServer`]: a minimal HTTP/1.1 server on 127.0.0.1 (keep-alive, one thread per
//!   connection), the base of the others;
//! - [`runtime_api::LocalRuntimeApi`]: Lambda's Runtime API, to run a function's real `main`;
//! - [`faulty_firehose::FaultyFirehose`]: a Firehose PutRecordBatch endpoint (awsJson1_1) that
//!   injects throttling and entry failures, which the real service and moto never do on demand;
//! - [`fake_opensearch::FakeOpenSearch`]: an OpenSearch domain's `_bulk` endpoint (no OpenSearch
//!   server can run here), answering per item as the documented API does;
//! - [`moto::MotoServer`]: starts and stops (by process id) a real moto server from the venv;
//! - [`fixtures`]: the pieces of the committed events in tests/events/, made from tests/data/;
//! - [`demo_geoip`], [`demo_database_files`]: the demo GeoIP databases, in memory or as files.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)] // test support: a broken fixture should stop the test

pub mod fake_opensearch;
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

/// The demo City and ASN databases as files (`.0`, `.1`) in a fresh temporary directory, which goes
/// when this is dropped: keep it for as long as a process reads them.
#[derive(Debug)]
pub struct DemoDatabaseFiles(pub PathBuf, pub PathBuf, pub TempDir);

/// Writes the demo City and ASN databases into a fresh temporary directory named after `name`.
pub fn demo_database_files(name: &str) -> DemoDatabaseFiles {
    let (city, asn) = geoip_testdata::demo_databases(geoip_testdata::DEMO_SOURCE).unwrap();
    let dir = TempDir::new(name);
    let (city_path, asn_path) = (dir.0.join("Demo-City.mmdb"), dir.0.join("Demo-ASN.mmdb"));
    std::fs::write(&city_path, city).unwrap();
    std::fs::write(&asn_path, asn).unwrap();
    DemoDatabaseFiles(city_path, asn_path, dir)
}

/// A directory under the system's temporary directory, removed with what it holds when dropped.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let serial = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("{name}-{}-{serial}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
