//! In-memory fakes of the source and target seams, for tests of the
//! orchestration without a server: a source whose tables are COPY text
//! and a target that keeps what each loader committed. They keep the
//! seams' contracts (a reader that fails never sends `End`; a load commits
//! only on `End`) and record the order of calls.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::future::{BoxFuture, LocalBoxFuture};
use tokio::sync::mpsc::{Receiver, Sender};

use super::source::{ChunkReader, Piece, SchemaScripts, SnapshotInfo, Source};
use super::target::{LoadFile, Loader, Loaders, Target};
use super::url::Engine;
use crate::catalog::{Catalog, Column, ColumnKind, Sequence, Table};
use crate::format::Framing;
use crate::plan::ChunkRange;
use crate::select::Selection;

/// What happened, in order: `reader closed`, `schema`, `finish`, …
pub type Log = Arc<Mutex<Vec<String>>>;

fn note(log: &Log, event: impl Into<String>) {
    log.lock().unwrap_or_else(|p| p.into_inner()).push(event.into());
}

/// A table of integer ids and text, as COPY text rows `id\tvalue\n`.
pub fn table(name: &str, rows: std::ops::Range<i64>) -> (Table, Vec<u8>) {
    let text: Vec<u8> = rows.clone().flat_map(|i| format!("{i}\tvalue {i}\n").into_bytes()).collect();
    let column = |name: &str, kind| Column { name: name.into(), sql_type: "text".into(), kind, nullable: false };
    let table = Table {
        schema: "public".into(),
        name: name.into(),
        columns: vec![column("id", ColumnKind::Integer), column("value", ColumnKind::Text)],
        primary_key: vec!["id".into()],
        estimated_rows: rows.end - rows.start,
        bytes: text.len() as u64,
        int_key: Some((rows.start, rows.end - 1)),
        ..Table::default()
    };
    (table, text)
}

/// A source of tables held in memory.
pub struct MemorySource {
    tables: Vec<(Table, Vec<u8>)>,
    /// A table whose reader fails after sending part of a chunk.
    pub fail: Option<String>,
    /// What happened.
    pub log: Log,
}

impl MemorySource {
    /// A source of `tables` (from [`table`]).
    pub fn new(tables: Vec<(Table, Vec<u8>)>) -> Self {
        MemorySource { tables, fail: None, log: Log::default() }
    }
}

impl Source for MemorySource {
    fn engine(&self) -> Engine {
        Engine::Postgres
    }

    fn identity(&mut self) -> LocalBoxFuture<'_, anyhow::Result<crate::db::SourceIdentity>> {
        Box::pin(async move {
            Ok(crate::db::SourceIdentity {
                engine: Engine::Postgres,
                database: "db".into(),
                server: "memory".into(),
                detail: String::new(),
            })
        })
    }

    fn catalog<'a>(&'a mut self, selection: &'a Selection, _: u64) -> LocalBoxFuture<'a, anyhow::Result<Catalog>> {
        Box::pin(async move {
            Ok(Catalog {
                server_version: "memory".into(),
                page_size: 0,
                tables: self
                    .tables
                    .iter()
                    .map(|(t, _)| t.clone())
                    .filter(|t| selection.selects(&t.schema, &t.name))
                    .collect(),
                schema_only: vec![],
                sequences: vec![Sequence { schema: "public".into(), name: "s".into(), last_value: 7, is_called: true }],
                foreign_keys: vec![],
                include_given: false,
                excluded: vec![],
                left_out: Vec::new(),
                large_objects: None,
                warnings: Vec::new(),
            })
        })
    }

    fn readers(&mut self, n: usize) -> LocalBoxFuture<'_, anyhow::Result<Vec<Box<dyn ChunkReader>>>> {
        Box::pin(async move {
            let rows: Arc<BTreeMap<String, Vec<u8>>> =
                Arc::new(self.tables.iter().map(|(t, text)| (t.name.clone(), text.clone())).collect());
            Ok((0..n.max(1))
                .map(|_| {
                    Box::new(MemoryReader { rows: rows.clone(), fail: self.fail.clone(), log: self.log.clone() })
                        as Box<dyn ChunkReader>
                })
                .collect())
        })
    }

    fn schema<'a>(&'a mut self, catalog: &'a Catalog) -> LocalBoxFuture<'a, anyhow::Result<SchemaScripts>> {
        Box::pin(async move {
            note(&self.log, "schema");
            let names: Vec<String> = catalog.tables.iter().map(|t| t.name.clone()).collect();
            Ok(SchemaScripts { pre: format!("-- create {}\n", names.join(", ")), post: "-- indexes\n".into() })
        })
    }

    fn snapshot_id(&self) -> Option<String> {
        Some("memory-1".into())
    }

    fn finish(self: Box<Self>) -> LocalBoxFuture<'static, anyhow::Result<SnapshotInfo>> {
        Box::pin(async move {
            note(&self.log, "finish");
            Ok(SnapshotInfo { id: Some("memory-1".into()), method: "one map read by every reader".into() })
        })
    }
}

struct MemoryReader {
    rows: Arc<BTreeMap<String, Vec<u8>>>,
    fail: Option<String>,
    log: Log,
}

impl ChunkReader for MemoryReader {
    fn read<'a>(
        &'a mut self,
        table: &'a Table,
        range: ChunkRange,
        out: &'a Sender<Piece>,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let text = self.rows.get(&table.name).cloned().unwrap_or_default();
            let (start, end) = match range {
                ChunkRange::Keys { start, end } => (start.unwrap_or(i64::MIN), end.unwrap_or(i64::MAX)),
                _ => (i64::MIN, i64::MAX),
            };
            let chunk: Vec<u8> = text
                .split_inclusive(|&b| b == b'\n')
                .filter(|row| {
                    let id: i64 = std::str::from_utf8(row.split(|&b| b == b'\t').next().unwrap_or_default())
                        .ok()
                        .and_then(|t| t.parse().ok())
                        .unwrap_or(0);
                    (start..end).contains(&id)
                })
                .flatten()
                .copied()
                .collect();
            if self.fail.as_deref() == Some(table.name.as_str()) {
                let half = chunk.len() / 2;
                let _ = out.send(Piece::Data(Bytes::copy_from_slice(&chunk[..half]))).await;
                anyhow::bail!("connection reset by peer");
            }
            if !chunk.is_empty() && out.send(Piece::Data(Bytes::from(chunk))).await.is_err() {
                return Ok(());
            }
            let _ = out.send(Piece::End).await;
            Ok(())
        })
    }

    fn close(self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async move { note(&self.log, "reader closed") })
    }
}

/// A target that keeps the bytes each loader committed, per table.
#[derive(Default)]
pub struct MemoryTarget {
    /// Committed COPY text per table.
    pub committed: Arc<Mutex<BTreeMap<String, Vec<u8>>>>,
    /// The object that makes it non-empty, if any.
    pub object: Option<String>,
    /// What happened: `clean`, `schema <name>`, `finish`, …
    pub log: Log,
}

impl Target for MemoryTarget {
    fn engine(&self) -> Engine {
        Engine::Postgres
    }

    fn first_user_object(&mut self) -> LocalBoxFuture<'_, anyhow::Result<Option<String>>> {
        Box::pin(async move { Ok(self.object.clone()) })
    }

    fn clean(&mut self) -> LocalBoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async move {
            note(&self.log, "clean");
            self.object = None;
            Ok(())
        })
    }

    fn apply_schema<'a>(&'a mut self, _: &'a str, name: &'a str) -> LocalBoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            note(&self.log, format!("schema {name}"));
            Ok(())
        })
    }

    fn loaders<'a>(&'a mut self, n: usize, _: &'a [Table]) -> LocalBoxFuture<'a, anyhow::Result<Loaders>> {
        Box::pin(async move {
            let loaders = (0..n.max(1))
                .map(|_| Box::new(MemoryLoader { committed: self.committed.clone() }) as Box<dyn Loader>)
                .collect();
            Ok(Loaders { loaders, in_dump_order: false })
        })
    }

    fn count_rows<'a>(&'a mut self, table: &'a Table) -> LocalBoxFuture<'a, anyhow::Result<u64>> {
        Box::pin(async move {
            let committed = self.committed.lock().unwrap_or_else(|p| p.into_inner());
            Ok(committed.get(&table.name).map_or(0, |t| t.iter().filter(|&&b| b == b'\n').count() as u64))
        })
    }

    fn progress_sql(&self) -> crate::db::progress::ProgressSql {
        crate::db::progress::ProgressSql::POSTGRES
    }

    fn progress_rows(&mut self) -> LocalBoxFuture<'_, anyhow::Result<Vec<crate::db::progress::ProgressRow>>> {
        Box::pin(async move { Ok(Vec::new()) })
    }

    fn progress(&mut self) -> LocalBoxFuture<'_, anyhow::Result<Vec<crate::db::progress::ProgressRow>>> {
        // The fake keeps no bookkeeping: every restore of it starts afresh.
        Box::pin(async move { Ok(Vec::new()) })
    }

    fn drop_progress(&mut self) -> LocalBoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async move {
            note(&self.log, "drop progress");
            Ok(())
        })
    }

    fn truncate<'a>(&'a mut self, table: &'a Table) -> LocalBoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            self.committed.lock().unwrap_or_else(|p| p.into_inner()).remove(&table.name);
            Ok(())
        })
    }

    fn finish<'a>(&'a mut self, sequences: &'a [Sequence]) -> LocalBoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            note(&self.log, format!("finish with {} sequences", sequences.len()));
            Ok(())
        })
    }
}

struct MemoryLoader {
    committed: Arc<Mutex<BTreeMap<String, Vec<u8>>>>,
}

impl Loader for MemoryLoader {
    fn framing(&self, _: &Table) -> Framing {
        Framing::Copy
    }

    fn load<'a>(
        &'a mut self,
        file: LoadFile<'a>,
        mut pieces: Receiver<Piece>,
    ) -> BoxFuture<'a, anyhow::Result<Option<u64>>> {
        Box::pin(async move {
            let mut text = Vec::new();
            loop {
                match pieces.recv().await {
                    Some(Piece::Data(bytes)) => text.extend_from_slice(&bytes),
                    Some(Piece::Batch(_)) => anyhow::bail!("rows in batches"),
                    Some(Piece::End) => break,
                    None => anyhow::bail!("the file's reader stopped before its end"),
                }
            }
            let rows = text.iter().filter(|&&b| b == b'\n').count() as u64;
            let mut committed = self.committed.lock().unwrap_or_else(|p| p.into_inner());
            committed.entry(file.table.name.clone()).or_default().extend_from_slice(&text);
            Ok(Some(rows))
        })
    }

    fn close(self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async {})
    }
}
