# Sourced by the deploy scripts (from the repository root): .venv's AWS CLI and cargo-lambda first
# on PATH; `region` from AWS_REGION, else AWS_DEFAULT_REGION, else the AWS CLI's configuration, and
# exported under both names (the AWS CLI reads the second); `endpoint` holds `--endpoint-url` when
# AWS_ENDPOINT_URL is set (the tests use moto), and `aws` passes it on explicitly, because AWS CLI
# v1 ignores AWS_ENDPOINT_URL for SQS. `output` reads the deployed stack's outputs, and
# `confirm_by_name` asks before a deletion.
export PATH="$PWD/.venv/bin:$PATH"
endpoint=()
[ -n "${AWS_ENDPOINT_URL:-}" ] && endpoint=(--endpoint-url "$AWS_ENDPOINT_URL")
aws() { command aws "${endpoint[@]}" "$@"; }
region=${AWS_REGION:-${AWS_DEFAULT_REGION:-$(command aws configure get region || true)}}
: "${region:?no AWS region: set AWS_REGION}"
export AWS_REGION=$region AWS_DEFAULT_REGION=$region

# The output NAME of the stack `$stack` (the script's), `None` when it has none:
#   output NAME
output() {
  aws cloudformation describe-stacks --stack-name "$stack" \
    --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue | [0]" --output text
}

# Stops the script unless the user types NAME (or CONFIRM=NAME says it without a terminal):
#   confirm_by_name NAME "the stack's name"
confirm_by_name() {
  local name=$1 what=$2 answer=${CONFIRM:-}
  if [ -z "$answer" ]; then
    if [ ! -t 0 ]; then
      echo "no terminal to confirm on: run again with CONFIRM=$name to delete it" >&2
      exit 1
    fi
    read -r -p "type $what ($name) to delete it: " answer
  fi
  if [ "$answer" != "$name" ]; then
    echo "'$answer' is not $name: nothing deleted" >&2
    exit 1
  fi
}
