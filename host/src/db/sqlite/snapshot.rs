//! One point in time for every SQLite reader.
//!
//! SQLite's snapshot API (`sqlite3_snapshot_open`) needs a library built with
//! `SQLITE_ENABLE_SNAPSHOT`, which the one sqlx bundles is not, and works in
//! WAL mode only. So sluice does what `FLUSH TABLES WITH READ LOCK` does for
//! MySQL: a coordinator takes the write lock (`BEGIN IMMEDIATE`), so no
//! writer can commit, while every reader opens its read transaction, then
//! lets go at once. Every reader sees the same committed state, in WAL and
//! rollback-journal mode alike, without copying the file first. In WAL mode
//! writers carry on during the dump; in rollback-journal mode the readers'
//! shared locks make writers wait until the dump ends, as any long read does.

use sqlx::sqlite::SqliteConnection;
use sqlx::{Connection, Executor};

use super::connect;
use crate::db::retry;
use crate::db::url::DbUrl;

/// Reader connections, each inside a read transaction that started while
/// no writer could commit.
pub struct Snapshot {
    /// The database's journal mode (`wal`, `delete`, …), for the manifest.
    pub journal_mode: String,
    /// One connection per worker; the first also reads catalog and schema.
    pub readers: Vec<SqliteConnection>,
}

impl Snapshot {
    /// Opens `readers` (at least one) connections on one snapshot.
    pub async fn take(url: &DbUrl, readers: usize) -> anyhow::Result<Snapshot> {
        let mut coordinator = connect(url, false).await?;
        let journal_mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&mut coordinator).await?;
        // A busy or locked database (a writer holding its lock past the busy
        // timeout) is tried again, as a transient fault.
        let mut tries = 0;
        loop {
            match coordinator.execute("BEGIN IMMEDIATE").await {
                Ok(_) => break,
                Err(e) => {
                    let e = anyhow::Error::new(e);
                    if tries < retry::MAX_RETRIES && retry::transient(&e).is_some() {
                        tries += 1;
                        tracing::warn!(tries, "SQLite is busy; trying again to take its write lock.");
                        tokio::time::sleep(retry::backoff(tries)).await;
                        continue;
                    }
                    return Err(e.context(
                        "cannot take SQLite's write lock to start a consistent snapshot (is the file read-only, or \
                         held by a long write?)",
                    ));
                }
            }
        }
        let mut opened = Vec::with_capacity(readers.max(1));
        for _ in 0..readers.max(1) {
            let mut reader = connect(url, false).await?;
            // A read transaction starts at its first read, not at BEGIN.
            reader.execute("BEGIN").await?;
            let _: i64 = sqlx::query_scalar("SELECT count(*) FROM sqlite_schema").fetch_one(&mut reader).await?;
            opened.push(reader);
        }
        coordinator.execute("ROLLBACK").await?;
        coordinator.close().await?;
        Ok(Snapshot { journal_mode, readers: opened })
    }
}

/// Ends a reader's read transaction and closes it.
pub async fn release(mut reader: SqliteConnection) -> anyhow::Result<()> {
    reader.execute("COMMIT").await?;
    reader.close().await?;
    Ok(())
}
