//! Writes the benchmark's data (see `geoip_testdata::bench`): generated, not real.
//!
//! Usage: make-bench-data OUTPUT_DIR [LINES]  (LINES defaults to 200,000) ─▶
//!   OUTPUT_DIR/Bench-City.mmdb, OUTPUT_DIR/Bench-ASN.mmdb   16,384 IPv4 and 1,024 IPv6 networks
//!   OUTPUT_DIR/realistic.log                                 returning visitors, sessions, long tails
//!   OUTPUT_DIR/unique-ip.log                                 a new address on every line

use std::path::Path;
use std::process::ExitCode;

use geoip_testdata::bench::{Traffic, bench_databases, bench_log};

const SEED: u64 = 20_261_121;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (output, lines) = match args.as_slice() {
        [output] => (output, Some(200_000)),
        [output, lines] => (output, lines.replace(['_', ','], "").parse().ok()),
        _ => (&String::new(), None),
    };
    let Some(lines) = lines.filter(|_| !output.is_empty()) else {
        eprintln!("usage: make-bench-data OUTPUT_DIR [LINES]");
        return ExitCode::from(2);
    };
    match run(Path::new(output), lines) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("make-bench-data: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(output: &Path, lines: usize) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(output)?;
    let (city, asn) = bench_databases()?;
    std::fs::write(output.join("Bench-City.mmdb"), city)?;
    std::fs::write(output.join("Bench-ASN.mmdb"), asn)?;
    std::fs::write(output.join("realistic.log"), bench_log(lines, Traffic::Realistic, SEED))?;
    std::fs::write(output.join("unique-ip.log"), bench_log(lines, Traffic::UniqueAddresses, SEED))?;
    eprintln!(
        "benchmark databases and {lines}-line logs written to {} (generated, not real)",
        output.display()
    );
    Ok(())
}
