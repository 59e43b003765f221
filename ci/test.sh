#!/usr/bin/env bash
# Set up a virtualenv in .venv (if needed), install trio-tracker with its test extras, lint, and run the
# whole test suite (unit + e2e), after ruff and a strict type check (mypy). Debian's chromium is installed
# when missing (dashboard browser tests). This is the README's test command;
# .ci/run calls it verbatim.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]'
bash ci/install_chromium.sh  # the dashboard browser tests drive /usr/bin/chromium (a no-op when present)
.venv/bin/ruff format --check .
.venv/bin/ruff check .
.venv/bin/python -m mypy  # --strict on tracker/admission, ledger, app, admin, rpc, client ([tool.mypy] in pyproject.toml)
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
