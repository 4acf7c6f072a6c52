//! One point in time for every reader: the coordinator exports a snapshot,
//! every worker connection imports it before reading anything.

use anyhow::Context;
use sqlx::Executor;
use sqlx::postgres::PgConnection;

use super::{connect, qualified};
use crate::catalog::Table;
use crate::db::source::{SnapshotElsewhere, SnapshotGone};
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
    /// exports its snapshot, or imports `held` (a snapshot another session
    /// exported and holds): then every reader imports that one.
    pub async fn begin(url: &DbUrl, held: Option<&str>) -> anyhow::Result<Self> {
        let mut conn = connect(url).await?;
        let restrict_relation_kinds = supports_relation_kind_restriction(&mut conn).await?;
        harden(&mut conn, restrict_relation_kinds).await?;
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY").await?;
        let snapshot_id = match held {
            Some(id) => {
                import(&mut conn, id).await?;
                id.to_owned()
            }
            None => sqlx::query_scalar("SELECT pg_export_snapshot()")
                .fetch_one(&mut conn)
                .await
                .context("cannot export a snapshot")?,
        };
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

    /// How a worker connection joins this snapshot, now or after its
    /// connection was lost (while this transaction, or the session holding
    /// the snapshot, lives).
    pub fn rejoin(&self, url: &DbUrl) -> Rejoin {
        Rejoin {
            url: url.clone(),
            snapshot_id: self.snapshot_id.clone(),
            restrict_relation_kinds: self.restrict_relation_kinds,
        }
    }

    /// Ends the transaction once every reader is done.
    pub async fn finish(mut self) -> anyhow::Result<()> {
        self.conn.execute("COMMIT").await?;
        Ok(())
    }
}

/// Imports the snapshot `id` into the open transaction. A snapshot whose
/// exporting session has ended is [`SnapshotGone`] (SQLSTATE 22023, invalid
/// snapshot identifier), one of another database [`SnapshotElsewhere`]
/// (0A000), so a resume can say what to do.
async fn import(conn: &mut PgConnection, id: &str) -> anyhow::Result<()> {
    match conn.execute(format!("SET TRANSACTION SNAPSHOT '{}'", id.replace('\'', "''")).as_str()).await {
        Ok(_) => Ok(()),
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("22023") => {
            Err(anyhow::Error::new(SnapshotGone { id: id.to_owned() }))
        }
        // "cannot import a snapshot from a different database"
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("0A000") => {
            Err(anyhow::Error::new(SnapshotElsewhere { id: id.to_owned() }))
        }
        Err(e) => Err(anyhow::Error::new(e).context(format!("cannot import the snapshot {id}"))),
    }
}

/// What a worker connection needs to join the dump's snapshot.
#[derive(Clone)]
pub struct Rejoin {
    url: DbUrl,
    snapshot_id: String,
    restrict_relation_kinds: bool,
}

impl Rejoin {
    /// A new worker connection inside the snapshot.
    pub async fn connect(&self) -> anyhow::Result<PgConnection> {
        let mut conn = connect(&self.url).await?;
        harden(&mut conn, self.restrict_relation_kinds).await?;
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY").await?;
        import(&mut conn, &self.snapshot_id).await?;
        Ok(conn)
    }
}

/// A snapshot exported and held by a session of its own (`sluice snapshot
/// hold`), for dumps that read in it with `--snapshot NAME`.
pub struct Holder {
    conn: PgConnection,
    /// The exported snapshot's name.
    pub id: String,
}

impl Holder {
    /// Exports a snapshot in a transaction that no timeout ends: idle in
    /// transaction for as long as it is held, with TCP keepalives so a dead
    /// peer is noticed.
    pub async fn export(url: &DbUrl) -> anyhow::Result<Self> {
        let mut conn = connect(url).await?;
        conn.execute(
            "SET idle_in_transaction_session_timeout = 0; SET statement_timeout = 0; \
             SET tcp_keepalives_idle = 30; SET tcp_keepalives_interval = 10; SET tcp_keepalives_count = 3",
        )
        .await
        .context("cannot prepare the holding session")?;
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY").await?;
        let id: String = sqlx::query_scalar("SELECT pg_export_snapshot()")
            .fetch_one(&mut conn)
            .await
            .context("cannot export a snapshot")?;
        Ok(Holder { conn, id })
    }

    /// Fails when the holding session is gone (the snapshot with it).
    pub async fn check(&mut self) -> anyhow::Result<()> {
        self.conn.execute("SELECT 1").await.context("the session holding the snapshot was lost")?;
        Ok(())
    }

    /// Ends the transaction: the snapshot is gone.
    pub async fn release(mut self) -> anyhow::Result<()> {
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
