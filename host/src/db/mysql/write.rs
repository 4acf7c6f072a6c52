//! Loading a MySQL/MariaDB target: schema scripts, the settings of a load
//! by INSERT (used when the server has `local_infile` off; see `load` for
//! the LOAD DATA path), column character sets, row counts.

use std::collections::HashMap;

use anyhow::Context;
use sqlx::Executor;
use sqlx::mysql::MySqlConnection;

use super::quote_ident;

/// Per-connection settings while loading; restore puts nothing back
/// because each load connection is closed afterwards. `unique_checks`
/// stays on: with it off, MariaDB ≥ 10.6 loads the first transaction into
/// an empty table in bulk mode under an exclusive table lock, so a second
/// worker loading another chunk of the same table waits for the first
/// (measured: 4.6 s of a 9 s restore), and alone the bulk path was no faster.
pub const LOAD_SETTINGS: &str = "SET SESSION foreign_key_checks = 0";

/// Turns binary logging off for this session's load, as myloader does by
/// default; false when the user lacks the privilege (rows are then logged).
pub async fn skip_binlog(conn: &mut MySqlConnection) -> bool {
    conn.execute("SET SESSION sql_log_bin = 0").await.is_ok()
}

/// The first user object (table, view, routine, event) in the target.
pub async fn first_user_object(conn: &mut MySqlConnection) -> anyhow::Result<Option<String>> {
    let found: Option<String> = sqlx::query_scalar(
        "SELECT CAST(CONCAT(kind, ' ', name) AS CHAR) FROM ( \
           SELECT 'table' AS kind, TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() \
             AND TABLE_NAME <> '_sluice_restore_progress' \
           UNION ALL SELECT LOWER(ROUTINE_TYPE), ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE() \
           UNION ALL SELECT 'event', EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = DATABASE()) AS o LIMIT 1",
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(found)
}

/// Drops every table, view, sequence, routine and event of the database.
pub async fn clean(conn: &mut MySqlConnection) -> anyhow::Result<()> {
    conn.execute("SET SESSION foreign_key_checks = 0").await?;
    let objects: Vec<(String, String)> = sqlx::query_as(
        "SELECT CAST(CASE TABLE_TYPE WHEN 'VIEW' THEN 'VIEW' WHEN 'SEQUENCE' THEN 'SEQUENCE' ELSE 'TABLE' END AS CHAR), \
           CAST(TABLE_NAME AS CHAR) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() \
         UNION ALL SELECT CAST(ROUTINE_TYPE AS CHAR), CAST(ROUTINE_NAME AS CHAR) FROM information_schema.ROUTINES \
           WHERE ROUTINE_SCHEMA = DATABASE() \
         UNION ALL SELECT 'EVENT', CAST(EVENT_NAME AS CHAR) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = DATABASE()",
    )
    .fetch_all(&mut *conn)
    .await?;
    for (kind, name) in objects {
        let statement = format!("DROP {kind} IF EXISTS {}", quote_ident(&name));
        conn.execute(statement.as_str()).await.with_context(|| format!("cannot drop {kind} {name}"))?;
    }
    Ok(())
}

/// Runs a schema script (any number of statements, compound ones included:
/// the server splits them itself).
pub async fn apply(conn: &mut MySqlConnection, sql: &str, what: &str) -> anyhow::Result<()> {
    sqlx::raw_sql(sql).execute(&mut *conn).await.with_context(|| format!("{what} failed"))?;
    Ok(())
}

/// Rows in a table, every row version when its history was restored.
pub async fn count_rows(conn: &mut MySqlConnection, table: &crate::catalog::Table) -> anyhow::Result<u64> {
    let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {}", super::catalog::rows_of(table)))
        .fetch_one(&mut *conn)
        .await
        .with_context(|| format!("cannot count rows of {}", table.name))?;
    Ok(n.max(0) as u64)
}

/// For each table, which of its (manifest) columns take the dump's UTF-8
/// text only as text: a character set other than the UTF-8 sets, `ascii`
/// (a subset) and `binary` (raw bytes), and MariaDB's UUID and INET types
/// (which read a binary string as their packed bytes).
pub async fn non_utf8_columns(
    conn: &mut MySqlConnection,
    tables: &[crate::catalog::Table],
) -> anyhow::Result<HashMap<String, Vec<bool>>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT CAST(TABLE_NAME AS CHAR), CAST(COLUMN_NAME AS CHAR) FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = DATABASE() AND (DATA_TYPE IN ('uuid', 'inet4', 'inet6') OR \
           CHARACTER_SET_NAME IS NOT NULL AND CHARACTER_SET_NAME NOT IN ('utf8mb4', 'utf8mb3', 'utf8', 'ascii', 'binary'))",
    )
    .fetch_all(&mut *conn)
    .await
    .context("cannot read the target's column character sets")?;
    let mut other: HashMap<&str, Vec<&str>> = HashMap::new();
    for (table, column) in &rows {
        other.entry(table.as_str()).or_default().push(column.as_str());
    }
    Ok(tables
        .iter()
        .map(|t| {
            let names = other.get(t.name.as_str()).map(Vec::as_slice).unwrap_or_default();
            (t.name.clone(), t.columns.iter().map(|c| names.contains(&c.name.as_str())).collect())
        })
        .collect())
}
