//! The MySQL/MariaDB source: every connection starts its consistent
//! snapshot while the lock mode holds commits still; the first connection
//! (the coordinator) reads the catalog and the schema, the others the rows.

use futures_util::future::LocalBoxFuture;
use sqlx::mysql::MySqlConnection;

use super::read::MyReader;
use super::snapshot::Snapshot;
use super::{catalog, schema};
use crate::catalog::Catalog;
use crate::db::source::{ChunkReader, History, SchemaScripts, SnapshotInfo, Source, SourceIdentity, SourceOptions};
use crate::db::url::{DbUrl, Engine};
use crate::select::Selection;

/// Connections inside one aligned snapshot.
pub struct MySource {
    coordinator: MySqlConnection,
    spare: Vec<MySqlConnection>,
    selection: Selection,
    history: History,
    info: SnapshotInfo,
    database: String,
}

impl MySource {
    /// Takes the snapshot on `options.jobs` reader connections plus the
    /// coordinator, so the schema is read while the rows are.
    pub async fn open(url: &DbUrl, options: &SourceOptions) -> anyhow::Result<Self> {
        let snapshot = Snapshot::take(url, options.jobs.max(1) + 1, options.lock_mode).await?;
        let info = SnapshotInfo { id: snapshot.gtid.clone().or(snapshot.binlog.clone()), method: snapshot.describe() };
        let mut connections = snapshot.readers;
        let coordinator = connections.remove(0);
        Ok(MySource {
            coordinator,
            spare: connections,
            selection: Selection::default(),
            history: options.history,
            info,
            database: url.database(),
        })
    }
}

impl Source for MySource {
    fn engine(&self) -> Engine {
        Engine::Mysql
    }

    fn identity(&mut self) -> LocalBoxFuture<'_, anyhow::Result<SourceIdentity>> {
        Box::pin(async move {
            // MySQL has `server_uuid`; MariaDB has none, so its host name
            // and port stand for the server.
            let (uuid, host): (Option<String>, String) =
                match sqlx::query_as("SELECT @@server_uuid, CONCAT(@@hostname, ':', @@port)")
                    .fetch_one(&mut self.coordinator)
                    .await
                {
                    Ok(row) => row,
                    Err(_) => (
                        None,
                        sqlx::query_scalar("SELECT CONCAT(@@hostname, ':', @@port)")
                            .fetch_one(&mut self.coordinator)
                            .await?,
                    ),
                };
            Ok(SourceIdentity {
                engine: Engine::Mysql,
                database: self.database.clone(),
                server: uuid.unwrap_or(host),
                detail: String::new(),
            })
        })
    }

    fn catalog<'a>(
        &'a mut self,
        selection: &'a Selection,
        chunk_bytes: u64,
    ) -> LocalBoxFuture<'a, anyhow::Result<Catalog>> {
        Box::pin(async move {
            self.selection = selection.clone();
            let conn = &mut self.coordinator;
            let mut catalog = catalog::load(conn, selection, self.history).await?;
            catalog::key_ranges(conn, &mut catalog.tables).await?;
            catalog::key_bounds(conn, &mut catalog.tables, chunk_bytes).await?;
            Ok(catalog)
        })
    }

    fn readers(&mut self, n: usize) -> LocalBoxFuture<'_, anyhow::Result<Vec<Box<dyn ChunkReader>>>> {
        Box::pin(async move {
            let n = n.max(1).min(self.spare.len());
            let readers: Vec<Box<dyn ChunkReader>> =
                self.spare.drain(..n).map(|conn| Box::new(MyReader::new(conn)) as Box<dyn ChunkReader>).collect();
            for conn in self.spare.drain(..) {
                let _ = sqlx::Connection::close(conn).await;
            }
            Ok(readers)
        })
    }

    fn schema<'a>(&'a mut self, catalog: &'a Catalog) -> LocalBoxFuture<'a, anyhow::Result<SchemaScripts>> {
        Box::pin(async move { schema::dump(&mut self.coordinator, catalog, &self.selection).await })
    }

    fn snapshot_id(&self) -> Option<String> {
        self.info.id.clone()
    }

    fn finish(self: Box<Self>) -> LocalBoxFuture<'static, anyhow::Result<SnapshotInfo>> {
        Box::pin(async move {
            let MySource { coordinator, spare, info, .. } = *self;
            for conn in spare.into_iter().chain([coordinator]) {
                let _ = sqlx::Connection::close(conn).await;
            }
            Ok(info)
        })
    }
}
