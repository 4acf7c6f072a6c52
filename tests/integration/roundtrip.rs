//! Dump → restore into a fresh empty database → the restored database equals
//! the source (schema, every row, sequences), through every stage path.

use serde_json::Value;
use sluice_tests::{DumpDir, TestDb, TestRole, chunks_of, round_trip, run, schema_dump, table_checksums, table_entry};

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
fn types_round_trip_as_jsonl() {
    let dump = round_trip(&TestDb::types(), &with_split(&["--format", "jsonl"]), &["-j", "2"]);
    let manifest = dump.manifest();
    assert_big_rows_chunked(&manifest);
    assert_eq!(manifest["format"], "jsonl");
    let chunk = &chunks_of(table_entry(&manifest, "public", "big_rows"))[0];
    assert!(chunk["file"].as_str().expect("file").ends_with(".jsonl.zst"), "{chunk}");
}

#[test]
fn types_round_trip_as_gzipped_jsonl_with_every_stage_a_wasm_component() {
    let dump = round_trip(
        &TestDb::types(),
        &with_split(&["--format", "jsonl", "--compress", "gzip", "--stages", "wasm"]),
        &["-j", "2", "--stages", "wasm"],
    );
    assert_big_rows_chunked(&dump.manifest());
}

#[test]
fn types_round_trip_as_sql() {
    let dump = round_trip(&TestDb::types(), &with_split(&["--format", "sql"]), &["-j", "2"]);
    let manifest = dump.manifest();
    assert_big_rows_chunked(&manifest);
    assert_eq!(manifest["format"], "sql");
}

#[test]
fn types_round_trip_as_gzipped_sql_with_every_stage_a_wasm_component() {
    let dump = round_trip(
        &TestDb::types(),
        &with_split(&["--format", "sql", "--compress", "gzip", "--stages", "wasm"]),
        &["-j", "2", "--stages", "wasm"],
    );
    assert_big_rows_chunked(&dump.manifest());
}

/// An independent reader: psql runs the schema and every data file of a
/// `--format sql` dump, and the database it builds has the source's schema
/// and rows (sequence positions are the manifest's, which restore sets).
#[test]
fn a_postgres_sql_dump_runs_in_psql() {
    let source = TestDb::types();
    let dir = DumpDir::new();
    run(["dump", source.url(), "--out", dir.arg(), "--format", "sql", "--compress", "none"]).assert_success();
    let target = TestDb::new();
    let psql_file = |file: &std::path::Path| {
        let out = std::process::Command::new("psql")
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", target.url(), "-f"])
            .arg(file)
            .output()
            .expect("psql");
        assert!(out.status.success(), "psql -f {}: {}", file.display(), String::from_utf8_lossy(&out.stderr));
    };
    psql_file(&dir.path().join("schema/pre-data.sql"));
    let manifest = dir.manifest();
    for table in manifest["tables"].as_array().expect("tables") {
        for chunk in chunks_of(table) {
            psql_file(&dir.path().join(chunk["file"].as_str().expect("file")));
        }
    }
    psql_file(&dir.path().join("schema/post-data.sql"));
    assert_eq!(schema_dump(&source), schema_dump(&target), "schema");
    assert_eq!(table_checksums(&source), table_checksums(&target), "rows");
}

/// An independent reader (Python's `json` module) reads a JSONL dump of a
/// typed table and finds each value in its documented JSON form.
#[test]
fn a_jsonl_dump_reads_as_typed_json_in_python() {
    let db = TestDb::new();
    db.exec(
        "CREATE TABLE typed (id int8, ok bool, big int8, f float8, nan float8, n numeric, b bytea, j jsonb, \
                             js json, t text, d date, nothing text); \
         INSERT INTO typed VALUES (1, true, 9223372036854775807, 1.5, 'NaN', 12345678901234567890.5, \
                 '\\x00ff41', '{\"k\": [1, null]}', '\"a string\"', E'line\\nbreak \\t\"q\"', '2024-02-29', NULL);",
    );
    let dir = DumpDir::new();
    run(["dump", db.url(), "--out", dir.arg(), "--format", "jsonl", "--compress", "none"]).assert_success();
    let file =
        dir.path().join(chunks_of(table_entry(&dir.manifest(), "public", "typed"))[0]["file"].as_str().expect("file"));
    let script = r#"
import json, sys, base64
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
assert lines[-1] == "" and len(lines) == 2, lines
row = json.loads(lines[0], object_pairs_hook=lambda pairs: pairs)
keys = [k for k, _ in row]
assert keys == ["id", "ok", "big", "f", "nan", "n", "b", "j", "js", "t", "d", "nothing"], keys
v = dict(row)
assert v["id"] == 1 and type(v["id"]) is int, v["id"]
assert v["ok"] is True
assert v["big"] == "9223372036854775807", v["big"]
assert v["f"] == 1.5 and v["nan"] == "NaN", (v["f"], v["nan"])
assert v["n"] == "12345678901234567890.5", v["n"]
assert [tuple(p) for p in v["b"]] == [("base64", base64.b64encode(b"\x00\xffA").decode())], v["b"]
assert v["j"] == [("k", [1, None])], v["j"]
assert v["js"] == '"a string"', v["js"]
assert v["t"] == 'line\nbreak \t"q"', v["t"]
assert v["d"] == "2024-02-29" and v["nothing"] is None
print("ok")
"#;
    let out = std::process::Command::new("python3").arg("-c").arg(script).arg(&file).output().expect("python3");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ok");
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
