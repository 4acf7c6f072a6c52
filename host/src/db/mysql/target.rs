//! The MySQL/MariaDB target: schema scripts on one connection; data files
//! on one connection per worker, by `LOAD DATA LOCAL INFILE` when the
//! server allows it (rows counted by the server), else as the dump's own
//! INSERT statements (rows counted after the load).

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::future::{BoxFuture, LocalBoxFuture};
use sqlx::mysql::MySqlConnection;

use super::load::{LoadDataLoader, connect_loader};
use super::schema::RESET_SESSION;
use super::{
    INSERT_HISTORY, LENIENT_MODE, STRICT_MODE, connect, enum_columns, insert_history_failed, with_history, write,
};
use crate::catalog::{Sequence, Table};
use crate::db::progress::{ProgressRow, ProgressSql};
use crate::db::statements::{SqlConnection, StatementLoader};
use crate::db::target::{Loader, Loaders, MysqlLoad, Target, TargetOptions};
use crate::db::url::{DbUrl, Engine};
use anyhow::Context as _;

/// The restore bookkeeping: an InnoDB table in the target database.
const PROGRESS: ProgressSql = ProgressSql::MYSQL;

/// A MySQL or MariaDB database to restore into.
pub struct MyTarget {
    url: DbUrl,
    options: TargetOptions,
    conn: Option<MySqlConnection>,
}

impl MyTarget {
    /// Connects.
    pub async fn open(url: &DbUrl, options: &TargetOptions) -> anyhow::Result<Self> {
        Ok(MyTarget { url: url.clone(), options: *options, conn: Some(connect(url).await?) })
    }

    fn conn(&mut self) -> anyhow::Result<&mut MySqlConnection> {
        self.conn.as_mut().ok_or_else(|| anyhow::anyhow!("the MySQL target is closed"))
    }

    /// Whether files load by LOAD DATA (`--mysql-load`, `@@local_infile`).
    async fn load_data(&mut self) -> anyhow::Result<bool> {
        Ok(match self.options.mysql_load {
            MysqlLoad::LoadData => true,
            MysqlLoad::Insert => false,
            MysqlLoad::Auto => {
                let on: i64 = sqlx::query_scalar("SELECT @@local_infile + 0").fetch_one(self.conn()?).await?;
                on == 1
            }
        })
    }
}

impl Target for MyTarget {
    fn engine(&self) -> Engine {
        Engine::Mysql
    }

    fn first_user_object(&mut self) -> LocalBoxFuture<'_, anyhow::Result<Option<String>>> {
        Box::pin(async move { write::first_user_object(self.conn()?).await })
    }

    fn clean(&mut self) -> LocalBoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async move { write::clean(self.conn()?).await })
    }

    fn apply_schema<'a>(&'a mut self, script: &'a str, name: &'a str) -> LocalBoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move { write::apply(self.conn()?, script, name).await })
    }

    fn loaders<'a>(&'a mut self, n: usize, tables: &'a [Table]) -> LocalBoxFuture<'a, anyhow::Result<Loaders>> {
        Box::pin(async move {
            let mut loaders: Vec<Box<dyn Loader>> = Vec::with_capacity(n);
            let mut binlog_kept = false;
            if self.load_data().await? {
                let convert = Arc::new(write::non_utf8_columns(self.conn()?, tables).await?);
                for _ in 0..n.max(1) {
                    let (conn, kept) = connect_loader(&self.url, self.options.enable_binlog, tables).await?;
                    binlog_kept |= kept;
                    loaders.push(Box::new(LoadDataLoader::new(conn, convert.clone())));
                }
            } else {
                tracing::info!("Loading by INSERT (--mysql-load insert, or the server has local_infile off).");
                for _ in 0..n.max(1) {
                    let mut conn = connect(&self.url).await?;
                    sqlx::raw_sql(write::LOAD_SETTINGS).execute(&mut conn).await?;
                    if let Some(table) = with_history(tables) {
                        sqlx::raw_sql(INSERT_HISTORY)
                            .execute(&mut conn)
                            .await
                            .with_context(|| insert_history_failed(table))?;
                    }
                    if !self.options.enable_binlog && !write::skip_binlog(&mut conn).await {
                        binlog_kept = true;
                    }
                    let loader = StatementLoader::new(conn, "START TRANSACTION", true).around(
                        |t| enum_columns(t).contains(&true),
                        LENIENT_MODE,
                        STRICT_MODE,
                    );
                    loaders.push(Box::new(loader));
                }
            }
            if binlog_kept {
                eprintln!(
                    "warning: no privilege to turn the binary log off for the load (SET sql_log_bin); rows are logged"
                );
            }
            Ok(Loaders { loaders, in_dump_order: false })
        })
    }

    fn count_rows<'a>(&'a mut self, table: &'a Table) -> LocalBoxFuture<'a, anyhow::Result<u64>> {
        Box::pin(async move { write::count_rows(self.conn()?, table).await })
    }

    fn non_transactional<'a>(&'a mut self, tables: &'a [Table]) -> LocalBoxFuture<'a, anyhow::Result<Vec<bool>>> {
        Box::pin(async move {
            let engines: Vec<(String, Option<String>)> = sqlx::query_as(
                "SELECT CAST(TABLE_NAME AS CHAR), CAST(ENGINE AS CHAR) FROM information_schema.TABLES \
                 WHERE TABLE_SCHEMA = DATABASE()",
            )
            .fetch_all(self.conn()?)
            .await?;
            let engines: HashMap<String, Option<String>> = engines.into_iter().collect();
            // Only InnoDB rolls a failed load back; MyISAM, Aria, MEMORY keep
            // what was loaded before the failure.
            Ok(tables
                .iter()
                .map(|t| {
                    engines.get(&t.name).and_then(|e| e.as_deref()).is_some_and(|e| !e.eq_ignore_ascii_case("InnoDB"))
                })
                .collect())
        })
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

    fn finish<'a>(&'a mut self, _: &'a [Sequence]) -> LocalBoxFuture<'a, anyhow::Result<()>> {
        // MySQL sequences are objects of the schema scripts, values included.
        Box::pin(async move {
            write::apply(self.conn()?, RESET_SESSION, "resetting the session").await?;
            if let Some(conn) = self.conn.take() {
                let _ = sqlx::Connection::close(conn).await;
            }
            Ok(())
        })
    }
}

impl SqlConnection for MySqlConnection {
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
