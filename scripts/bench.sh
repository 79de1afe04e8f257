#!/usr/bin/env bash
# enrich-logs end to end on one core: the bundled sample log repeated to LINES lines (default
# 200,000), written as NDJSON to /dev/null. Prints the CLI's --stats line and the peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
lines=${LINES:-200000}
cargo build --locked --release -q -p enrichment --bin enrich-logs
mkdir -p out
input=out/bench-sample-$lines.log
if [ ! -s "$input" ]; then
  sample_lines=$(wc -l <tests/data/sample.log)
  for _ in $(seq $(( (lines + sample_lines - 1) / sample_lines ))); do cat tests/data/sample.log; done | head -n "$lines" >"$input"
fi
echo "input: $input ($(wc -l <"$input") lines, $(du -h "$input" | cut -f1)); no GeoIP"
/usr/bin/time -f "peak RSS: %M KiB, CPU: %U s user + %S s system" \
  taskset -c 0 ./target/release/enrich-logs --no-geoip --stats "$input" >/dev/null
