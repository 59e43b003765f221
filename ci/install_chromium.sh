#!/usr/bin/env bash
# Make sure Debian's Chromium is at /usr/bin/chromium for the dashboard browser tests (Playwright drives this
# system browser; it never downloads one). Idempotent: returns at once when the browser is there.
set -euo pipefail
CHROMIUM=/usr/bin/chromium
if [ -x "$CHROMIUM" ]; then
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "install_chromium: $CHROMIUM is missing; install it as root: apt-get update && apt-get install -y chromium" >&2
  exit 1
fi
echo "install_chromium: installing Debian's chromium (for the dashboard browser tests)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium >/dev/null
"$CHROMIUM" --version >&2
