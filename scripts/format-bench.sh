#!/usr/bin/env bash
# The cost of other formats against Apache's combined, on the same requests: nginx's, and the
# Application Load Balancer's.
#
# nginx's upstream-timing format:
# the first LINES (default 20,000) lines of the benchmark log (scripts/bench.sh makes it), and the
# same lines with nginx's upstream-timing fields appended
#   rt=$request_time uct="$upstream_connect_time" uht="$upstream_header_time"
#   urt="$upstream_response_time" ua=$upstream_addr us=$upstream_status
# (one upstream on most lines, two on every tenth: a failed first try, as nginx lists it), each
# through enrich-logs with the benchmark GeoIP databases under callgrind, whose instruction counts
# do not depend on how busy the machine is. Also the same lines through nginx's own `combined`
# log_format, and the upstream lines through an Apache LogFormat that reads the six fields as
# request headers (read and skipped, so nothing more is written): the parser's cost for the same
# fields either way. ALB: the same requests as a load balancer logs them (its 30 fields, the
# request as a full URL); CloudFront: the same requests as a standard log file (its 33 legacy
# fields, tab-separated, after the #Version/#Fields header). Prints the counts and each one's
# difference to Apache combined.
#   scripts/format-bench.sh [LINES]
set -euo pipefail
cd "$(dirname "$0")/.."
lines=${1:-20000}
data=out/bench-200000
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }
[ -s "$data/realistic.log" ] || LINES=200000 RUNS=1 scripts/bench.sh >/dev/null
cargo build --locked --release -q -p enrich-logs
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

head -n "$lines" "$data/realistic.log" >"$work/combined.log"
python3 - "$work/combined.log" "$work/upstream.log" <<'PY'
import sys
with open(sys.argv[1], "rb") as source, open(sys.argv[2], "wb") as out:
    for n, line in enumerate(source):
        line = line.rstrip(b"\n")
        connect, header = (n % 7) / 1000, (n % 53 + 2) / 1000
        response = header + (n % 11) / 1000
        if n % 10 == 9:  # the first server refused: nginx lists both tries
            times = f'uct="0.001, {connect:.3f}" uht="-, {header:.3f}" urt="0.001, {response:.3f}"'
            servers = f"ua=10.0.1.5:8080, 10.0.1.6:8080 us=502, 200"
        else:
            times = f'uct="{connect:.3f}" uht="{header:.3f}" urt="{response:.3f}"'
            servers = f"ua=10.0.1.{5 + n % 2}:8080 us=200"
        out.write(line + f" rt={response + 0.001:.3f} {times} {servers}\n".encode())
PY
python3 - "$work/combined.log" "$work/alb.log" <<'PY'
import re, sys
from datetime import datetime
line_re = re.compile(r'^(\S+) \S+ \S+ \[([^\]]+)\] "(\S+) (\S+) (HTTP/[0-9.]+)" (\d+) (\d+|-) "[^"]*" "([^"]*)"$')
with open(sys.argv[1]) as source, open(sys.argv[2], "w") as out:
    for n, line in enumerate(source):
        m = line_re.match(line.rstrip("\n"))
        if not m:
            raise SystemExit(f"line {n + 1} is not combined: {line!r}")
        ip, when, method, target, version, status, size, agent = m.groups()
        time = datetime.strptime(when, "%d/%b/%Y:%H:%M:%S %z").strftime("%Y-%m-%dT%H:%M:%S.") + f"{n % 1000000:06d}Z"
        size = 0 if size == "-" else int(size)
        port = 1024 + n % 60000
        rt = (n % 53 + 2) / 1000
        out.write(
            f'https {time} app/bench-alb/50dc6c495c0c9188 {ip}:{port} 10.0.1.{5 + n % 2}:8080 0.001 {rt:.3f} 0.000 '
            f'{status} {status} {300 + n % 400} {size + 250} "{method} https://www.example.com:443{target} {version}" '
            f'"{agent}" TLS_AES_128_GCM_SHA256 TLSv1.3 '
            f'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/73e2d6bc24d8a067 '
            f'"Root=1-6740c7ec-{n:024x}" "www.example.com" "session-reused" 1 {time} "forward" "-" "-" '
            f'"10.0.1.{5 + n % 2}:8080" "{status}" "Acceptable" "-" TID_{n:016x}\n'
        )
PY
python3 - "$work/combined.log" "$work/cloudfront.log" <<'PY'
import re, sys
from datetime import datetime
from urllib.parse import quote
line_re = re.compile(r'^(\S+) \S+ \S+ \[([^\]]+)\] "(\S+) (\S+) (HTTP/[0-9.]+)" (\d+) (\d+|-) "([^"]*)" "([^"]*)"$')
fields = ("date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) "
          "cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol "
          "cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type "
          "cs-protocol-version fle-status fle-encrypted-fields c-port time-to-first-byte "
          "x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start sc-range-end")
with open(sys.argv[1]) as source, open(sys.argv[2], "w") as out:
    out.write("#Version: 1.0\n#Fields: " + fields + "\n")
    for n, line in enumerate(source):
        m = line_re.match(line.rstrip("\n"))
        if not m:
            raise SystemExit(f"line {n + 1} is not combined: {line!r}")
        ip, when, method, target, version, status, size, referrer, agent = m.groups()
        stamp = datetime.strptime(when, "%d/%b/%Y:%H:%M:%S %z")
        size = 0 if size == "-" else int(size)
        path, _, query = target.partition("?")
        result = ("Hit", "Miss", "RefreshHit")[n % 3] if status < "400" else "Error"
        taken = (n % 53 + 2) / 1000
        values = [stamp.strftime("%Y-%m-%d"), stamp.strftime("%H:%M:%S"), ("FRA56-P1", "LHR61-P3", "IAD89-C2")[n % 3],
                  str(size + 250), ip, method, "d111111abcdef8.cloudfront.net", path, status, quote(referrer, safe=":/?=&") if referrer != "-" else "-",
                  quote(agent, safe="/();,:+"), query or "-", "-", result, f"{n:016x}Xw4XV6Q4rgb7XiVGOHms_BGlTAC4KyHmureZmBNrjGdRLiNIQ=="[-56:],
                  "www.example.com", "https", str(300 + n % 400), f"{taken:.3f}", "-", "TLSv1.3", "TLS_AES_128_GCM_SHA256",
                  result, version, "-", "-", str(1024 + n % 60000), f"{taken / 2:.3f}", result, "text/html", str(size), "-", "-"]
        out.write("\t".join(values) + "\n")
PY

upstream_format="'\$remote_addr - \$remote_user [\$time_local] \"\$request\" \$status \$body_bytes_sent \"\$http_referer\" \"\$http_user_agent\" ' 'rt=\$request_time uct=\"\$upstream_connect_time\" uht=\"\$upstream_header_time\" urt=\"\$upstream_response_time\" ua=\$upstream_addr us=\$upstream_status'"
geo=(--city-db "$data/Bench-City.mmdb" --asn-db "$data/Bench-ASN.mmdb")

instructions() { # LOG FORMAT
  valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" \
    ./target/release/enrich-logs "${geo[@]}" --format "$2" "$1" >"$work/out.ndjson" 2>"$work/valgrind.txt"
  if grep -q '"_parse_failure"' "$work/out.ndjson"; then echo "$1: lines did not parse" >&2; exit 1; fi
  grep -m1 -o 'Collected : [0-9]*' "$work/valgrind.txt" | grep -o '[0-9]*'
}

nginx_combined="'\$remote_addr - \$remote_user [\$time_local] \"\$request\" \$status \$body_bytes_sent \"\$http_referer\" \"\$http_user_agent\"'"
apache_six='%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i" rt=%{X-RT}i uct="%{X-UCT}i" uht="%{X-UHT}i" urt="%{X-URT}i" ua=%{X-UA}i us=%{X-US}i'

combined=$(instructions "$work/combined.log" combined)
nginx=$(instructions "$work/combined.log" "$nginx_combined")
apache_upstream=$(instructions "$work/upstream.log" "$apache_six")
upstream=$(instructions "$work/upstream.log" "$upstream_format")
alb=$(instructions "$work/alb.log" alb)
cloudfront=$(instructions "$work/cloudfront.log" cloudfront)
bytes_combined=$(wc -c <"$work/combined.log")
bytes_upstream=$(wc -c <"$work/upstream.log")
bytes_alb=$(wc -c <"$work/alb.log")
bytes_cloudfront=$(wc -c <"$work/cloudfront.log")
awk -v lines="$lines" -v c="$combined" -v n="$nginx" -v a="$apache_upstream" -v u="$upstream" -v l="$alb" -v f="$cloudfront" \
  -v bc="$bytes_combined" -v bu="$bytes_upstream" -v bl="$bytes_alb" -v bf="$bytes_cloudfront" 'BEGIN {
  printf "%d lines, enrich-logs with GeoIP City + ASN and user agents, instructions (callgrind):\n", lines
  row("Apache combined", c, bc)
  row("nginx combined log_format", n, bc)
  row("Apache, six fields appended", a, bu)
  row("nginx upstream-timing format", u, bu)
  row("Application Load Balancer", l, bl)
  row("CloudFront standard log", f, bf)
}
function row(label, count, bytes) {
  printf "  %-30s %7.1f M  %6d per line  %5.1f per input byte  %+6.1f %%\n", label, count / 1e6, count / lines, count / bytes, (count / c - 1) * 100
}'
