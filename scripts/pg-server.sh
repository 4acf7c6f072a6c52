#!/usr/bin/env bash
# A private PostgreSQL server for the tests and the demo: data, socket and log
# under target/test-pg, listening only on 127.0.0.1:54329, trust auth.
#
#   scripts/pg-server.sh install   install postgresql with apt-get if no server binary exists
#   scripts/pg-server.sh start     install if needed, initdb once, start (already running = ok)
#   scripts/pg-server.sh stop      stop it (fast mode); not running = ok
#   scripts/pg-server.sh status    exit 0 if running
#   scripts/pg-server.sh url       the superuser URL of the `postgres` database
#   scripts/pg-server.sh bindir    the server's bin directory (psql, pg_dump of the same version)
#
# `start` also installs the test extension tests/fixtures/pg-extension
# (configuration tables marked with pg_extension_config_dump) into the
# server's extension directory, so the tests can CREATE EXTENSION it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PGROOT="$ROOT/target/test-pg"
DATA="$PGROOT/data"
LOG="$PGROOT/log"
SOCK="$PGROOT/sock"
HOST=127.0.0.1
PORT=54329
OS_USER=postgres
READY_TIMEOUT=60

# A unix socket path must fit in sun_path (107 bytes); a deep checkout would
# not, so the socket moves to /tmp then. Clients here use TCP anyway.
if (( ${#SOCK} + 20 > 107 )); then
    SOCK="/tmp/sluice-test-pg-$PORT"
fi

log() { echo "pg-server: $*" >&2; }

as_root() {
    if [[ $EUID -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

# Runs a server program as the owner of the cluster: initdb and postgres
# refuse to run as root, so as root they run as the `postgres` OS user.
as_owner() {
    if [[ $EUID -eq 0 ]]; then runuser -u "$OS_USER" -- "$@"; else "$@"; fi
}

have_server() { compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; }

bindir() {
    local newest
    newest="$(ls -d /usr/lib/postgresql/*/bin/postgres 2>/dev/null | sort -V | tail -n 1)"
    [[ -n $newest ]] || { log "no PostgreSQL server under /usr/lib/postgresql"; exit 1; }
    dirname "$newest"
}

install() {
    have_server && return 0
    log "installing postgresql with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update
    # Install postgresql-common first and turn off the distribution's `main`
    # cluster on port 5432: the tests use their own, and nothing may be left running.
    as_root apt-get install -y --no-install-recommends postgresql-common
    if [[ -f /etc/postgresql-common/createcluster.conf ]]; then
        as_root sed -ri 's/^#?\s*create_main_cluster\s*=.*/create_main_cluster = false/' \
            /etc/postgresql-common/createcluster.conf
    fi
    as_root apt-get install -y --no-install-recommends postgresql
    have_server || { log "apt-get installed no server binary"; exit 1; }
}

# As root, the postgres OS user must be able to reach target/test-pg: give
# search (x, not read) permission to every ancestor that lacks it.
make_reachable() {
    [[ $EUID -eq 0 ]] || return 0
    # Top-down, so that a closed /root is opened before its children are judged.
    local dir="" part
    local -a parts
    IFS=/ read -ra parts <<<"${PGROOT#/}"
    for part in "${parts[@]}"; do
        dir="$dir/$part"
        if ! runuser -u "$OS_USER" -- test -x "$dir"; then
            log "chmod o+x $dir (so the $OS_USER OS user can reach $PGROOT)"
            chmod o+x "$dir"
        fi
    done
}

running() {
    [[ -f $DATA/PG_VERSION ]] || return 1
    as_owner "$(bindir)/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

pick_locale() {
    if locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$'; then echo C.UTF-8; else echo C; fi
}

init_cluster() {
    [[ -f $DATA/PG_VERSION ]] && return 0
    log "initdb $DATA"
    rm -rf "$DATA"
    mkdir -p "$DATA"
    if [[ $EUID -eq 0 ]]; then chown "$OS_USER:" "$DATA"; fi
    chmod 700 "$DATA"
    as_owner "$(bindir)/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 \
        --locale="$(pick_locale)" >"$PGROOT/initdb.log" 2>&1 \
        || { cat "$PGROOT/initdb.log" >&2; exit 1; }
    # A throwaway cluster: durability buys nothing here and costs test time.
    cat >>"$DATA/postgresql.conf" <<EOF

# sluice test server (scripts/pg-server.sh)
listen_addresses = '$HOST'
port = $PORT
unix_socket_directories = '$SOCK'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
EOF
}

# The server's share/extension directory: /usr/share/postgresql/<major>/extension
# for Debian's packages (bindir is /usr/lib/postgresql/<major>/bin).
install_test_extension() {
    local major dest
    major="$(basename "$(dirname "$(bindir)")")"
    dest="/usr/share/postgresql/$major/extension"
    [[ -d $dest ]] || { log "no extension directory $dest"; exit 1; }
    for f in "$ROOT"/tests/fixtures/pg-extension/*; do
        cmp -s "$f" "$dest/$(basename "$f")" || as_root cp "$f" "$dest/"
    done
}

start() {
    install
    install_test_extension
    mkdir -p "$PGROOT" "$SOCK"
    make_reachable
    if [[ $EUID -eq 0 ]]; then chown "$OS_USER:" "$PGROOT" "$SOCK"; fi
    if running; then
        log "already running on $HOST:$PORT"
        return 0
    fi
    init_cluster
    if [[ $EUID -eq 0 ]]; then touch "$LOG" && chown "$OS_USER:" "$LOG"; fi
    log "starting $(bindir)/postgres on $HOST:$PORT, log $LOG"
    as_owner "$(bindir)/pg_ctl" -D "$DATA" -l "$LOG" -w -t "$READY_TIMEOUT" start >/dev/null \
        || { log "start failed; last lines of $LOG:"; tail -n 20 "$LOG" >&2; exit 1; }
    local waited=0
    until "$(bindir)/pg_isready" -q -h "$HOST" -p "$PORT" -U postgres -d postgres; do
        if (( waited >= READY_TIMEOUT )); then
            log "not ready after ${READY_TIMEOUT}s; last lines of $LOG:"
            tail -n 20 "$LOG" >&2
            exit 1
        fi
        sleep 1
        waited=$((waited + 1))
    done
    log "ready"
}

stop() {
    if running; then
        as_owner "$(bindir)/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
        log "stopped"
    fi
}

case "${1:-}" in
    install) install ;;
    start) start ;;
    stop) stop ;;
    status) running ;;
    url) echo "postgres://postgres@$HOST:$PORT/postgres" ;;
    bindir) bindir ;;
    *)
        echo "usage: $0 {install|start|stop|status|url|bindir}" >&2
        exit 2
        ;;
esac
