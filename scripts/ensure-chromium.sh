#!/usr/bin/env bash
# Install Debian's chromium (for the end-to-end tests) when /usr/bin/chromium is missing, and a
# Chinese font when none is installed (so screenshots show the UI's text), then print the path
# of the binary. Never downloads a browser build of its own.
set -euo pipefail
BIN=/usr/bin/chromium
missing=()
[ -x "$BIN" ] || missing+=(chromium)
if ! command -v fc-list >/dev/null || [ -z "$(fc-list :lang=zh 2>/dev/null)" ]; then
  missing+=(fonts-wqy-microhei)
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "ensure-chromium: missing ${missing[*]}; run as root or: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
echo "$BIN"
