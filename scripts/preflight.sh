#!/usr/bin/env bash
# What `make deploy` checks before it builds anything, so that a deploy does not fail half an hour
# in for a reason known at the start: credentials that work, a region, a Lambda concurrency quota
# that allows the stack's reservations, and a stack name that is free or updatable.
#   scripts/preflight.sh STACK
# Uses .venv's AWS CLI (`make lambda-tools`); AWS_ENDPOINT_URL points it elsewhere (the tests use moto).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/aws-env.sh

stack=${1:?usage: $0 STACK}
if ! identity=$(aws sts get-caller-identity --query Arn --output text 2>&1); then
  echo "no working AWS credentials: ${identity##*: }" >&2
  echo "set them up first (aws configure, AWS_PROFILE, aws sso login, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)" >&2
  exit 1
fi
echo "deploying $stack as $identity in $region"

# The stack reserves 1 each for the GeoIP updater and the domain's setup, and s3-archive-enricher
# ArchiveConcurrency (2) with an archive bucket; Lambda keeps 100 unreserved.
needed=104
if ! quota=$(aws lambda get-account-settings --query AccountLimit.ConcurrentExecutions --output text 2>/dev/null); then
  echo "warning: could not read the account's Lambda concurrency quota (lambda:GetAccountSettings);" \
    "the stack needs at least $needed concurrent executions" >&2
elif [ "$quota" -lt "$needed" ]; then
  echo "the account's Lambda concurrency quota in $region is $quota: the stack reserves up to 4 concurrent" >&2
  echo "executions and Lambda keeps 100 unreserved, so it needs at least $needed. Ask for more first:" >&2
  echo "  aws service-quotas request-service-quota-increase --service-code lambda --quota-code L-B99A9384 --desired-value 1000" >&2
  exit 1
fi

status=$(aws cloudformation describe-stacks --stack-name "$stack" --query 'Stacks[0].StackStatus' --output text 2>/dev/null || echo NEW)
case "$status" in
  ROLLBACK_COMPLETE | ROLLBACK_FAILED | DELETE_FAILED | CREATE_FAILED)
    echo "stack $stack is $status: a stack whose creation failed can only be deleted." >&2
    echo "  make destroy STACK=$stack    (then make deploy again)" >&2
    exit 1 ;;
  UPDATE_ROLLBACK_FAILED)
    echo "stack $stack is $status: finish the rollback first" >&2
    echo "  aws cloudformation continue-update-rollback --stack-name $stack" >&2
    exit 1 ;;
  *_IN_PROGRESS)
    echo "stack $stack is $status: wait until it is done" >&2
    exit 1 ;;
  NEW) echo "stack $stack does not exist yet: it will be created" ;;
  *) echo "stack $stack is $status: it will be updated" ;;
esac
