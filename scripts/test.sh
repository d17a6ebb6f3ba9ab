#!/usr/bin/env bash
# Set up (first time) and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# tests/test_browser.py drives Debian's Chromium (never a downloaded browser build).
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "test: installing Debian's chromium for tests/test_browser.py"
    apt-get update -q && apt-get install -y -q chromium
  else
    echo "test: /usr/bin/chromium is missing (sudo apt-get install chromium); tests/test_browser.py will fail" >&2
  fi
fi
exec .venv/bin/python -m pytest "$@"
