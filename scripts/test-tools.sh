#!/usr/bin/env bash
# Installs what the integration tests need, idempotently: moto's server (the AWS protocols for
# Firehose and S3, run on 127.0.0.1 by the tests themselves) and MaxMind's reader (the GeoIP
# updater's checks, geoip/layer/update_layer.py) into the project's .venv.
set -euo pipefail
cd "$(dirname "$0")/.."
MOTO_VERSION=5.2.5
if ! .venv/bin/python -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
fi
# The version the updater function is built with (geoip/layer/Makefile).
MAXMINDDB_VERSION=3.2.0
if ! .venv/bin/python -c "import importlib.metadata as m, sys; sys.exit(m.version('maxminddb') != '$MAXMINDDB_VERSION')" 2>/dev/null; then
  .venv/bin/pip install --quiet --disable-pip-version-check "maxminddb==$MAXMINDDB_VERSION"
fi
echo "moto $MOTO_VERSION in .venv/bin/moto_server, maxminddb $MAXMINDDB_VERSION"
