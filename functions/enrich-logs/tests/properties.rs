//! Property tests of `enrich-logs` as a user runs it.
#![allow(clippy::unwrap_used)] // a failing property should stop right there

use std::io::Write;
use std::process::{Command, Stdio};

use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// `enrich-logs` writes exactly one JSON document per input line, whatever the bytes.
    #[test]
    fn the_cli_writes_one_document_per_line(lines in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 1..40)) {
        let input: Vec<u8> = lines.iter().flat_map(|l| l.iter().copied().filter(|&b| b != b'\n').chain([b'\n'])).collect();
        let mut child = Command::new(env!("CARGO_BIN_EXE_enrich-logs"))
            .arg("--no-geoip")
            .env_remove("LOG_FORMAT")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&input).unwrap();
        let output = child.wait_with_output().unwrap();
        prop_assert!(output.status.success());
        let documents: Vec<&[u8]> = output.stdout.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();
        prop_assert_eq!(documents.len(), lines.len());
        for document in documents {
            prop_assert!(serde_json::from_slice::<serde_json::Value>(document).is_ok());
        }
    }
}
