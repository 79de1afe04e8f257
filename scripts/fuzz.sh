#!/usr/bin/env bash
# Runs the cargo-fuzz targets in fuzz/ for SECONDS each (default 60), on the stable toolchain:
# RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass the -Z flags it needs (sanitizer, coverage).
#   scripts/fuzz.sh [SECONDS] [TARGET...]      targets: parse_line decode_record firehose_handler kinesis_prepare
# Seeds come from tests/data, tests/hostile and tests/events (regenerated each run, not committed).
# A crash stops the script with a non-zero status; its input is in fuzz/artifacts/TARGET/, to be
# turned into a regression test.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(parse_line decode_record firehose_handler kinesis_prepare)
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --version 0.13.2 --locked
export RUSTC_BOOTSTRAP=1

python3 - <<'PY'
import base64, glob, hashlib, json, os
def put(target, data):
    os.makedirs(f"fuzz/corpus/{target}", exist_ok=True)
    with open(f"fuzz/corpus/{target}/{hashlib.sha1(data).hexdigest()}", "wb") as f:
        f.write(data)
for path in sorted(glob.glob("tests/data/*.log") + glob.glob("tests/data/formats/*.log")):
    for index, line in enumerate(open(path, "rb").read().split(b"\n")[:60]):
        put("parse_line", bytes([index % 9]) + line)
# The nginx captures, each with the fuzz target's nginx format of its kind (9 to 13).
nginx_format = {"escape_json": 10, "escape_none": 11, "upstream": 12, "iso_msec": 12, "uri_args": 12, "reference": 13,
                "error": 14}
for path in sorted(glob.glob("tests/data/nginx/*.log")):
    name = os.path.basename(path)[:-4]
    for line in open(path, "rb").read().split(b"\n")[:40]:
        put("parse_line", bytes([nginx_format.get(name, 9)]) + line)
# Apache's error log with apache_error (15); auto (0) reads it too.
for line in open("tests/data/formats/error.log", "rb").read().split(b"\n")[:60]:
    put("parse_line", b"\x0f" + line)
# ALB lines with alb (16) and auto (0).
for path in sorted(glob.glob("tests/data/alb/*.log")):
    for line in open(path, "rb").read().split(b"\n"):
        put("parse_line", b"\x10" + line)
        put("parse_line", b"\x00" + line)
# CloudFront real-time records with the default list (17) and the short one (18).
for name, selector in (("realtime-default", 17), ("realtime-custom", 18)):
    for line in open(f"tests/data/cloudfront/{name}.log", "rb").read().split(b"\n"):
        put("parse_line", bytes([selector]) + line)
# CloudFront standard log files whole, with cloudfront (19); their lines alone with auto (0).
for path in sorted(glob.glob("tests/data/cloudfront/standard-*.log")):
    text = open(path, "rb").read()
    put("parse_line", b"\x13" + text)
    for line in text.split(b"\n"):
        put("parse_line", b"\x00" + line)
hostile = [bytes.fromhex(json.loads(line)["line_hex"])[:65536] for line in open("tests/hostile/lines.jsonl")]
for line in hostile:
    put("parse_line", b"\x00" + line)
# The hostile lines as multi-line records: all of them, and each between two ordinary lines.
ordinary = open("tests/data/sample.log", "rb").read().split(b"\n")[:2]
put("decode_record", b"\n".join(hostile))
for line in hostile:
    put("decode_record", b"\n".join([ordinary[0], line, ordinary[1]]))
# The stream functions' events (the S3 function's, tests/events/s3-*.json, hold no records).
for path in sorted(glob.glob("tests/events/firehose-*.json") + glob.glob("tests/events/kinesis-*.json")):
    event = json.load(open(path))
    target = "firehose_handler" if "firehose" in path else "kinesis_prepare"
    put(target, json.dumps(event).encode())
    records = event.get("records") or [r["kinesis"] for r in event.get("Records", [])]
    for record in records:
        put("decode_record", base64.b64decode(record["data"]))
PY

for target in "${targets[@]}"; do
  echo "== $target: ${seconds}s"
  (cd fuzz && cargo fuzz run -O "$target" "corpus/$target" -- \
      -max_total_time="$seconds" -rss_limit_mb=1024 -max_len=262144 -print_final_stats=1 2>&1) \
    | grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb|^stat::new_units_added|Done [0-9]+ runs|cov: [0-9]+|ERROR|panicked|SUMMARY" | tail -n 8
  [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "fuzz target $target failed: see fuzz/artifacts/$target/" >&2; exit 1; }
done
