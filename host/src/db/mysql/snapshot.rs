//! One point in time for every MySQL/MariaDB worker.
//!
//! InnoDB gives each connection its own consistent snapshot; to make them the
//! same snapshot, no transaction may commit while the workers start theirs.
//! How that is ensured depends on the server and the privileges at hand, and
//! the manifest records which way was used:
//!
//! - `backup-stage` (MariaDB ≥ 10.4): `BACKUP STAGE START`, `BLOCK_DDL`, then
//!   `BLOCK_COMMIT` only while the workers run `START TRANSACTION WITH
//!   CONSISTENT SNAPSHOT`; the binlog position and GTID are read while
//!   commits are blocked; `BACKUP STAGE END`. Reads and writes that do not
//!   commit go on throughout.
//! - `ftwrl` (MySQL, older MariaDB): `FLUSH TABLES WITH READ LOCK` held only
//!   while the workers start their snapshots.
//! - `lock-tables` (explicit opt-in, for servers that refuse the above but
//!   grant LOCK TABLES): every base table of the database is locked `READ`
//!   while the workers start their snapshots. Writers to those tables wait
//!   for that short window; other databases are not covered.
//! - `none-validate` (managed servers without those privileges): the binlog
//!   position is read before and after the workers start; equal positions
//!   mean nothing committed in between, else it retries (bounded) and fails.
//!
//! Before taking a lock, a long-running query (the classic cause of a dump
//! that stalls every writer behind FTWRL) is waited out, with a timeout.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use sqlx::mysql::MySqlConnection;
use sqlx::{Connection, Executor, Row};

use super::connect;
use crate::db::source::LockMode;
use crate::db::url::DbUrl;

/// Worker connections inside one consistent snapshot, and where it is.
pub struct Snapshot {
    /// The mode used (never `auto`).
    pub mode: &'static str,
    /// Binary log `file:position` at the snapshot, when the binlog is on.
    pub binlog: Option<String>,
    /// GTID position at the snapshot, when the server has one.
    pub gtid: Option<String>,
    /// Server version string.
    pub server_version: String,
    /// One connection per worker, each inside its snapshot transaction.
    pub readers: Vec<MySqlConnection>,
}

/// How long to wait for long-running queries before taking a lock.
const LONG_QUERY_WAIT: Duration = Duration::from_secs(60);
/// A query running longer than this would hold the lock up.
const LONG_QUERY: Duration = Duration::from_secs(10);
/// Attempts of `none-validate`.
const VALIDATE_ATTEMPTS: usize = 10;

impl Snapshot {
    /// Opens `readers` worker connections on one snapshot.
    pub async fn take(url: &DbUrl, readers: usize, mode: LockMode) -> anyhow::Result<Snapshot> {
        let mut coordinator = connect(url).await?;
        let server_version: String = sqlx::query_scalar("SELECT VERSION()").fetch_one(&mut coordinator).await?;
        let mode = match mode {
            LockMode::Auto if supports_backup_stage(&server_version) => LockMode::BackupStage,
            LockMode::Auto => LockMode::Ftwrl,
            other => other,
        };
        let readers = readers.max(1);
        let snapshot = match mode {
            LockMode::BackupStage => {
                wait_for_long_queries(&mut coordinator).await?;
                coordinator
                    .execute("BACKUP STAGE START")
                    .await
                    .context("cannot start BACKUP STAGE (needs the RELOAD privilege; try --lock-mode none-validate)")?;
                coordinator.execute("BACKUP STAGE BLOCK_DDL").await?;
                coordinator.execute("BACKUP STAGE BLOCK_COMMIT").await?;
                let started = start_readers(url, readers).await;
                let position = positions(&mut coordinator).await;
                coordinator.execute("BACKUP STAGE END").await?;
                let (binlog, gtid) = position?;
                Snapshot { mode: "backup-stage", binlog, gtid, server_version, readers: started? }
            }
            LockMode::Ftwrl => {
                wait_for_long_queries(&mut coordinator).await?;
                coordinator.execute("FLUSH TABLES WITH READ LOCK").await.context(
                    "cannot FLUSH TABLES WITH READ LOCK (needs the RELOAD privilege; try --lock-mode none-validate)",
                )?;
                let started = start_readers(url, readers).await;
                let position = positions(&mut coordinator).await;
                coordinator.execute("UNLOCK TABLES").await?;
                let (binlog, gtid) = position?;
                Snapshot { mode: "ftwrl", binlog, gtid, server_version, readers: started? }
            }
            LockMode::LockTables => {
                wait_for_long_queries(&mut coordinator).await?;
                let tables: Vec<String> = sqlx::query_scalar(
                    "SELECT CAST(TABLE_NAME AS CHAR) FROM information_schema.TABLES \
                     WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED') ORDER BY TABLE_NAME",
                )
                .fetch_all(&mut coordinator)
                .await?;
                if !tables.is_empty() {
                    let list: Vec<String> = tables.iter().map(|t| format!("{} READ", super::quote_ident(t))).collect();
                    coordinator.execute(format!("LOCK TABLES {}", list.join(", ")).as_str()).await.context(
                        "cannot LOCK TABLES (needs the LOCK TABLES privilege; try --lock-mode none-validate)",
                    )?;
                }
                let started = start_readers(url, readers).await;
                let position = positions(&mut coordinator).await;
                coordinator.execute("UNLOCK TABLES").await?;
                let (binlog, gtid) = position?;
                Snapshot { mode: "lock-tables", binlog, gtid, server_version, readers: started? }
            }
            LockMode::NoneValidate | LockMode::Auto => {
                let mut attempt = 0;
                loop {
                    attempt += 1;
                    let before = positions(&mut coordinator).await?;
                    if before.0.is_none() {
                        bail!("--lock-mode none-validate needs the binary log to compare positions, and it is off");
                    }
                    let started = start_readers(url, readers).await?;
                    let after = positions(&mut coordinator).await?;
                    if before == after {
                        let (binlog, gtid) = after;
                        break Snapshot { mode: "none-validate", binlog, gtid, server_version, readers: started };
                    }
                    for conn in started {
                        let _ = conn.close().await;
                    }
                    if attempt == VALIDATE_ATTEMPTS {
                        bail!(
                            "could not start {readers} snapshots at one point in time: the server committed \
                             between them in each of {VALIDATE_ATTEMPTS} attempts (use a lock mode, or dump with -j 1)"
                        );
                    }
                    tokio::time::sleep(Duration::from_millis(50 * attempt as u64)).await;
                }
            }
        };
        let _ = coordinator.close().await;
        tracing::info!(mode = snapshot.mode, binlog = ?snapshot.binlog, gtid = ?snapshot.gtid, "Snapshot taken.");
        Ok(snapshot)
    }

    /// What the manifest says about how the snapshot was taken.
    pub fn describe(&self) -> String {
        let mut text = format!("{} consistent snapshots aligned by {}", self.readers.len(), self.mode);
        if let Some(binlog) = &self.binlog {
            text.push_str(&format!(", binlog {binlog}"));
        }
        if let Some(gtid) = &self.gtid {
            text.push_str(&format!(", gtid {gtid}"));
        }
        text
    }
}

/// `10.11.19-MariaDB-…` → MariaDB ≥ 10.4.
fn supports_backup_stage(version: &str) -> bool {
    if !version.contains("MariaDB") {
        return false;
    }
    let mut parts = version.split(['.', '-']).map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (major, minor) >= (10, 4)
}

async fn start_readers(url: &DbUrl, count: usize) -> anyhow::Result<Vec<MySqlConnection>> {
    let mut readers = Vec::with_capacity(count);
    for _ in 0..count {
        let mut conn = connect(url).await?;
        conn.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ").await?;
        conn.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
            .await
            .context("cannot start a consistent snapshot")?;
        readers.push(conn);
    }
    Ok(readers)
}

/// (binlog `file:pos`, GTID) now; None where the server has none.
async fn positions(conn: &mut MySqlConnection) -> anyhow::Result<(Option<String>, Option<String>)> {
    let binlog = match super::first_row(conn, "SHOW MASTER STATUS").await {
        Ok(Some(row)) => {
            let file: String = row.try_get_unchecked(0)?;
            let position: u64 = row.try_get_unchecked::<String, _>(1).ok().and_then(|p| p.parse().ok()).unwrap_or(0);
            Some(format!("{file}:{position}"))
        }
        Ok(None) => None,
        // No privilege to see it: the manifest simply has no position.
        Err(_) => None,
    };
    let gtid: Option<String> = super::first_row(conn, "SELECT @@GLOBAL.gtid_binlog_pos")
        .await
        .ok()
        .flatten()
        .and_then(|row| row.try_get_unchecked::<Option<String>, _>(0).ok().flatten())
        .filter(|g| !g.is_empty());
    Ok((binlog, gtid))
}

/// Waits (up to a minute) while another session runs a query longer than
/// ten seconds, which would keep the lock waiting and every writer with it.
async fn wait_for_long_queries(conn: &mut MySqlConnection) -> anyhow::Result<()> {
    let start = Instant::now();
    loop {
        let rows = sqlx::query(
            "SELECT CAST(ID AS SIGNED), CAST(TIME AS SIGNED), CAST(LEFT(COALESCE(INFO, ''), 80) AS CHAR) AS info FROM information_schema.PROCESSLIST \
             WHERE COMMAND = 'Query' AND ID <> CONNECTION_ID() AND TIME >= ? ORDER BY TIME DESC LIMIT 1",
        )
        .bind(LONG_QUERY.as_secs() as i64)
        .fetch_all(&mut *conn)
        .await?;
        let Some(row) = rows.first() else { return Ok(()) };
        if start.elapsed() >= LONG_QUERY_WAIT {
            let (id, secs, info): (i64, i64, String) = (row.get(0), row.get(1), row.get(2));
            bail!(
                "a query has been running for {secs}s (connection {id}: {info}); taking the snapshot lock now would \
                 stall every writer behind it. Waited {}s; retry later or use --lock-mode none-validate",
                LONG_QUERY_WAIT.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_stage_needs_mariadb_10_4() {
        assert!(supports_backup_stage("10.11.19-MariaDB-0+deb12u1-log"));
        assert!(supports_backup_stage("10.4.0-MariaDB"));
        assert!(!supports_backup_stage("10.3.39-MariaDB"));
        assert!(!supports_backup_stage("8.0.36"));
        assert_eq!(LockMode::parse("ftwrl").expect("valid"), LockMode::Ftwrl);
        assert_eq!(LockMode::parse("lock-tables").expect("valid"), LockMode::LockTables);
        assert!(LockMode::parse("sometimes").is_err());
    }
}
