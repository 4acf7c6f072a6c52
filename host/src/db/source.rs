//! The source seam: one consistent snapshot of a source database
//! ([`Source`]) and the worker connections that read chunks inside it
//! ([`ChunkReader`]). Each engine implements both in `db/<engine>/source.rs`
//! and `db/<engine>/read.rs`; `dump` holds them as trait objects and never
//! names an engine.

use bytes::Bytes;
use futures_util::future::{BoxFuture, LocalBoxFuture};
use tokio::sync::mpsc::Sender;

use serde::{Deserialize, Serialize};

use super::url::Engine;
use crate::batch::{Batch, ColumnData};
use crate::catalog::{Catalog, Table};
use crate::format::Format;
use crate::plan::ChunkRange;
use crate::select::Selection;

/// Rows per batch handed to a component.
pub const BATCH_ROWS: u32 = 4096;
/// Approximate bytes per batch handed to a component.
pub const BATCH_BYTES: usize = 4 << 20;

/// How a source's workers' snapshots are aligned (`--lock-mode`, MySQL and
/// MariaDB; the other engines have one way).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LockMode {
    /// `backup-stage` on MariaDB ≥ 10.4, else `ftwrl`.
    #[default]
    Auto,
    /// MariaDB's BACKUP STAGE.
    BackupStage,
    /// FLUSH TABLES WITH READ LOCK.
    Ftwrl,
    /// LOCK TABLES … READ on every base table of the database.
    LockTables,
    /// No lock: positions compared before and after.
    NoneValidate,
}

impl LockMode {
    /// Parses a `--lock-mode` value.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        Ok(match text {
            "auto" => LockMode::Auto,
            "backup-stage" => LockMode::BackupStage,
            "ftwrl" => LockMode::Ftwrl,
            "lock-tables" => LockMode::LockTables,
            "none-validate" => LockMode::NoneValidate,
            other => anyhow::bail!(
                "unknown lock mode '{other}' (expected auto, backup-stage, ftwrl, lock-tables or none-validate)"
            ),
        })
    }
}

/// What a dump does with PostgreSQL large objects (`--large-objects`, or
/// `large_objects` in the config).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LargeObjects {
    /// Carry them: every object with its OID, owner, ACL, comment and
    /// contents.
    #[default]
    Include,
    /// Leave them out on purpose (pg_dump `--no-large-objects`): the
    /// manifest records how many were left out.
    Exclude,
    /// Carry the objects (OID, owner, ACL, comment) but not their contents:
    /// they are restored empty, and the manifest says so.
    Empty,
}

impl LargeObjects {
    /// The flag's value, as clap spells it.
    pub fn name(self) -> String {
        clap::ValueEnum::to_possible_value(&self).map(|v| v.get_name().to_owned()).unwrap_or_default()
    }
}

/// What a dump does with the history rows of MariaDB system-versioned
/// tables (`--history`): the table and its current rows travel either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum History {
    /// Every row version, with its exact `ROW_START`/`ROW_END` (as
    /// `mariadb-dump --dump-history`); restore inserts them with
    /// `system_versioning_insert_history` (MariaDB 10.11 or later).
    #[default]
    Include,
    /// Current rows only: they get new `ROW_START` times on restore, and
    /// the manifest records the history as left out.
    Exclude,
}

/// What opening a source needs besides its URL.
#[derive(Debug, Clone, Default)]
pub struct SourceOptions {
    /// The most reader connections the dump will ask for.
    pub jobs: usize,
    /// MySQL/MariaDB snapshot alignment.
    pub lock_mode: LockMode,
    /// PostgreSQL large objects.
    pub large_objects: LargeObjects,
    /// Why `large_objects` is what it is (`--large-objects exclude`), for
    /// the manifest's `left_out` when they are not carried whole.
    pub large_objects_reason: String,
    /// MariaDB system-versioned tables' history rows.
    pub history: History,
    /// PostgreSQL: a snapshot exported by another session (`sluice snapshot
    /// hold`, `--snapshot NAME`, a resume) to read in, instead of
    /// exporting one.
    pub snapshot: Option<String>,
}

/// The snapshot a dump was asked to read in belongs to another database
/// of the server: the URL names another database than the snapshot's.
#[derive(Debug, thiserror::Error)]
#[error("snapshot {id} belongs to another database than this one")]
pub struct SnapshotElsewhere {
    /// The snapshot's id.
    pub id: String,
}

/// The snapshot a dump was asked to read in no longer exists (the session
/// that exported it has ended).
#[derive(Debug, thiserror::Error)]
#[error("snapshot {id} is gone: the session that exported it has ended")]
pub struct SnapshotGone {
    /// The snapshot's id.
    pub id: String,
}

/// Data the source holds that sluice cannot carry yet, found while reading
/// the catalog: the dump stops before any data is written (exit 2), naming
/// the objects and how to leave them out on purpose.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NotCarried(pub String);

/// The schema scripts of a dump: what restore runs before and after the data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchemaScripts {
    /// Types, tables (with their primary keys): before the data.
    pub pre: String,
    /// Indexes, constraints, triggers, views: after the data.
    pub post: String,
}

/// Which database a dump reads, as the server says (not as the URL says:
/// two URLs can name one database, and one URL can name another database
/// after a failover).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceIdentity {
    /// The engine.
    pub engine: Engine,
    /// The database (PostgreSQL, MySQL) or the file's canonical path (SQLite).
    pub database: String,
    /// What identifies the server: PostgreSQL's `system_identifier`,
    /// MariaDB's `server_uuid` (or `@@hostname:@@port` without one), for
    /// SQLite nothing more than the path.
    pub server: String,
    /// What is recorded without being compared (SQLite: the file's size and
    /// header, which every write changes).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

impl SourceIdentity {
    /// Why `other` is not the same database, or None when it is.
    pub fn differs(&self, other: &SourceIdentity) -> Option<String> {
        if self.engine != other.engine {
            return Some(format!(
                "the interrupted dump read {}, this is {}",
                self.engine.label(),
                other.engine.label()
            ));
        }
        if self.database != other.database {
            return Some(format!("the interrupted dump read database {}, this is {}", self.database, other.database));
        }
        if self.server != other.server {
            return Some(format!(
                "the interrupted dump read server {}, this is server {} (another server, or one rebuilt)",
                self.server, other.server
            ));
        }
        None
    }
}

/// Where the snapshot was, for the manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnapshotInfo {
    /// The engine's id of the point in time (exported snapshot, GTID or
    /// binlog position), when it has one.
    pub id: Option<String>,
    /// How every reader was put at that point.
    pub method: String,
}

/// One consistent snapshot of a source database, opened by
/// [`super::open_source`].
///
/// The contract, in call order:
/// 1. [`Source::catalog`] once: the selected tables with their keys and
///    sizes, read inside the snapshot (and, where the engine needs it, the
///    tables locked against DDL until [`Source::finish`]);
/// 2. [`Source::readers`] once, with at most the `jobs` the source was
///    opened with: that many connections, each reading inside the same
///    snapshot;
/// 3. [`Source::schema`], which may run while the readers read;
/// 4. [`Source::finish`] only after every reader is closed and `schema`
///    has returned: it ends the snapshot, so a reader still reading
///    afterwards would no longer be consistent with the others.
///
/// Its futures are awaited by the orchestrating task itself, never spawned,
/// so they need not be `Send` (rustc cannot prove it for sqlx's generic
/// `Executor` futures behind a trait object); the readers' futures run on
/// the pool's tasks and are `Send`.
pub trait Source: Send {
    /// The engine, for the manifest and the components' dialect.
    fn engine(&self) -> Engine;

    /// The selected tables; `chunk_bytes` lets an engine sample the key
    /// boundaries that split big tables (MySQL's non-integer keys).
    fn catalog<'a>(
        &'a mut self,
        selection: &'a Selection,
        chunk_bytes: u64,
    ) -> LocalBoxFuture<'a, anyhow::Result<Catalog>>;

    /// Fails with [`NotCarried`] when the catalog's tables hold data that
    /// `format` cannot carry exactly (SQLite's storage classes in CSV);
    /// called before anything is written.
    fn check_format<'a>(&'a mut self, _tables: &'a [Table], _format: Format) -> LocalBoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async { Ok(()) })
    }

    /// `n` (at least one) reader connections inside the snapshot.
    fn readers(&mut self, n: usize) -> LocalBoxFuture<'_, anyhow::Result<Vec<Box<dyn ChunkReader>>>>;

    /// The schema scripts of the catalog's tables, taken in the snapshot.
    fn schema<'a>(&'a mut self, catalog: &'a Catalog) -> LocalBoxFuture<'a, anyhow::Result<SchemaScripts>>;

    /// Which database this is, as the server says: a resume checks it is
    /// the interrupted dump's.
    fn identity(&mut self) -> LocalBoxFuture<'_, anyhow::Result<SourceIdentity>>;

    /// The snapshot's id, when the engine has one (PostgreSQL's exported
    /// snapshot, MySQL's GTID or binlog position), for the frozen plan.
    fn snapshot_id(&self) -> Option<String>;

    /// Ends the snapshot; says where it was.
    fn finish(self: Box<Self>) -> LocalBoxFuture<'static, anyhow::Result<SnapshotInfo>>;
}

/// One worker's connection inside the snapshot.
pub trait ChunkReader: Send {
    /// Sends the rows of `table` in `range` to `out`: [`Piece::Data`] (COPY
    /// text) or [`Piece::Batch`]es, then [`Piece::End`]. A reader that stops
    /// early, for an error or because `out` closed, never sends `End`, so
    /// its chunk can never be committed.
    fn read<'a>(
        &'a mut self,
        table: &'a Table,
        range: ChunkRange,
        out: &'a Sender<Piece>,
    ) -> BoxFuture<'a, anyhow::Result<()>>;

    /// Replaces a connection that failed with a new one inside the same
    /// snapshot, so the chunk can be read again. An engine whose snapshot a
    /// new connection cannot join fails with [`CannotRejoin`].
    fn reconnect(&mut self) -> BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async { Err(anyhow::Error::new(CannotRejoin)) })
    }

    /// Ends the session politely (a dropped connection shows up in the
    /// server's log as an aborted one).
    fn close(self: Box<Self>) -> BoxFuture<'static, ()>;
}

/// A new connection cannot join the dump's snapshot (MySQL/MariaDB start a
/// snapshot per connection; SQLite's is a read transaction).
#[derive(Debug, thiserror::Error)]
#[error("a new connection cannot join this dump's snapshot")]
pub struct CannotRejoin;

/// A piece of a chunk's rows, on their way from a reader to the chunk's
/// writer, or of a data file on its way to a loader. Only `End` lets the
/// chunk be committed, so a reader or file that fails midway can never
/// produce something that looks whole.
#[derive(Debug)]
pub enum Piece {
    /// Bytes: COPY text from a reader; framed file bytes to a loader.
    Data(Bytes),
    /// Rows already in batches (engines without COPY).
    Batch(Batch),
    /// The sender finished cleanly (for a loader: the file's checksum
    /// matched).
    End,
}

/// Gathers rows read from an engine into batches of bounded size and sends
/// them to the chunk's writer (engines without COPY text).
pub struct BatchSender<'a> {
    tx: &'a Sender<Piece>,
    batch: Batch,
    bytes: usize,
}

impl<'a> BatchSender<'a> {
    /// A sender for rows of `width` columns.
    pub fn new(tx: &'a Sender<Piece>, width: usize) -> Self {
        BatchSender { tx, batch: Batch::with_columns(width), bytes: 0 }
    }

    /// The columns the current row's values are pushed to.
    pub fn columns(&mut self) -> &mut [ColumnData] {
        &mut self.batch.columns
    }

    /// Ends a row that added `bytes` of values; false when the writer is
    /// gone (it failed, and its error is the one to report).
    pub async fn end_row(&mut self, bytes: usize) -> bool {
        self.batch.rows += 1;
        self.bytes += bytes;
        if self.batch.rows < BATCH_ROWS && self.bytes < BATCH_BYTES {
            return true;
        }
        let width = self.batch.columns.len();
        let full = std::mem::replace(&mut self.batch, Batch::with_columns(width));
        self.bytes = 0;
        self.tx.send(Piece::Batch(full.sealed())).await.is_ok()
    }

    /// Sends the last rows and `End`.
    pub async fn finish(self) {
        if self.batch.rows > 0 && self.tx.send(Piece::Batch(self.batch.sealed())).await.is_err() {
            return;
        }
        let _ = self.tx.send(Piece::End).await;
    }
}
