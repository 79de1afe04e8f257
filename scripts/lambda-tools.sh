#!/usr/bin/env bash
# Installs what `cargo lambda` and the deploy scripts need, idempotently: cargo-lambda (with zig)
# and the AWS CLI from PyPI into .venv, and the Rust standard library for arm64 Lambda
# (aarch64-unknown-linux-gnu).
# Afterwards put .venv/bin first on PATH (the Makefile does).
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO_LAMBDA_VERSION=1.9.2
AWSCLI_VERSION=1.46.3
if ! .venv/bin/cargo-lambda lambda --version 2>/dev/null | grep -q "$CARGO_LAMBDA_VERSION"; then
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check "cargo-lambda==$CARGO_LAMBDA_VERSION"
fi
# The deploy scripts' AWS CLI (v1 from PyPI: the same commands as v2 for what they use).
if ! .venv/bin/aws --version 2>/dev/null | grep -q "aws-cli/$AWSCLI_VERSION "; then
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check "awscli==$AWSCLI_VERSION"
fi
if ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
  rustup target add aarch64-unknown-linux-gnu
fi
echo "cargo-lambda $CARGO_LAMBDA_VERSION and aws-cli $AWSCLI_VERSION in .venv/bin; aarch64-unknown-linux-gnu installed"
