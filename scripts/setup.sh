#!/usr/bin/env bash
# Set up techmap on a fresh machine: Python virtual environment at .venv/,
# Python and npm dependencies, and the database with the bundled dataset.
# Usage: scripts/setup.sh [--test|--bench]   (--test also installs Debian's Chromium for
# browser tests; --bench installs Chromium and wrk, the load generator of bench/load.py)
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
want_bench=0
[ "${1:-}" = "--test" ] && want_test=1
[ "${1:-}" = "--bench" ] && want_test=1 && want_bench=1

log() { printf '==> %s\n' "$*"; }

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "techmap needs Python 3.11 or newer as '$python' (set PYTHON=...)" >&2
  exit 1
fi

if [ ! -x .venv/bin/python ]; then
  log "creating the virtual environment .venv/"
  "$python" -m venv .venv
fi

# Reinstall only when the dependency files changed since the last successful install.
stamp=.venv/.techmap-installed
deps_hash=$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$deps_hash" ]; then
  log "installing Python dependencies (pinned in constraints.txt)"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -c constraints.txt -e ".[test]"
  echo "$deps_hash" > "$stamp"
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "npm is needed for the map assets (MapLibre GL JS, Natural Earth outlines): install Node.js" >&2
  exit 1
fi
if [ ! -f node_modules/.package-lock.json ] || ! cmp -s package-lock.json node_modules/.techmap-lock; then
  log "installing map assets from npm (package-lock.json)"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.techmap-lock
fi

if [ "$want_test" = 1 ] && [ ! -x /usr/bin/chromium ]; then
  log "installing Debian's Chromium for the browser tests"
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi

# The OGC API tests read /ogc/ with GDAL's own client, ogrinfo (OAPIF driver).
if [ "$want_test" = 1 ] && ! command -v ogrinfo >/dev/null 2>&1; then
  log "installing Debian's gdal-bin (ogrinfo) for the OGC API tests"
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends gdal-bin >/dev/null
fi

# Social card images draw Chinese company and country names with a CJK font (DejaVu has no
# CJK glyphs); optional: without it the cards leave the Chinese names off.
if [ ! -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]; then
  log "installing Debian's fonts-wqy-microhei (Chinese names on social cards, 1.6 MB)"
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  { $sudo_cmd apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends fonts-wqy-microhei >/dev/null; } ||
    log "could not install fonts-wqy-microhei: social cards will leave Chinese names off"
fi

# The interface translations (techmap/locale/*/django.po) are compiled to .mo files here,
# so they always match the .po files; GNU gettext provides msgfmt (and xgettext for the tests).
if ! command -v msgfmt >/dev/null 2>&1 || ! command -v xgettext >/dev/null 2>&1; then
  log "installing GNU gettext for the translations"
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends gettext >/dev/null
fi

if [ "$want_bench" = 1 ] && ! command -v wrk >/dev/null 2>&1; then
  log "installing Debian's wrk, the load generator of the benchmarks"
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends wrk >/dev/null
fi

log "creating or migrating the database and loading the bundled dataset"
.venv/bin/techmap init

log "compiling the translations"
(cd techmap && ../.venv/bin/techmap compilemessages --verbosity 0)
