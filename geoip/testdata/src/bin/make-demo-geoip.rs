//! Writes the demo GeoIP databases used by `make demo`, from geoip/demo/networks.tsv.
//!
//! Usage: make-demo-geoip SOURCE.tsv OUTPUT_DIR  ─▶ OUTPUT_DIR/Demo-City.mmdb, OUTPUT_DIR/Demo-ASN.mmdb
//! The records are made up for the sample log's addresses and say so in their metadata.

use std::path::PathBuf;
use std::process::ExitCode;

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
    let (city, asn) = geoip_testdata::demo_databases(&text).map_err(|e| format!("{source}: {e}"))?;
    std::fs::create_dir_all(output)?;
    std::fs::write(output.join("Demo-City.mmdb"), city)?;
    std::fs::write(output.join("Demo-ASN.mmdb"), asn)?;
    eprintln!("demo City and ASN databases written to {} (demo data, not real)", output.display());
    Ok(())
}
