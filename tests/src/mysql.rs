//! MariaDB databases for tests: one fresh database per test on the private
//! server `just test` starts (`SLUICE_TEST_MYSQL_URL`), dropped afterwards;
//! the `mariadb` client to load fixtures and query; and the round-trip
//! oracle: `mariadb-dump --no-data` of both identical, `CHECKSUM TABLE`
//! and per-table checksums of ordered rows equal.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};
use url::Url;

use crate::db::{fixture, unique_name};

/// The server's URL, from `SLUICE_TEST_MYSQL_URL`.
pub fn mysql_server_url() -> Url {
    let text = std::env::var("SLUICE_TEST_MYSQL_URL").unwrap_or_else(|_| {
        panic!(
            "SLUICE_TEST_MYSQL_URL is not set: run the tests with `just test`, which starts a private MariaDB \
             server and sets it (or `scripts/mariadb-server.sh start` and export SLUICE_TEST_MYSQL_URL=$(scripts/mariadb-server.sh url))"
        )
    });
    Url::parse(&text).unwrap_or_else(|e| panic!("SLUICE_TEST_MYSQL_URL is not a URL ({e})"))
}

/// A database created for one test, dropped when this value goes out of scope.
pub struct MyDb {
    name: String,
    url: String,
}

impl MyDb {
    /// A new, empty database.
    pub fn new() -> Self {
        let name = unique_name("sluice_m");
        client(None, &[], &format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"));
        let mut url = mysql_server_url();
        url.set_path(&format!("/{name}"));
        MyDb { name, url: url.to_string() }
    }

    /// A database loaded with `tests/fixtures/<name>` by the `mariadb` client,
    /// statistics refreshed (so sizes, and chunking, are what they would be
    /// on a server that has been running a while).
    pub fn with_fixture(name: &str) -> Self {
        let db = MyDb::new();
        let sql = std::fs::read_to_string(fixture(name)).expect("read the fixture");
        db.exec(&sql);
        db.analyze();
        db
    }

    /// The sakila sample, loaded under this database's name.
    pub fn sakila() -> Self {
        let db = MyDb::new();
        let dir = std::env::var_os("SLUICE_DATASETS_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| fixture("datasets"))
            .join("sakila");
        for part in ["sakila-mv-schema.sql", "sakila-mv-data.sql"] {
            let text = std::fs::read_to_string(dir.join(part)).expect("read sakila");
            db.exec(&rename_sakila(&text, &db.name));
        }
        db.analyze();
        db
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `mysql://root@127.0.0.1:33069/<name>`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Runs SQL with the `mariadb` client (DELIMITER works) in this database.
    #[track_caller]
    pub fn exec(&self, sql: &str) {
        client(Some(&self.name), &[], sql);
    }

    /// Runs SQL with the `mariadb` client allowing `LOAD DATA LOCAL INFILE`.
    #[track_caller]
    pub fn exec_local_infile(&self, sql: &str) {
        client(Some(&self.name), &["--local-infile=1"], sql);
    }

    /// A query's output: one line per row, columns separated by tabs.
    #[track_caller]
    pub fn query(&self, sql: &str) -> String {
        client(Some(&self.name), &["-N", "-B"], sql).trim_end().to_owned()
    }

    fn analyze(&self) {
        for table in self.tables() {
            self.query(&format!("ANALYZE TABLE {}", quote(&table)));
        }
    }

    /// Base and system-versioned tables, by name.
    pub fn tables(&self) -> Vec<String> {
        self.query(&format!(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{}' \
             AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED') ORDER BY TABLE_NAME",
            self.name
        ))
        .lines()
        .map(str::to_owned)
        .collect()
    }

    /// The system-versioned tables, by name.
    pub fn versioned_tables(&self) -> Vec<String> {
        self.query(&format!(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{}' \
             AND TABLE_TYPE = 'SYSTEM VERSIONED' ORDER BY TABLE_NAME",
            self.name
        ))
        .lines()
        .map(str::to_owned)
        .collect()
    }

    /// `mariadb-dump --no-data --skip-dump-date --skip-comments --routines
    /// --events --triggers`: every object's definition, nothing that names
    /// the database.
    pub fn schema_dump(&self) -> String {
        let url = mysql_server_url();
        let out = Command::new("mariadb-dump")
            .args(connection_args(&url))
            .args(["--no-data", "--skip-dump-date", "--skip-comments", "--routines", "--events", "--triggers"])
            .arg(&self.name)
            .output()
            .expect("run mariadb-dump");
        assert!(out.status.success(), "mariadb-dump failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Per table: `CHECKSUM TABLE … EXTENDED`, the row count, and the SHA-256
    /// of every column (invisible ones too) of the rows in full order; for
    /// a system-versioned table, of every row version with its period
    /// columns (hidden `ROW_START`/`ROW_END` too), read `FOR SYSTEM_TIME ALL`.
    pub fn checksums(&self) -> BTreeMap<String, (String, usize, String)> {
        let mut out = BTreeMap::new();
        let versioned = self.versioned_tables();
        for table in self.tables() {
            let checksum = self.query(&format!("CHECKSUM TABLE {} EXTENDED", quote(&table)));
            let checksum = checksum.split('\t').nth(1).unwrap_or("").to_owned();
            let columns = self.query(&format!(
                "SELECT GROUP_CONCAT(CONCAT('`', REPLACE(COLUMN_NAME, '`', '``'), '`') ORDER BY ORDINAL_POSITION) \
                 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '{}' AND TABLE_NAME = '{}'",
                self.name,
                table.replace('\'', "''")
            ));
            let (mut columns, mut from) = (columns, quote(&table));
            if versioned.contains(&table) {
                from.push_str(" FOR SYSTEM_TIME ALL");
                let explicit = self.query(&format!(
                    "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '{}' AND TABLE_NAME = '{}' \
                     AND GENERATION_EXPRESSION = 'ROW START'",
                    self.name,
                    table.replace('\'', "''")
                ));
                if explicit == "0" {
                    columns.push_str(",ROW_START,ROW_END");
                }
            }
            let count = columns.split(',').count();
            let order: Vec<String> = (1..=count).map(|i| i.to_string()).collect();
            let rows = self.query(&format!("SELECT {columns} FROM {from} ORDER BY {}", order.join(", ")));
            let n = if rows.is_empty() { 0 } else { rows.lines().count() };
            out.insert(table, (checksum, n, hex::encode(Sha256::digest(rows.as_bytes()))));
        }
        out
    }
}

impl Default for MyDb {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for MyDb {
    fn drop(&mut self) {
        if std::env::var_os("SLUICE_TEST_KEEP_DBS").is_some() {
            eprintln!("keeping database {} (SLUICE_TEST_KEEP_DBS)", self.name);
            return;
        }
        let _ = try_client(None, &[], &format!("DROP DATABASE IF EXISTS `{}`", self.name));
    }
}

/// Panics unless the two databases hold the same schema and rows.
#[track_caller]
pub fn assert_same_mysql(source: &MyDb, restored: &MyDb) {
    crate::compare::assert_same_text("mariadb-dump --no-data", &source.schema_dump(), &restored.schema_dump());
    assert_eq!(source.checksums(), restored.checksums(), "table checksums differ");
}

fn quote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// sakila's files create and use a database called `sakila` (and one view
/// names it); load them under `name` instead.
fn rename_sakila(text: &str, name: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end();
        if bare == "DROP SCHEMA IF EXISTS sakila;" || bare == "CREATE SCHEMA sakila;" {
            continue;
        }
        if bare == "USE sakila;" {
            out.push_str(&format!("USE `{name}`;\n"));
            continue;
        }
        out.push_str(&line.replace("sakila.", ""));
    }
    out
}

fn connection_args(url: &Url) -> Vec<String> {
    vec![
        format!("--host={}", url.host_str().unwrap_or("127.0.0.1")),
        format!("--port={}", url.port().unwrap_or(3306)),
        format!("--user={}", if url.username().is_empty() { "root" } else { url.username() }),
        "--default-character-set=utf8mb4".to_owned(),
    ]
}

#[track_caller]
fn client(database: Option<&str>, extra: &[&str], sql: &str) -> String {
    try_client(database, extra, sql).unwrap_or_else(|e| panic!("{e}"))
}

fn try_client(database: Option<&str>, extra: &[&str], sql: &str) -> Result<String, String> {
    let url = mysql_server_url();
    let mut command = Command::new("mariadb");
    command.args(connection_args(&url)).args(extra);
    if let Some(db) = database {
        command.arg(db);
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run the mariadb client: {e}"))?;
    child.stdin.take().expect("stdin").write_all(sql.as_bytes()).map_err(|e| e.to_string())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!("mariadb failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
