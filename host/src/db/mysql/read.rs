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
use crate::plan::ChunkRange;
use crate::worker::{BatchSender, Piece};

/// The query that reads one chunk, columns in table order, in key order
/// when the table splits on an integer key.
pub fn select_statement(table: &Table, range: ChunkRange) -> anyhow::Result<String> {
    let columns: Vec<String> = table
        .columns
        .iter()
        .map(|c| select_expr(&quote_ident(&c.name), c.sql_type.split(['(', ' ']).next().unwrap_or("")))
        .collect();
    let from = quote_ident(&table.name);
    Ok(match integer_key(table) {
        Some(key) => {
            let key = quote_ident(key);
            format!("SELECT {} FROM {from}{} ORDER BY {key}", columns.join(", "), range.key_filter(&key)?)
        }
        None => format!("SELECT {} FROM {from}{}", columns.join(", "), range.key_filter("")?),
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
