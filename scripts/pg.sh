#!/usr/bin/env bash
# A throw-away PostgreSQL 15 cluster for the test suite.
#
#   scripts/pg.sh start   initdb + start on 127.0.0.1, a free port, socket in the cluster dir
#   scripts/pg.sh url     print the DATABASE_URL of the running cluster
#   scripts/pg.sh stop    shut it down and remove its directory
#
# The cluster lives in $HEALTHCODE_PG_DIR (default /tmp/healthcode-pg). It trusts loopback,
# runs without fsync (the data is disposable) and has a role `healthcode` with CREATEDB, because
# Django creates and drops test_healthcode itself. `start` replaces a cluster left in the same
# directory, and removes clusters of test runs (/tmp/healthcode-pg-test.<pid>) whose process is gone.
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
DIR=${HEALTHCODE_PG_DIR:-/tmp/healthcode-pg}
ROLE=healthcode
DB=healthcode

die() { echo "pg.sh: $*" >&2; exit 1; }

[ -x "$PG_BIN/initdb" ] || die "no PostgreSQL 15 at $PG_BIN (apt-get install postgresql-15)"

# initdb refuses to run as root: as root, the server runs as the postgres user.
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || die "no 'postgres' user to run the server as"
  as_pg() { (cd / && runuser -u postgres -- "$@"); }
  own() { chown postgres: "$1"; }
else
  as_pg() { "$@"; }
  own() { :; }
fi

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Above the kernel's ephemeral range (32768-60999 by default), so that no client connection
# (a load generator's, say) holds the port we pick.
free_port() {
  local p
  for p in $(seq 61000 61100); do
    port_in_use "$p" || { echo "$p"; return; }
  done
  die "no free port in 61000-61100"
}

stop_dir() {
  local d=$1
  if [ -f "$d/data/postmaster.pid" ]; then
    as_pg "$PG_BIN/pg_ctl" -D "$d/data" -m fast -w -t 20 stop >/dev/null 2>&1 \
      || as_pg "$PG_BIN/pg_ctl" -D "$d/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$d"
}

sweep_abandoned() {
  local d pid
  for d in /tmp/healthcode-pg-test.*; do
    [ -d "$d" ] || continue
    pid=${d##*.}
    case $pid in *[!0-9]*) continue ;; esac
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "pg.sh: removing cluster of finished run $pid ($d)" >&2
      stop_dir "$d"
    fi
  done
}

start() {
  sweep_abandoned
  [ -e "$DIR" ] && stop_dir "$DIR"
  mkdir -p "$DIR"
  chmod 700 "$DIR"
  own "$DIR"
  as_pg "$PG_BIN/initdb" -D "$DIR/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
    --no-sync --no-instructions >"$DIR/initdb.log" 2>&1 \
    || { cat "$DIR/initdb.log" >&2; die "initdb failed"; }
  cat >>"$DIR/data/postgresql.conf" <<CONF

# healthcode tests: loopback only, disposable data
listen_addresses = '127.0.0.1'
unix_socket_directories = '$DIR'
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
  cat >"$DIR/data/pg_hba.conf" <<HBA
local all all             trust
host  all all 127.0.0.1/32 trust
HBA
  # Another process may take the port between the check and the start: try a few.
  local port attempt
  for attempt in 1 2 3; do
    port=$(free_port)
    if as_pg "$PG_BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -o "-p $port" -w -t 30 start \
      >/dev/null; then
      echo "$port" >"$DIR/port"
      "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres \
        -c "CREATE ROLE $ROLE LOGIN CREATEDB" -c "CREATE DATABASE $DB OWNER $ROLE" >/dev/null
      echo "pg.sh: PostgreSQL $("$PG_BIN/postgres" -V | awk '{print $3}') on 127.0.0.1:$port ($DIR)" >&2
      return
    fi
    echo "pg.sh: start on port $port failed (attempt $attempt)" >&2
  done
  tail -n 20 "$DIR/server.log" >&2 || true
  die "could not start PostgreSQL"
}

url() {
  [ -f "$DIR/port" ] || die "no cluster running in $DIR (scripts/pg.sh start)"
  echo "postgres://$ROLE@127.0.0.1:$(cat "$DIR/port")/$DB"
}

case ${1:-} in
  start) start ;;
  stop) stop_dir "$DIR" ;;
  url) url ;;
  *) die "usage: scripts/pg.sh start|stop|url" ;;
esac
