//! One point in time for every reader: the coordinator exports a snapshot,
//! every worker connection imports it before reading anything.

use anyhow::Context;
use sqlx::Executor;
use sqlx::postgres::PgConnection;

use super::{connect, qualified};
use crate::catalog::Table;
use crate::db::url::DbUrl;

/// The coordinator's transaction, which owns the exported snapshot.
///
/// Invariant: it must stay open until every worker has imported the snapshot
/// and pg_dump has finished with it; dropping it early invalidates the id.
pub struct Coordinator {
    conn: PgConnection,
    /// The exported snapshot id (`pg_export_snapshot()`).
    pub snapshot_id: String,
    restrict_relation_kinds: bool,
}

impl Coordinator {
    /// Opens the coordinator's `REPEATABLE READ READ ONLY` transaction and
    /// exports its snapshot.
    pub async fn begin(url: &DbUrl) -> anyhow::Result<Self> {
        let mut conn = connect(url).await?;
        let restrict_relation_kinds = supports_relation_kind_restriction(&mut conn).await?;
        harden(&mut conn, restrict_relation_kinds).await?;
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY").await?;
        let snapshot_id: String = sqlx::query_scalar("SELECT pg_export_snapshot()")
            .fetch_one(&mut conn)
            .await
            .context("cannot export a snapshot")?;
        Ok(Coordinator { conn, snapshot_id, restrict_relation_kinds })
    }

    /// The coordinator's connection, inside the snapshot.
    pub fn conn(&mut self) -> &mut PgConnection {
        &mut self.conn
    }

    /// Takes `ACCESS SHARE` locks on every table so no DDL can change them
    /// while the dump runs.
    pub async fn lock(&mut self, tables: &[Table]) -> anyhow::Result<()> {
        // The large objects' pseudo-table is no relation to lock.
        let statements: Vec<String> = tables
            .iter()
            .filter(|t| t.kind.is_rows())
            .map(|t| format!("LOCK TABLE ONLY {} IN ACCESS SHARE MODE", qualified(&t.schema, &t.name)))
            .collect();
        for group in statements.chunks(500) {
            sqlx::raw_sql(&group.join(";\n")).execute(&mut self.conn).await.context("cannot lock tables")?;
        }
        Ok(())
    }

    /// A new worker connection inside the same snapshot.
    pub async fn worker(&self, url: &DbUrl) -> anyhow::Result<PgConnection> {
        let mut conn = connect(url).await?;
        harden(&mut conn, self.restrict_relation_kinds).await?;
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY").await?;
        conn.execute(format!("SET TRANSACTION SNAPSHOT '{}'", self.snapshot_id.replace('\'', "''")).as_str())
            .await
            .context("cannot import the dump's snapshot")?;
        Ok(conn)
    }

    /// Ends the transaction once every reader is done.
    pub async fn finish(mut self) -> anyhow::Result<()> {
        self.conn.execute("COMMIT").await?;
        Ok(())
    }
}

async fn supports_relation_kind_restriction(conn: &mut PgConnection) -> anyhow::Result<bool> {
    Ok(sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_settings WHERE name = 'restrict_nonsystem_relation_kind')")
        .fetch_one(conn)
        .await?)
}

/// Reader hardening, as pg_dump does: row security off (fail rather than
/// silently skip rows), and no views or foreign tables reachable where the
/// server can restrict them.
async fn harden(conn: &mut PgConnection, restrict_relation_kinds: bool) -> anyhow::Result<()> {
    conn.execute("SET row_security = off").await?;
    if restrict_relation_kinds {
        conn.execute("SET restrict_nonsystem_relation_kind = 'view, foreign-table'").await?;
    }
    Ok(())
}
