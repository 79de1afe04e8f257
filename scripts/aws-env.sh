# Sourced by the deploy scripts (from the repository root): .venv's AWS CLI and cargo-lambda first
# on PATH; `region` from AWS_REGION, else AWS_DEFAULT_REGION, else the AWS CLI's configuration, and
# exported under both names (the AWS CLI reads the second); `endpoint` holds `--endpoint-url` when
# AWS_ENDPOINT_URL is set (the tests use moto), and `aws` passes it on explicitly, because AWS CLI
# v1 ignores AWS_ENDPOINT_URL for SQS.
export PATH="$PWD/.venv/bin:$PATH"
endpoint=()
[ -n "${AWS_ENDPOINT_URL:-}" ] && endpoint=(--endpoint-url "$AWS_ENDPOINT_URL")
aws() { command aws "${endpoint[@]}" "$@"; }
region=${AWS_REGION:-${AWS_DEFAULT_REGION:-$(command aws configure get region || true)}}
: "${region:?no AWS region: set AWS_REGION}"
export AWS_REGION=$region AWS_DEFAULT_REGION=$region
