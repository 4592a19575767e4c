#!/usr/bin/env bash
# PostgreSQL + Redis (+ the anvil path) for `make test` and friends.
#
#   eval "$(scripts/services.sh env)"   prints export lines; progress goes to stderr
#   scripts/services.sh stop            stops only the throwaway servers started here
#   scripts/services.sh clean           stop, then delete the throwaway PostgreSQL's data
#
# Order of preference, for each service:
#   1. DATABASE_URL / REDIS_URL already in the environment: kept as they are;
#   2. the machine's own server (PostgreSQL 127.0.0.1:5432 with trust auth as
#      `postgres`, Redis 127.0.0.1:6379): used, never started or stopped here;
#   3. a throwaway server (PostgreSQL :55432, Redis :56379).
# JOPAY_FORCE_THROWAWAY=1 skips step 2 (to test step 3 on a machine that has 2).
#
# Tests get Redis database 15, never 0: the suite empties its database before
# every test, and 0 is where `make run` (and the README's example) keeps the
# Celery queue and the rate-limit counters.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUN=$ROOT/.run
# The throwaway cluster lives under /tmp, one folder per checkout and user:
# the server runs as `postgres`, which cannot reach a checkout under a 700
# home such as /root.
PG_DATA=/tmp/jopay-pg-$(id -u)-$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)
PG_DATA_OLD=$RUN/pg/data  # where earlier versions of this script put it
PG_PORT=55432
REDIS_DIR=$RUN/redis
REDIS_PORT=56379
REDIS_TEST_DB=15
ANVIL_BIN_DEFAULT=$RUN/node/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil
FORCE_THROWAWAY=${JOPAY_FORCE_THROWAWAY:-0}

log() { echo "services: $*" >&2; }
die() { echo "services: ERROR: $*" >&2; exit 1; }

# Newest installed PostgreSQL server binaries (Debian keeps them off PATH).
pg_bin() {
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [ -n "$d" ] && [ -x "$d/initdb" ]; then echo "$d"; return; fi
    command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return; }
    die "PostgreSQL server binaries (initdb) not found; install the 'postgresql' package"
}

# True when a server on $1 accepts `postgres` without a password (trust auth).
pg_trusts_postgres() {
    pg_isready -q -h 127.0.0.1 -p "$1" -t 2 2>/dev/null &&
        psql -h 127.0.0.1 -p "$1" -U postgres -w -d postgres -tAc 'select 1' >/dev/null 2>&1
}

pg_ensure_db() {  # port dbname
    local have
    have=$(psql -h 127.0.0.1 -p "$1" -U postgres -w -d postgres -tAc \
        "select 1 from pg_database where datname = '$2'")
    if [ "$have" != 1 ]; then
        log "creating database $2 on port $1"
        createdb -h 127.0.0.1 -p "$1" -U postgres -w "$2"
    fi
}

# Run a PostgreSQL server binary as `postgres` when we are root: the server
# refuses to run as root (toolchain.md, section 2).
as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# The user the throwaway server runs as, who must own its data folder.
pg_owner() { if [ "$(id -u)" = 0 ]; then echo postgres; else id -un; fi; }

pg_start_throwaway() {
    local bin owner
    bin=$(pg_bin)
    owner=$(pg_owner)
    # /tmp is shared: use the folder only if it is a real one the server's
    # user owns (not a link, nor something another user placed there).
    if [ -L "$PG_DATA" ] || { [ -e "$PG_DATA" ] && [ "$(stat -c %U "$PG_DATA")" != "$owner" ]; }; then
        die "$PG_DATA is not a folder owned by $owner; remove it and try again"
    fi
    if [ ! -f "$PG_DATA/PG_VERSION" ]; then
        log "initdb throwaway PostgreSQL in $PG_DATA"
        # Log and socket live inside PGDATA, so the server's user must own it.
        if [ "$(id -u)" = 0 ]; then
            install -d -o postgres -g postgres -m 700 "$PG_DATA"
        else
            install -d -m 700 "$PG_DATA"
        fi
        as_pg "$bin/initdb" -D "$PG_DATA" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
    fi
    log "starting throwaway PostgreSQL on 127.0.0.1:$PG_PORT"
    # fsync & co. off: a throwaway test cluster, speed over durability.
    as_pg "$bin/pg_ctl" -D "$PG_DATA" -l "$PG_DATA/server.log" -w -t 30 \
        -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DATA -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        start >/dev/null || die "PostgreSQL did not start; see $PG_DATA/server.log"
}

database_url() {
    if [ -n "${DATABASE_URL:-}" ]; then
        log "DATABASE_URL already set; keeping it"
        echo "$DATABASE_URL"; return
    fi
    command -v psql >/dev/null 2>&1 || die "psql not found; install the 'postgresql' package"
    local port
    if [ "$FORCE_THROWAWAY" != 1 ] && pg_trusts_postgres 5432; then
        port=5432
        log "using the machine's PostgreSQL on 127.0.0.1:5432"
    else
        port=$PG_PORT
        if pg_trusts_postgres "$PG_PORT"; then
            log "throwaway PostgreSQL already running on 127.0.0.1:$PG_PORT"
        else
            pg_start_throwaway
        fi
    fi
    pg_ensure_db "$port" jopay
    # The postgres role has CREATEDB, which pytest-django needs for test_jopay_gwN.
    echo "postgresql://postgres@127.0.0.1:$port/jopay"
}

redis_pings() { [ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = PONG ]; }

redis_url() {
    if [ -n "${REDIS_URL:-}" ]; then
        log "REDIS_URL already set; keeping it"
        echo "$REDIS_URL"; return
    fi
    command -v redis-cli >/dev/null 2>&1 || die "redis-cli not found; install the 'redis-server' package"
    if [ "$FORCE_THROWAWAY" != 1 ] && redis_pings 6379; then
        log "using the machine's Redis on 127.0.0.1:6379 (database $REDIS_TEST_DB)"
        echo "redis://127.0.0.1:6379/$REDIS_TEST_DB"; return
    fi
    if redis_pings "$REDIS_PORT"; then
        log "throwaway Redis already running on 127.0.0.1:$REDIS_PORT"
    else
        command -v redis-server >/dev/null 2>&1 || die "redis-server not found; install the 'redis-server' package"
        log "starting throwaway Redis on 127.0.0.1:$REDIS_PORT"
        mkdir -p "$REDIS_DIR"
        # No persistence: test data only.
        redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
            --dir "$REDIS_DIR" --daemonize yes \
            --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/redis.log"
        local i
        for i in $(seq 50); do redis_pings "$REDIS_PORT" && break; sleep 0.1; done
        redis_pings "$REDIS_PORT" || die "Redis did not start; see $REDIS_DIR/redis.log"
    fi
    echo "redis://127.0.0.1:$REDIS_PORT/$REDIS_TEST_DB"
}

cmd_env() {
    local db redis anvil
    db=$(database_url)
    redis=$(redis_url)
    printf 'export DATABASE_URL=%q\n' "$db"
    printf 'export REDIS_URL=%q\n' "$redis"
    anvil=${JOPAY_ANVIL_BIN:-$ANVIL_BIN_DEFAULT}
    if [ -x "$anvil" ]; then
        printf 'export JOPAY_ANVIL_BIN=%q\n' "$anvil"
    else
        log "anvil not found (run scripts/bootstrap.sh with npm available); chain tests cannot start it"
    fi
}

cmd_stop() {
    # Only what this script started: the pidfiles in its data folders tell us.
    local data
    for data in "$PG_DATA" "$PG_DATA_OLD"; do
        if [ -f "$data/postmaster.pid" ]; then
            log "stopping throwaway PostgreSQL ($data)"
            as_pg "$(pg_bin)/pg_ctl" -D "$data" -m fast -w stop >/dev/null ||
                log "pg_ctl stop failed; see $data/server.log"
        fi
    done
    if [ -f "$REDIS_DIR/redis.pid" ]; then
        local pid
        pid=$(cat "$REDIS_DIR/redis.pid")
        # A pidfile a crash left behind may name a process that has since
        # taken that pid: only a redis-server on our port is ours to stop.
        if kill -0 "$pid" 2>/dev/null &&
            [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "redis-server" ] &&
            tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q ":$REDIS_PORT"; then
            log "stopping throwaway Redis (pid $pid)"
            kill "$pid"
            local i
            for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        fi
        rm -f "$REDIS_DIR/redis.pid"
    fi
}

# `make clean`: the throwaway cluster's data is outside .run, so remove it here
# (only after a clean stop: never delete a running server's files).
cmd_clean() {
    cmd_stop
    # A postmaster.pid a crash left behind is no reason to keep the folder.
    if [ -f "$PG_DATA/postmaster.pid" ] &&
        as_pg "$(pg_bin)/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
        die "throwaway PostgreSQL still running; not removing $PG_DATA"
    fi
    if [ -d "$PG_DATA" ] && [ ! -L "$PG_DATA" ] &&
        [ "$(stat -c %U "$PG_DATA")" = "$(pg_owner)" ]; then
        log "removing $PG_DATA"
        rm -rf "$PG_DATA"
    fi
}

case "${1:-}" in
    env) cmd_env ;;
    stop) cmd_stop ;;
    clean) cmd_clean ;;
    *) echo "usage: $0 env|stop|clean" >&2; exit 2 ;;
esac
