#!/usr/bin/env bash
# Run the whole test suite: lint, then pytest on SQLite, then on PostgreSQL when one
# is reachable (TECHMAP_TEST_POSTGRES_URL, default postgresql://postgres@127.0.0.1:5432/test).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*"; }

log "ruff"
.venv/bin/ruff check .

export TECHMAP_DATA_DIR=${TECHMAP_TEST_DATA_DIR:-$PWD/data/test}
mkdir -p "$TECHMAP_DATA_DIR"

log "pytest on SQLite"
TECHMAP_DATABASE_URL="" .venv/bin/pytest -p no:cacheprovider "$@"

pg_url=${TECHMAP_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/test}
if .venv/bin/python - "$pg_url" <<'PY' 2>/dev/null
import sys, psycopg
psycopg.connect(sys.argv[1], connect_timeout=3).close()
PY
then
  log "pytest on PostgreSQL ($pg_url)"
  TECHMAP_DATABASE_URL="$pg_url" .venv/bin/pytest -p no:cacheprovider "$@"
else
  echo
  echo "!! SKIPPED: the PostgreSQL test run: no server answers at $pg_url"
  echo "!! (set TECHMAP_TEST_POSTGRES_URL to run the suite against PostgreSQL)"
  echo
fi
