#!/usr/bin/env bash
# The first documents of a deployed stack: puts the sample log's lines into the stack's stream, one
# line per record, then waits until the enrichment function's metrics and Firehose's show them
# delivered to OpenSearch, and says where to look in Dashboards.
#   scripts/smoke.sh STACK
# SMOKE_FILE picks the lines (default tests/data/sample.log); SMOKE_TIMEOUT (seconds, default 900)
# and SMOKE_POLL (default 20) bound the wait. It counts the metrics of the stack since the minute
# it started, so on a stack with other traffic it sees that traffic too. Uses .venv's AWS CLI
# (`make lambda-tools`); AWS_ENDPOINT_URL points it elsewhere (the tests use moto).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/aws-env.sh

stack=${1:?usage: $0 STACK}
file=${SMOKE_FILE:-tests/data/sample.log}
timeout=${SMOKE_TIMEOUT:-900}
poll=${SMOKE_POLL:-20}

stream=$(output StreamName)
function_name=$(output EnrichmentFunction)
if [ "$stream" = None ] || [ "$function_name" = None ]; then
  echo "stack $stack has no StreamName or EnrichmentFunction output: is it a stack of infra/template.yaml?" >&2
  exit 1
fi
delivery_streams=$(output DeliveryStreamNames)
[ "$delivery_streams" = None ] && delivery_streams=$(output DeliveryStreamName)
namespace=$(aws lambda get-function-configuration --function-name "$function_name" \
  --query 'Environment.Variables.METRICS_NAMESPACE' --output text)
[ "$namespace" = None ] && namespace=WeblogEnrichment
# kinesis-enricher counts what it delivered; firehose-transformer what it answered Ok.
if [ "$(aws cloudformation describe-stack-resources --stack-name "$stack" --logical-resource-id KinesisEnricherFunction \
  --query 'StackResources[0].PhysicalResourceId' --output text 2>/dev/null)" = "$function_name" ]; then
  function_metrics=(Delivered AlreadyDelivered)
else
  function_metrics=(RecordsOk)
fi

lines=$(grep -c '' "$file")
started=$(date -u +%Y-%m-%dT%H:%M:00Z)
mkdir -p out
echo "putting the $lines lines of $file into stream $stream"
# Batches of 500 records (PutRecords' limit), each line its own record; the records Kinesis
# refuses (throttling) are sent again.
python3 - "$file" "$stream" >out/smoke-batches.json <<'EOF'
import json, sys
path, stream = sys.argv[1], sys.argv[2]
with open(path, "rb") as f:
    lines = [line.rstrip(b"\r\n").decode("utf-8", "replace") for line in f]
for start in range(0, len(lines), 500):
    records = [{"Data": line + "\n", "PartitionKey": f"smoke-{start + i}"} for i, line in enumerate(lines[start:start + 500])]
    print(json.dumps({"StreamName": stream, "Records": records}))
EOF
while IFS= read -r batch; do
  for attempt in 1 2 3 4 5; do
    answer=$(aws kinesis put-records --cli-input-json "$batch" --output json)
    batch=$(python3 -c '
import json, sys
batch, answer = json.loads(sys.argv[1]), json.loads(sys.argv[2])
batch["Records"] = [r for r, a in zip(batch["Records"], answer["Records"]) if "ErrorCode" in a]
print(json.dumps(batch) if batch["Records"] else "")' "$batch" "$answer")
    [ -z "$batch" ] && break
    sleep "$attempt"
  done
  [ -n "$batch" ] && { echo "Kinesis kept refusing records of $stream: see its throttling metrics" >&2; exit 1; }
done <out/smoke-batches.json

# The sum of a metric since $started, over one dimension's values.
metric_sum() {
  local namespace=$1 metric=$2 dimension=$3 total=0 value
  shift 3
  for value in "$@"; do
    sum=$(aws cloudwatch get-metric-statistics --namespace "$namespace" --metric-name "$metric" \
      --dimensions "Name=$dimension,Value=$value" --start-time "$started" \
      --end-time "$(python3 -c 'import datetime as d; print((d.datetime.now(d.timezone.utc) + d.timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%SZ"))')" --period 60 --statistics Sum \
      --query 'sum(Datapoints[].Sum)' --output text)
    total=$(python3 -c 'import sys; print(int(float(sys.argv[1]) + float(sys.argv[2] if sys.argv[2] != "None" else 0)))' "$total" "$sum")
  done
  echo "$total"
}

IFS=',' read -ra delivery_names <<<"$(tr -d '[:space:]' <<<"$delivery_streams")"
deadline=$(($(date +%s) + timeout))
echo "waiting up to ${timeout}s for $function_name ($namespace: ${function_metrics[*]}) and Firehose (${delivery_names[*]}: DeliveryToAmazonOpenSearchService.Records) to count $lines documents"
while :; do
  enriched=0
  for metric in "${function_metrics[@]}"; do
    enriched=$((enriched + $(metric_sum "$namespace" "$metric" FunctionName "$function_name")))
  done
  indexed=$(metric_sum AWS/Firehose DeliveryToAmazonOpenSearchService.Records DeliveryStreamName "${delivery_names[@]}")
  echo "$(date -u +%H:%M:%S) enriched and handed to Firehose: $enriched/$lines, indexed in OpenSearch: $indexed/$lines"
  if [ "$enriched" -ge "$lines" ] && [ "$indexed" -ge "$lines" ]; then
    break
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "not all $lines documents arrived within ${timeout}s. Where to look:" >&2
    # The stack's functions log to a group of their own (LoggingConfig); Lambda's default otherwise.
    log_group=$(aws lambda get-function-configuration --function-name "$function_name" \
      --query LoggingConfig.LogGroup --output text 2>/dev/null || true)
    if [ -z "$log_group" ] || [ "$log_group" = None ]; then log_group=/aws/lambda/$function_name; fi
    echo "  the function's log group $log_group (ERROR lines, the INFO line of each invocation)" >&2
    echo "  the backup bucket $(output BackupBucketName), prefix failed/ (documents OpenSearch refused)" >&2
    echo "  the pipeline dashboard $(output PipelineDashboardUrl)" >&2
    exit 1
  fi
  sleep "$poll"
done

# The sample's lines keep their own times: the Dashboards time picker must cover them.
time_span() {
  python3 - "$file" <<'EOF'
import re, sys
from datetime import datetime
times = []
with open(sys.argv[1], "rb") as f:
    for line in f:
        match = re.search(rb"\[(\d{2}/\w{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4})\]", line)
        if match:
            times.append(datetime.strptime(match.group(1).decode(), "%d/%b/%Y:%H:%M:%S %z"))
if times:
    print(f"from {min(times).isoformat()} to {max(times).isoformat()}")
EOF
}
span=$(time_span)
echo "all $lines documents are in OpenSearch."
echo "open $(output DashboardsUrl), sign in (the AdminEmail user; the first sign-in sets a password),"
echo "choose the dashboard 'Web traffic' and set the time range ${span:-to cover the times of the lines}."
