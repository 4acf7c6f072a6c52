#!/usr/bin/env bash
# Installs what building and testing sluice needs on a fresh Debian 12, as
# root: just (pinned in ./just, built from crates.io), the wasm32-wasip2 target, a C
# compiler, PostgreSQL, MariaDB, sqlite3, python3, age and minisign, and moto (an S3 server,
# from PyPI into target/s3-venv). Each step is skipped
# when already done.
#
#   scripts/setup.sh        everything (`just setup`)
#   scripts/setup.sh just   only just (what `./just` does on first use)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
export DEBIAN_FRONTEND=noninteractive

log() { echo "setup: $*" >&2; }

as_root() {
    if [[ $EUID -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

install_just() {
    # Debian 12 has no `just` package: the checked-in bootstrap ./just
    # installs its pinned version into .tools/ from crates.io.
    "$ROOT/just" --version >/dev/null
}

install_cc() {
    if command -v cc >/dev/null; then
        return 0
    fi
    log "installing a C compiler (zstd-sys and friends build C)"
    as_root apt-get update
    as_root apt-get install -y --no-install-recommends build-essential
}

# Installs the Debian packages named like the commands given, unless every
# one of those commands is already on the PATH.
install_commands() {
    local missing=0 command
    for command in "$@"; do
        command -v "$command" >/dev/null || missing=1
    done
    [[ $missing == 1 ]] || return 0
    log "installing $*"
    as_root apt-get update
    as_root apt-get install -y --no-install-recommends "$@"
}

install_wasm_target() {
    # Run in the repository so the toolchain pinned by rust-toolchain.toml gets it.
    rustup target add wasm32-wasip2
}

case "${1:-all}" in
    just)
        install_just
        ;;
    all)
        install_just
        install_cc
        install_wasm_target
        # The SQLite tests compare databases with the sqlite3 shell's
        # `.dump`; the demo generates its sample database with python3.
        install_commands sqlite3 python3
        # The encryption tests check interop with independent tools: the
        # Debian age CLI decrypts a chunk, minisign verifies a manifest.
        install_commands age minisign
        "$ROOT/scripts/pg-server.sh" install
        "$ROOT/scripts/mariadb-server.sh" install
        "$ROOT/scripts/s3-server.sh" install
        ;;
    *)
        echo "usage: $0 [all|just]" >&2
        exit 2
        ;;
esac
