#!/usr/bin/env bash
# Removes what scripts/deploy-standalone.sh created for one function, after confirmation: its
# event source mappings, the function, its log group, its role and, for kinesis-enricher, its
# on-failure queue (with the failed batches in it). The stream, the delivery streams and the GeoIP
# layer versions were given to it or may serve others: they stay, and the layer's delete commands
# are printed.
#   scripts/destroy-standalone.sh kinesis-enricher | firehose-transformer
# FUNCTION_NAME and LAYER_NAME as for the deploy; CONFIRM=FUNCTION_NAME answers the confirmation
# without a terminal. AWS_ENDPOINT_URL points the AWS CLI elsewhere (the tests use moto).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/aws-env.sh

binary=${1:?usage: $0 kinesis-enricher|firehose-transformer}
case "$binary" in kinesis-enricher | firehose-transformer) ;; *)
  echo "unknown function '$binary': kinesis-enricher or firehose-transformer" >&2; exit 2 ;;
esac
name=${FUNCTION_NAME:-$binary}
role="$name-role"
if ! aws lambda get-function --function-name "$name" --query Configuration.FunctionArn --output text >/dev/null 2>&1; then
  echo "no function $name in $region (FUNCTION_NAME names it, AWS_REGION the region)" >&2
  exit 1
fi
queue_url=""
if [ "$binary" = kinesis-enricher ]; then
  queue_url=$(aws sqs get-queue-url --queue-name "$name-failed-batches" --query QueueUrl --output text 2>/dev/null || true)
fi

echo "deleting, in $region:"
echo "  - function $name, its event source mappings and its log group /aws/lambda/$name"
echo "  - role $role"
[ -n "$queue_url" ] && echo "  - queue $queue_url and the failed batches in it"
confirm_by_name "$name" "the function's name"

for uuid in $(aws lambda list-event-source-mappings --function-name "$name" --query 'EventSourceMappings[].UUID' --output text); do
  [ "$uuid" = None ] || aws lambda delete-event-source-mapping --uuid "$uuid" --query State --output text >/dev/null
done
aws lambda delete-function --function-name "$name"
aws logs delete-log-group --log-group-name "/aws/lambda/$name" 2>/dev/null || true
for policy in $(aws iam list-role-policies --role-name "$role" --query 'PolicyNames[]' --output text 2>/dev/null || true); do
  aws iam delete-role-policy --role-name "$role" --policy-name "$policy"
done
aws iam delete-role --role-name "$role"
[ -n "$queue_url" ] && aws sqs delete-queue --queue-url "$queue_url"
echo "$name is deleted."

layer=${LAYER_NAME:-geoip}
for version in $(aws lambda list-layer-versions --layer-name "$layer" --query 'LayerVersions[].Version' --output text 2>/dev/null || true); do
  [ "$version" = None ] && continue
  echo "kept: GeoIP layer $layer version $version (other functions may use it): aws lambda delete-layer-version --layer-name $layer --version-number $version"
done
