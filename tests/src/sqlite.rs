//! SQLite databases for tests: a file in its own temporary directory, the
//! `sqlite3` shell to load fixtures and query, and the round-trip oracle
//! (`.dump` of both files plus per-table checksums of ordered rows, each
//! value with its storage class).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};
use tempfile::TempDir;

use crate::db::{fixture, workspace_root};

/// A SQLite file in `target/test-tmp/<random>/`, removed with this value.
pub struct SqliteDb {
    _tmp: TempDir,
    path: PathBuf,
}

impl SqliteDb {
    /// A path for a database that does not exist yet (a restore target).
    pub fn new() -> Self {
        let parent = workspace_root().join("target").join("test-tmp");
        std::fs::create_dir_all(&parent).expect("create target/test-tmp");
        let tmp = tempfile::Builder::new().prefix("sqlite-").tempdir_in(&parent).expect("create a temporary directory");
        let path = tmp.path().join("db.sqlite");
        SqliteDb { _tmp: tmp, path }
    }

    /// A database loaded with `tests/fixtures/<name>` by the `sqlite3` shell.
    pub fn with_fixture(name: &str) -> Self {
        let db = SqliteDb::new();
        let sql = std::fs::read_to_string(fixture(name)).expect("read the fixture");
        db.exec(&sql);
        db
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `sqlite://<path>`.
    pub fn url(&self) -> String {
        format!("sqlite://{}", self.path.display())
    }

    /// Runs SQL with the `sqlite3` shell; panics with its stderr on failure.
    #[track_caller]
    pub fn exec(&self, sql: &str) {
        self.shell(&[], sql);
    }

    /// The shell's output of `sql` in list mode (`|` between columns).
    #[track_caller]
    pub fn query(&self, sql: &str) -> String {
        self.shell(&["-batch", "-noheader"], sql).trim_end().to_owned()
    }

    #[track_caller]
    fn shell(&self, args: &[&str], input: &str) -> String {
        let mut child = Command::new("sqlite3")
            .args(args)
            .arg("-bail")
            .arg(&self.path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run sqlite3 (install the sqlite3 package): {e}"));
        child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write to sqlite3");
        let out = child.wait_with_output().expect("sqlite3 runs");
        assert!(
            out.status.success(),
            "sqlite3 failed on {}: {}",
            self.path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The shell's `.dump`: schema and every row as SQL literals.
    pub fn dump(&self) -> String {
        self.shell(&[], ".dump")
    }

    /// Table names, in order, virtual tables included, their shadow tables
    /// (the virtual tables' storage, whose bytes depend on the order the
    /// index was built in) not.
    pub fn tables(&self) -> Vec<String> {
        let list = self.query(
            "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type IN ('table', 'virtual') \
             AND name NOT LIKE 'sqlite_%' ORDER BY name",
        );
        list.lines().map(str::to_owned).collect()
    }

    /// Names of the virtual tables.
    fn virtual_tables(&self) -> Vec<String> {
        let list = self.query("SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'virtual'");
        list.lines().map(str::to_owned).collect()
    }

    /// The schema without shadow tables: every `sqlite_schema` row (type,
    /// name, table, SQL) in name order, for databases with virtual tables,
    /// where `.dump` would compare the shadow tables' bytes.
    pub fn schema_without_shadows(&self) -> String {
        self.query(
            "SELECT type || ' ' || name || ' ON ' || tbl_name || ': ' || coalesce(sql, '') FROM sqlite_schema \
             WHERE tbl_name NOT IN (SELECT name FROM pragma_table_list WHERE type = 'shadow') ORDER BY type, name",
        )
    }

    /// Per table: row count and the SHA-256 of its rows ordered by every
    /// column, each value as its storage class and exact text (reals with
    /// 17 significant digits).
    pub fn checksums(&self) -> BTreeMap<String, (usize, String)> {
        let mut out = BTreeMap::new();
        for table in self.tables() {
            let quoted = format!("\"{}\"", table.replace('"', "\"\""));
            let literal = table.replace('\'', "''");
            // A virtual table: its rowid and visible columns (FTS5's hidden
            // ones are the table itself and `rank`).
            let columns = if self.virtual_tables().contains(&table) {
                let visible = self.query(&format!("SELECT name FROM pragma_table_xinfo('{literal}') WHERE hidden = 0"));
                format!("rowid\n{visible}")
            } else {
                self.query(&format!("SELECT name FROM pragma_table_xinfo('{literal}')"))
            };
            let values: Vec<String> = columns
                .lines()
                .map(|c| {
                    let c = format!("\"{}\"", c.replace('"', "\"\""));
                    format!("typeof({c}) || ':' || CASE typeof({c}) WHEN 'real' THEN printf('%!.17g', {c}) ELSE quote({c}) END")
                })
                .collect();
            let order: Vec<String> = (1..=values.len()).map(|i| i.to_string()).collect();
            let rows = self.query(&format!("SELECT {} FROM {quoted} ORDER BY {}", values.join(", "), order.join(", ")));
            let count = if rows.is_empty() { 0 } else { rows.lines().count() };
            out.insert(table, (count, hex::encode(Sha256::digest(rows.as_bytes()))));
        }
        out
    }
}

impl Default for SqliteDb {
    fn default() -> Self {
        Self::new()
    }
}

/// Panics unless the two databases hold the same schema and rows: `.dump`
/// text identical (with virtual tables: the schema rows and
/// `sqlite_sequence`, without the shadow tables), checksums equal (virtual
/// tables' content with its rowids), and the same `user_version`.
#[track_caller]
pub fn assert_same_sqlite(source: &SqliteDb, restored: &SqliteDb) {
    if source.virtual_tables().is_empty() {
        crate::compare::assert_same_text(".dump", &source.dump(), &restored.dump());
    } else {
        let (a, b) = (source.schema_without_shadows(), restored.schema_without_shadows());
        crate::compare::assert_same_text("sqlite_schema without shadow tables", &a, &b);
        let sequences = "SELECT * FROM sqlite_sequence ORDER BY name";
        if source.query("SELECT count(*) FROM sqlite_schema WHERE name = 'sqlite_sequence'") == "1" {
            assert_eq!(source.query(sequences), restored.query(sequences), "sqlite_sequence differs");
        }
    }
    assert_eq!(source.checksums(), restored.checksums(), "ordered-row checksums differ");
    assert_eq!(source.query("PRAGMA user_version"), restored.query("PRAGMA user_version"), "user_version differs");
}
