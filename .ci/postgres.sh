# shellcheck shell=bash
# Throwaway PostgreSQL cluster on loopback for the service's storage and
# end-to-end suites. Sourced by .ci/run:
#   pg_start  installs PostgreSQL from Debian's packages if initdb is missing,
#             runs initdb in a fresh temporary folder (as the `postgres` user
#             when we are root), starts it on a free loopback port, exports
#             PRIVOX_TEST_POSTGRES_URL and PRIVOX_REQUIRE_POSTGRES=1 (suites
#             then fail instead of skipping).
#   pg_stop   stops it and removes the folder.

_pg_bindir() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    if [ -x "$d/initdb" ]; then echo "$d"; return 0; fi
  done
  command -v initdb >/dev/null 2>&1 && dirname "$(command -v initdb)" && return 0
  return 1
}

_pg_as() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

_pg_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

pg_start() {
  local bin
  if ! bin=$(_pg_bindir); then
    echo "postgres.sh: initdb not found; installing PostgreSQL from Debian's packages" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    bin=$(_pg_bindir) || { echo "postgres.sh: PostgreSQL install failed" >&2; return 1; }
  fi
  PG_DIR=$(mktemp -d /tmp/privox-pg.XXXXXX)
  chmod 755 "$PG_DIR"
  if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$PG_DIR"; fi
  PG_PORT=$(_pg_free_port)
  _pg_as "$bin/initdb" -D "$PG_DIR/data" -U privox --auth=trust -E UTF8 --no-locale >"$PG_DIR/initdb.log" 2>&1 \
    || { cat "$PG_DIR/initdb.log" >&2; return 1; }
  _pg_as "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DIR -c fsync=on -c max_connections=200" start >/dev/null \
    || { cat "$PG_DIR/server.log" >&2; return 1; }
  PG_BIN=$bin
  export PG_DIR PG_PORT PG_BIN
  export PRIVOX_TEST_POSTGRES_URL="postgres://privox@127.0.0.1:$PG_PORT/postgres"
  export PRIVOX_REQUIRE_POSTGRES=1
  echo "postgres.sh: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT ($PG_DIR)" >&2
}

pg_stop() {
  if [ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR/data" ]; then
    _pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  if [ -n "${PG_DIR:-}" ]; then rm -rf "$PG_DIR"; fi
  unset PRIVOX_TEST_POSTGRES_URL PRIVOX_REQUIRE_POSTGRES PG_DIR PG_PORT PG_BIN
}
