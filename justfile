# sluice's map: `./just --list` shows every recipe (`./just` is the checked-in
# bootstrap that installs the pinned just into .tools/ on first use). Tool
# versions are pinned there and in scripts/setup.sh; the private servers live
# in scripts/pg-server.sh and scripts/mariadb-server.sh.

set shell := ["bash", "-euo", "pipefail", "-c"]

pg := "scripts/pg-server.sh"
maria := "scripts/mariadb-server.sh"
s3 := "scripts/s3-server.sh"
sluice := "target/release/sluice"
host_target := "x86_64-unknown-linux-gnu"
components := "components/Cargo.toml"
datasets := env("SLUICE_DATASETS_DIR", justfile_directory() / "tests" / "fixtures" / "datasets")

# List the recipes
default:
    @{{ just_executable() }} --list

# Build the sluice binary (release)
[group('build')]
build:
    cargo build --release

# Format the host, tests and components
[group('build')]
fmt:
    cargo fmt --all
    cargo fmt --all --manifest-path {{ components }}

# Run clippy on the workspace and the components, warnings as errors
[group('build')]
lint:
    cargo clippy --workspace --all-targets -- -D warnings
    cargo clippy --manifest-path {{ components }} --all-targets --target {{ host_target }} -- -D warnings

# Run every test against private PostgreSQL, MariaDB and S3 (moto) servers (started here, stopped on exit); ARGS filter the sluice tests
[group('test')]
test *ARGS:
    #!/usr/bin/env bash
    set -euo pipefail
    # What a bare machine lacks (servers, sqlite3, the wasm target): installed once.
    bash scripts/setup.sh all
    trap '{{ pg }} stop; {{ maria }} stop; {{ s3 }} stop' EXIT
    {{ pg }} start
    {{ maria }} start
    {{ s3 }} start
    export SLUICE_TEST_PG_URL="$({{ pg }} url)"
    export SLUICE_TEST_MYSQL_URL="$({{ maria }} url)"
    export SLUICE_TEST_S3_ENDPOINT="$({{ s3 }} url)"
    # psql and pg_dump of the server's own version, for the harness and for sluice
    export PATH="$({{ pg }} bindir):$PATH"
    cargo build --release
    cargo test --release -p sluice -p sluice-tests {{ ARGS }}
    cargo test --manifest-path {{ components }} --target {{ host_target }}

# Exactly what CI runs (.ci/run): install what is missing, then every test
[group('test')]
ci: setup test

# Install the wasm32-wasip2 target, a C compiler, sqlite3, PostgreSQL, MariaDB and moto (S3) if missing (same logic as .ci/run)
[group('setup')]
setup:
    bash scripts/setup.sh

# The main job on an embedded SQLite sample (no server): plan, masked dump -j 2, verify, inspect, restore, before/after
[group('demo')]
demo: build
    bash scripts/demo.sh

# The same job on PostgreSQL's pagila sample, on the private test server
[group('demo')]
demo-postgres: build
    bash scripts/demo-postgres.sh

# Start the private test MariaDB (for running `cargo test` by hand)
[group('dev')]
maria-start:
    {{ maria }} start
    @echo "export SLUICE_TEST_MYSQL_URL=$({{ maria }} url)"

# Stop the private test MariaDB
[group('dev')]
maria-stop:
    {{ maria }} stop

# Start the private test S3 server, moto (for running `cargo test` by hand)
[group('dev')]
s3-start:
    {{ s3 }} start
    @echo "export SLUICE_TEST_S3_ENDPOINT=$({{ s3 }} url)"

# Stop the private test S3 server
[group('dev')]
s3-stop:
    {{ s3 }} stop

# Start the private test PostgreSQL (for running `cargo test` by hand)
[group('dev')]
pg-start:
    {{ pg }} start
    @echo "export SLUICE_TEST_PG_URL=$({{ pg }} url)"

# Stop the private test PostgreSQL
[group('dev')]
pg-stop:
    {{ pg }} stop

# Benchmark sluice against pg_dump/pg_restore, mydumper/myloader and the raw read limits on SCALE rows, then on large objects (results in target/bench/)
[group('bench')]
bench SCALE="5000000":
    bash scripts/bench.sh {{ SCALE }}
    bash scripts/bench-mariadb.sh {{ SCALE }}
    bash scripts/bench-large-objects.sh
    bash scripts/bench-resume.sh {{ SCALE }}

# Resume after SIGKILL at 50% against a full dump (held snapshot); with SLUICE_BASELINE=PATH, dump and restore side by side with a build without the journal
[group('bench')]
bench-resume SCALE="5000000":
    bash scripts/bench-resume.sh {{ SCALE }}

# Only the MariaDB half of `just bench`: mydumper/myloader and the raw SELECT limit
[group('bench')]
bench-mariadb SCALE="5000000":
    bash scripts/bench-mariadb.sh {{ SCALE }}

# Large objects against pg_dump -Fd -j2/pg_restore -j2: SLUICE_LO_SMALL objects of 1-64 KiB (10000) and one of SLUICE_LO_BIG_MIB MiB (1024); leaves the server running (results in target/bench/)
[group('bench')]
bench-large-objects:
    bash scripts/bench-large-objects.sh

# Only the component-boundary microbenchmark (no database): MB/s per core through identity and every formatter
[group('bench')]
bench-boundary:
    cargo bench -p sluice --bench boundary
