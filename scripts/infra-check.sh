#!/usr/bin/env bash
# Checks infra/ offline, as CI does: cfn-lint with the serverless rules, checkov on every deployment
# variant, `sam validate --lint`, `sam build` (cargo-lambda + zig from .venv) and the template's own
# tests. Needs `scripts/infra-tools.sh` and `scripts/lambda-tools.sh` (the Makefile runs both).
# SAM needs a region, not credentials; none are used.
#   scripts/infra-check.sh           everything
#   scripts/infra-check.sh template  cfn-lint and the tests (`make test`: seconds, no build)
#   scripts/infra-check.sh stack     checkov, sam validate, sam build (`make check`)
set -euo pipefail
part=${1:-all}
case "$part" in all | template | stack) ;; *) echo "usage: $0 [template|stack]" >&2; exit 2 ;; esac
cd "$(dirname "$0")/.."
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-eu-west-1}" SAM_CLI_TELEMETRY=0
export PATH="$PWD/.venv/bin:$PATH"
out=out/infra

if [ "$part" != stack ]; then
  echo "== cfn-lint (+ cfn-lint-serverless rules)"
  .venv-sam/bin/cfn-lint --append-rules cfn_lint_serverless.rules -- infra/template.yaml
  echo "== template tests, apply.py against moto + FakeOpenSearch"
  .venv-sam/bin/python -m unittest discover -s infra -p 'test_*.py'
  .venv-sam/bin/python -m unittest discover -s infra/opensearch -p 'test_*.py'
fi
[ "$part" = template ] && exit 0

rm -rf "$out" && mkdir -p "$out"

echo "== checkov, one run per deployment variant"
python3 infra/variants.py "$out/variants"
for variant in "$out"/variants/*.yaml; do
  echo "-- $(basename "$variant")"
  .venv-checkov/bin/checkov --framework cloudformation --skip-download --compact --quiet -f "$variant"
done

# The GeoIP layer folder is filled by `make geoip-layer` before a real deploy; SAM only needs it to
# exist to build.
mkdir -p geoip/layer/build/geoip
cd infra
echo "== sam validate --lint"
../.venv-sam/bin/sam validate --lint
echo "== sam build"
../.venv-sam/bin/sam build --build-dir "../$out/sam-build"
ls -l "../$out"/sam-build/*/bootstrap
