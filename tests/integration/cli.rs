//! The command-line contract: bad usage and bad input exit 2, with a message.

use std::fs;

use sluice_tests::{DumpDir, TestDb, chunks_of, run, sluice_command, table_entry};

#[test]
fn an_unknown_flag_is_bad_usage() {
    run(["--no-such-flag"]).assert_code(2);
    let dir = DumpDir::new();
    run(["dump", TestDb::new().url(), "--out", dir.arg(), "--no-such-flag"]).assert_code(2);
    assert!(!dir.manifest_path().exists());
}

#[test]
fn restore_of_a_directory_that_is_not_a_dump_is_bad_input() {
    let dir = DumpDir::new();
    fs::create_dir_all(dir.path()).expect("mkdir");
    fs::write(dir.path().join("notes.txt"), "not a dump").expect("write");
    let target = TestDb::new();
    run(["restore", dir.arg(), target.url()]).assert_code(2);
    assert_eq!(target.query_i64("SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace"), 0);
}

#[test]
fn resume_of_a_location_that_holds_no_interrupted_dump_is_refused() {
    let dir = DumpDir::new();
    run(["dump", TestDb::small().url(), "--out", dir.arg(), "--resume"])
        .assert_code(2)
        .assert_stderr_contains("is not an interrupted dump: it has no plan.json");
    assert!(!dir.manifest_path().exists());
    run(["restore", dir.arg(), TestDb::new().url(), "--resume"])
        .assert_code(2)
        .assert_stderr_contains("is not a dump directory");
}

#[test]
fn bad_input_creates_nothing_and_the_rerun_is_not_refused() {
    let dir = DumpDir::new();
    let missing = dir.path().with_extension("no-such.db");
    run(["dump", &format!("sqlite://{}", missing.display()), "--out", dir.arg()]).assert_code(1);
    assert!(!dir.path().exists(), "a dump of a missing SQLite file created --out");

    let text = dir.path().with_extension("txt");
    fs::write(&text, "not a component\n").expect("write");
    let transform = format!("public.*={}", text.display());
    run(["dump", TestDb::small().url(), "--out", dir.arg(), "--transform", &transform]).assert_code(2);
    assert!(!dir.path().exists(), "a dump with a bad transform created --out");

    run(["dump", TestDb::small().url(), "--out", dir.arg(), "--include", "public.no_such_table_*"])
        .assert_code(2)
        .assert_stderr_contains("no table matches the selection");
    assert!(!dir.path().exists(), "a dump selecting no table created --out");

    fs::create_dir_all(dir.path()).expect("mkdir");
    run(["dump", "sqlite:///nonexistent/sluice.db", "--out", dir.arg()]).assert_code(1);
    assert!(
        dir.path().is_dir() && fs::read_dir(dir.path()).expect("read").next().is_none(),
        "the empty --out stays, empty"
    );
    run(["dump", TestDb::small().url(), "--out", dir.arg()]).assert_success();
    assert!(dir.manifest_path().exists());
}

#[test]
fn a_transform_that_is_not_a_component_is_bad_input_naming_what_it_is() {
    let dir = DumpDir::new();
    let scratch = dir.path().with_extension("files");
    fs::create_dir_all(&scratch).expect("mkdir");
    let cases = [
        ("notes.wasm", b"hello\n".to_vec(), "a text file"),
        ("module.wasm", b"\0asm\x01\0\0\0".to_vec(), "a core WebAssembly module"),
        ("true.wasm", fs::read("/bin/true").expect("/bin/true"), "an ELF executable"),
    ];
    for (name, bytes, what) in cases {
        let path = scratch.join(name);
        fs::write(&path, bytes).expect("write");
        let transform = format!("public.*={}", path.display());
        run(["dump", TestDb::small().url(), "--out", dir.arg(), "--transform", &transform])
            .assert_code(2)
            .assert_stderr_contains(&format!("component {} is {what}", path.display()));
        assert!(!dir.path().exists());
    }
}

#[test]
fn a_reader_that_closes_the_pipe_early_ends_the_command_quietly() {
    let small = TestDb::small();
    let dir = sluice_tests::dump(&small, &[]);
    for args in
        [vec!["inspect", dir.arg()], vec!["inspect", dir.arg(), "--json"], vec!["plan", small.url()], vec!["--help"]]
    {
        let mut child = sluice_command(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start sluice");
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    }
}

#[test]
fn an_error_says_each_cause_once() {
    let db = TestDb::new();
    let out = run(["dump", &db.url_as("sluice_no_such_role", "x"), "--out", DumpDir::new().arg()]);
    out.assert_code(1);
    let line = out.stderr.lines().next().unwrap_or_default().to_owned();
    assert!(line.contains("sluice_no_such_role"), "{line}");
    let cause = line.rsplit(": ").next().unwrap_or_default();
    assert_eq!(line.matches(cause).count(), 1, "a cause is repeated: {line}");
}

/// The JSON events of a run, in order.
fn events(stderr: &str) -> Vec<serde_json::Value> {
    stderr.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON event ({e}): {l}"))).collect()
}

/// A run's events start with `run-start`, end with `run-end` (exit 0), hold
/// one `chunk` per chunk and one `table-done` per table.
fn assert_bracketed(events: &[serde_json::Value], command: &str) {
    let start = events.first().expect("events");
    assert_eq!((start["event"].as_str(), start["command"].as_str()), (Some("run-start"), Some(command)), "{start}");
    let end = events.last().expect("events");
    assert_eq!((end["event"].as_str(), end["exit_code"].as_i64()), (Some("run-end"), Some(0)), "{end}");
    let count = |kind: &str| events.iter().filter(|e| e["event"] == kind).count() as u64;
    assert_eq!(count("chunk"), start["chunks"].as_u64().expect("chunks"), "{command}: one chunk event per chunk");
    assert_eq!(count("table-done"), start["tables"].as_u64().expect("tables"), "{command}: one table-done per table");
    assert!(start["tables"].as_u64() > Some(0));
    let rows: u64 = events.iter().filter(|e| e["event"] == "table-done").map(|e| e["rows"].as_u64().unwrap_or(0)).sum();
    assert_eq!(Some(rows), end["rows"].as_u64(), "{command}: the tables' rows add up to the total");
}

#[test]
fn json_progress_brackets_dump_restore_and_verify_with_run_start_and_run_end() {
    let source = TestDb::small();
    let dir = DumpDir::new();
    let dumped = run(["dump", source.url(), "--out", dir.arg(), "--progress", "json"]);
    dumped.assert_success();
    assert_bracketed(&events(&dumped.stderr), "dump");
    let verified = run(["verify", dir.arg(), "--progress", "json"]);
    verified.assert_success();
    assert_bracketed(&events(&verified.stderr), "verify");
    let target = TestDb::new();
    let restored = run(["restore", dir.arg(), target.url(), "--progress", "json"]);
    restored.assert_success();
    assert_bracketed(&events(&restored.stderr), "restore");

    let failed = run(["verify", "/nonexistent/sluice-dump", "--progress", "json"]);
    failed.assert_code(2);
    // The error's own line is for people; every other line is an event.
    let json: String = failed.stderr.lines().filter(|l| !l.starts_with("error: ")).map(|l| format!("{l}\n")).collect();
    let end = events(&json).into_iter().find(|e| e["event"] == "run-end").expect("run-end");
    assert_eq!(end["exit_code"].as_i64(), Some(2));
    assert!(end["error"].as_str().is_some_and(|e| e.contains("not a dump")), "{end}");
}

#[test]
fn plan_says_rows_and_how_each_table_is_split() {
    let out = run(["plan", TestDb::small().url()]);
    out.assert_success();
    let header = out.stdout.lines().next().unwrap_or_default();
    assert!(header.contains("est. rows") && header.contains("split"), "{}", out.stdout);
    assert!(out.stdout.contains("whole: small"), "{}", out.stdout);
    assert!(out.stdout.lines().any(|l| l.starts_with("total: ") && l.contains("estimated rows")), "{}", out.stdout);
    // The inventory: what travels besides the tables' rows.
    assert!(
        out.stdout.lines().last().is_some_and(|l| l.starts_with("carried: ") && l.contains("sequence(s)")),
        "{}",
        out.stdout
    );
}

#[test]
fn large_objects_round_trip_with_their_contents_or_are_left_out_on_purpose() {
    let db = TestDb::new();
    db.exec(
        "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1); \
         SELECT lo_from_bytea(424243, 'a few bytes'); SELECT lo_create(424242); \
         COMMENT ON LARGE OBJECT 424243 IS 'tiny'; \
         SELECT lo_from_bytea(424244, (SELECT string_agg(decode(md5(i::text), 'hex'), ''::bytea) \
                                         FROM generate_series(1, 200000) AS i) || '\\x0102'::bytea);",
    );
    let contents = "SELECT string_agg(m.oid || ':' || length(lo_get(m.oid)) || ':' || md5(lo_get(m.oid)) || ':' \
                    || coalesce(obj_description(m.oid, 'pg_largeobject'), '-'), ',' ORDER BY m.oid) \
                    FROM pg_largeobject_metadata m";
    let dir = DumpDir::new();
    run(["dump", db.url(), "--out", dir.arg(), "--chunk-size", "1MiB", "-j", "2"]).assert_success();
    let manifest = dir.manifest();
    assert_eq!(manifest["large_objects"]["objects"], 3, "{manifest}");
    let entry = table_entry(&manifest, "pg_catalog", "pg_largeobject");
    assert!(chunks_of(entry).len() > 1, "the 3 MiB object did not split the chunks: {entry}");
    run(["verify", dir.arg()]).assert_success();
    assert!(run(["inspect", dir.arg()]).stdout.contains("large objects: 3 ("));
    let target = TestDb::new();
    run(["restore", dir.arg(), target.url(), "-j", "2"]).assert_success();
    assert_eq!(target.query(contents), db.query(contents), "large objects differ after the round trip");

    let left = DumpDir::new();
    run(["dump", db.url(), "--out", left.arg(), "--large-objects", "exclude"]).assert_success();
    let left_out = left.manifest()["left_out"].clone();
    assert_eq!(left_out, serde_json::json!(["3 large object(s) (--large-objects exclude)"]));
    assert!(run(["inspect", left.arg()]).stdout.contains("left out on purpose: 3 large object(s)"));
    let target = TestDb::new();
    run(["restore", left.arg(), target.url()]).assert_success();
    assert_eq!(target.query_i64("SELECT count(*) FROM pg_largeobject_metadata"), 0, "an empty large object came back");
    assert_eq!(target.query_i64("SELECT count(*) FROM t"), 1);

    let picked = DumpDir::new();
    run(["dump", db.url(), "--out", picked.arg(), "--include", "public.t"]).assert_success();
    let left_out = picked.manifest()["left_out"].to_string();
    assert!(left_out.contains("3 large object(s) (--include picks tables"), "{left_out}");
}
