#!/usr/bin/env bash
# Headless Chromium for the live-app browser test: Debian's chromium package (never `playwright install`,
# which downloads its own browser) and the Python Playwright driver. Safe to re-run; the test skips if absent.
set -euo pipefail
if ! command -v chromium >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "chromium not installed and apt-get unavailable (not root?): the browser test will skip" >&2
  fi
fi
python -m pip install -q "playwright>=1.40"
