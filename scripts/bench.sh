#!/usr/bin/env bash
# enrich-logs end to end on one core (taskset -c 0), over the generated benchmark logs
# (geoip-testdata's make-bench-data: LINES lines, default 200,000, of returning visitors in
# `realistic.log` and a new address on every line in `unique-ip.log`), written as NDJSON to
# /dev/null with GeoIP City + ASN and user agents. Uses the real databases named by GEOIP_CITY_DB /
# GEOIP_ASN_DB when set, otherwise the generated benchmark databases, and says which.
# Prints, per log, the median of RUNS (default 5) runs: lines/s (enrich-logs --stats), CPU time and
# peak RSS; then the start-up time to the first document (median of 20); then the Lambda view
# (scripts/lambda_bench.py: 5,000- and 10,000-record Kinesis batches, 0.5 MB and 3 MB Firehose
# requests, five invocations per process: CPU against enrich-logs on the same lines, init, RSS, cost).
set -euo pipefail
cd "$(dirname "$0")/.."
lines=${LINES:-200000}
runs=${RUNS:-5}
cargo build --locked --release -q -p enrich-logs -p geoip-testdata --bins
data=out/bench-$lines
if [ ! -s "$data/unique-ip.log" ]; then
  ./target/release/make-bench-data "$data" "$lines"
fi
if [ -n "${GEOIP_CITY_DB:-}" ]; then
  city=$GEOIP_CITY_DB asn=${GEOIP_ASN_DB:-}
  echo "GeoIP: real databases $city ${asn:+and $asn}"
else
  city=$data/Bench-City.mmdb asn=$data/Bench-ASN.mmdb
  echo "GeoIP: generated benchmark databases, 17,408 networks (set GEOIP_CITY_DB/GEOIP_ASN_DB for real ones)"
fi
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"

# One run: "lines/s cpu_seconds peak_rss_kib".
measure() {
  local stats
  stats=$( { /usr/bin/time -f "TIME %U %S %M" taskset -c 0 ./target/release/enrich-logs --stats "$@" >/dev/null; } 2>&1)
  awk '/lines\/s:/ { for (i = 1; i <= NF; i++) if ($i == "lines/s:") rate = $(i + 1) }
       /^TIME/ { cpu = $2 + $3; rss = $4 }
       END { printf "%d %.2f %d\n", rate, cpu, rss }' <<<"$stats"
}

report() {
  local label=$1; shift
  for _ in $(seq "$runs"); do measure "$@"; done | sort -n | sed -n "$(( (runs + 1) / 2 ))p" |
    awk -v label="$label" '{ printf "  %-34s %9d lines/s  CPU %5.2f s  peak RSS %6.1f MiB\n", label, $1, $2, $3 / 1024 }'
}

geo=(--city-db "$city" ${asn:+--asn-db "$asn"})
echo "enrich-logs, $lines lines, one core, median of $runs runs:"
report "realistic, GeoIP + user agents" "${geo[@]}" "$data/realistic.log"
report "unique addresses, GeoIP + UA" "${geo[@]}" "$data/unique-ip.log"
report "realistic, no GeoIP" --no-geoip "$data/realistic.log"

head -n 1 "$data/realistic.log" >"$data/one-line.log"
for _ in $(seq 20); do
  start=$(date +%s%N)
  ./target/release/enrich-logs "${geo[@]}" "$data/one-line.log" >/dev/null
  echo $(( ($(date +%s%N) - start) / 1000 ))
done | sort -n | sed -n 10p | awk '{ printf "start-up to first document (process spawn included, median of 20): %.2f ms\n", $1 / 1000 }'

echo "Lambda view: the functions' release binaries through a local Runtime API (scripts/lambda_bench.py):"
cargo build --locked --release -q -p kinesis-enricher -p firehose-transformer
RUNS=$runs python3 scripts/lambda_bench.py "$data" "$city" ${asn:+"$asn"}
