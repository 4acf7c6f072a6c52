//! What manifest.json records: source, snapshot, tables with their columns,
//! chunk files with sizes and checksums, every stage with its digest, and
//! never the password from the URL.

use std::fs;

use sluice_tests::{
    DumpDir, TestDb, TestRole, all_stages, chunk_path, chunks_of, dump, is_sha256_hex, run, sha256_file, table_entry,
};

const PASSWORD: &str = "s3cr3t-pw";

#[test]
fn manifest_records_source_snapshot_tables_and_columns() {
    let db = TestDb::small();
    let m = dump(&db, &[]).manifest();
    assert_eq!(m["format_version"], 1);
    assert!(m["tool_version"].as_str().is_some_and(|v| !v.is_empty()), "tool_version: {}", m["tool_version"]);
    assert_eq!(m["source"]["engine"], "postgres");
    let major = (db.query_i64("SHOW server_version_num") / 10_000).to_string();
    assert!(
        m["source"]["server_version"].as_str().is_some_and(|v| v.contains(&major)),
        "server_version {} is not version {major}",
        m["source"]["server_version"]
    );
    assert!(m["snapshot"]["id"].as_str().is_some_and(|id| !id.is_empty()), "snapshot id: {}", m["snapshot"]);
    for key in ["started_at", "finished_at", "format", "compression"] {
        assert!(m[key].is_string(), "{key} missing: {m}");
    }
    let books = table_entry(&m, "public", "books");
    let columns: Vec<&str> =
        books["columns"].as_array().expect("columns").iter().map(|c| c["name"].as_str().expect("name")).collect();
    assert_eq!(columns, ["id", "author_id", "title", "price"]);
    assert!(books["columns"][0]["sql_type"].as_str().is_some_and(|t| t.contains("bigint")), "{}", books["columns"][0]);
    assert_eq!(books["rows"], 5000);
}

#[test]
fn manifest_chunks_name_existing_files_with_their_size_and_sha256() {
    let dir = dump(&TestDb::small(), &["--chunk-size", "64KiB"]);
    let m = dir.manifest();
    let mut files = 0;
    for table in m["tables"].as_array().expect("tables") {
        let chunks = chunks_of(table);
        let rows: u64 = chunks.iter().map(|c| c["rows"].as_u64().expect("rows")).sum();
        assert_eq!(Some(rows), table["rows"].as_u64(), "chunk rows of {}", table["name"]);
        for chunk in chunks {
            let path = chunk_path(dir.path(), chunk["file"].as_str().expect("file"));
            let len = fs::metadata(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).len();
            assert_eq!(chunk["bytes"].as_u64(), Some(len), "bytes of {}", path.display());
            assert_eq!(chunk["sha256"].as_str(), Some(sha256_file(&path).as_str()), "sha256 of {}", path.display());
            files += 1;
        }
    }
    assert!(files > 2, "books at 64KiB chunks should give several files, got {files}");
}

#[test]
fn manifest_gives_every_wasm_stage_its_component_digest() {
    for stages in ["auto", "wasm"] {
        let m = dump(&TestDb::small(), &["--stages", stages]).manifest();
        let listed = all_stages(&m);
        assert!(!listed.is_empty(), "--stages {stages}: no stage listed in {m}");
        for stage in listed {
            let role = stage["role"].as_str().unwrap_or_default();
            assert!(["row-transform", "formatter", "byte-transform"].contains(&role), "role of {stage}");
            assert!(stage["name"].as_str().is_some_and(|n| !n.is_empty()), "name of {stage}");
            assert!(stage.get("config_sha256").is_some(), "config_sha256 of {stage}");
            match stage["implementation"].as_str() {
                Some("wasm") => assert!(stage["sha256"].as_str().is_some_and(is_sha256_hex), "sha256 of {stage}"),
                Some("native") => {
                    assert_ne!(stages, "wasm", "--stages wasm ran a native stage: {stage}")
                }
                _ => panic!("implementation of {stage}"),
            }
        }
    }
}

#[test]
fn password_in_the_url_never_reaches_manifest_or_output() {
    let db = TestDb::small();
    let role = TestRole::new(PASSWORD);
    let dir = DumpDir::new();
    let out = run(["dump", &db.url_as(role.name(), PASSWORD), "--out", dir.arg()]);
    out.assert_success();
    assert!(!dir.manifest_text().contains(PASSWORD), "password in manifest.json");
    assert!(!out.stderr.contains(PASSWORD) && !out.stdout.contains(PASSWORD), "password in output\n{out}");
}

#[test]
fn password_in_the_url_never_reaches_an_error_message() {
    let db = TestDb::new();
    let role = TestRole::new(PASSWORD);
    let missing = db.url_as(role.name(), PASSWORD).replace(db.name(), "sluice_no_such_database");
    let dir = DumpDir::new();
    let out = run(["dump", &missing, "--out", dir.arg()]);
    out.assert_code(1);
    assert!(!out.stderr.contains(PASSWORD) && !out.stdout.contains(PASSWORD), "password in output\n{out}");
}
