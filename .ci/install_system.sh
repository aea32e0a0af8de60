#!/usr/bin/env bash
# System tools the tests use when present: ffprobe (checks the H.264 artifacts) and Debian's Chromium
# (screenshots of report.html and the live page). Best effort: tests skip cleanly without them.
set -uo pipefail
need=()
command -v ffprobe >/dev/null 2>&1 || need+=(ffmpeg)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -eq 0 ]; then echo "install_system: ffprobe and chromium present"; exit 0; fi
if [ "$(id -u)" != 0 ]; then echo "install_system: not root, skipping ${need[*]}"; exit 0; fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null 2>&1 || true
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1 \
  && echo "install_system: installed ${need[*]}" || echo "install_system: could not install ${need[*]}"
exit 0
