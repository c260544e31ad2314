#!/usr/bin/env bash
# Renders a page (the HTML triage report) in headless Chromium and saves a PNG:
#   scripts/screenshot.sh in.html out.png [width] [height]
# Runs offline: background networking, updates and sync are off, and the page is a local file.
set -euo pipefail
in=$(realpath "$1"); out=$(realpath -m "$2"); width=${3:-1280}; height=${4:-2000}
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
[ -n "$browser" ] || { echo "chromium is not installed (apt-get install chromium)" >&2; exit 1; }
profile=$(mktemp -d); trap 'rm -rf "$profile"' EXIT
timeout 60 "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking \
  --disable-component-update --disable-sync --disable-dev-shm-usage --hide-scrollbars --user-data-dir="$profile" \
  --window-size="$width,$height" --screenshot="$out" "file://$in" >/dev/null 2>&1
[ -s "$out" ] || { echo "no screenshot written" >&2; exit 1; }
