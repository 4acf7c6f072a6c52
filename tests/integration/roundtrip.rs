//! Dump → restore into a fresh empty database → the restored database equals
//! the source (schema, every row, sequences), through every stage path.

use serde_json::Value;
use sluice_tests::{DumpDir, TestDb, TestRole, chunks_of, round_trip, run, table_entry};

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

/// Every kind of PostgreSQL object that holds data, as the README's
/// inventory lists them: tables, partitions and inheritance children (the
/// types fixture), an unlogged table, a materialized view (refreshed on
/// restore), sequences, an extension's configuration tables and sequences
/// (pg_extension_config_dump), and large objects of 0 bytes, a few bytes and
/// several MiB (crossing many 256 KiB pieces) with an owner, an ACL and a
/// comment. The oracle compares large objects' contents too.
#[test]
fn every_kind_of_postgres_data_round_trips() {
    let role = TestRole::new("unused");
    let db = TestDb::types();
    db.exec(&format!(
        "CREATE UNLOGGED TABLE scratch (id int PRIMARY KEY, note text); \
         INSERT INTO scratch SELECT i, 'n' || i FROM generate_series(1, 50) AS i; \
         CREATE MATERIALIZED VIEW scratch_summary AS SELECT count(*) AS n FROM scratch; \
         CREATE EXTENSION sluice_config_test; \
         INSERT INTO sluice_settings (name, value) VALUES ('theme', 'dark'), ('lang', NULL); \
         SELECT nextval('sluice_ticket'); INSERT INTO sluice_notes (body) VALUES ('kept'), ('also kept'); \
         SELECT lo_create(515150); SELECT lo_from_bytea(515151, 'a few bytes'); \
         SELECT lo_from_bytea(515152, (SELECT string_agg(decode(md5(i::text), 'hex'), ''::bytea) \
                                         FROM generate_series(1, 300000) AS i)); \
         ALTER LARGE OBJECT 515151 OWNER TO {role}; GRANT SELECT ON LARGE OBJECT 515152 TO {role}; \
         COMMENT ON LARGE OBJECT 515150 IS 'empty';",
        role = role.name()
    ));
    let dir = round_trip(&db, &with_split(&[]), &["-j", "2"]);
    let manifest = dir.manifest();
    let settings = table_entry(&manifest, "public", "sluice_settings");
    assert_eq!(settings["extension_config"]["predicate"], "NOT standard", "{settings}");
    assert_eq!(settings["rows"], 2, "the shipped row is the extension's, not the dump's: {settings}");
    assert_eq!(table_entry(&manifest, "public", "sluice_notes")["rows"], 2);
    let tables = manifest["tables"].as_array().expect("tables");
    assert!(
        !tables.iter().any(|t| t["name"] == "sluice_internal"),
        "a member table that is not configuration was dumped"
    );
    assert_eq!(manifest["large_objects"]["objects"], 3, "{manifest}");
    assert!(
        chunks_of(table_entry(&manifest, "pg_catalog", "pg_largeobject")).len() > 1,
        "4.8 MB of objects in one chunk"
    );

    let target = TestDb::new();
    run(["restore", dir.arg(), target.url()]).assert_success();
    assert_eq!(target.query("SELECT n FROM scratch_summary"), "50", "the materialized view was not refreshed");
    assert_eq!(target.query("SELECT string_agg(name, ',' ORDER BY id) FROM sluice_settings"), "shipped,theme,lang");

    // With --include, pg_dump -t leaves the extension out, and so its
    // configuration rows: on record, never silently.
    let picked = DumpDir::new();
    run(["dump", db.url(), "--out", picked.arg(), "--include", "public.s*"]).assert_success();
    let left_out = picked.manifest()["left_out"].to_string();
    assert!(
        left_out.contains("rows of configuration table public.sluice_settings of extension sluice_config_test"),
        "{left_out}"
    );
    assert!(left_out.contains("configuration sequence public.sluice_ticket"), "{left_out}");

    // A masked dump leaves large objects out unless the config asks.
    let masked = DumpDir::new();
    let config = masked.path().with_extension("toml");
    std::fs::write(&config, "[[table]]\nmatch = 'public.scratch'\nfilter = 'id > 10'\n").expect("write config");
    run(["dump", db.url(), "--out", masked.arg(), "--config", config.to_str().expect("utf-8")]).assert_success();
    let left_out = masked.manifest()["left_out"].to_string();
    assert!(left_out.contains("3 large object(s) (a masked dump carries them only when"), "{left_out}");
}
