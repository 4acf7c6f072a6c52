//! SQLite: catalog, one read snapshot shared by every reader, reads that keep
//! each value's storage class, schema from `sqlite_schema`, and loads.

pub mod catalog;
pub mod csv;
pub mod read;
pub mod schema;
pub mod snapshot;
pub mod source;
pub mod target;
pub mod types;
pub mod write;

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use sqlx::ConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

use crate::db::url::DbUrl;

/// How long a connection waits on a lock another connection holds.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// Opens the database a `sqlite://` URL names. A source must exist; a
/// restore target is created when missing.
pub async fn connect(url: &DbUrl, create: bool) -> anyhow::Result<SqliteConnection> {
    let path = url.sqlite_path();
    if !create && !Path::new(&path).is_file() {
        bail!("SQLite database {path} does not exist");
    }
    SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(create)
        .busy_timeout(BUSY_TIMEOUT)
        // sqlx turns foreign keys on; SQLite's default (and a loader's need:
        // tables fill in any order) is off.
        .foreign_keys(false)
        .row_buffer_size(1024)
        .disable_statement_logging()
        .connect()
        .await
        .with_context(|| format!("cannot open SQLite database {path}"))
}

/// Quotes an identifier: `"name"` with inner quotes doubled.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quotes a string literal: `'text'` with inner quotes doubled.
pub fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}
