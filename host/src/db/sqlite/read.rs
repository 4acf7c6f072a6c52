//! Reads one chunk of a SQLite table into batches whose values keep their
//! storage class: integers as decimal text (`i`), reals as their shortest
//! round-trip text (`r`), text as its bytes (`t`), blobs as raw bytes (`b`).

use anyhow::Context;
use std::collections::HashMap;
use std::sync::Arc;

use futures_util::TryStreamExt;
use futures_util::future::BoxFuture;
use sqlx::sqlite::{Sqlite, SqliteConnection, SqliteValueRef};
use sqlx::{Decode, Row, TypeInfo, ValueRef};
use tokio::sync::mpsc::Sender;

use super::catalog::Layout;
use super::quote_ident;
use crate::batch::ColumnData;
use crate::catalog::Table;
use crate::db::source::{BatchSender, ChunkReader, Piece};
use crate::plan::ChunkRange;

/// The query that reads one chunk, columns in table order, rows in rowid
/// (or, WITHOUT ROWID, primary-key) order.
pub fn select_statement(table: &Table, layout: &Layout, range: ChunkRange) -> anyhow::Result<String> {
    let columns: Vec<String> = table.columns.iter().map(|c| quote_ident(&c.name)).collect();
    let from = quote_ident(&table.name);
    Ok(match layout.rowid {
        Some(rowid) => {
            format!(
                "SELECT {} FROM {from}{} ORDER BY {rowid}",
                columns.join(", "),
                crate::db::ranges::key_filter(range, rowid)?
            )
        }
        None => format!("SELECT {} FROM {from}", columns.join(", ")),
    })
}

/// A worker's connection inside the shared read snapshot, with the rowid
/// layout of every table (by name).
pub struct LiteReader {
    conn: SqliteConnection,
    layouts: Arc<HashMap<String, Layout>>,
}

impl LiteReader {
    /// A reader on `conn`, inside its read transaction.
    pub fn new(conn: SqliteConnection, layouts: Arc<HashMap<String, Layout>>) -> Self {
        LiteReader { conn, layouts }
    }
}

impl ChunkReader for LiteReader {
    fn read<'a>(
        &'a mut self,
        table: &'a Table,
        range: ChunkRange,
        out: &'a Sender<Piece>,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let layout = self.layouts.get(&table.name).cloned().unwrap_or(Layout { rowid: None });
            send_chunk(&mut self.conn, table, &layout, range, out).await
        })
    }

    fn close(self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            let _ = super::snapshot::release(self.conn).await;
        })
    }
}

/// Streams one chunk as batches to the chunk's writer, then `End`.
async fn send_chunk(
    conn: &mut SqliteConnection,
    table: &Table,
    layout: &Layout,
    range: ChunkRange,
    tx: &Sender<Piece>,
) -> anyhow::Result<()> {
    let statement = select_statement(table, layout, range)?;
    let mut out = BatchSender::new(tx, table.columns.len());
    let mut rows = sqlx::raw_sql(&statement).fetch(&mut *conn);
    let mut scratch = String::new();
    while let Some(row) = rows.try_next().await.context("reading from SQLite failed")? {
        let mut bytes = 0;
        for (i, column) in out.columns().iter_mut().enumerate() {
            bytes += push_value(column, row.try_get_raw(i)?, &mut scratch)?;
        }
        if !out.end_row(bytes).await {
            return Ok(());
        }
    }
    out.finish().await;
    Ok(())
}

/// Appends one value with its storage class; returns the bytes added.
fn push_value(column: &mut ColumnData, value: SqliteValueRef<'_>, scratch: &mut String) -> anyhow::Result<usize> {
    if value.is_null() {
        column.push_typed(None, b'n');
        return Ok(0);
    }
    let class = value.type_info().name().to_owned();
    let (bytes, class): (&[u8], u8) = match class.as_str() {
        "INTEGER" => {
            let n = <i64 as Decode<Sqlite>>::decode(value).map_err(|e| anyhow::anyhow!("{e}"))?;
            scratch.clear();
            scratch.push_str(itoa::Buffer::new().format(n));
            (scratch.as_bytes(), b'i')
        }
        "REAL" => {
            let x = <f64 as Decode<Sqlite>>::decode(value).map_err(|e| anyhow::anyhow!("{e}"))?;
            scratch.clear();
            scratch.push_str(&real_text(x));
            (scratch.as_bytes(), b'r')
        }
        "TEXT" => (<&[u8] as Decode<Sqlite>>::decode(value).map_err(|e| anyhow::anyhow!("{e}"))?, b't'),
        _ => (<&[u8] as Decode<Sqlite>>::decode(value).map_err(|e| anyhow::anyhow!("{e}"))?, b'b'),
    };
    column.push_typed(Some(bytes), class);
    Ok(bytes.len())
}

/// A real as text SQLite reads back to the same value: Rust's shortest
/// round-trip form (`5.0`, `1e300`, `-0.0`), `inf`/`-inf` for infinities
/// (SQLite stores no NaN).
pub fn real_text(x: f64) -> String {
    if x.is_infinite() { if x > 0.0 { "inf".to_owned() } else { "-inf".to_owned() } } else { format!("{x:?}") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Column;

    #[test]
    fn chunk_queries_order_by_rowid_and_bound_keys() {
        let table = Table {
            schema: "main".into(),
            name: "we\"ird".into(),
            columns: vec![Column {
                name: "a".into(),
                sql_type: "INT".into(),
                kind: crate::catalog::ColumnKind::Integer,
                nullable: true,
            }],
            ..Table::default()
        };
        let rowid = Layout { rowid: Some("oid") };
        assert_eq!(
            select_statement(&table, &rowid, ChunkRange::Keys { start: Some(5), end: Some(9) }).expect("keys"),
            "SELECT \"a\" FROM \"we\"\"ird\" WHERE oid >= 5 AND oid < 9 ORDER BY oid"
        );
        assert_eq!(
            select_statement(&table, &Layout { rowid: None }, ChunkRange::Whole).expect("whole"),
            "SELECT \"a\" FROM \"we\"\"ird\""
        );
    }

    #[test]
    fn reals_print_in_a_form_that_stays_real() {
        assert_eq!(real_text(5.0), "5.0");
        assert_eq!(real_text(-0.0), "-0.0");
        assert_eq!(real_text(1e300), "1e300");
        assert_eq!(real_text(f64::NEG_INFINITY), "-inf");
        assert_eq!(real_text(0.1).parse::<f64>().expect("parses"), 0.1);
    }
}
