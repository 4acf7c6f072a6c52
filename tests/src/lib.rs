//! The harness behind sluice's integration tests (`tests/integration/`): a
//! fresh database per test on the private PostgreSQL server that `just test`
//! starts, the built `sluice` binary, the fixtures, and the round-trip oracle
//! (`pg_dump --schema-only` plus per-table checksums of ordered rows).
//!
//! Everything here is synchronous and panics with a message that says what
//! went wrong, so that a test reads as a few lines of intent.

mod cli;
mod compare;
mod component;
mod db;
mod dump;
mod mysql;
mod proxy;
mod s3;
mod sqlite;

pub use cli::{
    RunOutput, run, run_measuring_peak_rss, run_with_env, run_with_env_measuring_peak_rss, sluice, sluice_command,
};
pub use compare::{assert_same_database, schema_dump, sequence_values, table_checksums};
pub use component::{component_wasm, short_sha256};
pub use db::{TestDb, TestRole, fixture, load_pagila, load_sql_file, server_url, workspace_root};
pub use dump::{
    DumpDir, all_stages, chunk_path, chunks_of, dump, is_sha256_hex, restore_into, round_trip, sha256_file, table_entry,
};
pub use mysql::{MyDb, assert_same_mysql, mysql_server_url};
pub use proxy::{Cut, CutProxy};
pub use s3::{BUCKET, S3Prefix, parts_of, run_s3, run_s3_env, s3_endpoint};
pub use sqlite::{SqliteDb, assert_same_sqlite};
