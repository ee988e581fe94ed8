#!/usr/bin/env bash
# The whole check, as `make test` runs it: lint, Django checks, the suite on SQLite, the suite
# on a real PostgreSQL 15, the production deployment (gunicorn + PostgreSQL + Redis on loopback),
# then the browser tests. Every phase runs even when an earlier one
# failed, so one run shows everything; the exit status is non-zero if any phase failed.
# The PostgreSQL cluster is removed on every exit path.
set -uo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PY=$VENV/bin/python
PYTEST=("$PY" -m pytest -p no:cacheprovider)
# pytest-xdist, when installed, runs the database suites on every core (measured on 2 cores:
# about 30% faster); the browser phase is too small to gain from it.
PARALLEL=()
"$PY" -c "import xdist" 2>/dev/null && PARALLEL=(-n auto)
export HEALTHCODE_TESTING=1
unset DATABASE_URL HEALTHCODE_DEBUG
# This run's own cluster: concurrent runs don't collide, and pg.sh sweeps it if we get killed.
export HEALTHCODE_PG_DIR=/tmp/healthcode-pg-test.$$
trap 'scripts/pg.sh stop' EXIT
trap 'exit 130' INT TERM

results=()
failed=0

since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

phase() {
  local name=$1 start status
  shift
  printf '\n==> %s: %s\n' "$name" "$*"
  start=$EPOCHREALTIME
  "$@"
  status=$?
  results+=("$(printf '%-12s %-4s %6ss' "$name" "$([ $status = 0 ] && echo ok || echo FAIL)" \
    "$(since "$start")")")
  [ $status = 0 ] || failed=1
  return $status
}

postgres_suite() {
  scripts/pg.sh start || return 1
  DATABASE_URL=$(scripts/pg.sh url) "${PYTEST[@]}" "${PARALLEL[@]}" -m "not browser and not deploy" "$@"
  local status=$?
  scripts/pg.sh stop
  return $status
}

# tests/deploy: the app under gunicorn (deploy/gunicorn.conf.py) on a fresh database of this
# run's cluster, with a Redis of its own; it stops every process it starts.
deploy_suite() {
  scripts/pg.sh start || return 1
  DATABASE_URL=$(scripts/pg.sh url) "${PYTEST[@]}" -m deploy tests/deploy "$@"
  local status=$?
  scripts/pg.sh stop
  return $status
}

total_start=$EPOCHREALTIME
phase ruff "$VENV/bin/ruff" check .
phase check "$PY" manage.py check
phase migrations "$PY" manage.py makemigrations --check --dry-run
# The race tests need PostgreSQL's row locks; SQLite serialises every write anyway.
phase sqlite "${PYTEST[@]}" "${PARALLEL[@]}" -m "not browser and not postgres_only and not deploy" "$@"
phase postgresql postgres_suite "$@"
phase deploy deploy_suite "$@"
phase browser "${PYTEST[@]}" -m browser "$@"

printf '\n==> summary\n'
printf '%s\n' "${results[@]}"
printf '%-17s %6ss\n' total "$(since "$total_start")"
exit $failed
