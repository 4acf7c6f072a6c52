//! The PostgreSQL source: a coordinator exports its snapshot, every reader
//! imports it, and pg_dump takes the schema on it.

use futures_util::future::LocalBoxFuture;

use super::read::PgReader;
use super::snapshot::Coordinator;
use super::{catalog, schema};
use crate::catalog::Catalog;
use crate::db::source::{ChunkReader, SchemaScripts, SnapshotInfo, Source};
use crate::db::url::{DbUrl, Engine};
use crate::select::Selection;

/// One exported snapshot, held by the coordinator's transaction.
pub struct PgSource {
    url: DbUrl,
    coordinator: Coordinator,
}

impl PgSource {
    /// Opens the coordinator and exports its snapshot.
    pub async fn open(url: &DbUrl) -> anyhow::Result<Self> {
        Ok(PgSource { url: url.clone(), coordinator: Coordinator::begin(url).await? })
    }
}

impl Source for PgSource {
    fn engine(&self) -> Engine {
        Engine::Postgres
    }

    fn catalog<'a>(&'a mut self, selection: &'a Selection, _: u64) -> LocalBoxFuture<'a, anyhow::Result<Catalog>> {
        Box::pin(async move {
            let catalog = catalog::load(self.coordinator.conn(), selection).await?;
            self.coordinator.lock(&catalog.tables).await?;
            tracing::info!(tables = catalog.tables.len(), snapshot = %self.coordinator.snapshot_id, "Catalog read.");
            Ok(catalog)
        })
    }

    fn readers(&mut self, n: usize) -> LocalBoxFuture<'_, anyhow::Result<Vec<Box<dyn ChunkReader>>>> {
        Box::pin(async move {
            let mut readers: Vec<Box<dyn ChunkReader>> = Vec::with_capacity(n);
            for _ in 0..n.max(1) {
                readers.push(Box::new(PgReader::new(self.coordinator.worker(&self.url).await?)));
            }
            Ok(readers)
        })
    }

    fn schema<'a>(&'a mut self, catalog: &'a Catalog) -> LocalBoxFuture<'a, anyhow::Result<SchemaScripts>> {
        Box::pin(async move {
            let id = &self.coordinator.snapshot_id;
            Ok(SchemaScripts {
                pre: schema::dump(&self.url, id, schema::Section::PreData, catalog).await?,
                post: schema::dump(&self.url, id, schema::Section::PostData, catalog).await?,
            })
        })
    }

    fn finish(self: Box<Self>) -> LocalBoxFuture<'static, anyhow::Result<SnapshotInfo>> {
        Box::pin(async move {
            let id = self.coordinator.snapshot_id.clone();
            self.coordinator.finish().await?;
            Ok(SnapshotInfo {
                id: Some(id),
                method: "pg_export_snapshot() shared by every worker and pg_dump".to_owned(),
            })
        })
    }
}
