//! The PostgreSQL source: a coordinator exports its snapshot, every reader
//! imports it, and pg_dump takes the schema on it.

use futures_util::future::LocalBoxFuture;

use super::read::PgReader;
use super::snapshot::Coordinator;
use super::{catalog, large_objects, schema};
use crate::catalog::Catalog;
use crate::db::source::{
    ChunkReader, LargeObjects, SchemaScripts, SnapshotInfo, Source, SourceIdentity, SourceOptions,
};
use crate::db::url::{DbUrl, Engine};
use crate::select::Selection;

/// One exported snapshot, held by the coordinator's transaction.
pub struct PgSource {
    url: DbUrl,
    coordinator: Coordinator,
    large_objects: LargeObjects,
    large_objects_reason: String,
    /// Whether the snapshot is held by another session (`--snapshot`).
    held: bool,
}

impl PgSource {
    /// Opens the coordinator and exports its snapshot.
    pub async fn open(url: &DbUrl, options: &SourceOptions) -> anyhow::Result<Self> {
        let coordinator = Coordinator::begin(url, options.snapshot.as_deref()).await?;
        Ok(PgSource {
            url: url.clone(),
            coordinator,
            large_objects: options.large_objects,
            large_objects_reason: options.large_objects_reason.clone(),
            held: options.snapshot.is_some(),
        })
    }
}

impl Source for PgSource {
    fn engine(&self) -> Engine {
        Engine::Postgres
    }

    fn identity(&mut self) -> LocalBoxFuture<'_, anyhow::Result<SourceIdentity>> {
        Box::pin(async move {
            let (system, database): (i64, String) =
                sqlx::query_as("SELECT system_identifier, current_database()::text FROM pg_control_system()")
                    .fetch_one(self.coordinator.conn())
                    .await?;
            Ok(SourceIdentity { engine: Engine::Postgres, database, server: system.to_string(), detail: String::new() })
        })
    }

    fn catalog<'a>(
        &'a mut self,
        selection: &'a Selection,
        chunk_bytes: u64,
    ) -> LocalBoxFuture<'a, anyhow::Result<Catalog>> {
        Box::pin(async move {
            let mut catalog = catalog::load(self.coordinator.conn(), selection).await?;
            let reason = &self.large_objects_reason;
            match self.large_objects {
                LargeObjects::Include => {
                    if let Some((table, count)) =
                        large_objects::pseudo_table(self.coordinator.conn(), chunk_bytes).await?
                    {
                        catalog.tables.push(table);
                        catalog.large_objects = Some(count);
                    }
                }
                LargeObjects::Exclude | LargeObjects::Empty => {
                    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_largeobject_metadata")
                        .fetch_one(self.coordinator.conn())
                        .await?;
                    let what = match self.large_objects {
                        LargeObjects::Exclude => format!("{n} large object(s)"),
                        _ => format!("the contents of {n} large object(s), restored empty"),
                    };
                    if n > 0 {
                        catalog.left_out.push(format!("{what} ({reason})"));
                    }
                }
            }
            self.coordinator.lock(&catalog.tables).await?;
            tracing::info!(tables = catalog.tables.len(), snapshot = %self.coordinator.snapshot_id, "Catalog read.");
            Ok(catalog)
        })
    }

    fn readers(&mut self, n: usize) -> LocalBoxFuture<'_, anyhow::Result<Vec<Box<dyn ChunkReader>>>> {
        Box::pin(async move {
            let mut readers: Vec<Box<dyn ChunkReader>> = Vec::with_capacity(n);
            for _ in 0..n.max(1) {
                let rejoin = self.coordinator.rejoin(&self.url);
                readers.push(Box::new(PgReader::new(rejoin.connect().await?, rejoin)));
            }
            Ok(readers)
        })
    }

    fn schema<'a>(&'a mut self, catalog: &'a Catalog) -> LocalBoxFuture<'a, anyhow::Result<SchemaScripts>> {
        Box::pin(async move {
            let id = &self.coordinator.snapshot_id;
            Ok(SchemaScripts {
                pre: schema::dump(&self.url, id, schema::Section::PreData, catalog, self.large_objects).await?,
                post: schema::dump(&self.url, id, schema::Section::PostData, catalog, self.large_objects).await?,
            })
        })
    }

    fn snapshot_id(&self) -> Option<String> {
        Some(self.coordinator.snapshot_id.clone())
    }

    fn finish(self: Box<Self>) -> LocalBoxFuture<'static, anyhow::Result<SnapshotInfo>> {
        Box::pin(async move {
            let id = self.coordinator.snapshot_id.clone();
            self.coordinator.finish().await?;
            let method = if self.held {
                "a snapshot held by another session (sluice snapshot hold), imported by every worker and pg_dump"
            } else {
                "pg_export_snapshot() shared by every worker and pg_dump"
            };
            Ok(SnapshotInfo { id: Some(id), method: method.to_owned() })
        })
    }
}
