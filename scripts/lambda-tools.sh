#!/usr/bin/env bash
# Installs what `cargo lambda` needs, idempotently: cargo-lambda (with zig) from PyPI into .venv,
# and the Rust standard library for arm64 Lambda (aarch64-unknown-linux-gnu).
# Afterwards put .venv/bin first on PATH (the Makefile does).
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO_LAMBDA_VERSION=1.9.2
if ! .venv/bin/cargo-lambda lambda --version 2>/dev/null | grep -q "$CARGO_LAMBDA_VERSION"; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check "cargo-lambda==$CARGO_LAMBDA_VERSION"
fi
if ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
  rustup target add aarch64-unknown-linux-gnu
fi
echo "cargo-lambda $CARGO_LAMBDA_VERSION in .venv/bin; aarch64-unknown-linux-gnu installed"
