//! MariaDB as source and target: dump → restore into a fresh database →
//! `mariadb-dump --no-data` identical, `CHECKSUM TABLE` and ordered-row
//! checksums equal; snapshot modes; the password never written anywhere.

use std::ffi::OsStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use sluice_tests::{DumpDir, MyDb, RunOutput, assert_same_mysql, chunks_of, run, run_with_env, table_entry};
use sqlx::Connection;

fn dump_args(db: &MyDb, dir: &DumpDir, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        "dump".to_owned(),
        db.url().to_owned(),
        "--out".into(),
        dir.arg().into(),
        "--progress".into(),
        "none".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn restore(dir: &DumpDir, target: &MyDb, extra: &[&str]) -> RunOutput {
    let mut args =
        vec!["restore".to_owned(), dir.arg().to_owned(), target.url().to_owned(), "--progress".into(), "none".into()];
    args.extend(extra.iter().map(|s| s.to_string()));
    run(args)
}

#[track_caller]
fn round_trip(source: &MyDb, extra: &[&str], restore_extra: &[&str]) -> DumpDir {
    let dir = DumpDir::new();
    run(dump_args(source, &dir, extra)).assert_success();
    let target = MyDb::new();
    restore(&dir, &target, restore_extra).assert_success();
    assert_same_mysql(source, &target);
    dir
}

#[track_caller]
fn assert_big_ints_chunked(manifest: &Value) {
    let table = table_entry(manifest, manifest["source"]["database"].as_str().expect("database"), "big_ints");
    let chunks = chunks_of(table);
    assert!(chunks.len() > 1, "big_ints was not split: {} chunk(s)", chunks.len());
    let rows: u64 = chunks.iter().map(|c| c["rows"].as_u64().expect("rows")).sum();
    assert_eq!(rows, 200_000, "rows of big_ints over its chunks");
}

const SPLIT: [&str; 4] = ["-j", "2", "--chunk-size", "1MiB"];

#[test]
fn mariadb_types_round_trip_in_parallel_chunks() {
    let source = MyDb::with_fixture("mariadb/types.sql");
    let dir = round_trip(&source, &SPLIT, &["-j", "2"]);
    let manifest = dir.manifest();
    assert_big_ints_chunked(&manifest);
    assert_eq!(manifest["source"]["engine"], "mysql");
    assert_eq!(manifest["format"], "sql");
    let method = manifest["snapshot"]["method"].as_str().expect("method");
    assert!(method.contains("backup-stage") && method.contains("binlog"), "{method}");
}

#[test]
fn mariadb_types_round_trip_with_every_stage_a_wasm_component() {
    let source = MyDb::with_fixture("mariadb/types.sql");
    let dir =
        round_trip(&source, &[&SPLIT[..], &["--stages", "wasm", "--compress", "gzip"]].concat(), &["--stages", "wasm"]);
    assert_big_ints_chunked(&dir.manifest());
}

#[test]
fn mariadb_types_round_trip_as_jsonl_by_load_data_and_by_insert() {
    let source = MyDb::with_fixture("mariadb/types.sql");
    let dir = round_trip(&source, &[&SPLIT[..], &["--format", "jsonl"]].concat(), &["-j", "2"]);
    let manifest = dir.manifest();
    assert_big_ints_chunked(&manifest);
    assert_eq!(manifest["format"], "jsonl");
    let target = MyDb::new();
    restore(&dir, &target, &["--mysql-load", "insert"]).assert_success();
    assert_same_mysql(&source, &target);
}

#[test]
fn mariadb_types_round_trip_as_gzipped_jsonl_with_every_stage_a_wasm_component() {
    let source = MyDb::with_fixture("mariadb/types.sql");
    let extra = [&SPLIT[..], &["--format", "jsonl", "--stages", "wasm", "--compress", "gzip"]].concat();
    round_trip(&source, &extra, &["--stages", "wasm"]);
}

#[test]
fn mariadb_types_round_trip_as_tsv_by_load_data_and_by_insert() {
    let source = MyDb::with_fixture("mariadb/types.sql");
    let dir = round_trip(&source, &[&SPLIT[..], &["--format", "tsv"]].concat(), &["-j", "2"]);
    let manifest = dir.manifest();
    assert_big_ints_chunked(&manifest);
    assert_eq!(manifest["format"], "tsv");
    let target = MyDb::new();
    restore(&dir, &target, &["--mysql-load", "insert"]).assert_success();
    assert_same_mysql(&source, &target);
}

#[test]
fn mariadb_types_round_trip_as_gzipped_tsv_with_every_stage_a_wasm_component() {
    let source = MyDb::with_fixture("mariadb/types.sql");
    let extra = [&SPLIT[..], &["--format", "tsv", "--stages", "wasm", "--compress", "gzip"]].concat();
    round_trip(&source, &extra, &["--stages", "wasm"]);
}

/// The files are the LOAD DATA text the server reads itself: the `mariadb`
/// client's `LOAD DATA LOCAL INFILE` of a chunk loads the same rows.
#[test]
fn a_tsv_chunk_loads_with_the_mariadb_clients_load_data() {
    let source = MyDb::new();
    source.exec(
        "CREATE TABLE t (id int PRIMARY KEY, s varchar(40), b varbinary(10), n int); \
         INSERT INTO t VALUES (1, 'tab\\there\\nnew \\\\ back', X'00095c0aff', NULL), (2, '', X'', 7), \
         (3, '\\\\N', NULL, 0);",
    );
    let dir = DumpDir::new();
    run(dump_args(&source, &dir, &["--format", "tsv", "--compress", "none"])).assert_success();
    let file = dir.path().join(chunks_of(&dir.manifest()["tables"][0])[0]["file"].as_str().expect("file"));
    let target = MyDb::new();
    target.exec("CREATE TABLE t (id int PRIMARY KEY, s varchar(40), b varbinary(10), n int)");
    target.exec_local_infile(&format!("LOAD DATA LOCAL INFILE '{}' INTO TABLE t CHARACTER SET binary", file.display()));
    assert_eq!(
        target.query("SELECT id, HEX(s), HEX(b), IFNULL(n, 'null') FROM t ORDER BY id"),
        source.query("SELECT id, HEX(s), HEX(b), IFNULL(n, 'null') FROM t ORDER BY id")
    );
}

#[test]
fn mariadb_types_round_trip_as_csv_by_load_data_and_by_insert() {
    let source = MyDb::with_fixture("mariadb/types.sql");
    let dir = round_trip(&source, &[&SPLIT[..], &["--format", "csv"]].concat(), &["-j", "2"]);
    let manifest = dir.manifest();
    assert_big_ints_chunked(&manifest);
    assert_eq!(manifest["format"], "csv");
    run(["verify", dir.arg()]).assert_success();
    let target = MyDb::new();
    restore(&dir, &target, &["--mysql-load", "insert"]).assert_success();
    assert_same_mysql(&source, &target);
}

#[test]
fn mariadb_types_round_trip_as_gzipped_csv_with_every_stage_a_wasm_component() {
    let source = MyDb::with_fixture("mariadb/types.sql");
    let extra = [&SPLIT[..], &["--format", "csv", "--stages", "wasm", "--compress", "gzip"]].concat();
    round_trip(&source, &extra, &["--stages", "wasm"]);
}

#[test]
fn sakila_round_trips() {
    let dir = round_trip(&MyDb::sakila(), &["-j", "2"], &["-j", "2"]);
    let out = run(["verify", dir.arg()]);
    out.assert_success();
}

#[test]
fn mariadb_flush_tables_with_read_lock_mode_round_trips_too() {
    let source = MyDb::with_fixture("mariadb/types.sql");
    let dir = round_trip(&source, &["-j", "2", "--lock-mode", "ftwrl"], &[]);
    let method = dir.manifest()["snapshot"]["method"].as_str().expect("method").to_owned();
    assert!(method.contains("ftwrl"), "{method}");
}

#[test]
fn mariadb_restore_refuses_a_non_empty_target_unless_clean() {
    let source = MyDb::sakila();
    let dir = DumpDir::new();
    run(dump_args(&source, &dir, &[])).assert_success();
    let target = MyDb::new();
    target.exec("CREATE TABLE keep_me (x int); INSERT INTO keep_me VALUES (1);");
    restore(&dir, &target, &[]).assert_code(2).assert_stderr_contains("not empty");
    assert_eq!(target.query("SELECT COUNT(*) FROM keep_me"), "1", "a refused restore changed nothing");
    restore(&dir, &target, &["--clean"]).assert_success();
    assert_same_mysql(&source, &target);
}

#[test]
fn mariadb_password_from_mysql_pwd_is_never_written() {
    let source = MyDb::sakila();
    let (user, password) = (format!("u{}", &source.name()[9..]), "s3cr3t-Pa55-word");
    source.exec(&format!("CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'; GRANT ALL ON *.* TO '{user}'@'%';"));
    let mut url = url::Url::parse(source.url()).expect("url");
    url.set_username(&user).expect("user");
    let dir = DumpDir::new();
    let args = vec!["dump", url.as_str(), "--out", dir.arg(), "--progress", "plain"];
    let out = run_with_env(&args, &[("MYSQL_PWD", OsStr::new(password))]);
    source.exec(&format!("DROP USER '{user}'@'%'"));
    out.assert_success();
    assert!(!out.stdout.contains(password) && !out.stderr.contains(password), "password in the output");
    assert!(!dir.manifest_text().contains(password), "password in the manifest");
    // A connection error shows the URL without the password it carries.
    url.set_password(Some(password)).expect("password");
    url.set_port(Some(1)).expect("port");
    let failed = run(["dump", url.as_str(), "--out", DumpDir::new().arg()]);
    failed.assert_code(1);
    assert!(!failed.stderr.contains(password), "password in an error: {}", failed.stderr);
}

#[test]
fn mariadb_unknown_lock_mode_is_bad_usage() {
    let source = MyDb::new();
    run(dump_args(&source, &DumpDir::new(), &["--lock-mode", "sometimes"]))
        .assert_code(2)
        .assert_stderr_contains("unknown lock mode");
}

/// Moves money between accounts until told to stop, one transaction per
/// transfer, logging each.
fn writer(url: String, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async move {
            let mut conn = sqlx::MySqlConnection::connect(&url).await.expect("writer connects");
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let (a, b) = (1 + n * 7919 % 5000, 1 + (n * 104729 + 17) % 5000);
                if a == b {
                    n += 1;
                    continue;
                }
                let amount = 1 + (n % 97) as i64;
                let mut tx = conn.begin().await.expect("begin");
                sqlx::query("UPDATE accounts SET balance = balance - ? WHERE id = ?")
                    .bind(amount)
                    .bind(a as i64)
                    .execute(&mut *tx)
                    .await
                    .expect("debit");
                sqlx::query("UPDATE accounts SET balance = balance + ? WHERE id = ?")
                    .bind(amount)
                    .bind(b as i64)
                    .execute(&mut *tx)
                    .await
                    .expect("credit");
                sqlx::query("INSERT INTO transfers (src, dst, amount) VALUES (?, ?, ?)")
                    .bind(a as i64)
                    .bind(b as i64)
                    .bind(amount)
                    .execute(&mut *tx)
                    .await
                    .expect("log");
                tx.commit().await.expect("commit");
                n += 1;
            }
            n
        })
    })
}

#[test]
fn mariadb_dump_is_one_snapshot_while_a_writer_moves_money() {
    let method = one_snapshot_while_a_writer_moves_money(&[]);
    assert!(method.contains("backup-stage"), "{method}");
}

#[test]
fn mariadb_lock_tables_mode_is_one_snapshot_too() {
    let method = one_snapshot_while_a_writer_moves_money(&["--lock-mode", "lock-tables"]);
    assert!(method.contains("lock-tables"), "{method}");
}

/// Dumps with `-j 2` while a writer moves money, restores, and checks the
/// money and the transfer log come from one point in time; returns the
/// manifest's snapshot method.
#[track_caller]
fn one_snapshot_while_a_writer_moves_money(extra: &[&str]) -> String {
    let source = MyDb::new();
    source.exec(
        "CREATE TABLE accounts (id INT PRIMARY KEY, balance BIGINT NOT NULL, pad CHAR(200) NOT NULL DEFAULT 'x') ENGINE=InnoDB;
         CREATE TABLE transfers (id BIGINT AUTO_INCREMENT PRIMARY KEY, src INT, dst INT, amount BIGINT) ENGINE=InnoDB;
         INSERT INTO accounts (id, balance) SELECT seq, 1000 FROM seq_1_to_5000;
         ANALYZE TABLE accounts;",
    );
    let stop = Arc::new(AtomicBool::new(false));
    let handle = writer(source.url().to_owned(), stop.clone());
    let start = Instant::now();
    while source.query("SELECT COUNT(*) FROM transfers").parse::<u64>().expect("count") < 200 {
        assert!(start.elapsed() < Duration::from_secs(60), "the writer made no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    let dir = DumpDir::new();
    let dumped = run(dump_args(&source, &dir, &[&["-j", "2", "--chunk-size", "64KiB"], extra].concat()));
    stop.store(true, Ordering::Relaxed);
    handle.join().expect("writer");
    dumped.assert_success();
    let db = dir.manifest()["source"]["database"].as_str().expect("db").to_owned();
    assert!(chunks_of(table_entry(&dir.manifest(), &db, "accounts")).len() > 2, "accounts read in several chunks");

    let target = MyDb::new();
    restore(&dir, &target, &["-j", "2"]).assert_success();
    assert_eq!(target.query("SELECT SUM(balance) FROM accounts"), "5000000", "money appeared or vanished");
    let count = |db: &MyDb| db.query("SELECT COUNT(*) FROM transfers").parse::<u64>().expect("count");
    assert!(count(&target) < count(&source), "the writer committed after the snapshot");
    let replay = "SELECT COUNT(*) FROM accounts a WHERE a.balance <> 1000 \
        - COALESCE((SELECT SUM(amount) FROM transfers WHERE src = a.id), 0) \
        + COALESCE((SELECT SUM(amount) FROM transfers WHERE dst = a.id), 0)";
    assert_eq!(target.query(replay), "0", "accounts and transfers come from one point in time");
    dir.manifest()["snapshot"]["method"].as_str().expect("method").to_owned()
}

#[test]
fn mariadb_tables_keyed_by_text_split_at_key_values() {
    let source = MyDb::new();
    source.exec(
        "CREATE TABLE by_uuid (id CHAR(32) NOT NULL PRIMARY KEY, n INT NOT NULL, pad VARCHAR(200) NOT NULL) ENGINE=InnoDB;
         INSERT INTO by_uuid SELECT MD5(seq), seq, REPEAT('x', 150) FROM seq_1_to_20000;
         CREATE TABLE by_pair (region VARCHAR(10) NOT NULL, code VARBINARY(8) NOT NULL, pad VARCHAR(200) NOT NULL,
                               PRIMARY KEY (region, code)) ENGINE=InnoDB;
         INSERT INTO by_pair SELECT CONCAT('r', seq % 7), UNHEX(LPAD(HEX(seq), 8, '0')), REPEAT('y', 150) FROM seq_1_to_20000;
         ANALYZE TABLE by_uuid, by_pair;",
    );
    let dir = round_trip(&source, &["-j", "2", "--chunk-size", "512KiB"], &["-j", "2"]);
    let manifest = dir.manifest();
    let db = manifest["source"]["database"].as_str().expect("db").to_owned();
    for table in ["by_uuid", "by_pair"] {
        let chunks = chunks_of(table_entry(&manifest, &db, table));
        assert!(chunks.len() > 2, "{table} was not split: {} chunk(s)", chunks.len());
        let rows: u64 = chunks.iter().map(|c| c["rows"].as_u64().expect("rows")).sum();
        assert_eq!(rows, 20_000, "{table}: every row in exactly one chunk");
        assert!(chunks.iter().all(|c| c["rows"].as_u64() < Some(20_000)), "{table}: rows spread over chunks");
    }
}

#[test]
fn mariadb_restore_never_commits_a_file_that_fails_its_checksum() {
    let source = MyDb::sakila();
    let dir = DumpDir::new();
    run(dump_args(&source, &dir, &["--compress", "none"])).assert_success();
    // One letter changed inside a value: the SQL still parses and loads, so
    // only the checksum, checked before the file's last rows go, stops it.
    let manifest = dir.manifest();
    let db = manifest["source"]["database"].as_str().expect("db").to_owned();
    let chunk = &chunks_of(table_entry(&manifest, &db, "film"))[0];
    let path = dir.path().join(chunk["file"].as_str().expect("file"));
    let mut bytes = std::fs::read(&path).expect("read chunk");
    let values = bytes.windows(7).position(|w| w == b"VALUES\n").expect("an INSERT");
    let at = values + bytes[values..].iter().rposition(|&b| b == b'e').expect("a letter e");
    bytes[at] = b'E';
    std::fs::write(&path, bytes).expect("corrupt chunk");
    let target = MyDb::new();
    restore(&dir, &target, &["-j", "2"]).assert_code(1).assert_stderr_contains("does not match");
    assert_eq!(target.query("SELECT COUNT(*) FROM film"), "0", "no row of the bad file was committed");
}

#[test]
fn mariadb_restores_by_insert_on_request() {
    let source = MyDb::with_fixture("mariadb/types.sql");
    let dir = DumpDir::new();
    run(dump_args(&source, &dir, &SPLIT)).assert_success();
    let target = MyDb::new();
    let args = ["restore", dir.arg(), target.url(), "-j", "2", "--progress", "none", "--mysql-load", "insert"];
    let out = run_with_env(args, &[("SLUICE_LOG", OsStr::new("info"))]);
    out.assert_success();
    assert!(out.stderr.contains("Loading by INSERT"), "{}", out.stderr);
    assert_same_mysql(&source, &target);
}

#[test]
fn mariadb_native_insert_writer_writes_what_the_sql_component_writes() {
    native_writer_writes_what_the_component_writes("sql");
}

#[test]
fn mariadb_native_load_data_writer_writes_what_the_tsv_component_writes() {
    native_writer_writes_what_the_component_writes("tsv");
}

fn native_writer_writes_what_the_component_writes(format: &str) {
    let source = MyDb::with_fixture("mariadb/types.sql");
    let (native, wasm) = (DumpDir::new(), DumpDir::new());
    let flags = [&SPLIT[..], &["--compress", "none", "--format", format]].concat();
    run(dump_args(&source, &native, &flags)).assert_success();
    run(dump_args(&source, &wasm, &[&flags[..], &["--stages", "wasm"]].concat())).assert_success();
    let files = |dir: &DumpDir| {
        let mut names: Vec<_> = std::fs::read_dir(dir.path().join("data"))
            .expect("data dir")
            .map(|e| e.expect("entry").file_name().into_string().expect("utf-8 name"))
            .collect();
        names.sort();
        names
    };
    let names = files(&native);
    assert_eq!(names, files(&wasm), "same files");
    assert!(names.len() > 10, "{names:?}");
    assert!(names.iter().all(|n| n.ends_with(&format!(".{format}"))), "{names:?}");
    for name in &names {
        let a = std::fs::read(native.path().join("data").join(name)).expect("native file");
        let b = std::fs::read(wasm.path().join("data").join(name)).expect("wasm file");
        assert!(a == b, "{name} differs between the native writer and the {format} component");
    }
    assert!(dir_has_native_formatter(&native) && !dir_has_native_formatter(&wasm), "the manifests say which ran");
}

fn dir_has_native_formatter(dir: &DumpDir) -> bool {
    let manifest = dir.manifest();
    manifest["tables"].as_array().expect("tables").iter().any(|t| {
        t["stages"]
            .as_array()
            .expect("stages")
            .iter()
            .any(|s| s["role"] == "formatter" && s["implementation"] == "native")
    })
}

#[test]
fn an_enum_error_value_round_trips_through_both_load_paths() {
    let source = MyDb::new();
    // '' (index 0) is what a non-strict session stores for a value not in
    // the list; a strict session refuses to write it back however spelled.
    source.exec(
        "CREATE TABLE e (id INT PRIMARY KEY, c ENUM('a','b') NOT NULL, d ENUM('x','y') NULL, s SET('p','q'));
         SET SESSION sql_mode = '';
         INSERT INTO e VALUES (1, 'zzz', 'x', 'p'), (2, 'a', NULL, ''), (3, 'b', 'nope', 'p,q'), (4, 'a', 'y', NULL);",
    );
    assert_eq!(
        source.query("SELECT GROUP_CONCAT(c + 0, '/', IFNULL(d + 0, 'N') ORDER BY id) FROM e"),
        "0/1,1/N,2/0,1/2"
    );
    for load in ["load-data", "insert"] {
        round_trip(&source, &[], &["--mysql-load", load]);
    }
}

/// A system-versioned table travels with its history: every row version
/// with its exact period columns (hidden `ROW_START`/`ROW_END`, explicit
/// ones, history partitions), in chunks split on an integer key and on a
/// text key, through both load paths; the oracle compares every version.
#[test]
fn system_versioned_tables_round_trip_with_their_history() {
    let source = MyDb::new();
    source.exec(
        "CREATE TABLE plain (id INT PRIMARY KEY); INSERT INTO plain VALUES (1);
         CREATE TABLE hidden (id INT PRIMARY KEY, v INT, pad VARCHAR(200), KEY by_v (v)) WITH SYSTEM VERSIONING;
         INSERT INTO hidden SELECT seq, seq, REPEAT('x', 150) FROM seq_1_to_12000;
         UPDATE hidden SET v = v + 1 WHERE id % 2 = 0; UPDATE hidden SET v = v + 1 WHERE id % 3 = 0;
         DELETE FROM hidden WHERE id % 5 = 0;
         CREATE TABLE explicit (k VARCHAR(40) NOT NULL, v INT,
           s TIMESTAMP(6) GENERATED ALWAYS AS ROW START, e TIMESTAMP(6) GENERATED ALWAYS AS ROW END,
           PRIMARY KEY (k), PERIOD FOR SYSTEM_TIME (s, e)) WITH SYSTEM VERSIONING;
         INSERT INTO explicit (k, v) SELECT CONCAT('key-', LPAD(seq, 8, '0'), REPEAT('y', 20)), seq FROM seq_1_to_30000;
         UPDATE explicit SET v = -v WHERE v % 4 = 0;
         CREATE TABLE parted (id INT PRIMARY KEY, v INT, note INT WITHOUT SYSTEM VERSIONING) WITH SYSTEM VERSIONING
           PARTITION BY SYSTEM_TIME (PARTITION p_history HISTORY, PARTITION p_current CURRENT);
         INSERT INTO parted VALUES (1, 1, 1), (2, 2, 2); UPDATE parted SET v = 3 WHERE id = 1; UPDATE parted SET note = 9;
         DELETE FROM parted WHERE id = 2;
         CREATE TABLE child (id INT PRIMARY KEY, hidden_id INT, FOREIGN KEY (hidden_id) REFERENCES hidden (id))
           WITH SYSTEM VERSIONING;
         INSERT INTO child VALUES (1, 1); UPDATE child SET hidden_id = 2;
         ANALYZE TABLE hidden, explicit;",
    );
    let history = |db: &MyDb, table: &str| {
        db.query(&format!("SELECT COUNT(*) FROM `{table}` FOR SYSTEM_TIME ALL WHERE ROW_END < '2038-01-01'"))
    };
    assert_eq!(history(&source, "parted"), "2");
    for load in ["load-data", "insert"] {
        let dir = round_trip(&source, &SPLIT, &["--mysql-load", load]);
        let manifest = dir.manifest();
        for table in ["hidden", "explicit"] {
            let entry = table_entry(&manifest, source.name(), table);
            assert_eq!(entry["system_versioning"]["history"], true, "{table}: {entry}");
            assert!(chunks_of(entry).len() > 1, "{table} was not split");
        }
        let hidden = table_entry(&manifest, source.name(), "hidden");
        assert_eq!(hidden["system_versioning"]["start"], "ROW_START");
        assert_eq!(table_entry(&manifest, source.name(), "explicit")["system_versioning"]["end"], "e");
        assert_eq!(
            hidden["rows"].as_u64(),
            source.query("SELECT COUNT(*) FROM hidden FOR SYSTEM_TIME ALL").parse().ok()
        );
    }
}

/// `--history exclude` carries a system-versioned table with its current
/// rows only and says so in the manifest, `inspect` and `plan`; a table
/// versioned by transaction id (whose ids mean nothing on another server)
/// is refused, before anything is written, unless its history is left out.
#[test]
fn history_left_out_on_purpose_is_recorded_and_transaction_ids_are_refused() {
    let source = MyDb::new();
    source.exec(
        "CREATE TABLE versioned (id INT PRIMARY KEY, v INT) WITH SYSTEM VERSIONING;
         INSERT INTO versioned VALUES (1, 1), (2, 2); UPDATE versioned SET v = 3 WHERE id = 1;
         CREATE TABLE by_trx (id INT PRIMARY KEY, v INT,
           s BIGINT UNSIGNED GENERATED ALWAYS AS ROW START, e BIGINT UNSIGNED GENERATED ALWAYS AS ROW END,
           PERIOD FOR SYSTEM_TIME (s, e)) ENGINE=InnoDB WITH SYSTEM VERSIONING;
         INSERT INTO by_trx (id, v) VALUES (1, 1); UPDATE by_trx SET v = 2;",
    );
    let db = source.name();
    let dir = DumpDir::new();
    run(dump_args(&source, &dir, &[]))
        .assert_code(2)
        .assert_stderr_contains(&format!("table {db}.by_trx is versioned by transaction id"))
        .assert_stderr_contains("--history exclude");
    assert!(!dir.path().exists(), "a refused dump created --out");

    run(dump_args(&source, &dir, &["--history", "exclude"])).assert_success();
    let target = MyDb::new();
    restore(&dir, &target, &[]).assert_success();
    for table in ["versioned", "by_trx"] {
        let current = format!("SELECT GROUP_CONCAT(id, '=', v ORDER BY id) FROM {table}");
        assert_eq!(target.query(&current), source.query(&current), "{table}");
        let all = format!("SELECT COUNT(*) FROM {table} FOR SYSTEM_TIME ALL");
        let current_rows = source.query(&format!("SELECT COUNT(*) FROM {table}"));
        assert_eq!(target.query(&all), current_rows, "{table}: only the current rows travel");
    }
    let manifest = dir.manifest();
    let left_out = manifest["left_out"].to_string();
    assert!(left_out.contains(&format!("history rows of system-versioned table {db}.versioned")), "{left_out}");
    let inspect = run(["inspect".to_owned(), dir.path().display().to_string()]);
    inspect.assert_success().assert_stdout_contains(&format!("history rows of system-versioned table {db}.by_trx"));
    run(["plan".to_owned(), source.url().to_owned(), "--history".to_owned(), "exclude".to_owned()])
        .assert_success()
        .assert_stdout_contains(&format!("system-versioned table {db}.versioned: current rows only"));
}

/// Tables whose engine has no transactions (MyISAM, MEMORY) are read outside
/// the snapshot under every lock mode: the dump says so, naming them, and
/// still carries their rows; an all-InnoDB dump says nothing.
#[test]
fn non_transactional_tables_are_named_in_a_warning() {
    let source = MyDb::new();
    source.exec(
        "CREATE TABLE kept (id INT PRIMARY KEY) ENGINE=InnoDB; INSERT INTO kept VALUES (1);
         CREATE TABLE flat (id INT PRIMARY KEY) ENGINE=MyISAM; INSERT INTO flat VALUES (1), (2);
         CREATE TABLE fleeting (id INT PRIMARY KEY) ENGINE=MEMORY; INSERT INTO fleeting VALUES (3);",
    );
    let db = source.name();
    for mode in ["auto", "ftwrl", "lock-tables"] {
        let dir = DumpDir::new();
        run(dump_args(&source, &dir, &["--lock-mode", mode]))
            .assert_success()
            .assert_stderr_contains(&format!("tables {db}.flat (MyISAM), {db}.fleeting (MEMORY) are not transactional"))
            .assert_stderr_contains("convert them to InnoDB");
        let target = MyDb::new();
        restore(&dir, &target, &[]).assert_success();
        assert_same_mysql(&source, &target);
    }
    let dir = DumpDir::new();
    let output = run(dump_args(&source, &dir, &["--exclude", &format!("{db}.f*")]));
    output.assert_success();
    assert!(!output.stderr.contains("not transactional"), "an InnoDB-only dump warned\n{output}");
}
