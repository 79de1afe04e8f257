#!/usr/bin/env bash
# Replays the failed batches of a deployed stack (Pipeline=kinesis-enricher) with
# replay-failed-batches: the stack's on-failure queue (its output), the deployed function's own
# settings (its environment: DELIVERY_STREAM_NAME with every delivery stream, or DELIVERY=opensearch
# with the domain's endpoint, LOG_FORMAT, ...) and the GeoIP
# databases of the layer folder it was deployed with (geoip/layer/build/geoip/, or GEOIP_DIR).
#   scripts/replay.sh STACK
# REPLAY_BIN picks the binary (default target/release/replay-failed-batches, which `make replay`
# builds). AWS_ENDPOINT_URL points the AWS CLI and the replay elsewhere (the tests use moto).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/aws-env.sh

stack=${1:?usage: $0 STACK}
binary=${REPLAY_BIN:-target/release/replay-failed-batches}
[ -x "$binary" ] || { echo "$binary is missing: run make replay (it builds it)" >&2; exit 1; }
geoip_dir=${GEOIP_DIR:-geoip/layer/build/geoip}

queue_url=$(output FailedBatchQueueUrl)
if [ "$queue_url" = None ] || [ -z "$queue_url" ]; then
  echo "stack $stack has no FailedBatchQueueUrl output: only Pipeline=kinesis-enricher has an on-failure queue" >&2
  exit 1
fi
function_name=$(output EnrichmentFunction)

# The function's settings, so the replayed documents are the ones it would have written.
settings=$(aws lambda get-function-configuration --function-name "$function_name" \
  --query Environment.Variables --output json)
while IFS= read -r -d '' assignment; do
  export "${assignment?}"
done < <(python3 -c '
import json, sys
for key, value in (json.loads(sys.stdin.read()) or {}).items():
    if key.isidentifier() and not key.startswith("AWS_"):
        sys.stdout.write(f"{key}={value}\0")
' <<<"$settings")
for kind in City ASN; do
  file=$(ls "$geoip_dir"/*-"$kind".mmdb 2>/dev/null | head -n 1 || true)
  [ -n "$file" ] || { echo "no $kind database in $geoip_dir: run make geoip-layer, or set GEOIP_DIR" >&2; exit 1; }
  if [ "$kind" = City ]; then export GEOIP_CITY_DB=$file; else export GEOIP_ASN_DB=$file; fi
done

# The streams the function writes to (all of them, comma-separated, with DeliveryStreamCount > 1).
delivery_stream=${DELIVERY_STREAM_NAME:-$(output DeliveryStreamName)}
if [ "${DELIVERY:-firehose}" = opensearch ]; then
  # Delivery=OpenSearch: the function's OPENSEARCH_ENDPOINT and FAILED_DOCUMENTS_BUCKET, exported above.
  echo "replaying $queue_url into $OPENSEARCH_ENDPOINT (_bulk, the function's document ids) with the settings of $function_name"
else
  echo "replaying $queue_url into $delivery_stream with the settings of $function_name"
fi
exec "$binary" --queue-url "$queue_url" --delivery-stream-name "$delivery_stream"
