#!/usr/bin/env bash
# A private S3-compatible server for the tests and the bench: moto[server]
# (PyPI, pinned below) in a virtualenv under target/s3-venv, listening only
# on 127.0.0.1:39091, its state in memory, its log in target/test-s3.
#
#   scripts/s3-server.sh install   create the virtualenv and install moto (needs python3-venv)
#   scripts/s3-server.sh start     install if needed, start, create the test users and buckets
#   scripts/s3-server.sh stop      shut it down; not running = ok
#   scripts/s3-server.sh status    exit 0 if running
#   scripts/s3-server.sh url       the endpoint: http://127.0.0.1:39091
#   scripts/s3-server.sh env       `export` lines: endpoint, region and the writer's keys
#   scripts/s3-server.sh admin ... run scripts/s3-admin.py with the server's settings
#
# Authentication is on once started: every request must be signed with the
# keys of an IAM user the start made (written to target/test-s3/users.json):
# `writer` may do anything in S3, `reader` may only list and read. Buckets
# made at start: sluice-test, sluice-bench. Multipart parts may be as small
# as 64 KiB (S3_UPLOAD_PART_MIN_SIZE), so tests cover several parts per
# file without writing gigabytes; every part but the last is still checked
# against that minimum.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
S3ROOT="$ROOT/target/test-s3"
VENV="$ROOT/target/s3-venv"
PIDFILE="$S3ROOT/moto.pid"
LOG="$S3ROOT/moto.log"
HOST=127.0.0.1
PORT=39091
MOTO_VERSION="5.2.5"
MIN_PART=65536

log() { echo "s3-server: $*" >&2; }

as_root() {
    if [[ $EUID -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

install() {
    if [[ -x $VENV/bin/moto_server ]] && "$VENV/bin/python" -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
        return 0
    fi
    log "installing moto[server]==$MOTO_VERSION into $VENV"
    rm -rf "$VENV"
    # Debian's python3 makes virtualenvs only with python3-venv installed.
    if ! python3 -m venv "$VENV" >/dev/null 2>&1; then
        log "installing python3-venv"
        as_root apt-get update
        DEBIAN_FRONTEND=noninteractive as_root apt-get install -y --no-install-recommends python3-venv
        rm -rf "$VENV"
        python3 -m venv "$VENV"
    fi
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
}

running() {
    [[ -f $PIDFILE ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null
}

url() { echo "http://$HOST:$PORT"; }

admin() {
    S3_ENDPOINT="$(url)" S3_USERS="$S3ROOT/users.json" "$VENV/bin/python" "$ROOT/scripts/s3-admin.py" "$@"
}

start() {
    install
    mkdir -p "$S3ROOT"
    if running; then
        log "already running on $HOST:$PORT"
        return 0
    fi
    log "starting moto_server on $HOST:$PORT, log $LOG"
    S3_UPLOAD_PART_MIN_SIZE=$MIN_PART MOTO_S3_DEFAULT_KEY_BUFFER_SIZE=$((16 << 20)) \
        setsid "$VENV/bin/moto_server" -H "$HOST" -p "$PORT" >"$LOG" 2>&1 &
    echo $! >"$PIDFILE"
    local waited=0
    until curl -fsS "$(url)/moto-api/" >/dev/null 2>&1 || "$VENV/bin/python" -c "import urllib.request; urllib.request.urlopen('$(url)/moto-api/')" 2>/dev/null; do
        if (( waited >= 300 )) || ! running; then
            log "not ready; last lines of $LOG:"
            tail -n 20 "$LOG" >&2
            exit 1
        fi
        sleep 0.2
        waited=$((waited + 1))
    done
    admin setup
    log "ready"
}

stop() {
    if running; then
        kill "$(cat "$PIDFILE")" 2>/dev/null || true
        local waited=0
        while running && (( waited < 50 )); do sleep 0.1; waited=$((waited + 1)); done
        running && kill -9 "$(cat "$PIDFILE")" 2>/dev/null || true
        log "stopped"
    fi
    rm -f "$PIDFILE"
}

case "${1:-}" in
    install) install ;;
    start) start ;;
    stop) stop ;;
    status) running ;;
    url) url ;;
    env) admin env ;;
    admin) shift; admin "$@" ;;
    *)
        echo "usage: $0 install|start|stop|status|url|env|admin ..." >&2
        exit 2
        ;;
esac
