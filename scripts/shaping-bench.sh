#!/usr/bin/env bash
# The cost of keeping secrets out, and of the shaping rules: enrich-logs over the first LINES (default 20,000) lines of the
# benchmark log (scripts/bench.sh makes it) with the benchmark GeoIP databases under callgrind,
# whose instruction counts do not depend on how busy the machine is, with redaction off
# (REDACT_QUERY_PARAMS=false), on (the default list) and on with e-mail addresses
# (REDACT_EMAILS=true); and the same over a copy of the lines where every tenth request carries a
# token and its referrer a session id (so that redaction rewrites them). Prints the counts and each
# one's difference to redaction off. Then the shaping rules: ten rules that match no line (with
# redaction on) against none, and the cost of a line a rule drops against an enriched one, each
# with its own start-up (an empty log with the same settings: compiling the rules is done once, at
# a cold start) taken off.
#   scripts/shaping-bench.sh [LINES]
set -euo pipefail
cd "$(dirname "$0")/.."
lines=${1:-20000}
data=out/bench-200000
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }
[ -s "$data/realistic.log" ] || LINES=200000 RUNS=1 scripts/bench.sh >/dev/null
cargo build --locked --release -q -p enrich-logs
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

head -n "$lines" "$data/realistic.log" >"$work/plain.log"
python3 - "$work/plain.log" "$work/secrets.log" <<'PY'
import re, sys
with open(sys.argv[1], encoding="utf-8", errors="surrogateescape") as source, \
        open(sys.argv[2], "w", encoding="utf-8", errors="surrogateescape") as out:
    for n, line in enumerate(source):
        if n % 10 == 9:
            # The request gets a token; the referrer (the first quoted field after the status) a session.
            line = re.sub(r'"([A-Z]+) (\S+?)( HTTP/[0-9.]+)?"',
                          lambda m: f'"{m[1]} {m[2]}{"&" if "?" in m[2] else "?"}token=eyJhbGciOiJIUzI1NiJ9.{n}{m[3] or ""}"',
                          line, count=1)
            line = re.sub(r'(\d{3} \S+ )"(https?://[^"?]+)"', rf'\1"\2?session=9f{n:08x}"', line, count=1)
        out.write(line)
PY

instructions() { # LOG, then settings as VAR=value
  local log=$1
  shift
  env "$@" valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" \
    ./target/release/enrich-logs --city-db "$data/Bench-City.mmdb" --asn-db "$data/Bench-ASN.mmdb" \
    "$log" >"$work/out.ndjson" 2>"$work/valgrind.txt"
  grep -m1 -o 'Collected : [0-9]*' "$work/valgrind.txt" | grep -o '[0-9]*'
}

echo "$lines lines, callgrind instructions (difference to redaction off)"
for log in plain secrets; do
  off=$(instructions "$work/$log.log" REDACT_QUERY_PARAMS=false)
  printf '%-8s %-28s %14d\n' "$log" "redaction off" "$off"
  for setting in "REDACT_QUERY_PARAMS=true" "REDACT_EMAILS=true"; do
    count=$(instructions "$work/$log.log" "$setting")
    printf '%-8s %-28s %14d  %+.2f %%\n' "$log" "$setting" "$count" "$(python3 -c "print(($count - $off) * 100 / $off)")"
  done
done
grep -c REDACTED "$work/out.ndjson" | xargs printf 'documents with REDACTED in the last run: %s\n'

# Shaping rules: ten rules that match none of the lines (with redaction on), and one that drops
# every line; each one's start-up (the same settings over an empty log) is taken off to give the
# cost of a line.
ten_rules='user_agent.original ^= ELB-HealthChecker/; user_agent.original ^= kube-probe/;
url.path = /health,/healthz,/readyz; source.ip in 10.0.0.0/8 and url.path ^= /internal/;
http.request.method = OPTIONS; url.path $= .map; destination.domain = status.example.com;
user_agent.original ~ (?i)uptime; http.response.status_code = 499; url.query ^= healthcheck='
: >"$work/empty.log"
per_line() { # settings as VAR=value: instructions a line, the same settings' start-up taken off
  local all start
  all=$(instructions "$work/plain.log" "$@")
  start=$(instructions "$work/empty.log" "$@")
  python3 -c "print(($all - $start) / $lines)"
}
plain=$(per_line REDACT_QUERY_PARAMS=false)
ten=$(per_line "DROP_WHEN=$ten_rules")
dropped=$(per_line 'DROP_WHEN=url.path ^= /')
echo "shaping rules, instructions per line (each setting's start-up taken off):"
printf '  %-52s %8.0f\n' "no rules, redaction off" "$plain"
printf '  %-52s %8.0f  %+.2f %%\n' "ten rules matching nothing, redaction on" "$ten" \
  "$(python3 -c "print(($ten - $plain) * 100 / $plain)")"
printf '  %-52s %8.0f  %.3f of an enriched line\n' "every line dropped (url.path ^= /)" "$dropped" \
  "$(python3 -c "print($dropped / $plain)")"
