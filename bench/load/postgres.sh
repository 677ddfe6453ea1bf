#!/usr/bin/env bash
# A PostgreSQL cluster for the load benchmark's PostgreSQL cases (sourced by run.sh):
#   pg_start DIR   initdb in DIR/data as the unprivileged account postgres, socket in DIR (no
#                  TCP), fsync off; exports PG_SOCKET_DIR, PG_BIN and PG_POSTMASTER (its PID,
#                  whose process tree's CPU the harness adds to the server's: EXTRA_CPU_PID)
#   pg_stop DIR    stop it (immediate)
pg_bin() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n -r); do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  return 1
}

pg_start() {
  local dir=$1
  PG_BIN=$(pg_bin) || { echo "bench:load needs PostgreSQL (apt-get install postgresql)" >&2; return 1; }
  mkdir -p "$dir"; chown postgres "$dir"; chmod 755 "$dir"
  runuser -u postgres -- "$PG_BIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C \
    --no-sync >"$dir/initdb.log" 2>&1
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses='' -c unix_socket_directories='$dir' -c fsync=off -c max_connections=200" \
    start >/dev/null
  export PG_SOCKET_DIR=$dir PG_BIN
  PG_POSTMASTER=$(head -1 "$dir/data/postmaster.pid")
  export PG_POSTMASTER
}

pg_stop() {
  local dir=$1
  [ -f "$dir/data/postmaster.pid" ] || return 0
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
}

# psql as the superuser on database $1 (default postgres), the rest of the arguments for psql
pg_sql() {
  local db=${1:-postgres}; shift || true
  "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCKET_DIR" -U postgres -d "$db" "$@"
}
