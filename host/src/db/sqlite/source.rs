//! The SQLite source: reader connections whose read transactions began
//! under one write lock; the first reads the catalog and the schema.

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::future::LocalBoxFuture;
use sqlx::sqlite::SqliteConnection;

use super::catalog::{self, Layout};
use super::read::LiteReader;
use super::schema;
use super::snapshot::{self, Snapshot};
use crate::catalog::{Catalog, Table};
use crate::db::source::{ChunkReader, SchemaScripts, SnapshotInfo, Source, SourceIdentity, SourceOptions};
use crate::db::url::{DbUrl, Engine};
use crate::format::Format;
use crate::select::Selection;

/// Connections on one read snapshot.
pub struct LiteSource {
    coordinator: SqliteConnection,
    spare: Vec<SqliteConnection>,
    journal_mode: String,
    layouts: Arc<HashMap<String, Layout>>,
    selection: Selection,
    readers: usize,
    path: String,
}

impl LiteSource {
    /// Opens `options.jobs` reader connections plus the coordinator on one
    /// snapshot.
    pub async fn open(url: &DbUrl, options: &SourceOptions) -> anyhow::Result<Self> {
        let snapshot = Snapshot::take(url, options.jobs.max(1) + 1).await?;
        let mut connections = snapshot.readers;
        let coordinator = connections.remove(0);
        Ok(LiteSource {
            coordinator,
            spare: connections,
            journal_mode: snapshot.journal_mode,
            layouts: Arc::default(),
            selection: Selection::default(),
            readers: 0,
            path: url.sqlite_path(),
        })
    }
}

impl Source for LiteSource {
    fn engine(&self) -> Engine {
        Engine::Sqlite
    }

    fn identity(&mut self) -> LocalBoxFuture<'_, anyhow::Result<SourceIdentity>> {
        Box::pin(async move {
            let path =
                std::fs::canonicalize(&self.path).map_or_else(|_| self.path.clone(), |p| p.display().to_string());
            // The size and the header (page size, change counter, schema
            // cookie) are recorded, not compared: every write changes them.
            let mut header = [0u8; 100];
            let size = match std::fs::File::open(&self.path) {
                Ok(mut file) => {
                    use std::io::Read;
                    let _ = file.read_exact(&mut header);
                    file.metadata().map(|m| m.len()).unwrap_or(0)
                }
                Err(_) => 0,
            };
            Ok(SourceIdentity {
                engine: Engine::Sqlite,
                database: path.clone(),
                server: path,
                detail: format!("{size} bytes, header {}", hex::encode(&header[16..100])),
            })
        })
    }

    fn catalog<'a>(&'a mut self, selection: &'a Selection, _: u64) -> LocalBoxFuture<'a, anyhow::Result<Catalog>> {
        Box::pin(async move {
            self.selection = selection.clone();
            let (catalog, layouts) = catalog::load(&mut self.coordinator, selection).await?;
            self.layouts =
                Arc::new(catalog.tables.iter().map(|t| t.name.clone()).zip(layouts).collect::<HashMap<_, _>>());
            Ok(catalog)
        })
    }

    fn check_format<'a>(&'a mut self, tables: &'a [Table], format: Format) -> LocalBoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            match format {
                Format::Csv => super::csv::check(&mut self.coordinator, tables).await,
                Format::Copy | Format::Sql | Format::Jsonl | Format::Tsv => Ok(()),
            }
        })
    }

    fn readers(&mut self, n: usize) -> LocalBoxFuture<'_, anyhow::Result<Vec<Box<dyn ChunkReader>>>> {
        Box::pin(async move {
            let n = n.max(1).min(self.spare.len());
            self.readers = n;
            let layouts = self.layouts.clone();
            let readers: Vec<Box<dyn ChunkReader>> = self
                .spare
                .drain(..n)
                .map(|conn| Box::new(LiteReader::new(conn, layouts.clone())) as Box<dyn ChunkReader>)
                .collect();
            for conn in self.spare.drain(..) {
                let _ = snapshot::release(conn).await;
            }
            Ok(readers)
        })
    }

    fn schema<'a>(&'a mut self, catalog: &'a Catalog) -> LocalBoxFuture<'a, anyhow::Result<SchemaScripts>> {
        Box::pin(async move { schema::dump(&mut self.coordinator, catalog, &self.selection).await })
    }

    fn snapshot_id(&self) -> Option<String> {
        None
    }

    fn finish(self: Box<Self>) -> LocalBoxFuture<'static, anyhow::Result<SnapshotInfo>> {
        Box::pin(async move {
            let LiteSource { coordinator, spare, journal_mode, readers, .. } = *self;
            for conn in spare.into_iter().chain([coordinator]) {
                let _ = snapshot::release(conn).await;
            }
            Ok(SnapshotInfo {
                id: None,
                method: format!(
                    "{} read transaction(s) begun under one write lock (journal_mode={journal_mode})",
                    readers + 1
                ),
            })
        })
    }
}
