#!/usr/bin/env bash
# System tools the test suite drives for real (never mocked, never skipped):
# Chromium for the browser tests, redis-server for the throwaway Redis drill,
# node for the webhook snippet test. Installed with apt only when missing and
# only as root, so nothing already present is upgraded.
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v redis-server >/dev/null || need+=(redis-server)
command -v node >/dev/null || need+=(nodejs)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "test tools: missing ${need[*]}; install them (Debian: apt-get install ${need[*]})" >&2
    exit 1
fi
echo "test tools: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}"
