//! Reading rows: `COPY (SELECT …) TO STDOUT` for a chunk, streamed as COPY
//! text (the native decoder to batches is `format::copy_text`).

use bytes::BytesMut;
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use sqlx::postgres::PgConnection;
use tokio::sync::mpsc::Sender;

use super::snapshot::Rejoin;
use super::{qualified, quote_ident};
use crate::catalog::{Table, TableKind};
use crate::db::source::{ChunkReader, Piece};
use crate::plan::ChunkRange;

/// Bytes gathered from the COPY stream before they go to the writer thread.
const SEND_BYTES: usize = 256 << 10;

/// A worker's connection inside the exported snapshot.
pub struct PgReader {
    conn: PgConnection,
    rejoin: Rejoin,
}

impl PgReader {
    /// A reader on `conn`, which has imported the snapshot; `rejoin` makes
    /// another after a lost connection.
    pub fn new(conn: PgConnection, rejoin: Rejoin) -> Self {
        PgReader { conn, rejoin }
    }
}

impl ChunkReader for PgReader {
    fn read<'a>(
        &'a mut self,
        table: &'a Table,
        range: ChunkRange,
        out: &'a Sender<Piece>,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move { copy_out(&mut self.conn, &copy_out_statement(table, range)?, out).await })
    }

    fn reconnect(&mut self) -> BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async move {
            self.conn = self.rejoin.connect().await?;
            Ok(())
        })
    }

    fn close(self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            let _ = sqlx::Connection::close(self.conn).await;
        })
    }
}

/// Streams a COPY … TO STDOUT to the writer, then `End`.
async fn copy_out(conn: &mut PgConnection, statement: &str, tx: &Sender<Piece>) -> anyhow::Result<()> {
    let mut stream = conn.copy_out_raw(statement).await?;
    // PostgreSQL sends one CopyData message per row: gathering them into
    // larger pieces wakes the writer thread once per piece, not per row.
    let mut pending = BytesMut::with_capacity(SEND_BYTES);
    while let Some(bytes) = stream.next().await {
        pending.extend_from_slice(&bytes?);
        if pending.len() >= SEND_BYTES {
            let piece = std::mem::replace(&mut pending, BytesMut::with_capacity(SEND_BYTES)).freeze();
            if tx.send(Piece::Data(piece)).await.is_err() {
                return Ok(()); // the writer failed; its error wins
            }
        }
    }
    if !pending.is_empty() && tx.send(Piece::Data(pending.freeze())).await.is_err() {
        return Ok(());
    }
    let _ = tx.send(Piece::End).await;
    Ok(())
}

/// The `COPY … TO STDOUT` statement that reads one chunk. `ONLY` keeps an
/// inheritance parent's rows apart from its children's (each child is its
/// own table in the dump).
pub fn copy_out_statement(table: &Table, range: ChunkRange) -> anyhow::Result<String> {
    if table.kind == TableKind::LargeObjects {
        return super::large_objects::copy_out_statement(table, range);
    }
    let columns: Vec<String> = table.columns.iter().map(|c| quote_ident(&c.name)).collect();
    let mut conditions: Vec<String> = table.extension_config.iter().filter_map(|c| c.condition()).collect();
    match range {
        ChunkRange::Whole => {}
        ChunkRange::Pages { start, end } => {
            conditions.push(format!("ctid >= '({start},0)'::tid"));
            if let Some(end) = end {
                conditions.push(format!("ctid < '({end},0)'::tid"));
            }
        }
        ChunkRange::Keys { .. } | ChunkRange::Bounds { .. } => {
            anyhow::bail!("PostgreSQL chunks are page ranges, not key ranges")
        }
    }
    let filter = if conditions.is_empty() { String::new() } else { format!(" WHERE {}", conditions.join(" AND ")) };
    Ok(format!(
        "COPY (SELECT {} FROM ONLY {}{filter}) TO STDOUT",
        columns.join(", "),
        qualified(&table.schema, &table.name)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::ColumnKind;

    #[test]
    fn chunk_statements_use_only_and_tid_ranges() {
        let table = Table {
            schema: "s\"q".into(),
            name: "T".into(),
            columns: vec![crate::catalog::Column {
                name: "a b".into(),
                sql_type: "text".into(),
                kind: ColumnKind::Text,
                nullable: true,
            }],
            ..Table::default()
        };
        assert_eq!(
            copy_out_statement(&table, ChunkRange::Pages { start: 4, end: Some(8) }).expect("pages"),
            "COPY (SELECT \"a b\" FROM ONLY \"s\"\"q\".\"T\" WHERE ctid >= '(4,0)'::tid AND ctid < '(8,0)'::tid) TO STDOUT"
        );
        assert!(copy_out_statement(&table, ChunkRange::Whole).expect("whole").ends_with("\"T\") TO STDOUT"));
    }

    #[test]
    fn a_configuration_table_reads_only_the_rows_its_condition_picks() {
        let mut table = Table { schema: "public".into(), name: "cfg".into(), ..Table::default() };
        table.columns.push(crate::catalog::Column {
            name: "id".into(),
            sql_type: "integer".into(),
            kind: ColumnKind::Integer,
            nullable: false,
        });
        table.extension_config =
            Some(crate::catalog::ExtensionConfig { extension: "x".into(), predicate: "id > 2 OR id < 0".into() });
        assert_eq!(
            copy_out_statement(&table, ChunkRange::Pages { start: 0, end: Some(8) }).expect("pages"),
            "COPY (SELECT \"id\" FROM ONLY \"public\".\"cfg\" WHERE (id > 2 OR id < 0) AND ctid >= '(0,0)'::tid \
             AND ctid < '(8,0)'::tid) TO STDOUT"
        );
        assert_eq!(
            copy_out_statement(&table, ChunkRange::Whole).expect("whole"),
            "COPY (SELECT \"id\" FROM ONLY \"public\".\"cfg\" WHERE (id > 2 OR id < 0)) TO STDOUT"
        );
    }
}
