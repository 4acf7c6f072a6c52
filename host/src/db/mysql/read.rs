//! Reads one chunk of a MySQL/MariaDB table over the text protocol (a plain
//! query, not a prepared one: zero dates stay dates, every value arrives as
//! the server's exact text, or raw bytes for binary columns).

use anyhow::Context;
use futures_util::TryStreamExt;
use futures_util::future::BoxFuture;
use sqlx::mysql::{MySql, MySqlConnection};
use sqlx::{Decode, Row, ValueRef};
use tokio::sync::mpsc::Sender;

use super::catalog::{integer_key, rows_of};
use super::{quote_ident, types::select_expr};
use crate::catalog::Table;
use crate::db::ranges::{key_filter, tuple_filter};
use crate::db::source::{BatchSender, ChunkReader, Piece};
use crate::plan::ChunkRange;

/// The query that reads one chunk, columns in table order, rows in primary
/// key order when the table splits on (the first column of) its key.
pub fn select_statement(table: &Table, range: ChunkRange) -> anyhow::Result<String> {
    let columns: Vec<String> = table
        .columns
        .iter()
        .map(|c| select_expr(&quote_ident(&c.name), c.sql_type.split(['(', ' ']).next().unwrap_or("")))
        .collect();
    let from = rows_of(table);
    let key: Vec<String> = table.primary_key.iter().map(|c| quote_ident(c)).collect();
    // Every version of a row shares its key: the row end orders them.
    let mut order = key.clone();
    if let Some(versioning) = table.system_versioning.as_ref().filter(|v| v.history)
        && !table.primary_key.contains(&versioning.end)
        && !key.is_empty()
    {
        order.push(quote_ident(&versioning.end));
    }
    let order = if order.is_empty() { String::new() } else { format!(" ORDER BY {}", order.join(", ")) };
    let filter = match (integer_key(table), range) {
        (Some(integer), range) => key_filter(range, &quote_ident(integer))?,
        (None, ChunkRange::Bounds { start, end }) => {
            let bound = |i: Option<usize>| i.and_then(|i| table.key_bounds.get(i)).map(Vec::as_slice);
            tuple_filter(&key, bound(start), bound(end))
        }
        (None, other) => key_filter(other, "")?,
    };
    Ok(format!("SELECT {} FROM {from}{filter}{order}", columns.join(", ")))
}

/// A worker's connection inside its consistent snapshot.
pub struct MyReader {
    conn: MySqlConnection,
}

impl MyReader {
    /// A reader on `conn`, inside the dump's snapshot.
    pub fn new(conn: MySqlConnection) -> Self {
        MyReader { conn }
    }
}

impl ChunkReader for MyReader {
    fn read<'a>(
        &'a mut self,
        table: &'a Table,
        range: ChunkRange,
        out: &'a Sender<Piece>,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(send_chunk(&mut self.conn, table, range, out))
    }

    fn close(self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            let _ = sqlx::Connection::close(self.conn).await;
        })
    }
}

/// Streams one chunk as batches to the chunk's writer, then `End`.
async fn send_chunk(
    conn: &mut MySqlConnection,
    table: &Table,
    range: ChunkRange,
    tx: &Sender<Piece>,
) -> anyhow::Result<()> {
    let statement = select_statement(table, range)?;
    let mut out = BatchSender::new(tx, table.columns.len());
    let mut rows = sqlx::raw_sql(&statement).fetch(&mut *conn);
    while let Some(row) = rows.try_next().await.context("reading from MySQL failed")? {
        let mut bytes = 0;
        for (i, column) in out.columns().iter_mut().enumerate() {
            let value = row.try_get_raw(i)?;
            if value.is_null() {
                column.push(None);
            } else {
                let raw = <&[u8] as Decode<MySql>>::decode(value).map_err(|e| anyhow::anyhow!("{e}"))?;
                bytes += raw.len();
                column.push(Some(raw));
            }
        }
        if !out.end_row(bytes).await {
            return Ok(());
        }
    }
    out.finish().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Column, ColumnKind, SystemVersioning};

    fn versioned(history: bool) -> Table {
        let column = |name: &str, sql_type: &str| Column {
            name: name.into(),
            kind: ColumnKind::Integer,
            sql_type: sql_type.into(),
            nullable: false,
        };
        let mut columns = vec![column("id", "int(11)"), column("v", "int(11)")];
        if history {
            columns.extend([column("ROW_START", "timestamp(6)"), column("ROW_END", "timestamp(6)")]);
        }
        Table {
            name: "t".into(),
            columns,
            primary_key: vec!["id".into()],
            system_versioning: Some(SystemVersioning { start: "ROW_START".into(), end: "ROW_END".into(), history }),
            ..Table::default()
        }
    }

    #[test]
    fn a_history_is_read_for_system_time_all_each_row_version_in_key_then_end_order() {
        let range = ChunkRange::Keys { start: Some(1), end: Some(9) };
        assert_eq!(
            select_statement(&versioned(true), range).expect("statement"),
            "SELECT `id`, `v`, `ROW_START`, `ROW_END` FROM `t` FOR SYSTEM_TIME ALL WHERE `id` >= 1 AND `id` < 9 \
             ORDER BY `id`, `ROW_END`"
        );
        assert_eq!(
            select_statement(&versioned(false), range).expect("statement"),
            "SELECT `id`, `v` FROM `t` WHERE `id` >= 1 AND `id` < 9 ORDER BY `id`"
        );
    }
}
