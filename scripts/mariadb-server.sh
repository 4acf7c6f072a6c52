#!/usr/bin/env bash
# A private MariaDB server for the tests and the demo: data, socket, pid and
# logs under target/test-mariadb, listening only on 127.0.0.1:33069, with the
# binary log on (so GTID and binlog positions exist).
#
#   scripts/mariadb-server.sh install   install mariadb-server/-client with apt-get if no server binary exists
#   scripts/mariadb-server.sh start     install if needed, initialize once, start (already running = ok)
#   scripts/mariadb-server.sh stop      shut it down cleanly; not running = ok
#   scripts/mariadb-server.sh status    exit 0 if running
#   scripts/mariadb-server.sh url       the URL to connect with: mysql://root@127.0.0.1:33069/
#   scripts/mariadb-server.sh client    run the mariadb client against it (extra args passed on)
#
# Accounts: `root` with no password, as root@localhost (socket), root@127.0.0.1
# and root@'%' (TCP), all with every privilege. The server only listens on
# 127.0.0.1, so '%' cannot be reached from elsewhere; it is there so a TCP
# proxy in the test harness is never refused because of its source address.
#
# The server reads only target/test-mariadb/my.cnf (--defaults-file), never
# /etc/mysql/*. The distribution's own service on port 3306 is never started.
# SELECT ... INTO OUTFILE may write only to target/test-mariadb/outfile
# (secure_file_priv); LOAD DATA LOCAL INFILE is allowed (local_infile=1).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MYROOT="$ROOT/target/test-mariadb"
DATA="$MYROOT/data"
CNF="$MYROOT/my.cnf"
PIDFILE="$MYROOT/mariadbd.pid"
LOG="$MYROOT/error.log"
OUTFILE_DIR="$MYROOT/outfile"
SOCK="$MYROOT/mariadbd.sock"
HOST=127.0.0.1
PORT=33069
OS_USER=mysql
READY_TIMEOUT=60

# A unix socket path must fit in sun_path (107 bytes); a deep checkout would
# not, so the socket moves to /tmp then. Clients here use TCP anyway.
if (( ${#SOCK} + 1 > 107 )); then
    SOCK="/tmp/sluice-test-mariadb-$PORT.sock"
fi

log() { echo "mariadb-server: $*" >&2; }

as_root() {
    if [[ $EUID -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

# Looks in /usr/sbin and /usr/bin too: a non-root PATH often lacks /usr/sbin.
find_bin() {
    local name dir
    for name in "$@"; do
        if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return 0; fi
        for dir in /usr/sbin /usr/bin /usr/local/sbin /usr/local/bin; do
            if [[ -x $dir/$name ]]; then echo "$dir/$name"; return 0; fi
        done
    done
    return 1
}

have_server() { find_bin mariadbd mysqld >/dev/null; }
server_bin() { find_bin mariadbd mysqld || { log "no mariadbd binary"; exit 1; }; }
client_bin() { find_bin mariadb mysql || { log "no mariadb client binary"; exit 1; }; }
admin_bin() { find_bin mariadb-admin mysqladmin || { log "no mariadb-admin binary"; exit 1; }; }
install_db_bin() { find_bin mariadb-install-db mysql_install_db || { log "no mariadb-install-db binary"; exit 1; }; }

# Stops the distribution's own server (port 3306) if the package started it,
# and keeps systemd from starting it at boot: nothing may be left running.
stop_distribution_service() {
    if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1; then
        as_root systemctl disable --now mariadb.service >/dev/null 2>&1 || true
    fi
    if [[ -x /etc/init.d/mariadb ]] && [[ -S /run/mysqld/mysqld.sock || -f /run/mysqld/mysqld.pid ]]; then
        as_root /etc/init.d/mariadb stop >/dev/null 2>&1 || true
    fi
}

install() {
    if have_server && find_bin mariadb mysql >/dev/null && find_bin mariadb-install-db mysql_install_db >/dev/null; then
        return 0
    fi
    log "installing mariadb-server and mariadb-client with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    # The package's postinst would start the distribution's server on 3306.
    # A policy-rc.d that answers 101 ("action forbidden") stops invoke-rc.d and
    # deb-systemd-invoke from doing so. Leave an existing one alone.
    local policy=/usr/sbin/policy-rc.d made_policy=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\n# temporary, scripts/mariadb-server.sh\nexit 101\n' | as_root tee "$policy" >/dev/null
        as_root chmod 755 "$policy"
        made_policy=1
    fi
    local rc=0
    { as_root apt-get update && \
      as_root apt-get install -y --no-install-recommends mariadb-server mariadb-client; } || rc=$?
    if (( made_policy )); then as_root rm -f "$policy"; fi
    stop_distribution_service
    (( rc == 0 )) || { log "apt-get failed ($rc)"; exit "$rc"; }
    have_server || { log "apt-get installed no server binary"; exit 1; }
}

# As root, the mysql OS user must be able to reach target/test-mariadb: give
# search (x, not read) permission to every ancestor that lacks it.
make_reachable() {
    [[ $EUID -eq 0 ]] || return 0
    local dir="" part
    local -a parts
    IFS=/ read -ra parts <<<"${MYROOT#/}"
    for part in "${parts[@]}"; do
        dir="$dir/$part"
        if ! runuser -u "$OS_USER" -- test -x "$dir"; then
            log "chmod o+x $dir (so the $OS_USER OS user can reach $MYROOT)"
            chmod o+x "$dir"
        fi
    done
}

server_pid() {
    [[ -f $PIDFILE ]] || return 1
    local pid
    pid="$(cat "$PIDFILE" 2>/dev/null)" || return 1
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    # Only our server: a stale pid file may name a recycled pid.
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "--defaults-file=$CNF" || return 1
    echo "$pid"
}

running() { server_pid >/dev/null; }

write_cnf() {
    local user_line=""
    [[ $EUID -eq 0 ]] && user_line="user                            = $OS_USER"
    # A throwaway server: durability buys nothing here and costs test time.
    # Sized for a 2-core box.
    cat >"$CNF" <<EOF
# sluice test server (scripts/mariadb-server.sh); regenerated on every start
[mariadbd]
datadir                         = $DATA
socket                          = $SOCK
pid-file                        = $PIDFILE
log-error                       = $LOG
bind-address                    = $HOST
port                            = $PORT
skip-name-resolve
$user_line
character-set-server            = utf8mb4
collation-server                = utf8mb4_general_ci
# the binary log, so GTID and binlog positions exist
log-bin                         = mariadb-bin
server-id                       = 1
binlog_format                   = ROW
log_bin_trust_function_creators = 1
sync_binlog                     = 0
# loading and dumping
local_infile                    = 1
max_allowed_packet              = 256M
secure_file_priv                = $OUTFILE_DIR
max_connections                 = 200
table_open_cache                = 1000
open_files_limit                = 8192
# small and fast, not durable
innodb_buffer_pool_size         = 256M
innodb_log_file_size            = 64M
innodb_log_buffer_size          = 16M
innodb_flush_log_at_trx_commit  = 2
innodb_doublewrite              = 0
innodb_read_io_threads          = 2
innodb_write_io_threads         = 2
innodb_purge_threads            = 1
performance_schema              = OFF
EOF
}

init_datadir() {
    [[ -d $DATA/mysql ]] && return 0
    log "mariadb-install-db $DATA"
    rm -rf "$DATA"
    mkdir -p "$DATA"
    if [[ $EUID -eq 0 ]]; then chown "$OS_USER:" "$DATA"; fi
    chmod 750 "$DATA"
    # --auth-root-authentication-method=normal: root@localhost without a
    # password (not unix_socket), so a non-root OS user can administer it too.
    local -a user_opt=()
    [[ $EUID -eq 0 ]] && user_opt=(--user="$OS_USER")
    "$(install_db_bin)" --defaults-file="$CNF" "${user_opt[@]}" \
        --auth-root-authentication-method=normal --skip-name-resolve --skip-test-db \
        >"$MYROOT/install-db.log" 2>&1 \
        || { cat "$MYROOT/install-db.log" >&2; rm -rf "$DATA"; exit 1; }
}

# Runs SQL as root over the socket.
sql_socket() { "$(client_bin)" --no-defaults -S "$SOCK" -uroot "$@"; }

ensure_users() {
    # mariadb-install-db also makes root@<hostname>, which skip-name-resolve
    # ignores with a warning at every start: drop it. Kept out of the binary
    # log (sql_log_bin = 0), so a start does not move the GTID position.
    local h drop=""
    h="$(uname -n)"
    h="${h//\'/}"
    case "$h" in localhost | 127.0.0.1 | ::1 | % | "") ;;
        *) drop="DROP USER IF EXISTS 'root'@'$h';" ;;
    esac
    sql_socket -e "
        SET SESSION sql_log_bin = 0;
        $drop
        CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';
        GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
        CREATE USER IF NOT EXISTS 'root'@'%';
        GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION;"
}

start() {
    install
    mkdir -p "$MYROOT" "$OUTFILE_DIR"
    make_reachable
    if running; then
        log "already running on $HOST:$PORT"
        return 0
    fi
    write_cnf
    if [[ $EUID -eq 0 ]]; then chown "$OS_USER:" "$MYROOT" "$OUTFILE_DIR"; fi
    init_datadir
    rm -f "$PIDFILE"
    if [[ $SOCK == /tmp/* ]]; then rm -f "$SOCK" "$SOCK.lock"; fi
    if [[ $EUID -eq 0 ]]; then touch "$LOG" && chown "$OS_USER:" "$LOG"; fi
    log "starting $(server_bin) on $HOST:$PORT, log $LOG"
    # --defaults-file must come first; it makes the server read no other file.
    setsid "$(server_bin)" --defaults-file="$CNF" </dev/null >>"$LOG" 2>&1 &
    local child=$! waited=0
    until "$(admin_bin)" --no-defaults -S "$SOCK" -uroot --connect-timeout=2 ping >/dev/null 2>&1; do
        if ! kill -0 "$child" 2>/dev/null; then
            log "server exited during startup; last lines of $LOG:"
            tail -n 20 "$LOG" >&2
            exit 1
        fi
        if (( waited >= READY_TIMEOUT )); then
            log "not ready after ${READY_TIMEOUT}s; last lines of $LOG:"
            tail -n 20 "$LOG" >&2
            kill "$child" 2>/dev/null || true
            exit 1
        fi
        sleep 1
        waited=$((waited + 1))
    done
    ensure_users
    "$(client_bin)" --no-defaults -h "$HOST" -P "$PORT" -uroot -e 'SELECT 1' >/dev/null \
        || { log "root cannot connect over TCP"; exit 1; }
    log "ready"
}

stop() {
    local pid
    pid="$(server_pid)" || return 0
    "$(admin_bin)" --no-defaults -S "$SOCK" -uroot --connect-timeout=5 shutdown >/dev/null 2>&1 \
        || kill -TERM "$pid" 2>/dev/null || true
    local waited=0
    while kill -0 "$pid" 2>/dev/null; do
        if (( waited >= READY_TIMEOUT * 10 )); then
            log "still running after ${READY_TIMEOUT}s; killing $pid"
            kill -KILL "$pid" 2>/dev/null || true
            break
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
    log "stopped"
}

case "${1:-}" in
    install) install ;;
    start) start ;;
    stop) stop ;;
    status) running ;;
    url) echo "mysql://root@$HOST:$PORT/" ;;
    client) shift; exec "$(client_bin)" --no-defaults -h "$HOST" -P "$PORT" -uroot "$@" ;;
    *)
        echo "usage: $0 {install|start|stop|status|url|client [args]}" >&2
        exit 2
        ;;
esac
