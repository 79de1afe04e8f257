//! Writes the demo GeoIP databases used by `make demo`, from geoip/demo/networks.tsv.
//!
//! Usage: make-demo-geoip SOURCE.tsv OUTPUT_DIR  ─▶ OUTPUT_DIR/Demo-City.mmdb, OUTPUT_DIR/Demo-ASN.mmdb
//! The records are made up for the sample log's addresses and say so in their metadata.

use std::path::PathBuf;
use std::process::ExitCode;

const DESCRIPTION: &str = "DEMO DATA, NOT REAL: generated from geoip/demo/networks.tsv for the sample log";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [source, output] = args.as_slice() else {
        eprintln!("usage: make-demo-geoip SOURCE.tsv OUTPUT_DIR");
        return ExitCode::from(2);
    };
    match run(source, &PathBuf::from(output)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("make-demo-geoip: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(source: &str, output: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(source).map_err(|e| format!("cannot read {source}: {e}"))?;
    let (cities, asns) = geoip_testdata::parse_demo_source(&text).map_err(|e| format!("{source}: {e}"))?;
    std::fs::create_dir_all(output)?;
    let city = geoip_testdata::city_database("Demo-City", DESCRIPTION, &cities)?;
    let asn = geoip_testdata::asn_database("Demo-ASN", DESCRIPTION, &asns)?;
    std::fs::write(output.join("Demo-City.mmdb"), city)?;
    std::fs::write(output.join("Demo-ASN.mmdb"), asn)?;
    eprintln!(
        "{} city and {} ASN networks written to {} (demo data)",
        cities.len(),
        asns.len(),
        output.display()
    );
    Ok(())
}
