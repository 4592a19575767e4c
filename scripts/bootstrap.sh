#!/usr/bin/env bash
# Idempotent set-up of what `make test` / `make run` need; a quick no-op when done.
#   - .venv (Python 3.11) with `pip install -e '.[dev]'`, redone when pyproject.toml
#     is newer than the stamp .venv/.installed;
#   - anvil (npm @foundry-rs/anvil-linux-amd64) under .run/node, when npm exists.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { echo "bootstrap: $*"; }

VENV=.venv
STAMP=$VENV/.installed
ANVIL_PKG=@foundry-rs/anvil-linux-amd64@1.7.1
ANVIL_BIN=.run/node/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil

# Python 3.11 exactly: pyproject says >=3.11,<3.12 (Django 5.2 LTS).
find_python() {
    local py
    for py in "${PYTHON:-}" python3.11 python3; do
        [ -n "$py" ] && command -v "$py" >/dev/null 2>&1 || continue
        if "$py" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
            echo "$py"; return
        fi
    done
    echo "bootstrap: ERROR: Python 3.11 not found (set PYTHON=/path/to/python3.11)" >&2
    exit 1
}

# A venv whose interpreter no longer runs (moved or removed Python), is not
# 3.11, or has no working pip (`python -m venv` failed or was interrupted
# half-way), is rebuilt.
venv_ok() {
    "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null &&
        "$VENV/bin/python" -m pip --version >/dev/null 2>&1
}
if ! venv_ok; then
    py=$(find_python)
    log "creating $VENV with $py"
    rm -rf "$VENV"
    "$py" -m venv "$VENV"
    if ! venv_ok; then
        echo "bootstrap: ERROR: $py -m venv made no working $VENV (python3.11-venv missing?)" >&2
        exit 1
    fi
fi

if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ]; then
    log "pip install -e '.[dev]' (takes a minute on a new machine)"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e '.[dev]'
    touch "$STAMP"
else
    log "$VENV up to date"
fi

# anvil is optional for `make run` (D30: "when npm is available"), but CI must
# have it, or the chain tests would silently have no node.
if [ -x "$ANVIL_BIN" ]; then
    log "anvil present"
elif [ "$(uname -s)-$(uname -m)" != Linux-x86_64 ]; then
    log "anvil skipped: the npm package is linux-amd64 only"
elif command -v npm >/dev/null 2>&1; then
    log "npm install $ANVIL_PKG into .run/node"
    mkdir -p .run/node
    if ! npm install --prefix .run/node --no-audit --no-fund --silent "$ANVIL_PKG"; then
        if [ "${CI:-}" = true ]; then
            echo "bootstrap: ERROR: npm install of anvil failed" >&2
            exit 1
        fi
        log "WARNING: npm install of anvil failed; continuing without a local chain"
    fi
else
    log "anvil skipped: npm not found"
fi
