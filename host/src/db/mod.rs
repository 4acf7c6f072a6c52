//! Database engines behind two seams: [`Source`] (a consistent snapshot to
//! dump) and [`Target`] (a database to restore into). Each engine folder has
//! the same files: `source.rs`, `target.rs`, `catalog.rs`, `snapshot.rs`,
//! `read.rs`, `write.rs`, `schema.rs`, `types.rs`. [`open_source`] and
//! [`open_target`] are the only places that map an engine to its
//! implementation. Engines know nothing of wasm or of orchestration.

#[cfg(test)]
pub mod memory;
pub mod mysql;
pub mod postgres;
pub mod progress;
pub mod ranges;
pub mod retry;
pub mod source;
pub mod sqlite;
pub mod statements;
pub mod target;
pub mod url;

pub use source::{
    CannotRejoin, ChunkReader, History, LargeObjects, LockMode, NotCarried, Piece, SchemaScripts, SnapshotElsewhere,
    SnapshotGone, SnapshotInfo, Source, SourceIdentity, SourceOptions,
};
pub use target::{LoadFile, Loader, Loaders, MysqlLoad, Target, TargetOptions};
pub use url::{DbUrl, Engine, redact_url};

/// A snapshot held for other sessions (`sluice snapshot hold`): PostgreSQL
/// only, the one engine that can hand a snapshot to another session.
pub use postgres::snapshot::Holder as SnapshotHolder;

/// Exports and holds a snapshot of the database `url` names.
pub async fn hold_snapshot(url: &DbUrl) -> anyhow::Result<SnapshotHolder> {
    match url.engine() {
        Engine::Postgres => SnapshotHolder::export(url).await,
        other => anyhow::bail!("{} cannot export a snapshot for other sessions", other.label()),
    }
}

/// Opens a consistent snapshot of the database `url` names.
pub async fn open_source(url: &DbUrl, options: &SourceOptions) -> anyhow::Result<Box<dyn Source>> {
    Ok(match url.engine() {
        Engine::Postgres => Box::new(postgres::source::PgSource::open(url, options).await?),
        Engine::Mysql => Box::new(mysql::source::MySource::open(url, options).await?),
        Engine::Sqlite => Box::new(sqlite::source::LiteSource::open(url, options).await?),
    })
}

/// Connects to the database `url` names, to restore into it.
pub async fn open_target(url: &DbUrl, options: &TargetOptions) -> anyhow::Result<Box<dyn Target>> {
    Ok(match url.engine() {
        Engine::Postgres => Box::new(postgres::target::PgTarget::open(url).await?),
        Engine::Mysql => Box::new(mysql::target::MyTarget::open(url, options).await?),
        Engine::Sqlite => Box::new(sqlite::target::LiteTarget::open(url).await?),
    })
}
