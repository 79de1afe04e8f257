#!/usr/bin/env bash
# A local Firehose for `make watch` + `make invoke FUNCTION=kinesis-enricher`: moto on
# 127.0.0.1:5000 with the DirectPut stream `weblogs-enriched` delivering to the bucket
# `weblogs-backup` (moto delivers at once), and for s3-archive-enricher the bucket
# `weblogs-archive` holding the sample log, gzipped, under the key tests/events/s3-*.json name.
#   scripts/local-firehose.sh start | documents | stop
set -euo pipefail
cd "$(dirname "$0")/.."
pid_file=out/moto.pid
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=eu-west-1
case "${1:-}" in
  start)
    scripts/test-tools.sh >/dev/null
    mkdir -p out
    if [ -s "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then echo "already running"; exit 0; fi
    .venv/bin/moto_server -H 127.0.0.1 -p 5000 >out/moto.log 2>&1 &
    echo $! >"$pid_file"
    for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/5000) 2>/dev/null && break; sleep 0.2; done
    .venv/bin/python - <<'PY'
import boto3
s3 = boto3.client("s3", endpoint_url="http://127.0.0.1:5000")
s3.create_bucket(Bucket="weblogs-backup", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
boto3.client("firehose", endpoint_url="http://127.0.0.1:5000").create_delivery_stream(
    DeliveryStreamName="weblogs-enriched", DeliveryStreamType="DirectPut",
    ExtendedS3DestinationConfiguration={"RoleARN": "arn:aws:iam::123456789012:role/firehose-delivery",
                                        "BucketARN": "arn:aws:s3:::weblogs-backup"})
import gzip
s3.create_bucket(Bucket="weblogs-archive", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
with open("tests/data/sample.log", "rb") as sample:
    s3.put_object(Bucket="weblogs-archive", Key="apache/access_log-20261101 (web 1).gz", Body=gzip.compress(sample.read()))
PY
    echo "local Firehose: stream weblogs-enriched, archive bucket weblogs-archive on http://127.0.0.1:5000 (pid $(cat "$pid_file"))" ;;
  documents)
    .venv/bin/python - <<'PY'
import boto3
s3 = boto3.client("s3", endpoint_url="http://127.0.0.1:5000")
for item in s3.list_objects_v2(Bucket="weblogs-backup").get("Contents", []):
    print(s3.get_object(Bucket="weblogs-backup", Key=item["Key"])["Body"].read().decode(), end="")
PY
    ;;
  stop)
    [ -s "$pid_file" ] && kill "$(cat "$pid_file")" 2>/dev/null || true
    rm -f "$pid_file"; echo "stopped" ;;
  *) echo "usage: $0 start|documents|stop" >&2; exit 2 ;;
esac
