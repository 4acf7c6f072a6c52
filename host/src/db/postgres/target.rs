//! The PostgreSQL target: schema scripts on one connection, data files by
//! `COPY … FROM STDIN` on one connection per worker, each file in its own
//! transaction, then sequences.

use futures_util::future::{BoxFuture, LocalBoxFuture};
use sqlx::postgres::PgConnection;
use tokio::sync::mpsc::Receiver;

use super::{connect, large_objects, schema, write};
use crate::catalog::{Sequence, Table, TableKind};
use crate::db::progress::{ProgressRow, ProgressSql};
use crate::db::source::Piece;
use crate::db::target::{LoadFile, Loader, Loaders, Target};
use crate::db::url::{DbUrl, Engine};
use crate::format::Framing;

/// The restore bookkeeping, in a schema of its own.
const PROGRESS: ProgressSql = ProgressSql::POSTGRES;

/// A PostgreSQL database to restore into.
pub struct PgTarget {
    url: DbUrl,
    conn: Option<PgConnection>,
}

impl PgTarget {
    /// Connects.
    pub async fn open(url: &DbUrl) -> anyhow::Result<Self> {
        Ok(PgTarget { url: url.clone(), conn: Some(connect(url).await?) })
    }

    fn conn(&mut self) -> anyhow::Result<&mut PgConnection> {
        self.conn.as_mut().ok_or_else(|| anyhow::anyhow!("the PostgreSQL target is closed"))
    }
}

impl Target for PgTarget {
    fn engine(&self) -> Engine {
        Engine::Postgres
    }

    fn first_user_object(&mut self) -> LocalBoxFuture<'_, anyhow::Result<Option<String>>> {
        Box::pin(async move { write::first_user_object(self.conn()?).await })
    }

    fn clean(&mut self) -> LocalBoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async move { write::clean(self.conn()?).await })
    }

    fn apply_schema<'a>(&'a mut self, script: &'a str, name: &'a str) -> LocalBoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move { schema::apply(self.conn()?, script, name).await })
    }

    fn loaders<'a>(&'a mut self, n: usize, _: &'a [Table]) -> LocalBoxFuture<'a, anyhow::Result<Loaders>> {
        Box::pin(async move {
            let mut loaders: Vec<Box<dyn Loader>> = Vec::with_capacity(n);
            for _ in 0..n.max(1) {
                let mut conn = connect(&self.url).await?;
                // A crash mid-restore leaves a database to drop anyway;
                // commit latency only slows the load.
                sqlx::raw_sql("SET synchronous_commit = off").execute(&mut conn).await?;
                loaders.push(Box::new(PgLoader { conn }));
            }
            Ok(Loaders { loaders, in_dump_order: false })
        })
    }

    fn count_rows<'a>(&'a mut self, table: &'a Table) -> LocalBoxFuture<'a, anyhow::Result<u64>> {
        Box::pin(async move {
            // A configuration table also holds the rows its extension ships.
            let filter = table.extension_config.as_ref().and_then(|c| c.condition());
            let filter = filter.map(|c| format!(" WHERE {c}")).unwrap_or_default();
            let sql = format!("SELECT count(*) FROM ONLY {}{filter}", super::qualified(&table.schema, &table.name));
            let n: i64 = sqlx::query_scalar(&sql).fetch_one(self.conn()?).await?;
            Ok(n.max(0) as u64)
        })
    }

    fn truncate<'a>(&'a mut self, table: &'a Table) -> LocalBoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let sql = format!("TRUNCATE ONLY {}", super::qualified(&table.schema, &table.name));
            sqlx::raw_sql(&sql).execute(self.conn()?).await?;
            Ok(())
        })
    }

    fn progress_sql(&self) -> ProgressSql {
        PROGRESS
    }

    fn progress_rows(&mut self) -> LocalBoxFuture<'_, anyhow::Result<Vec<ProgressRow>>> {
        Box::pin(async move {
            let rows: Vec<(String, String, String, i64)> =
                sqlx::query_as(PROGRESS.select).fetch_all(self.conn()?).await?;
            Ok(rows.into_iter().map(ProgressRow::from).collect())
        })
    }

    fn finish<'a>(&'a mut self, sequences: &'a [Sequence]) -> LocalBoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            write::set_sequences(self.conn()?, sequences).await?;
            if let Some(conn) = self.conn.take() {
                let _ = sqlx::Connection::close(conn).await;
            }
            Ok(())
        })
    }
}

/// One worker's `COPY … FROM STDIN` connection.
struct PgLoader {
    conn: PgConnection,
}

impl Loader for PgLoader {
    fn framing(&self, _: &Table) -> Framing {
        Framing::Copy
    }

    fn load<'a>(
        &'a mut self,
        file: LoadFile<'a>,
        mut pieces: Receiver<Piece>,
    ) -> BoxFuture<'a, anyhow::Result<Option<u64>>> {
        Box::pin(async move {
            let large_objects = file.table.kind == TableKind::LargeObjects;
            // Pieces go through a staging table: COPY cannot write into
            // large objects, `lo_put` then can.
            let staging = large_objects.then(|| {
                let (schema, name) = large_objects::STAGING;
                Table { schema: schema.to_owned(), name: name.to_owned(), ..file.table.clone() }
            });
            let statement = write::copy_in_statement(staging.as_ref().unwrap_or(file.table), file.format);
            sqlx::Executor::execute(&mut self.conn, "BEGIN").await?;
            if large_objects {
                sqlx::Executor::execute(&mut self.conn, large_objects::CREATE_STAGING).await?;
            }
            let copied = async {
                let mut copy = self.conn.copy_in_raw(&statement).await?;
                loop {
                    let sent = match pieces.recv().await {
                        Some(Piece::Data(bytes)) => copy.send(bytes).await.map(drop),
                        Some(Piece::End) => return Ok(copy.finish().await?),
                        Some(Piece::Batch(_)) => Err(sqlx::Error::Protocol("COPY got rows in batches".into())),
                        None => {
                            let _ = copy.abort("sluice: reading the dump file failed").await;
                            anyhow::bail!("the file's reader stopped before its end");
                        }
                    };
                    if let Err(e) = sent {
                        let _ = copy.abort("sluice: the load failed").await;
                        return Err(anyhow::Error::new(e).context("loading into PostgreSQL failed"));
                    }
                }
            }
            .await;
            let outcome = copied.and_then(|rows| {
                if rows != file.rows {
                    anyhow::bail!("loaded {rows} rows, manifest says {}", file.rows);
                }
                Ok(rows)
            });
            let outcome = match outcome {
                Ok(rows) if large_objects => sqlx::Executor::execute(&mut self.conn, large_objects::WRITE_STAGED)
                    .await
                    .map(|_| rows)
                    .map_err(|e| anyhow::Error::new(e).context("cannot write the large objects' pieces")),
                other => other,
            };
            let outcome = match (outcome, file.record) {
                (Ok(rows), Some(record)) => sqlx::Executor::execute(&mut self.conn, record)
                    .await
                    .map(|_| rows)
                    .map_err(|e| anyhow::Error::new(e).context("cannot record the loaded file")),
                (other, _) => other,
            };
            match outcome {
                Ok(rows) => {
                    sqlx::Executor::execute(&mut self.conn, "COMMIT").await?;
                    Ok(Some(rows))
                }
                Err(e) => {
                    let _ = sqlx::Executor::execute(&mut self.conn, "ROLLBACK").await;
                    Err(e)
                }
            }
        })
    }

    fn close(self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            let _ = sqlx::Connection::close(self.conn).await;
        })
    }
}
