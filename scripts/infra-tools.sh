#!/usr/bin/env bash
# Installs the template checkers, idempotently, each in its own venv (their pins conflict):
# AWS SAM CLI with cfn-lint, the serverless rules and pycognito into .venv-sam, checkov into .venv-checkov.
#   scripts/infra-tools.sh [sam]   with `sam`, only .venv-sam (what `make test` needs)
set -euo pipefail
cd "$(dirname "$0")/.."
SAM_CLI_VERSION=1.170.0
CFN_LINT_SERVERLESS_VERSION=0.3.6
CHECKOV_VERSION=3.3.30
# Cognito's SRP sign-in for apply.py and credentials.py (make opensearch-setup, make admin-credentials).
PYCOGNITO_VERSION=2024.5.1
if ! .venv-sam/bin/sam --version 2>/dev/null | grep -q "$SAM_CLI_VERSION" \
  || ! .venv-sam/bin/python -c "import cfn_lint_serverless, pycognito" 2>/dev/null; then
  python3 -m venv .venv-sam
  .venv-sam/bin/pip install --quiet --disable-pip-version-check \
    "aws-sam-cli==$SAM_CLI_VERSION" "cfn-lint-serverless==$CFN_LINT_SERVERLESS_VERSION" \
    "pycognito==$PYCOGNITO_VERSION"
fi
if [ "${1:-}" = sam ]; then
  echo "sam $SAM_CLI_VERSION and cfn-lint in .venv-sam/bin"
  exit 0
fi
if ! .venv-checkov/bin/checkov --version 2>/dev/null | grep -qx "$CHECKOV_VERSION"; then
  python3 -m venv .venv-checkov
  .venv-checkov/bin/pip install --quiet --disable-pip-version-check "checkov==$CHECKOV_VERSION"
fi
echo "sam $SAM_CLI_VERSION and cfn-lint in .venv-sam/bin; checkov $CHECKOV_VERSION in .venv-checkov/bin"
