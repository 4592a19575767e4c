#!/usr/bin/env bash
# `make run`: the whole JoPay stack in the foreground (D30): gunicorn, Celery
# worker, Celery beat and, when the binary is there, anvil with a test USDC.
# Ctrl-C (or any process dying) stops everything this script started.
#
# Without DATABASE_URL / REDIS_URL it runs on the embedded default the settings
# provide: SQLite, Django's database cache and Celery's file-system transport,
# all under .run/data (JOPAY_DATA_DIR).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { echo "run: $*"; }

# The readiness checks below ask gunicorn and anvil with curl; without it every
# check failed as "did not answer" and the stack came down for no reason.
command -v curl >/dev/null 2>&1 || { echo "run: ERROR: curl is required (apt-get install curl)" >&2; exit 1; }

bash scripts/bootstrap.sh

PORT=${PORT:-8000}
BASE_URL=http://127.0.0.1:$PORT
DATA=${JOPAY_DATA_DIR:-.run/data}
LOGS=.run/logs
ANVIL_BIN=${JOPAY_ANVIL_BIN:-.run/node/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil}
ANVIL_PORT=${JOPAY_ANVIL_PORT:-8545}
ANVIL_RPC_URL=http://127.0.0.1:$ANVIL_PORT
PY=.venv/bin/python

# A port something already listens on (another stack, a second checkout):
# gunicorn could not bind it, but the other program answered the readiness
# check, so the banner said JoPay was running there with this stack's key, and
# .run/env pointed at it, until gunicorn gave up and the stack came down.
if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    echo "run: ERROR: 127.0.0.1:$PORT is already in use; stop what runs there or set PORT to a free port" >&2
    exit 1
fi

export JOPAY_PUBLIC_BASE_URL=${JOPAY_PUBLIC_BASE_URL:-$BASE_URL}
# A local dev command: DEBUG lets the settings use a built-in SECRET_KEY.
export DEBUG=${DEBUG:-1}
export PYTHONUNBUFFERED=1
if [ -z "${DATABASE_URL:-}" ] && [ -z "${REDIS_URL:-}" ]; then
    log "embedded mode: SQLite + database cache + file-system Celery transport in $DATA"
else
    log "DATABASE_URL=${DATABASE_URL:-<unset: SQLite>} REDIS_URL=${REDIS_URL:-<unset: embedded>}"
fi
# The file-system transport needs its folders to exist.
mkdir -p "$DATA/celery/queue" "$DATA/celery/processed" "$DATA/celery/control" "$LOGS"

# A DATABASE_URL naming a database that does not exist (make run migrates,
# it does not create) ended in migrate's 40-line traceback; say what to do.
if [ -n "${DATABASE_URL:-}" ]; then
    if ! db_error=$($PY - 2>&1 <<'PY'
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jopay_project.settings")
import django

django.setup()
from django.db import connection

connection.ensure_connection()
PY
    ); then
        last=$(printf '%s\n' "$db_error" | tail -n 1)
        # A setting the process refused (env.py) is not a missing database.
        case $last in
            *ImproperlyConfigured:*) echo "run: ERROR: ${last#*ImproperlyConfigured: }" >&2; exit 1 ;;
        esac
        echo "run: ERROR: cannot open the database in DATABASE_URL: $last" >&2
        echo "run: create it first (createdb -h 127.0.0.1 -U postgres <name>), or unset DATABASE_URL for the embedded SQLite" >&2
        exit 1
    fi
fi
$PY manage.py migrate --noinput
$PY manage.py collectstatic --noinput >/dev/null

# The demo partner whose test key the banner prints, checked against the
# database this run uses (merchants/demo.py): created on a first run, a fresh
# test key when the saved one belongs to another database. Written via a temp
# file, so a failure never leaves a half-written record behind.
if ! $PY - "$DATA/demo.json" <<'PY'
import json, os, sys
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jopay_project.settings")
import django

django.setup()
from merchants.demo import demo_partner_ensure

path = Path(sys.argv[1])
try:
    saved = json.loads(path.read_text())
except (OSError, ValueError):
    saved = None
record, outcome = demo_partner_ensure(saved)
tmp = path.with_name(path.name + ".tmp")
# The demo partner's live and test keys: readable by this user only.
tmp.touch(mode=0o600)
tmp.chmod(0o600)
tmp.write_text(json.dumps(record))
tmp.replace(path)
print(f"run: demo partner: {outcome}")
PY
then
    rm -f "$DATA/demo.json.tmp"
    echo "run: ERROR: could not set up the demo partner" >&2
    exit 1
fi

# --- process management ----------------------------------------------------------
# Job control on: each child gets its own process group, so stopping one group
# also stops what it forked (gunicorn workers, Celery pool processes), and
# nothing outside what we started is touched.
set -m
pids=()
names=()

start() {  # name command...  (output to the terminal, prefixed with [name])
    local name=$1; shift
    # The prefixer ignores Ctrl-C so the shutdown logs still get through.
    "$@" > >(trap '' INT; sed -u "s/^/[$name] /") 2>&1 &
    pids+=($!)
    names+=("$name")
}

stopping=0
stop_all() {
    [ "$stopping" = 1 ] && return
    stopping=1
    # Ignored from here on, not reset: make passes its own TERM on to this
    # script (a second one), and a second Ctrl-C is common; with the default
    # action either killed the script mid-stop and left gunicorn and Celery
    # running with no one to stop them.
    trap '' INT TERM
    [ ${#pids[@]} -eq 0 ] && return
    log "stopping ${names[*]}"
    local pid i
    # TERM to each leader: gunicorn and Celery then stop their own children
    # (a warm shutdown); whatever is left in a group after 10 s is killed.
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for i in $(seq 100); do
        local alive=0
        for pid in "${pids[@]}"; do kill -0 -- "-$pid" 2>/dev/null && alive=1; done
        [ "$alive" = 0 ] && { log "all stopped"; return; }
        sleep 0.1
    done
    log "forcing the rest to stop (SIGKILL)"
    for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- local chain -------------------------------------------------------------------
chain_id() {  # the chain id the node on $ANVIL_RPC_URL answers, or nothing
    curl -sf -m 1 -H 'content-type: application/json' \
        -d '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' "$ANVIL_RPC_URL" \
        | sed -n 's/.*"result":"\([0-9a-fx]*\)".*/\1/p'
}
rpc_answers() { [ -n "$(chain_id)" ]; }
if [ -x "$ANVIL_BIN" ]; then
    if rpc_answers; then
        # Another stack's anvil (a second checkout, an earlier run still up):
        # share it. dev_chain.py is safe to run again and registers this
        # database's chain 31337 on it. Anything else on the port is an error:
        # the pay page would offer no chain and the quickstart's payment fail.
        if [ "$(chain_id)" != "0x7a69" ]; then
            echo "run: ERROR: $ANVIL_RPC_URL answers, but not as chain 31337; set JOPAY_ANVIL_PORT to a free port" >&2
            exit 1
        fi
        log "anvil already answers on $ANVIL_RPC_URL (chain 31337); using it"
    else
        # Block noise goes to a file; the chain restarts empty on every run.
        log "starting anvil on $ANVIL_RPC_URL (chain id 31337, log $LOGS/anvil.log)"
        "$ANVIL_BIN" --host 127.0.0.1 --port "$ANVIL_PORT" --chain-id 31337 --block-time 2 \
            >"$LOGS/anvil.log" 2>&1 &
        pids+=($!)
        names+=(anvil)
        for _ in $(seq 100); do rpc_answers && break; sleep 0.1; done
        rpc_answers || { echo "run: ERROR: anvil did not answer; see $LOGS/anvil.log" >&2; exit 1; }
    fi
    # Deploys the test USDC and registers it as a local chain (D30).
    if [ -f scripts/dev_chain.py ]; then
        JOPAY_DEV_RPC_URL=$ANVIL_RPC_URL $PY scripts/dev_chain.py
    fi
else
    log "anvil not installed (Linux x86_64 gets it from npm; else set JOPAY_ANVIL_BIN); running without a local chain"
fi

# --- the three JoPay processes (D30) -------------------------------------------------
start web .venv/bin/gunicorn jopay_project.wsgi --bind "127.0.0.1:$PORT" --workers 2
web_pid=$!
start worker .venv/bin/celery -A jopay_project worker --loglevel INFO --concurrency 2
start beat .venv/bin/celery -A jopay_project beat --loglevel INFO -s "$DATA/celerybeat-schedule"

# Wait for the web server before printing the banner (not if it died already).
for _ in $(seq 150); do
    curl -s -o /dev/null -m 1 "$BASE_URL/" && break
    kill -0 "$web_pid" 2>/dev/null || break
    sleep 0.2
done

test_key=$($PY -c 'import json, sys; print(json.load(open(sys.argv[1]))["test_key"])' "$DATA/demo.json")

# What this stack runs with, for `source .run/env` in another terminal: the
# quickstart's commands and manage.py then reach the same URL, data folder,
# database and chain (without it, manage.py ran on an empty SQLite file).
# Readable by this user only, as demo.json: DATABASE_URL and REDIS_URL may
# carry passwords, and a checkout is often readable by every local user.
rm -f .run/env.tmp
(umask 077 && : > .run/env.tmp)
{
    echo "# Written by make run ($(date -u +%FT%TZ)). Source it: . .run/env"
    for name in DEBUG JOPAY_DATA_DIR JOPAY_URL JOPAY_PUBLIC_BASE_URL JOPAY_ANVIL_RPC \
            DATABASE_URL REDIS_URL JOPAY_WEBHOOK_CA_BUNDLE; do
        case $name in
            JOPAY_DATA_DIR) value=$(cd "$DATA" && pwd) ;;
            JOPAY_URL) value=$BASE_URL ;;
            JOPAY_ANVIL_RPC) value=$ANVIL_RPC_URL ;;
            *) value=${!name:-} ;;
        esac
        if [ -n "$value" ]; then printf 'export %s=%q\n' "$name" "$value"; fi
    done
} > .run/env.tmp && mv .run/env.tmp .run/env
cat <<EOF

  JoPay is running at $BASE_URL   (Ctrl-C stops everything)
    test key : $test_key
    try      : curl -s $BASE_URL/api/v1/merchants -H "Authorization: Bearer $test_key"
    admin    : $BASE_URL/admin/
    portal   : $BASE_URL/portal/
    API docs : $BASE_URL/docs/api/
    demo     : $DATA/demo.json (the demo partner's keys)
    env      : . .run/env   (this stack's URL, data folder and database, for manage.py)

EOF

# Stop everything as soon as one process exits (a crash, a busy port).
status=0
wait -n "${pids[@]}" || status=$?
log "a process exited (status $status); shutting down"
exit "$status"
