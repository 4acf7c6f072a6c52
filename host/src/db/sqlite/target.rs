//! The SQLite target: SQLite has one writer, so one loader connection runs
//! every file's INSERT statements in a transaction of its own, in the
//! dump's order (rows keep their order); the target's own connection runs
//! the schema, the AUTOINCREMENT counters and the row counts.

use futures_util::future::{BoxFuture, LocalBoxFuture};
use sqlx::sqlite::SqliteConnection;

use super::{connect, write};
use crate::catalog::{Sequence, Table};
use crate::db::progress::{ProgressRow, ProgressSql};
use crate::db::statements::{SqlConnection, StatementLoader};
use crate::db::target::{Loader, Loaders, Target};
use crate::db::url::{DbUrl, Engine};

/// The restore bookkeeping: a table in the target file.
const PROGRESS: ProgressSql = ProgressSql::SQLITE;

/// A SQLite database to restore into (created when missing).
pub struct LiteTarget {
    url: DbUrl,
    conn: Option<SqliteConnection>,
}

impl LiteTarget {
    /// Opens (or creates) the database file.
    pub async fn open(url: &DbUrl) -> anyhow::Result<Self> {
        let mut conn = connect(url, true).await?;
        sqlx::raw_sql(write::LOAD_SETTINGS).execute(&mut conn).await?;
        Ok(LiteTarget { url: url.clone(), conn: Some(conn) })
    }

    fn conn(&mut self) -> anyhow::Result<&mut SqliteConnection> {
        self.conn.as_mut().ok_or_else(|| anyhow::anyhow!("the SQLite target is closed"))
    }
}

impl Target for LiteTarget {
    fn engine(&self) -> Engine {
        Engine::Sqlite
    }

    fn first_user_object(&mut self) -> LocalBoxFuture<'_, anyhow::Result<Option<String>>> {
        Box::pin(async move { write::first_user_object(self.conn()?).await })
    }

    fn clean(&mut self) -> LocalBoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async move { write::clean(self.conn()?).await })
    }

    fn apply_schema<'a>(&'a mut self, script: &'a str, name: &'a str) -> LocalBoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move { write::execute_in_transaction(self.conn()?, script, name).await })
    }

    fn loaders<'a>(&'a mut self, _: usize, _: &'a [Table]) -> LocalBoxFuture<'a, anyhow::Result<Loaders>> {
        Box::pin(async move {
            let mut conn = connect(&self.url, true).await?;
            sqlx::raw_sql(write::LOAD_SETTINGS).execute(&mut conn).await?;
            let loader = StatementLoader::new(conn, "BEGIN", false);
            Ok(Loaders { loaders: vec![Box::new(loader) as Box<dyn Loader>], in_dump_order: true })
        })
    }

    fn count_rows<'a>(&'a mut self, table: &'a Table) -> LocalBoxFuture<'a, anyhow::Result<u64>> {
        Box::pin(async move { write::count_rows(self.conn()?, &table.name).await })
    }

    fn truncate<'a>(&'a mut self, table: &'a Table) -> LocalBoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            sqlx::raw_sql(&format!("DELETE FROM {}", super::quote_ident(&table.name))).execute(self.conn()?).await?;
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

impl SqlConnection for SqliteConnection {
    fn run<'a>(&'a mut self, sql: &'a str) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            sqlx::Executor::execute(&mut *self, sql).await?;
            Ok(())
        })
    }

    fn close(self) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            let _ = sqlx::Connection::close(self).await;
        })
    }
}
