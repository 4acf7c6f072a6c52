//! The target seam: a database a dump is restored into ([`Target`]) and
//! the worker connections that load its data files ([`Loader`]). Each
//! engine implements both in `db/<engine>/target.rs`; `restore` holds them
//! as trait objects and never names an engine.

use futures_util::future::{BoxFuture, LocalBoxFuture};
use tokio::sync::mpsc::Receiver;

use super::progress::{ProgressRow, ProgressSql};
use super::source::Piece;
use super::url::Engine;
use crate::catalog::{Sequence, Table};
use crate::format::{Format, Framing};

/// How a MySQL restore sends rows (`--mysql-load`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum MysqlLoad {
    /// `load-data` when the server has `local_infile` on, else `insert`.
    #[default]
    Auto,
    /// `LOAD DATA LOCAL INFILE`, the dump's INSERTs converted on the way.
    LoadData,
    /// The dump's INSERT statements as they are.
    Insert,
}

/// What opening a target needs besides its URL.
#[derive(Debug, Clone, Copy, Default)]
pub struct TargetOptions {
    /// MySQL: LOAD DATA or INSERT.
    pub mysql_load: MysqlLoad,
    /// MySQL: keep binary logging of the loaded rows.
    pub enable_binlog: bool,
}

/// The loaders of a restore.
pub struct Loaders {
    /// One per worker connection.
    pub loaders: Vec<Box<dyn Loader>>,
    /// Whether files must load one after another in the dump's order
    /// (tables in order, each table's chunks in order) instead of largest
    /// first in parallel: a single-writer engine keeps its rows' order so.
    pub in_dump_order: bool,
}

/// A restore target database, opened by [`super::open_target`].
///
/// The contract, in call order: [`Target::first_user_object`] (and
/// [`Target::clean`] when the user asked for it), [`Target::apply_schema`]
/// for the pre-data script, [`Target::loaders`] once, the loads,
/// `apply_schema` for the post-data script, [`Target::count_rows`] for the
/// tables no loader counted, and [`Target::finish`] last. Like
/// [`super::Source`], its futures run on the orchestrating task (not
/// `Send`); the loaders' run on the pool's tasks (`Send`).
pub trait Target: Send {
    /// The engine, to refuse a dump of another one.
    fn engine(&self) -> Engine;

    /// The first user object in the target, if any (`table x`).
    fn first_user_object(&mut self) -> LocalBoxFuture<'_, anyhow::Result<Option<String>>>;

    /// Drops every user object (`--clean`).
    fn clean(&mut self) -> LocalBoxFuture<'_, anyhow::Result<()>>;

    /// Runs a schema script of the dump; `name` names it in errors.
    fn apply_schema<'a>(&'a mut self, script: &'a str, name: &'a str) -> LocalBoxFuture<'a, anyhow::Result<()>>;

    /// `n` (at least one) loader connections for `tables`; it may return
    /// fewer (a single-writer engine returns one).
    fn loaders<'a>(&'a mut self, n: usize, tables: &'a [Table]) -> LocalBoxFuture<'a, anyhow::Result<Loaders>>;

    /// The rows of `table` now in the target.
    fn count_rows<'a>(&'a mut self, table: &'a Table) -> LocalBoxFuture<'a, anyhow::Result<u64>>;

    /// The dialect of the restore bookkeeping ([`super::progress`]).
    fn progress_sql(&self) -> ProgressSql;

    /// The bookkeeping's rows, as they are (the table exists).
    fn progress_rows(&mut self) -> LocalBoxFuture<'_, anyhow::Result<Vec<ProgressRow>>>;

    /// The bookkeeping's rows, the table created when missing.
    fn progress(&mut self) -> LocalBoxFuture<'_, anyhow::Result<Vec<ProgressRow>>> {
        Box::pin(async move {
            let create = self.progress_sql().create;
            self.apply_schema(create, "the restore bookkeeping").await?;
            self.progress_rows().await
        })
    }

    /// The statement that records `row`: a loader runs it inside a file's
    /// transaction, a schema script ends with it.
    fn record_statement(&self, row: &ProgressRow) -> String {
        self.progress_sql().insert(row)
    }

    /// The statement that removes the row of `item` (a file a resume loads
    /// again).
    fn forget_statement(&self, item: &str) -> String {
        self.progress_sql().delete(item)
    }

    /// Drops the bookkeeping once the restore is complete.
    fn drop_progress(&mut self) -> LocalBoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async move {
            let drop = self.progress_sql().drop;
            self.apply_schema(drop, "dropping the restore bookkeeping").await
        })
    }

    /// Which of `tables` load without a transaction (MySQL MyISAM, Aria,
    /// MEMORY): a resume empties and reloads those whole.
    fn non_transactional<'a>(&'a mut self, tables: &'a [Table]) -> LocalBoxFuture<'a, anyhow::Result<Vec<bool>>> {
        Box::pin(async move { Ok(vec![false; tables.len()]) })
    }

    /// Empties `table` (before a resume reloads it whole).
    fn truncate<'a>(&'a mut self, table: &'a Table) -> LocalBoxFuture<'a, anyhow::Result<()>>;

    /// Sets the sequences the dump recorded, resets the session, closes.
    fn finish<'a>(&'a mut self, sequences: &'a [Sequence]) -> LocalBoxFuture<'a, anyhow::Result<()>>;
}

/// One data file to load.
#[derive(Debug, Clone, Copy)]
pub struct LoadFile<'a> {
    /// Its table, with the columns the file holds.
    pub table: &'a Table,
    /// What the bytes sent are in: the dump's format, or COPY text when a
    /// formatter component parsed the file.
    pub format: Format,
    /// The rows the manifest says it holds.
    pub rows: u64,
    /// A statement to run inside the file's transaction, just before it
    /// commits (the restore's bookkeeping row).
    pub record: Option<&'a str>,
}

/// One worker's loading connection.
pub trait Loader: Send {
    /// How this loader wants a file of `table` handed to it.
    fn framing(&self, table: &Table) -> Framing;

    /// Loads one file from `pieces`, framed as [`Loader::framing`] said, in
    /// one transaction that commits only on [`Piece::End`]: a channel that
    /// closes without it (a file that failed its checksum or could not be
    /// decoded) leaves nothing of the file behind. Returns the rows the
    /// server counted, when it counts them (COPY, LOAD DATA); a loader that
    /// counts fails before committing when they differ from `file.rows`.
    fn load<'a>(
        &'a mut self,
        file: LoadFile<'a>,
        pieces: Receiver<Piece>,
    ) -> BoxFuture<'a, anyhow::Result<Option<u64>>>;

    /// Ends the session politely.
    fn close(self: Box<Self>) -> BoxFuture<'static, ()>;
}
