//! Dump → restore into a fresh empty database → the restored database equals
//! the source (schema, every row, sequences), through every stage path.

use serde_json::Value;
use sluice_tests::{TestDb, chunks_of, round_trip, table_entry};

/// Small chunks, so that `big_rows` is split across both workers.
const SPLIT: [&str; 4] = ["-j", "2", "--chunk-size", "256KiB"];

/// `big_rows` was really split into ctid chunks, and no row was lost or doubled.
#[track_caller]
fn assert_big_rows_chunked(manifest: &Value) {
    let table = table_entry(manifest, "public", "big_rows");
    let chunks = chunks_of(table);
    assert!(chunks.len() > 1, "big_rows was not split: {} chunk(s)", chunks.len());
    let rows: u64 = chunks.iter().map(|c| c["rows"].as_u64().expect("chunk rows")).sum();
    assert_eq!(rows, 200_000, "chunk rows of big_rows");
    assert_eq!(table["rows"].as_u64(), Some(200_000), "table rows of big_rows");
}

fn with_split(extra: &[&'static str]) -> Vec<&'static str> {
    SPLIT.iter().chain(extra).copied().collect()
}

#[test]
fn types_round_trip_through_native_fast_paths() {
    let dump = round_trip(&TestDb::types(), &SPLIT, &["-j", "2"]);
    assert_big_rows_chunked(&dump.manifest());
}

#[test]
fn types_round_trip_with_every_stage_a_wasm_component() {
    let dump = round_trip(&TestDb::types(), &with_split(&["--stages", "wasm"]), &["-j", "2", "--stages", "wasm"]);
    assert_big_rows_chunked(&dump.manifest());
}

#[test]
fn types_round_trip_as_gzipped_csv() {
    let dump = round_trip(&TestDb::types(), &with_split(&["--format", "csv", "--compress", "gzip"]), &["-j", "2"]);
    assert_big_rows_chunked(&dump.manifest());
}

#[test]
fn types_round_trip_through_the_identity_row_transform() {
    let dump = round_trip(&TestDb::types(), &with_split(&["--transform", "public.*=identity"]), &["-j", "2"]);
    assert_big_rows_chunked(&dump.manifest());
}

#[test]
fn types_round_trip_uncompressed() {
    let dump = round_trip(&TestDb::types(), &with_split(&["--compress", "none"]), &["-j", "2"]);
    assert_big_rows_chunked(&dump.manifest());
}

#[test]
fn pagila_round_trips() {
    round_trip(&TestDb::pagila(), &["-j", "2"], &["-j", "2"]);
}

#[test]
fn pagila_round_trips_as_csv_through_wasm_stages() {
    round_trip(
        &TestDb::pagila(),
        &["-j", "2", "--stages", "wasm", "--format", "csv"],
        &["-j", "2", "--stages", "wasm"],
    );
}
