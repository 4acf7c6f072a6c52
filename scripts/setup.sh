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

# The SQLite tests compare databases with the sqlite3 shell's `.dump`; the
# demo generates its sample database with python3's sqlite3 module.
install_sqlite_tools() {
    if command -v sqlite3 >/dev/null && command -v python3 >/dev/null; then
        return 0
    fi
    log "installing sqlite3 and python3"
    as_root apt-get update
    as_root apt-get install -y --no-install-recommends sqlite3 python3
}

# The encryption tests check interop with independent tools: the Debian age
# CLI decrypts a chunk, minisign verifies a signed manifest.
install_crypto_tools() {
    if command -v age >/dev/null && command -v minisign >/dev/null; then
        return 0
    fi
    log "installing age and minisign"
    as_root apt-get update
    as_root apt-get install -y --no-install-recommends age minisign
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
        install_sqlite_tools
        install_crypto_tools
        "$ROOT/scripts/pg-server.sh" install
        "$ROOT/scripts/mariadb-server.sh" install
        "$ROOT/scripts/s3-server.sh" install
        ;;
    *)
        echo "usage: $0 [all|just]" >&2
        exit 2
        ;;
esac
