//! Loading a SQLite target: schema, data as the dump's own INSERT
//! statements, AUTOINCREMENT counters, row counts.
//!
//! SQLite has one writer, so one connection loads everything, a file per
//! transaction; decoding the next files happens ahead on another thread.

use anyhow::Context;
use sqlx::sqlite::SqliteConnection;
use sqlx::{Executor, Row};

use super::quote_ident;
use crate::catalog::Sequence;

/// Settings for a bulk load into a database that is being created: a crash
/// leaves a file to delete anyway, so fsyncs only slow it down.
pub const LOAD_SETTINGS: &str = "PRAGMA synchronous = OFF; PRAGMA cache_size = -65536; PRAGMA foreign_keys = OFF";

/// The first user object in the target, if any.
pub async fn first_user_object(conn: &mut SqliteConnection) -> anyhow::Result<Option<String>> {
    let row = sqlx::query(
        "SELECT type || ' ' || name AS object FROM sqlite_schema WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
         AND name <> '_sluice_restore_progress' LIMIT 1",
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| r.get("object")))
}

/// Drops every view and table (their indexes and triggers go with them).
pub async fn clean(conn: &mut SqliteConnection) -> anyhow::Result<()> {
    let objects: Vec<(String, String)> = sqlx::query_as(
        "SELECT type, name FROM sqlite_schema WHERE type IN ('view', 'table') \
         AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
         AND name NOT IN (SELECT name FROM pragma_table_list WHERE type = 'shadow') \
         ORDER BY type = 'table', rowid DESC",
    )
    .fetch_all(&mut *conn)
    .await?;
    for (kind, name) in objects {
        let statement = format!("DROP {} IF EXISTS {}", kind.to_uppercase(), quote_ident(&name));
        conn.execute(statement.as_str()).await.with_context(|| format!("cannot drop {kind} {name}"))?;
    }
    let sequences: i64 =
        sqlx::query_scalar("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'sqlite_sequence'")
            .fetch_one(&mut *conn)
            .await?;
    if sequences > 0 {
        conn.execute("DELETE FROM sqlite_sequence").await?;
    }
    Ok(())
}

/// Runs SQL text (any number of statements) inside one transaction.
pub async fn execute_in_transaction(conn: &mut SqliteConnection, sql: &str, what: &str) -> anyhow::Result<()> {
    conn.execute("BEGIN").await?;
    if let Err(e) = sqlx::raw_sql(sql).execute(&mut *conn).await {
        let _ = conn.execute("ROLLBACK").await;
        return Err(anyhow::Error::new(e).context(format!("{what} failed")));
    }
    conn.execute("COMMIT").await?;
    Ok(())
}

/// Sets the AUTOINCREMENT counters the dump recorded, in their order.
pub async fn set_sequences(conn: &mut SqliteConnection, sequences: &[Sequence]) -> anyhow::Result<()> {
    for sequence in sequences {
        sqlx::query("DELETE FROM sqlite_sequence WHERE name = ?").bind(&sequence.name).execute(&mut *conn).await?;
        sqlx::query("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)")
            .bind(&sequence.name)
            .bind(sequence.last_value)
            .execute(&mut *conn)
            .await
            .with_context(|| format!("cannot set the AUTOINCREMENT counter of {}", sequence.name))?;
    }
    Ok(())
}

/// Rows in a table.
pub async fn count_rows(conn: &mut SqliteConnection, table: &str) -> anyhow::Result<u64> {
    let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {}", quote_ident(table)))
        .fetch_one(&mut *conn)
        .await
        .with_context(|| format!("cannot count rows of {table}"))?;
    Ok(n.max(0) as u64)
}
