#!/usr/bin/env bash
# Sends the documents Firehose gave up on back through a deployed stack's delivery streams with
# reingest-failed-documents: the failed-record files under the backup bucket's failed/ prefix
# (output BackupBucketName) into every delivery stream (output DeliveryStreamNames).
#   scripts/reingest.sh STACK [--dry-run]
# REINGEST_BIN picks the binary (default target/release/reingest-failed-documents, which `make
# reingest` builds). AWS_ENDPOINT_URL points the AWS CLI and the binary elsewhere (the tests use moto).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/aws-env.sh

stack=${1:?usage: $0 STACK [--dry-run]}
shift
binary=${REINGEST_BIN:-target/release/reingest-failed-documents}
[ -x "$binary" ] || { echo "$binary is missing: run make reingest (it builds it)" >&2; exit 1; }

pipeline=$(aws cloudformation describe-stacks --stack-name "$stack" \
  --query "Stacks[0].Parameters[?ParameterKey=='Pipeline'].ParameterValue | [0]" --output text)
if [ "$pipeline" = firehose-transformer ]; then
  # Its delivery stream reads the Kinesis stream and takes no PutRecordBatch; and the documents
  # are enriched already, so putting them into the Kinesis stream would enrich them again.
  echo "stack $stack has Pipeline=firehose-transformer: its delivery stream reads the Kinesis stream and" \
    "takes no documents put to it, so failed documents cannot be sent back this way" >&2
  exit 1
fi
bucket=$(output BackupBucketName)
streams=$(output DeliveryStreamNames)
if [ "$streams" = None ] || [ -z "$streams" ]; then streams=$(output DeliveryStreamName); fi
echo "reingesting s3://$bucket/failed/ into $streams"
exec "$binary" --bucket "$bucket" --prefix failed/ --delivery-stream-name "$streams" "$@"
