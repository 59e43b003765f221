#!/usr/bin/env bash
# Set up a virtualenv in .venv (if needed), install trio-tracker, create a dev data directory ./data on the
# first run (identity key, TLS cert, tracker.yaml — via `trio-tracker init`), and run the tracker on it.
# This is the README's "run it" command. Extra arguments go to `trio-tracker run` (e.g. --log-format text).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
DATA_DIR=${TRIO_TRACKER_DATA_DIR:-$PWD/data}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e .
if [ ! -f "$DATA_DIR/tracker.yaml" ]; then
  .venv/bin/trio-tracker init --data-dir "$DATA_DIR"
fi
.venv/bin/trio-tracker config validate --config "$DATA_DIR/tracker.yaml"
if [ -z "${TOKEN_BAY_ADMIN_TOKEN:-}" ]; then
  TOKEN_BAY_ADMIN_TOKEN=$(cat "$DATA_DIR/admin-token" 2>/dev/null || true)
  if [ -z "$TOKEN_BAY_ADMIN_TOKEN" ]; then
    TOKEN_BAY_ADMIN_TOKEN=$(.venv/bin/python -c 'import secrets; print(secrets.token_hex(16))')
    (umask 077 && printf '%s\n' "$TOKEN_BAY_ADMIN_TOKEN" > "$DATA_DIR/admin-token")
  fi
  export TOKEN_BAY_ADMIN_TOKEN
  echo "admin token (dev): $DATA_DIR/admin-token" >&2
fi
exec .venv/bin/trio-tracker run --config "$DATA_DIR/tracker.yaml" "$@"
