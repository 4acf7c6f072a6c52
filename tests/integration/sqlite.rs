//! SQLite as source and target: dump → restore into a new file → `.dump` of
//! both identical and ordered-row checksums (with storage classes) equal.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sluice_tests::{DumpDir, RunOutput, SqliteDb, assert_same_sqlite, chunks_of, run, run_with_env, table_entry};

/// Small chunks, so that `big` is split across both workers.
const SPLIT: [&str; 4] = ["-j", "2", "--chunk-size", "1MiB"];

fn dump_args<'a>(db: &'a SqliteDb, dir: &'a DumpDir, extra: &[&'a str]) -> Vec<String> {
    let mut args =
        vec!["dump".to_owned(), db.url(), "--out".to_owned(), dir.arg().to_owned(), "--progress".into(), "none".into()];
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn restore(dir: &DumpDir, target: &SqliteDb, extra: &[&str]) -> RunOutput {
    let mut args = vec!["restore".to_owned(), dir.arg().to_owned(), target.url(), "--progress".into(), "none".into()];
    args.extend(extra.iter().map(|s| s.to_string()));
    run(args)
}

/// Dump `source` with `extra`, restore into a new file, and compare.
#[track_caller]
fn round_trip(source: &SqliteDb, extra: &[&str], restore_extra: &[&str]) -> DumpDir {
    let dir = DumpDir::new();
    run(dump_args(source, &dir, extra)).assert_success();
    let target = SqliteDb::new();
    restore(&dir, &target, restore_extra).assert_success();
    assert_same_sqlite(source, &target);
    dir
}

#[track_caller]
fn assert_big_chunked(manifest: &Value) {
    let big = table_entry(manifest, "main", "big");
    let chunks = chunks_of(big);
    assert!(chunks.len() > 1, "big was not split: {} chunk(s)", chunks.len());
    let rows: u64 = chunks.iter().map(|c| c["rows"].as_u64().expect("chunk rows")).sum();
    assert_eq!(rows, 299_700, "rows of big over its chunks");
}

#[test]
fn sqlite_types_round_trip_in_parallel_chunks() {
    let source = SqliteDb::with_fixture("sqlite/types.sql");
    let dir = round_trip(&source, &SPLIT, &[]);
    let manifest = dir.manifest();
    assert_big_chunked(&manifest);
    assert_eq!(manifest["source"]["engine"], "sqlite");
    assert_eq!(manifest["format"], "sql");
    let method = manifest["snapshot"]["method"].as_str().expect("snapshot method");
    assert!(method.contains("write lock"), "{method}");
    // The AUTOINCREMENT counter above max(id) came back (`.dump` shows it too).
    let seq = &manifest["sequences"];
    assert!(
        seq.as_array().expect("sequences").iter().any(|s| s["name"] == "counters" && s["last_value"] == 5),
        "{seq}"
    );
}

#[test]
fn sqlite_types_round_trip_with_every_stage_a_wasm_component() {
    let source = SqliteDb::with_fixture("sqlite/types.sql");
    let dir =
        round_trip(&source, &[&SPLIT[..], &["--stages", "wasm", "--compress", "gzip"]].concat(), &["--stages", "wasm"]);
    assert_big_chunked(&dir.manifest());
}

#[test]
fn sqlite_types_round_trip_as_jsonl_keeping_storage_classes() {
    let source = SqliteDb::with_fixture("sqlite/types.sql");
    let dir = round_trip(&source, &[&SPLIT[..], &["--format", "jsonl"]].concat(), &[]);
    let manifest = dir.manifest();
    assert_big_chunked(&manifest);
    assert_eq!(manifest["format"], "jsonl");
    let gzipped = [&SPLIT[..], &["--format", "jsonl", "--compress", "gzip", "--stages", "wasm"]].concat();
    round_trip(&source, &gzipped, &["--stages", "wasm"]);
}

/// Tables whose every value CSV carries exactly: text and reals in
/// INTEGER columns, integers, reals and text in NUMERIC and DATE ones,
/// blobs alone in BLOB columns, text with NUL, CR/LF and invalid UTF-8.
const CSV_EXACT: &str = "
    CREATE TABLE mixed (id INTEGER PRIMARY KEY, i INTEGER, r REAL, n NUMERIC, d DATE, t TEXT, b BLOB, s STRICTLY);
    INSERT INTO mixed VALUES
        (1, 9223372036854775807, 1.5, 10, '2024-02-29', '', X'', 'x'),
        (2, -9223372036854775808, -0.0, 2.5, 1700000000, ' trailing ', X'00ff', NULL),
        (3, 'not a number', 1e300, 'text', 12.25, 'a\nb\r\nc\t,\"q\"', X'0d0a2c22', '42'),
        (4, 1e300, 5, '12345678901234567890123', NULL, CAST(X'ff00fe' AS TEXT), NULL, 1.0),
        (5, NULL, NULL, NULL, 'NULL', 'NULL', X'5c78', '\\x41');
    CREATE TABLE rows_to_split (id INTEGER PRIMARY KEY, payload TEXT NOT NULL, n REAL);
    WITH RECURSIVE k(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM k WHERE x < 20000)
        INSERT INTO rows_to_split SELECT x, printf('%.*c', 60 + x % 40, 'p'), x / 7.0 FROM k;
";

#[test]
fn sqlite_round_trips_as_csv_where_every_value_keeps_its_storage_class() {
    let source = SqliteDb::new();
    source.exec(CSV_EXACT);
    let dir = round_trip(&source, &[&SPLIT[..], &["--format", "csv"]].concat(), &[]);
    assert_eq!(dir.manifest()["format"], "csv");
    assert!(chunks_of(table_entry(&dir.manifest(), "main", "rows_to_split")).len() > 1, "split into chunks");
    let gzipped = [&SPLIT[..], &["--format", "csv", "--compress", "gzip", "--stages", "wasm"]].concat();
    round_trip(&source, &gzipped, &["--stages", "wasm"]);
}

/// CSV has no storage classes: a column whose values CSV would restore
/// changed stops the dump before anything is written, naming each one.
#[test]
fn sqlite_csv_dump_refuses_columns_it_cannot_carry_exactly_before_writing_anything() {
    let source = SqliteDb::with_fixture("sqlite/types.sql");
    let dir = DumpDir::new();
    let out = run(dump_args(&source, &dir, &["--format", "csv"]));
    out.assert_code(2);
    for column in
        ["main.affinities.untyped (", "main.blobs.data (", "main.strict_one.anything (", "main.affinities.i ("]
    {
        out.assert_stderr_contains(column);
    }
    assert!(!out.stderr.contains("main.counters."), "{}", out.stderr);
    assert_eq!(out.stderr.trim().lines().count(), 1, "{}", out.stderr);
    assert!(std::fs::read_dir(dir.path()).map(|d| d.count()).unwrap_or(0) == 0, "nothing written");
    // Without those tables the rest dumps as CSV and restores exactly.
    let refused = ["affinities", "blobs", "we\"ird table", "strict_one", "big"];
    let excludes: Vec<String> = refused.iter().flat_map(|t| ["--exclude".to_owned(), format!("main.{t}")]).collect();
    let mut args = dump_args(&source, &dir, &["--format", "csv"]);
    args.extend(excludes);
    run(args).assert_success();
    run(["verify", dir.arg()]).assert_success();
}

#[test]
fn sqlite_dump_files_are_sql_the_sqlite3_shell_loads() {
    let source = SqliteDb::with_fixture("sqlite/types.sql");
    let dir = DumpDir::new();
    run(dump_args(&source, &dir, &["--compress", "none"])).assert_success();
    // A person can load the dump without sluice: pre-data, data, post-data.
    let by_hand = SqliteDb::new();
    let mut script = std::fs::read_to_string(dir.path().join("schema/pre-data.sql")).expect("pre-data");
    let manifest = dir.manifest();
    for table in manifest["tables"].as_array().expect("tables") {
        for chunk in chunks_of(table) {
            let file = dir.path().join(chunk["file"].as_str().expect("file"));
            script.push_str(&std::fs::read_to_string(&file).expect("data file is UTF-8 SQL"));
        }
    }
    script.push_str(&std::fs::read_to_string(dir.path().join("schema/post-data.sql")).expect("post-data"));
    by_hand.exec(&script);
    let (a, b) = (source.checksums(), by_hand.checksums());
    for table in ["affinities", "blobs", "we\"ird table", "strict_one", "computed", "big"] {
        assert_eq!(a.get(table), b.get(table), "{table} loaded by the sqlite3 shell");
    }
}

#[test]
fn sqlite_restore_refuses_a_non_empty_target_unless_clean() {
    let source = SqliteDb::with_fixture("sqlite/types.sql");
    let dir = DumpDir::new();
    run(dump_args(&source, &dir, &[])).assert_success();
    let target = SqliteDb::new();
    target.exec("CREATE TABLE keep_me (x); INSERT INTO keep_me VALUES (1);");
    restore(&dir, &target, &[]).assert_code(2).assert_stderr_contains("not empty");
    assert_eq!(target.query("SELECT count(*) FROM keep_me"), "1", "a refused restore changed nothing");
    restore(&dir, &target, &["--clean"]).assert_success();
    assert_same_sqlite(&source, &target);
}

#[test]
fn sqlite_verify_checks_every_file_and_counts_rows() {
    let source = SqliteDb::with_fixture("sqlite/types.sql");
    let dir = DumpDir::new();
    run(dump_args(&source, &dir, &SPLIT)).assert_success();
    let out = run(["verify", dir.arg()]);
    out.assert_success();
    assert!(out.stdout.contains("rows: ok"), "{}", out.stdout);
    // One flipped byte in a data file: verify and restore both refuse it.
    let manifest = dir.manifest();
    let chunk = &chunks_of(table_entry(&manifest, "main", "affinities"))[0];
    let path = dir.path().join(chunk["file"].as_str().expect("file"));
    let mut bytes = std::fs::read(&path).expect("read chunk");
    let last = bytes.len() - 1;
    bytes[last] ^= 0x55;
    std::fs::write(&path, bytes).expect("corrupt chunk");
    run(["verify", dir.arg()]).assert_code(1).assert_stderr_contains("SHA-256");
    let target = SqliteDb::new();
    restore(&dir, &target, &[]).assert_code(1).assert_stderr_contains("does not match");
}

#[test]
fn sqlite_wrong_format_or_missing_file_is_refused_clearly() {
    let source = SqliteDb::with_fixture("sqlite/types.sql");
    let dir = DumpDir::new();
    run(dump_args(&source, &dir, &["--format", "copy"])).assert_code(2).assert_stderr_contains("sources dump as sql");
    let missing = SqliteDb::new();
    run(dump_args(&missing, &DumpDir::new(), &[])).assert_code(1).assert_stderr_contains("does not exist");
    assert!(!missing.path().exists(), "a dump never creates its source");
}

#[test]
fn sqlite_masked_dump_changes_only_the_masked_columns() {
    let source = SqliteDb::new();
    source.exec(
        "CREATE TABLE people (id INTEGER PRIMARY KEY, email TEXT NOT NULL, note, score REAL);
         WITH RECURSIVE s(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM s WHERE k < 500)
         INSERT INTO people SELECT k, 'user' || k || '@example.com',
                CASE k % 3 WHEN 0 THEN k WHEN 1 THEN X'00FF' ELSE 'text' END, k / 3.0 FROM s;",
    );
    let config = source.path().with_file_name("mask.toml");
    std::fs::write(&config, "[[table]]\nmatch = \"main.people\"\nmask = { email = \"email\" }\n").expect("config");
    let dir = DumpDir::new();
    let key = std::ffi::OsStr::new("test-key-0123456789abcdef");
    let mut args = dump_args(&source, &dir, &[]);
    args.extend(["--config".to_owned(), config.display().to_string()]);
    run_with_env(args, &[("SLUICE_MASK_KEY", key)]).assert_success();
    let target = SqliteDb::new();
    restore(&dir, &target, &[]).assert_success();
    let untouched = "SELECT id, typeof(note), quote(note), printf('%!.17g', score) FROM people ORDER BY id";
    assert_eq!(source.query(untouched), target.query(untouched), "unmasked columns keep values and classes");
    let emails = "SELECT email FROM people ORDER BY id";
    let (before, after) = (source.query(emails), target.query(emails));
    assert_eq!(before.lines().count(), after.lines().count());
    assert!(before.lines().zip(after.lines()).all(|(a, b)| a != b && b.contains('@')), "every email masked");
}

/// The writer: transfers between accounts, one transaction each, until
/// `stop` exists; every transfer is also logged.
const WRITER: &str = r#"
import os, random, sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=60, isolation_level=None)
rnd = random.Random(7)
while not os.path.exists(sys.argv[2]):
    a, b = rnd.sample(range(1, 5001), 2)
    amount = rnd.randint(1, 100)
    db.execute("BEGIN IMMEDIATE")
    db.execute("UPDATE accounts SET balance = balance - ? WHERE id = ?", (amount, a))
    db.execute("UPDATE accounts SET balance = balance + ? WHERE id = ?", (amount, b))
    db.execute("INSERT INTO transfers (src, dst, amount) VALUES (?, ?, ?)", (a, b, amount))
    db.execute("COMMIT")
"#;

#[test]
fn sqlite_dump_is_one_snapshot_while_a_writer_moves_money() {
    let source = SqliteDb::new();
    source.exec(
        "PRAGMA journal_mode = WAL;
         CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL, pad TEXT NOT NULL);
         CREATE TABLE transfers (id INTEGER PRIMARY KEY, src INTEGER, dst INTEGER, amount INTEGER);
         WITH RECURSIVE s(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM s WHERE k < 5000)
         INSERT INTO accounts SELECT k, 1000, printf('%.200c', 'x') FROM s;",
    );
    let stop = source.path().with_file_name("stop");
    let mut writer = Command::new("python3")
        .args(["-c", WRITER])
        .arg(source.path())
        .arg(&stop)
        .stdin(Stdio::null())
        .spawn()
        .expect("start the python3 writer");
    wait_for(&source, 200);
    let dir = DumpDir::new();
    let dumped = run(dump_args(&source, &dir, &["-j", "2", "--chunk-size", "64KiB"]));
    std::fs::write(&stop, b"").expect("stop the writer");
    let status = writer.wait().expect("writer ends");
    dumped.assert_success();
    assert!(status.success(), "the writer failed");
    assert!(chunks_of(table_entry(&dir.manifest(), "main", "accounts")).len() > 2, "accounts read in several chunks");

    let target = SqliteDb::new();
    restore(&dir, &target, &[]).assert_success();
    assert_eq!(target.query("SELECT sum(balance) FROM accounts"), "5000000", "money appeared or vanished");
    let (at_end, in_dump): (i64, i64) = (count(&source, "transfers"), count(&target, "transfers"));
    assert!(in_dump < at_end, "the writer committed after the snapshot ({in_dump} vs {at_end} transfers)");
    // The balances are exactly those the logged transfers produce.
    let replay = "SELECT count(*) FROM accounts a WHERE a.balance != 1000 \
        - coalesce((SELECT sum(amount) FROM transfers WHERE src = a.id), 0) \
        + coalesce((SELECT sum(amount) FROM transfers WHERE dst = a.id), 0)";
    assert_eq!(target.query(replay), "0", "accounts and transfers come from one point in time");
}

fn count(db: &SqliteDb, table: &str) -> i64 {
    db.query(&format!("SELECT count(*) FROM {table}")).parse().expect("a count")
}

/// Waits until the writer has logged `transfers` transfers.
fn wait_for(db: &SqliteDb, transfers: i64) {
    let start = Instant::now();
    while count(db, "transfers") < transfers {
        assert!(start.elapsed() < Duration::from_secs(60), "the writer made no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn full_text_and_r_tree_tables_round_trip_and_still_answer_queries() {
    let db = SqliteDb::new();
    db.exec(
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes VALUES (1, 'n'); \
         CREATE VIRTUAL TABLE search USING fts5(title, body, tokenize = 'porter unicode61'); \
         INSERT INTO search (rowid, title, body) VALUES (1, 'Hello', 'world'), (5, NULL, 'Zoë 🦀 running'), (7, 'x', 'y'); \
         DELETE FROM search WHERE rowid = 7; INSERT INTO search (rowid, title, body) VALUES (9, 'runs', 'fast'); \
         CREATE VIRTUAL TABLE old_search USING fts4(body); INSERT INTO old_search (docid, body) VALUES (3, 'ancient text'); \
         CREATE VIRTUAL TABLE geo USING rtree(id, minx, maxx, +label); \
         INSERT INTO geo VALUES (1, 0.1, 0.3, 'a'), (2, -5.5, 1e10, NULL);",
    );
    let dir = DumpDir::new();
    run(["dump", &db.url(), "--out", dir.arg()]).assert_success();
    let manifest = dir.manifest();
    assert_eq!(table_entry(&manifest, "main", "search")["virtual_module"], "fts5", "{manifest}");
    let tables = manifest["tables"].as_array().expect("tables");
    assert!(
        !tables.iter().any(|t| t["name"].as_str().is_some_and(|n| n.starts_with("search_"))),
        "a shadow table was dumped"
    );
    let restored = SqliteDb::new();
    run(["restore", dir.arg(), &restored.url()]).assert_success();
    assert_same_sqlite(&db, &restored);
    let queries = "SELECT group_concat(rowid) FROM search WHERE search MATCH 'run'; \
                   SELECT group_concat(docid) FROM old_search WHERE old_search MATCH 'ancient'; \
                   SELECT group_concat(id) FROM geo WHERE minx < 0;";
    assert_eq!(restored.query(queries), "5,9\n3\n2");
    restored.exec("INSERT INTO search (search) VALUES ('integrity-check')");
    // --clean drops the virtual tables, never their shadow tables one by one.
    run(["restore", dir.arg(), &restored.url(), "--clean"]).assert_success();
    assert_same_sqlite(&db, &restored);
}

#[test]
fn a_virtual_table_whose_content_cannot_be_read_back_is_refused_unless_left_out() {
    for (create, why) in [
        ("CREATE VIRTUAL TABLE search USING fts5(body, content = '')", "fts5 without content of its own"),
        (
            "CREATE VIRTUAL TABLE search USING fts5(body, content = 'notes', content_rowid = 'id')",
            "fts5 without content",
        ),
        (
            "CREATE VIRTUAL TABLE search USING fts5(body); INSERT INTO search (search, rank) VALUES ('pgsz', 8000)",
            "settings changed",
        ),
        ("CREATE VIRTUAL TABLE search USING fts4(body, languageid=\"lid\")", "languageid"),
    ] {
        let db = SqliteDb::new();
        db.exec(&format!("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); {create};"));
        let dir = DumpDir::new();
        run(["dump", &db.url(), "--out", dir.arg()])
            .assert_code(2)
            .assert_stderr_contains("table main.search is a virtual table (")
            .assert_stderr_contains(why)
            .assert_stderr_contains("--exclude 'main.search'");
        assert!(!dir.path().exists(), "a refused dump created --out");
        run(["dump", &db.url(), "--out", dir.arg(), "--exclude", "main.search"]).assert_success();
    }
}
