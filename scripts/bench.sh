#!/usr/bin/env bash
# enrich-logs end to end on one core: the bundled sample log repeated to LINES lines (default
# 200,000), written as NDJSON to /dev/null, with GeoIP City + ASN and user agents. Uses the real
# databases named by GEOIP_CITY_DB / GEOIP_ASN_DB when set, otherwise the generated demo databases,
# and says which. Prints the CLI's --stats line, CPU time and peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
lines=${LINES:-200000}
cargo build --locked --release -q -p enrichment -p geoip-testdata --bins
mkdir -p out
input=out/bench-sample-$lines.log
if [ ! -s "$input" ]; then
  sample_lines=$(wc -l <tests/data/sample.log)
  for _ in $(seq $(( (lines + sample_lines - 1) / sample_lines ))); do cat tests/data/sample.log; done | head -n "$lines" >"$input"
fi
if [ -n "${GEOIP_CITY_DB:-}" ]; then
  city=$GEOIP_CITY_DB asn=${GEOIP_ASN_DB:-}
  echo "GeoIP: real databases $city ${asn:+and $asn}"
else
  ./target/release/make-demo-geoip geoip/demo/networks.tsv out/demo-geoip 2>/dev/null
  city=out/demo-geoip/Demo-City.mmdb asn=out/demo-geoip/Demo-ASN.mmdb
  echo "GeoIP: generated demo databases (set GEOIP_CITY_DB/GEOIP_ASN_DB for real ones)"
fi
echo "input: $input ($(wc -l <"$input") lines, $(du -h "$input" | cut -f1))"
run() {
  /usr/bin/time -f "peak RSS: %M KiB, CPU: %U s user + %S s system" \
    taskset -c 0 ./target/release/enrich-logs --stats "$@" "$input" 2>&1 >/dev/null | sed 's/^/  /'
}
echo "with GeoIP and user agents:"
run --city-db "$city" ${asn:+--asn-db "$asn"}
echo "without GeoIP:"
run --no-geoip
echo "start-up to first document (one line, 20 runs, median):"
head -n 1 "$input" >out/bench-one-line.log
for _ in $(seq 20); do
  start=$(date +%s%N)
  ./target/release/enrich-logs --city-db "$city" ${asn:+--asn-db "$asn"} out/bench-one-line.log >/dev/null
  echo $(( ($(date +%s%N) - start) / 1000 ))
done | sort -n | sed -n 10p | awk '{printf "  %.2f ms\n", $1/1000}'
