#!/usr/bin/env bash
# Deletes a deployed stack of infra/template.yaml, after saying what goes with it and what stays.
#   scripts/destroy.sh STACK
# Asks for the stack's name as confirmation; CONFIRM=STACK answers that without a terminal (and
# anything else refuses). Waits for the deletion and names what failed to delete. Uses .venv's AWS
# CLI (`make lambda-tools`); AWS_ENDPOINT_URL points it elsewhere (the tests use moto).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/aws-env.sh

stack=${1:?usage: $0 STACK}
if ! status=$(aws cloudformation describe-stacks --stack-name "$stack" --query 'Stacks[0].StackStatus' \
  --output text 2>/dev/null); then
  echo "no stack $stack in $region (AWS_REGION picks another region)" >&2
  exit 1
fi

# Resources by type, as "type<TAB>logical id<TAB>physical id" (list-stack-resources: the stack has
# more than the 100 that describe-stack-resources returns).
resources=$(aws cloudformation list-stack-resources --stack-name "$stack" \
  --query 'StackResourceSummaries[].[ResourceType, LogicalResourceId, PhysicalResourceId]' --output text)
# The logical ids the template keeps when the stack goes (DeletionPolicy: Retain).
retained_ids=$(aws cloudformation get-template --stack-name "$stack" --template-stage Processed \
  --query TemplateBody --output json | python3 -c '
import json, sys
body = json.load(sys.stdin)
if isinstance(body, str):
    try:
        body = json.loads(body)
    except ValueError:
        body = {}
for logical_id, resource in (body.get("Resources") or {}).items():
    if resource.get("DeletionPolicy") in ("Retain", "RetainExceptOnCreate"):
        print(logical_id)')
retained() { awk -F'\t' 'NR == FNR { keep[$1] = 1; next } ($2 in keep) { print $1 "\t" $3 }' \
  <(printf '%s\n' "$retained_ids") <(printf '%s\n' "$resources"); }
kept_ids=$(retained | cut -f2)
# The physical ids of a type that go with the stack (the kept ones are listed below).
of_type() {
  awk -F'\t' -v type="$1" '$1 == type { print $3 }' <<<"$resources" | while read -r id; do
    grep -qxF -- "$id" <<<"$kept_ids" || echo "$id"
  done
}

echo "stack $stack ($status) in $region. Deleting it deletes, for good:"
for domain in $(of_type AWS::OpenSearchService::Domain); do
  echo "  - OpenSearch domain $domain: every indexed document, the dashboards and saved searches"
done
for stream in $(of_type AWS::Kinesis::Stream); do
  echo "  - Kinesis stream $stream: the records not yet enriched (replay-failed-batches can no longer read them)"
done
for pool in $(of_type AWS::Cognito::UserPool); do
  echo "  - Cognito user pool $pool: the Dashboards users and their passwords"
done
for queue in $(of_type AWS::SQS::Queue); do
  echo "  - queue $queue: the failed batches and objects waiting in it"
done
count=$(of_type AWS::Logs::LogGroup | grep -c . || true)
[ "$count" -gt 0 ] && echo "  - $count log groups: the functions', Firehose's and the domain's logs"
for instance in $(of_type AWS::EC2::Instance); do
  echo "  - EC2 instance $instance (the demo web server) and its disk"
done
for key in $(of_type AWS::KMS::Key); do
  echo "  - KMS key $key: scheduled for deletion (AWS waits 30 days, during which it can be cancelled)"
done
echo "and keeps (delete them yourself when you no longer want them):"
while IFS=$'\t' read -r type physical; do
  [ -n "$type" ] || continue
  case "$type" in
    AWS::S3::Bucket) echo "  - bucket $physical (Firehose's failed documents, the GeoIP layer archives): aws s3 rb s3://$physical --force" ;;
    AWS::OpenSearchService::Domain) echo "  - OpenSearch domain $physical (every indexed document, the dashboards; it costs while it runs): aws opensearch delete-domain --domain-name $physical" ;;
    AWS::Logs::LogGroup) echo "  - log group $physical (the domain's audit log): aws logs delete-log-group --log-group-name $physical" ;;
    AWS::KMS::Key) echo "  - KMS key $physical (encrypts the kept log group; remove it after that): aws kms schedule-key-deletion --key-id $physical --pending-window-in-days 30" ;;
    *) echo "  - $type $physical" ;;
  esac
done < <(retained)
layer="$stack-geoip"
versions=$(aws lambda list-layer-versions --layer-name "$layer" --query 'LayerVersions[].Version' --output text 2>/dev/null || true)
for version in $versions; do
  [ "$version" = None ] && continue
  echo "  - GeoIP layer $layer version $version (published by the updater, not the stack): aws lambda delete-layer-version --layer-name $layer --version-number $version"
done
echo "  - the SAM CLI's own stack aws-sam-cli-managed-default and its bucket, shared by every SAM deploy in $region: delete it when no SAM stack is left there (empty the bucket first)"
echo "  - any archive bucket named by ArchiveBucketName: it was never the stack's"

confirm_by_name "$stack" "the stack's name"

aws cloudformation delete-stack --stack-name "$stack"
echo "deleting $stack (the OpenSearch domain takes the longest)..."
if ! aws cloudformation wait stack-delete-complete --stack-name "$stack"; then
  echo "$stack did not delete completely; what failed:" >&2
  aws cloudformation describe-stack-events --stack-name "$stack" \
    --query "StackEvents[?ResourceStatus=='DELETE_FAILED'].[LogicalResourceId, ResourceStatusReason]" --output text >&2
  exit 1
fi
echo "$stack is deleted."
