//! Which SQLite columns a `--format csv` dump can carry exactly.
//!
//! CSV has no storage classes. Restore inserts each CSV value as text and
//! lets the column's affinity turn it back into what it was: an INTEGER,
//! REAL or NUMERIC column converts text that looks like a number exactly
//! as it did when the value was first stored, a TEXT column keeps text,
//! and a column without affinity (BLOB or no declared type) holds blobs
//! written as `\x` hex. Two kinds of value would come back changed, so a
//! dump with either stops before anything is written: a column without
//! affinity holding anything but blobs (affinity would not restore an
//! integer, real or text there), and a blob or an infinite real in any
//! other column (CSV writes those as text).

use sqlx::Row;
use sqlx::sqlite::SqliteConnection;

use super::quote_ident;
use crate::catalog::{ColumnKind, Table};
use crate::db::source::NotCarried;

/// Whether the column has no affinity: only blobs survive CSV there. A
/// STRICT table's `ANY` column is one too.
fn blobs_only(kind: ColumnKind, sql_type: &str) -> bool {
    kind == ColumnKind::Binary || sql_type.trim().eq_ignore_ascii_case("any")
}

/// The condition on `column` that a value CSV cannot carry meets.
fn changed_by_csv(column: &str, kind: ColumnKind, sql_type: &str) -> String {
    let c = quote_ident(column);
    if blobs_only(kind, sql_type) {
        format!("typeof({c}) NOT IN ('null', 'blob')")
    } else {
        // `9e999` is beyond f64's range: SQLite reads it as infinity (and
        // `abs` would overflow on the smallest integer).
        format!("(typeof({c}) = 'blob' OR (typeof({c}) = 'real' AND {c} IN (9e999, -9e999)))")
    }
}

/// Fails, naming every table and column that holds a value a CSV dump
/// would restore changed (one full read of each table, in the snapshot).
pub async fn check(conn: &mut SqliteConnection, tables: &[Table]) -> anyhow::Result<()> {
    let mut problems = Vec::new();
    for table in tables.iter().filter(|t| t.kind.is_rows() && !t.columns.is_empty()) {
        let counts: Vec<String> = table
            .columns
            .iter()
            .map(|c| format!("coalesce(sum({}), 0)", changed_by_csv(&c.name, c.kind, &c.sql_type)))
            .collect();
        let sql = format!("SELECT {} FROM {}", counts.join(", "), quote_ident(&table.name));
        let row = sqlx::query(&sql).fetch_one(&mut *conn).await?;
        for (i, column) in table.columns.iter().enumerate() {
            let n: i64 = row.try_get(i)?;
            if n > 0 {
                let what = if blobs_only(column.kind, &column.sql_type) {
                    "values other than blobs in a column without type affinity"
                } else {
                    "blobs or infinite reals"
                };
                problems.push(format!("main.{}.{} ({n} {what})", table.name, column.name));
            }
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(NotCarried(format!(
        "--format csv cannot carry these SQLite columns exactly, CSV has no storage classes: {}; \
         dump them as sql or jsonl, or leave their tables out with --exclude",
        problems.join(", ")
    ))
    .into())
}
