#!/usr/bin/env bash
# The SAM route's code updates: the functions of a deployed stack get the code of
# target/lambda/<function>/bootstrap (`make lambda-build`) through `cargo lambda deploy`, and keep
# every setting the stack gave them (memory, timeout, role, layers, environment, tracing).
#   scripts/update-stack-code.sh STACK
# cargo-lambda applies a package's [package.metadata.lambda.deploy] when the deployed name is that
# package's binary; here the name is the stack's function name and the binary comes by path, so
# only the code changes. The next `sam deploy` builds the same code and changes nothing.
# AWS_ENDPOINT_URL points the AWS CLI and cargo-lambda elsewhere (the tests use moto).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/aws-env.sh

stack=${1:?usage: $0 STACK}

updated=0
for binary in kinesis-enricher firehose-transformer s3-archive-enricher; do
  case "$binary" in
    kinesis-enricher) logical_id=KinesisEnricherFunction ;;
    firehose-transformer) logical_id=FirehoseTransformerFunction ;;
    s3-archive-enricher) logical_id=ArchiveEnricherFunction ;;
  esac
  # A stack holds one of the first two (its Pipeline parameter decides), and the third with
  # ArchiveBucketName.
  name=$(aws cloudformation describe-stack-resources --stack-name "$stack" \
    --logical-resource-id "$logical_id" --query 'StackResources[0].PhysicalResourceId' --output text)
  [ "$name" = None ] || [ -z "$name" ] && continue
  if [ ! -x "target/lambda/$binary/bootstrap" ]; then
    echo "target/lambda/$binary/bootstrap is missing: run make lambda-build first" >&2; exit 1
  fi
  cargo lambda deploy "$name" --binary-path "target/lambda/$binary/bootstrap" "${endpoint[@]}" --region "$region"
  updated=$((updated + 1))
done
if [ "$updated" = 0 ]; then
  echo "stack $stack has neither KinesisEnricherFunction nor FirehoseTransformerFunction" >&2; exit 1
fi
