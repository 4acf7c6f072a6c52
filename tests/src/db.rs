//! Databases for tests: one fresh database per test on the server named by
//! `SLUICE_TEST_PG_URL` (started by `just test`), dropped when the test ends,
//! and the psql calls that load fixtures and run SQL.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::SystemTime;

use url::Url;

/// The server's superuser URL, from `SLUICE_TEST_PG_URL`.
pub fn server_url() -> Url {
    let text = std::env::var("SLUICE_TEST_PG_URL").unwrap_or_else(|_| {
        panic!(
            "SLUICE_TEST_PG_URL is not set: run the tests with `just test`, which starts a private \
             PostgreSQL server and sets it (or start one with `scripts/pg-server.sh start` and \
             export SLUICE_TEST_PG_URL=$(scripts/pg-server.sh url))"
        )
    });
    Url::parse(&text).unwrap_or_else(|e| panic!("SLUICE_TEST_PG_URL is not a URL ({e})"))
}

/// The repository root (the workspace of host/ and tests/).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

/// A file under `tests/fixtures/`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name)
}

/// The sample datasets: `SLUICE_DATASETS_DIR`, else the copy vendored in
/// `tests/fixtures/datasets` (so a clone needs nothing beside it).
fn datasets_dir() -> PathBuf {
    std::env::var_os("SLUICE_DATASETS_DIR").map(PathBuf::from).unwrap_or_else(|| fixture("datasets"))
}

/// A database created for one test, with a name no other test or run uses,
/// dropped (`WITH (FORCE)`) when this value goes out of scope. Set
/// `SLUICE_TEST_KEEP_DBS=1` to keep them for a post-mortem.
pub struct TestDb {
    name: String,
    url: Url,
}

impl TestDb {
    /// A new, empty database (from `template0`: nothing in it but `public`).
    pub fn new() -> Self {
        let name = unique_name("sluice_t");
        psql_command(server_url().as_str(), &format!("CREATE DATABASE {name} TEMPLATE template0"));
        let mut url = server_url();
        url.set_path(&format!("/{name}"));
        TestDb { name, url }
    }

    /// A new database loaded with `tests/fixtures/<name>`.
    pub fn with_fixture(name: &str) -> Self {
        let db = Self::new();
        load_sql_file(&db, &fixture(name));
        db
    }

    /// `tests/fixtures/small.sql`: two tables, a FK, a serial: loads in milliseconds.
    pub fn small() -> Self {
        Self::with_fixture("small.sql")
    }

    /// `tests/fixtures/types.sql`: every type, odd values and names, 200k-row `big_rows`.
    pub fn types() -> Self {
        Self::with_fixture("types.sql")
    }

    /// The pagila sample database.
    pub fn pagila() -> Self {
        let db = Self::new();
        load_pagila(&db);
        db
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `postgres://postgres@host:port/<name>`.
    pub fn url(&self) -> &str {
        self.url.as_str()
    }

    /// This database's URL with another user and password.
    pub fn url_as(&self, user: &str, password: &str) -> String {
        let mut url = self.url.clone();
        url.set_username(user).expect("URL takes a user");
        url.set_password(Some(password)).expect("URL takes a password");
        url.to_string()
    }

    /// Runs SQL (one or more statements) and panics if it fails.
    #[track_caller]
    pub fn exec(&self, sql: &str) {
        psql_command(self.url(), sql);
    }

    /// Runs a query and returns its unaligned, tuples-only output, trimmed:
    /// one line per row, columns separated by `|`.
    #[track_caller]
    pub fn query(&self, sql: &str) -> String {
        psql_command(self.url(), sql).trim().to_owned()
    }

    /// A query returning a single integer.
    #[track_caller]
    pub fn query_i64(&self, sql: &str) -> i64 {
        let out = self.query(sql);
        out.parse().unwrap_or_else(|_| panic!("{sql:?} returned {out:?}, not an integer"))
    }
}

impl Default for TestDb {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if std::env::var_os("SLUICE_TEST_KEEP_DBS").is_some() {
            eprintln!("keeping database {} (SLUICE_TEST_KEEP_DBS)", self.name);
            return;
        }
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if let Err(e) = try_psql(server_url().as_str(), &["-c", &sql]) {
            eprintln!("could not drop test database {}: {e}", self.name);
        }
    }
}

/// A login role with a password, superuser so it can dump and restore
/// anything; dropped when this value goes out of scope. (The test server
/// trusts every local connection, so the password is accepted either way:
/// what tests check is that it never shows up in output.)
pub struct TestRole {
    name: String,
}

impl TestRole {
    pub fn new(password: &str) -> Self {
        let name = unique_name("sluice_role");
        let password = password.replace('\'', "''");
        psql_command(server_url().as_str(), &format!("CREATE ROLE {name} LOGIN SUPERUSER PASSWORD '{password}'"));
        TestRole { name }
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestRole {
    fn drop(&mut self) {
        let sql = format!("DROP ROLE IF EXISTS {}", self.name);
        if let Err(e) = try_psql(server_url().as_str(), &["-c", &sql]) {
            eprintln!("could not drop test role {}: {e}", self.name);
        }
    }
}

/// Loads a SQL file with psql (needed for `COPY … FROM stdin` blocks), stopping
/// at the first error.
#[track_caller]
pub fn load_sql_file(db: &TestDb, path: &Path) {
    assert!(path.is_file(), "SQL file {} does not exist", path.display());
    let path = path.to_str().expect("fixture paths are UTF-8");
    if let Err(e) = try_psql(db.url(), &["-q", "-f", path]) {
        panic!("loading {path} into {} failed: {e}", db.name());
    }
}

/// Loads the pagila sample database (schema, then data).
#[track_caller]
pub fn load_pagila(db: &TestDb) {
    let dir = datasets_dir().join("pagila");
    assert!(
        dir.join("pagila-schema.sql").is_file(),
        "pagila is not at {} (set SLUICE_DATASETS_DIR to the datasets folder)",
        dir.display()
    );
    load_sql_file(db, &dir.join("pagila-schema.sql"));
    load_sql_file(db, &dir.join("pagila-data.sql"));
}

/// Runs psql and returns stdout, panicking with psql's stderr on failure.
#[track_caller]
pub(crate) fn psql_command(url: &str, sql: &str) -> String {
    try_psql(url, &["-q", "-At", "-c", sql]).unwrap_or_else(|e| panic!("{e}"))
}

/// psql with no psqlrc, stopping at the first error; `Err` holds stderr.
pub(crate) fn try_psql(url: &str, args: &[&str]) -> Result<String, String> {
    let output = Command::new("psql")
        .args(["-X", "-v", "ON_ERROR_STOP=1", "-d", url])
        .args(args)
        .env("PGCONNECT_TIMEOUT", "10")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run psql (is PostgreSQL's client installed?): {e}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(format!("psql {args:?} failed ({}):\n{}", output.status, String::from_utf8_lossy(&output.stderr)))
    }
}

/// `prefix_<pid>_<counter>_<random>`: unique across the tests of this
/// process, concurrent processes and earlier runs on the same server.
pub(crate) fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut hasher = RandomState::new().build_hasher();
    let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    hasher.write_u128(nanos);
    hasher.write_u32(n);
    format!("{prefix}_{}_{n}_{:08x}", std::process::id(), hasher.finish() as u32)
}
