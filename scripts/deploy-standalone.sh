#!/usr/bin/env bash
# The stand-alone route: one function deployed with `cargo lambda deploy`, no SAM stack.
#   scripts/deploy-standalone.sh kinesis-enricher | firehose-transformer
# Settings (environment variables, or make variables through `make deploy-function`):
#   FUNCTION_NAME         the Lambda function's name (default: the binary's name)
#   STREAM_ARN            kinesis-enricher: the Kinesis Data Stream it reads (required)
#   DELIVERY_STREAM_NAME  kinesis-enricher: the DirectPut Firehose stream it writes to, or several
#                         separated by commas (required)
#   LAYER_ARN             an existing GeoIP layer version; without it, LAYER_DIR (default
#                         geoip/layer/build, filled by `make geoip-layer`) is published as one,
#                         through LAYER_BUCKET when set (uploads over 50 MB must go through S3)
# Idempotent: a second run updates the code, the policy and the mapping in place. It uses the AWS
# CLI and cargo-lambda of .venv (`make lambda-tools`) and the account of the usual AWS
# environment; AWS_ENDPOINT_URL points both elsewhere (the tests use moto).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/aws-env.sh

binary=${1:?usage: $0 kinesis-enricher|firehose-transformer}
case "$binary" in kinesis-enricher | firehose-transformer) ;; *)
  echo "unknown function '$binary': kinesis-enricher or firehose-transformer" >&2; exit 2 ;;
esac
name=${FUNCTION_NAME:-$binary}

if [ ! -x "target/lambda/$binary/bootstrap" ]; then
  echo "target/lambda/$binary/bootstrap is missing: run make lambda-build first" >&2; exit 1
fi
if [ "$binary" = kinesis-enricher ]; then
  : "${STREAM_ARN:?STREAM_ARN: the ARN of the Kinesis Data Stream to read is required}"
  : "${DELIVERY_STREAM_NAME:?DELIVERY_STREAM_NAME: the Firehose delivery stream to write to is required}"
fi

account=$(aws sts get-caller-identity --query Account --output text)
partition=aws
case "$region" in cn-*) partition=aws-cn ;; us-gov-*) partition=aws-us-gov ;; esac

# Least privilege: the role may do what the function does, on these resources only.
queue_arn=""
if [ "$binary" = kinesis-enricher ]; then
  queue_url=$(aws sqs create-queue --queue-name "$name-failed-batches" \
    --attributes MessageRetentionPeriod=1209600,SqsManagedSseEnabled=true --query QueueUrl --output text)
  queue_arn=$(aws sqs get-queue-attributes --queue-url "$queue_url" --attribute-names QueueArn \
    --query Attributes.QueueArn --output text)
fi
# Every delivery stream of DELIVERY_STREAM_NAME (one, or several separated by commas), as the items
# of the policy's JSON list.
delivery_arns=""
IFS=',' read -ra delivery_names <<<"${DELIVERY_STREAM_NAME:-}"
for delivery_name in "${delivery_names[@]}"; do
  delivery_name=$(echo "$delivery_name" | tr -d '[:space:]')
  delivery_arns+="${delivery_arns:+\", \"}arn:$partition:firehose:$region:$account:deliverystream/$delivery_name"
done
policy=$(sed -e "s|\${Partition}|$partition|g" -e "s|\${Region}|$region|g" -e "s|\${AccountId}|$account|g" \
  -e "s|\${FunctionName}|$name|g" -e "s|\${StreamArn}|${STREAM_ARN:-}|g" \
  -e "s|\${DeliveryStreamArn}|$delivery_arns|g" \
  -e "s|\${FailedBatchQueueArn}|$queue_arn|g" "infra/standalone/$binary-policy.json")
role="$name-role"
trust_policy=infra/standalone/lambda-trust-policy.json
if found=$(aws iam get-role --role-name "$role" --query Role --output json 2>/dev/null); then
  # Reused only when Lambda alone may assume it: a role of the same name made for something else
  # would get this function's rights and keep whoever else may assume it.
  if ! role_arn=$(python3 - "$trust_policy" "$found" <<'TRUST'
import json, sys

def normal(document):
    """The trust policy's statements, each value a sorted list, so equal policies compare equal."""
    statements = document.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    def values(value):
        if isinstance(value, dict):
            return {k: values(v) for k, v in value.items()}
        return sorted(value) if isinstance(value, list) else [value]
    return sorted(json.dumps(values({k: v for k, v in s.items() if k != "Sid"}), sort_keys=True) for s in statements)

with open(sys.argv[1]) as f:
    wanted = json.load(f)
role = json.loads(sys.argv[2])
if normal(wanted) != normal(role["AssumeRolePolicyDocument"]):
    sys.exit("its trust policy: " + json.dumps(role["AssumeRolePolicyDocument"]))
print(role["Arn"])
TRUST
  ); then
    echo "role $role exists with another trust policy than $trust_policy (only lambda.amazonaws.com may" \
      "assume it). Delete the role or choose another FUNCTION_NAME" >&2
    exit 1
  fi
else
  role_arn=$(aws iam create-role --role-name "$role" \
    --assume-role-policy-document "file://$trust_policy" --query Role.Arn --output text)
fi
aws iam put-role-policy --role-name "$role" --policy-name "$binary" --policy-document "$policy"

layer_arn=${LAYER_ARN:-}
if [ -z "$layer_arn" ]; then
  layer_dir=${LAYER_DIR:-geoip/layer/build}
  if ! ls "$layer_dir"/geoip/*-City.mmdb >/dev/null 2>&1; then
    echo "$layer_dir/geoip/ has no City database: run make geoip-layer, or set LAYER_ARN" >&2; exit 1
  fi
  mkdir -p out && rm -f out/geoip-layer.zip
  (cd "$layer_dir" && python3 -m zipfile -c "$OLDPWD/out/geoip-layer.zip" geoip)
  content=(--zip-file fileb://out/geoip-layer.zip)
  if [ -n "${LAYER_BUCKET:-}" ]; then
    aws s3 cp out/geoip-layer.zip "s3://$LAYER_BUCKET/geoip-layer.zip"
    content=(--content "S3Bucket=$LAYER_BUCKET,S3Key=geoip-layer.zip")
  fi
  layer_arn=$(aws lambda publish-layer-version --layer-name "${LAYER_NAME:-geoip}" "${content[@]}" \
    --description "GeoIP City and ASN databases at /opt/geoip/" \
    --compatible-architectures arm64 --compatible-runtimes provided.al2023 \
    --query LayerVersionArn --output text)
fi

# The package's [package.metadata.lambda.deploy] gives memory, timeout, tracing, log retention and
# the production variables; --admerge adds DELIVERY_STREAM_NAME to them instead of replacing them.
# It goes in a file: --env-var would split a list of streams at its commas.
extra_env=()
if [ "$binary" = kinesis-enricher ]; then
  env_file=$(mktemp)
  trap 'rm -f "$env_file"' EXIT
  printf 'DELIVERY_STREAM_NAME="%s"\n' "$DELIVERY_STREAM_NAME" >"$env_file"
  extra_env=(--env-file "$env_file")
fi
cargo lambda deploy "$name" --binary-name "$binary" --admerge "${endpoint[@]}" --region "$region" \
  --iam-role "$role_arn" --layer "$layer_arn" "${extra_env[@]}"

if [ "$binary" = kinesis-enricher ]; then
  # What the SAM stack sets too: partial batch responses, bisect on error, bounded retries and
  # record age, then the batch's shard and sequence range to the on-failure queue (for replay).
  settings=(--batch-size 500 --maximum-batching-window-in-seconds 5
    --function-response-types ReportBatchItemFailures --bisect-batch-on-function-error
    --maximum-retry-attempts 5 --maximum-record-age-in-seconds 3600
    --destination-config "{\"OnFailure\":{\"Destination\":\"$queue_arn\"}}")
  uuid=$(aws lambda list-event-source-mappings --function-name "$name" --event-source-arn "$STREAM_ARN" \
    --query 'EventSourceMappings[0].UUID' --output text)
  if [ "$uuid" = None ] || [ -z "$uuid" ]; then
    aws lambda create-event-source-mapping --function-name "$name" --event-source-arn "$STREAM_ARN" \
      --starting-position TRIM_HORIZON "${settings[@]}" --query UUID --output text
  else
    aws lambda update-event-source-mapping --uuid "$uuid" "${settings[@]}" --query UUID --output text
  fi
  echo "failed batches go to $queue_url: replay them with replay-failed-batches (docs/deploy.md)"
fi
echo "$name deployed with role $role_arn and layer $layer_arn"
