//! Reads one chunk of a MySQL/MariaDB table over the text protocol (a plain
//! query, not a prepared one: zero dates stay dates, every value arrives as
//! the server's exact text, or raw bytes for binary columns).

use anyhow::Context;
use futures_util::TryStreamExt;
use sqlx::mysql::{MySql, MySqlConnection};
use sqlx::{Decode, Row, ValueRef};
use tokio::sync::mpsc::Sender;

use super::{catalog::integer_key, quote_ident, types::select_expr};
use crate::catalog::Table;
use crate::plan::{ChunkRange, tuple_filter};
use crate::worker::{BatchSender, Piece};

/// The query that reads one chunk, columns in table order, rows in primary
/// key order when the table splits on (the first column of) its key.
pub fn select_statement(table: &Table, range: ChunkRange) -> anyhow::Result<String> {
    let columns: Vec<String> = table
        .columns
        .iter()
        .map(|c| select_expr(&quote_ident(&c.name), c.sql_type.split(['(', ' ']).next().unwrap_or("")))
        .collect();
    let from = quote_ident(&table.name);
    Ok(match integer_key(table) {
        Some(key) => {
            let order: Vec<String> = table.primary_key.iter().map(|c| quote_ident(c)).collect();
            let filter = range.key_filter(&quote_ident(key))?;
            format!("SELECT {} FROM {from}{filter} ORDER BY {}", columns.join(", "), order.join(", "))
        }
        None => {
            let key: Vec<String> = table.primary_key.iter().map(|c| quote_ident(c)).collect();
            let filter = match range {
                ChunkRange::Bounds { start, end } => {
                    let bound = |i: Option<usize>| i.and_then(|i| table.key_bounds.get(i)).map(Vec::as_slice);
                    tuple_filter(&key, bound(start), bound(end))
                }
                other => other.key_filter("")?,
            };
            let order = if key.is_empty() { String::new() } else { format!(" ORDER BY {}", key.join(", ")) };
            format!("SELECT {} FROM {from}{filter}{order}", columns.join(", "))
        }
    })
}

/// Streams one chunk as batches to the chunk's writer, then `End`.
pub async fn send_chunk(
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
