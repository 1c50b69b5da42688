#!/usr/bin/env bash
# Debian tools the benchmarks use when present: wrk (load generator; without it a Python client
# is used) and PostGIS for PostgreSQL 15 (the ST_Contains baseline; PostgreSQL itself comes with
# scripts/pg-test-cluster.sh). Installs what is missing when run as root with apt-get; otherwise
# says what is missing and carries on: every benchmark runs without them.
set -uo pipefail
missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1 || missing+=(postgresql-15-postgis-3)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing ${missing[*]} (Debian packages)…" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 && apt-get install -y -qq "${missing[@]}" >&2 \
    || echo "Could not install ${missing[*]}; the benchmarks run without them." >&2
else
  echo "Not installed: ${missing[*]} (apt-get install ${missing[*]}); the benchmarks run without them." >&2
fi
exit 0
