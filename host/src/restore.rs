//! Restore: manifest → pre-data schema → parallel data load → post-data →
//! sequences → row-count check against the manifest.
//!
//! Data loads with `COPY … FROM STDIN`, one connection per worker. Files are
//! decoded natively (zstd, gzip, and the COPY/CSV text PostgreSQL reads
//! itself) or, with `--stages wasm`, through the codec component and the
//! formatter's parse direction, whose batches the host writes as COPY text.

use std::collections::VecDeque;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, anyhow, bail};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::cli::{Compression, Format, MysqlLoad, RestoreJob, StagesMode};
use crate::db::Engine;
use crate::db::postgres::{connect, schema, write};
use crate::error::{Failure, JobContext, UsageContext};
use crate::manifest::{ChunkRecord, Manifest, TableEntry};
use crate::progress::Progress;
use crate::sink::file::{HashingReader, ReadDigest, hash_file};
use crate::stage::bytes::Decoder;
use crate::stage::row::wit_table;
use crate::stage::{ComponentRef, Instances, Runtime, World};

/// How a dump's files are decoded, shared by restore and verify.
#[derive(Clone)]
pub struct Decoding {
    /// Data file format.
    pub format: Format,
    /// Data file compression.
    pub compression: Compression,
    /// Formatter component (parse direction).
    pub formatter: ComponentRef,
    /// Codec component, when compressed.
    pub codec: Option<ComponentRef>,
    /// Native decoders or components only.
    pub stages: StagesMode,
}

impl Decoding {
    /// Reads the format and compression a manifest declares.
    pub fn for_manifest(manifest: &Manifest, stages: StagesMode) -> anyhow::Result<Self> {
        let format = match manifest.format.as_str() {
            "copy" => Format::Copy,
            "csv" => Format::Csv,
            "sql" => Format::Sql,
            other => bail!("the manifest names an unknown format '{other}'"),
        };
        let compression = Compression::parse(&manifest.compression)?;
        Ok(Decoding {
            format,
            compression,
            formatter: ComponentRef::builtin(format.name(), World::Formatter)?,
            codec: compression.component().map(|n| ComponentRef::builtin(n, World::ByteTransform)).transpose()?,
            stages,
        })
    }

    /// Opens a chunk file and undoes its byte stage; the digest handle
    /// hashes the file's bytes as the decoder reads them.
    pub fn open<'a>(
        &self,
        path: &Path,
        runtime: &'a Runtime,
        codec: Option<&'a mut crate::stage::bytes::ByteInstance>,
    ) -> anyhow::Result<(Decoder<'a, HashingReader<std::io::BufReader<std::fs::File>>>, ReadDigest)> {
        let file = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let (file, digest) = HashingReader::new(std::io::BufReader::with_capacity(1 << 20, file));
        let decoder = match codec {
            Some(instance) => Decoder::wasm(instance, runtime, &self.compression.config_text(), file)?,
            None => Decoder::native(self.compression, file)?,
        };
        Ok((decoder, digest))
    }

    /// The codec to run as a component, if any.
    pub fn wasm_codec(&self) -> Option<&ComponentRef> {
        self.codec.as_ref().filter(|_| self.stages == StagesMode::Wasm)
    }

    /// Whether rows must go through the formatter component (else the
    /// decoded file is handed to PostgreSQL as is).
    pub fn parse_with_component(&self) -> bool {
        self.stages == StagesMode::Wasm
    }
}

/// `sluice restore`.
pub async fn run(job: RestoreJob) -> Result<(), Failure> {
    let manifest = Manifest::load(&job.dir).usage_err()?;
    match (manifest.source.engine, job.target.engine()) {
        (Engine::Postgres, Engine::Postgres) => run_postgres(job, manifest).await,
        (Engine::Sqlite, Engine::Sqlite) => run_sqlite(job, manifest).await,
        (Engine::Mysql, Engine::Mysql) => run_mysql(job, manifest).await,
        (from, to) => Err(Failure::usage(format!(
            "a {} dump restores into a {} target only, not {}",
            from.label(),
            from.label(),
            to.label()
        ))),
    }
}

async fn run_postgres(job: RestoreJob, manifest: Manifest) -> Result<(), Failure> {
    let Start { decoding, pre, post, tables, runtime, mut progress, clock } = start(&job, &manifest)?;
    let mut conn = connect(&job.target).await.job_err()?;
    let object = write::first_user_object(&mut conn).await.job_err()?;
    if must_clean(&job, object, &mut progress)? {
        write::clean(&mut conn).await.job_err()?;
    }
    progress.phase("pre-data schema");
    schema::apply(&mut conn, &pre, "schema/pre-data.sql").await.job_err()?;

    progress.phase("data");
    progress.begin(tables.iter().map(|t| t.chunks.len() as u64).sum());
    load_data(&job, &runtime, &decoding, &tables, progress.clone()).await.job_err()?;
    progress.finish();

    progress.phase("post-data schema");
    schema::apply(&mut conn, &post, "schema/post-data.sql").await.job_err()?;
    write::set_sequences(&mut conn, &manifest.sequences).await.job_err()?;
    // Every file's COPY count was checked against the manifest as it
    // loaded, so no table is scanned again to count it.
    let _ = sqlx::Connection::close(conn).await;
    report(&tables, Vec::new(), clock)
}

/// What every engine's restore starts with: the manifest's decoding, both
/// schema files (checked), the selected tables and the stage runtime.
struct Start {
    decoding: Decoding,
    pre: String,
    post: String,
    tables: Vec<Arc<TableEntry>>,
    runtime: Arc<Runtime>,
    progress: Progress,
    clock: Instant,
}

fn start(job: &RestoreJob, manifest: &Manifest) -> Result<Start, Failure> {
    Ok(Start {
        decoding: Decoding::for_manifest(manifest, job.stages).usage_err()?,
        pre: read_schema(&job.dir, &manifest.schema.pre_data).job_err()?,
        post: read_schema(&job.dir, &manifest.schema.post_data).job_err()?,
        tables: manifest
            .tables
            .iter()
            .filter(|t| job.selection.selects(&t.schema, &t.name))
            .cloned()
            .map(Arc::new)
            .collect(),
        runtime: Runtime::new(job.limits).job_err()?,
        progress: Progress::new(job.progress),
        clock: Instant::now(),
    })
}

/// Refuses a target that holds `object` unless `--clean` was given;
/// returns whether the target must be cleaned first.
fn must_clean(job: &RestoreJob, object: Option<String>, progress: &mut Progress) -> Result<bool, Failure> {
    let Some(object) = object else { return Ok(false) };
    if !job.clean {
        return Err(Failure::usage(format!(
            "target database {} is not empty (it has {object}): restore into an empty database or pass --clean",
            job.target
        )));
    }
    progress.phase("cleaning target");
    Ok(true)
}

/// The chunk's number within its table, for progress lines.
fn chunk_index(table: &TableEntry, chunk: &ChunkRecord) -> u32 {
    table.chunks.iter().position(|c| c.file == chunk.file).unwrap_or(0) as u32
}

/// Every file of the tables, largest first.
fn largest_first(tables: &[Arc<TableEntry>]) -> Vec<(Arc<TableEntry>, ChunkRecord)> {
    let mut work: Vec<(Arc<TableEntry>, ChunkRecord)> =
        tables.iter().flat_map(|t| t.chunks.iter().map(move |c| (t.clone(), c.clone()))).collect();
    work.sort_by_key(|w| std::cmp::Reverse(w.1.bytes));
    work
}

/// Fails on row-count mismatches, else prints the summary.
fn report(tables: &[Arc<TableEntry>], mismatches: Vec<String>, clock: Instant) -> Result<(), Failure> {
    if !mismatches.is_empty() {
        return Err(Failure::Job(anyhow!("row counts differ from the manifest: {}", mismatches.join("; "))));
    }
    let rows: u64 = tables.iter().map(|t| t.rows).sum();
    let secs = clock.elapsed().as_secs_f64().max(1e-3);
    println!("restored {} tables, {rows} rows in {secs:.2}s ({:.0} rows/s)", tables.len(), rows as f64 / secs);
    Ok(())
}

/// Restore into SQLite: one writer connection runs each file's INSERT
/// statements in a transaction of its own, tables in the dump's order and
/// each table's files in chunk order (so rows keep their order); a blocking
/// thread checks and decodes the next files meanwhile.
async fn run_sqlite(job: RestoreJob, manifest: Manifest) -> Result<(), Failure> {
    use crate::db::sqlite::{self, write as lite};
    let Start { decoding, pre, post, tables, runtime, mut progress, clock } = start(&job, &manifest)?;
    let mut conn = sqlite::connect(&job.target, true).await.job_err()?;
    let object = lite::first_user_object(&mut conn).await.job_err()?;
    if must_clean(&job, object, &mut progress)? {
        lite::clean(&mut conn).await.job_err()?;
    }
    sqlx::raw_sql(lite::LOAD_SETTINGS).execute(&mut conn).await.job_err()?;
    progress.phase("pre-data schema");
    lite::execute_in_transaction(&mut conn, &pre, "schema/pre-data.sql").await.job_err()?;

    progress.phase("data");
    progress.begin(tables.iter().map(|t| t.chunks.len() as u64).sum());
    let (tx, rx) = mpsc::channel::<SqlPiece>(4);
    let (dir, work) = (job.dir.clone(), tables.clone());
    let producer = tokio::task::spawn_blocking(move || produce_sql(&runtime, &decoding, &dir, &work, &tx));
    let loaded = run_sql_pieces(SqlTarget::Sqlite(&mut conn), rx, &progress).await;
    let produced = producer.await.map_err(|e| Failure::Job(anyhow!("the file reader stopped: {e}")))?;
    if let Err(e) = loaded.and(produced) {
        let _ = sqlx::raw_sql("ROLLBACK").execute(&mut conn).await;
        return Err(Failure::Job(e.context("loading into SQLite failed")));
    }
    progress.finish();

    progress.phase("post-data schema");
    lite::execute_in_transaction(&mut conn, &post, "schema/post-data.sql").await.job_err()?;
    lite::set_sequences(&mut conn, &manifest.sequences).await.job_err()?;
    progress.phase("checking row counts");
    let mut mismatches = Vec::new();
    for table in &tables {
        let count = lite::count_rows(&mut conn, &table.name).await.job_err()?;
        if count != table.rows {
            mismatches.push(format!("{}: {count} rows restored, manifest says {}", table.qualified(), table.rows));
        }
    }
    let _ = sqlx::Connection::close(conn).await;
    report(&tables, mismatches, clock)
}

/// Restore into MySQL/MariaDB: pre-data, then `-j` connections each load
/// whole files (largest first) as their INSERT statements, one transaction
/// per file, with foreign-key and unique checks off; then post-data
/// (secondary indexes, foreign keys, views, triggers, routines, events).
async fn run_mysql(job: RestoreJob, manifest: Manifest) -> Result<(), Failure> {
    use crate::db::mysql::{self, schema::RESET_SESSION, write as my};
    let Start { decoding, pre, post, tables, runtime, mut progress, clock } = start(&job, &manifest)?;
    let mut conn = mysql::connect(&job.target).await.job_err()?;
    let object = my::first_user_object(&mut conn).await.job_err()?;
    if must_clean(&job, object, &mut progress)? {
        my::clean(&mut conn).await.job_err()?;
    }
    progress.phase("pre-data schema");
    my::apply(&mut conn, &pre, "schema/pre-data.sql").await.job_err()?;

    progress.phase("data");
    progress.begin(tables.iter().map(|t| t.chunks.len() as u64).sum());
    // LOAD DATA reports each file's rows, checked as it loads; the INSERT
    // path counts every table afterwards.
    let counted = match job.mysql_load {
        MysqlLoad::LoadData => true,
        MysqlLoad::Insert => false,
        MysqlLoad::Auto => {
            let on: i64 = sqlx::query_scalar("SELECT @@local_infile + 0").fetch_one(&mut conn).await.job_err()?;
            on == 1
        }
    };
    let loaded = if counted {
        let convert = my::non_utf8_columns(&mut conn, &tables).await.job_err()?;
        load_mysql_by_load_data(&job, &tables, convert, &runtime, &decoding, &progress).await
    } else {
        tracing::info!("Loading by INSERT (--mysql-load insert, or the server has local_infile off).");
        load_mysql_by_insert(&job, &tables, &runtime, &decoding, &progress).await
    };
    loaded.map_err(|e| Failure::Job(e.context("loading into MySQL failed")))?;
    progress.finish();

    progress.phase("post-data schema");
    my::apply(&mut conn, &post, "schema/post-data.sql").await.job_err()?;
    my::apply(&mut conn, RESET_SESSION, "resetting the session").await.job_err()?;
    let mut mismatches = Vec::new();
    if !counted {
        progress.phase("checking row counts");
    }
    for table in tables.iter().filter(|_| !counted) {
        let count = my::count_rows(&mut conn, &table.name).await.job_err()?;
        if count != table.rows {
            mismatches.push(format!("{}: {count} rows restored, manifest says {}", table.qualified(), table.rows));
        }
    }
    let _ = sqlx::Connection::close(conn).await;
    report(&tables, mismatches, clock)
}

/// Loads every data file by running its INSERT statements (servers with
/// `local_infile` off): `-j` connections, one transaction per file.
async fn load_mysql_by_insert(
    job: &RestoreJob,
    tables: &[Arc<TableEntry>],
    runtime: &Arc<Runtime>,
    decoding: &Decoding,
    progress: &Progress,
) -> anyhow::Result<()> {
    use crate::db::mysql::{self, write as my};
    let work = largest_first(tables);
    let workers = job.jobs.min(work.len()).max(1);
    let queue = Arc::new(Mutex::new(VecDeque::from(work)));
    let mut set = JoinSet::new();
    let mut binlog_kept = false;
    for _ in 0..workers {
        let mut worker = mysql::connect(&job.target).await?;
        sqlx::raw_sql(my::LOAD_SETTINGS).execute(&mut worker).await?;
        if !job.enable_binlog && !my::skip_binlog(&mut worker).await {
            binlog_kept = true;
        }
        let (queue, runtime, decoding, dir, progress) =
            (queue.clone(), runtime.clone(), decoding.clone(), job.dir.clone(), progress.clone());
        set.spawn(async move {
            let mut instances = Instances::default();
            loop {
                let next = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
                let Some((table, chunk)) = next else { break };
                let (tx, rx) = mpsc::channel::<SqlPiece>(4);
                let (runtime_b, decoding_b, dir_b, table_b, chunk_b) =
                    (runtime.clone(), decoding.clone(), dir.clone(), table.clone(), chunk.clone());
                let producer = tokio::task::spawn_blocking(move || {
                    let result = produce_sql_file(
                        &runtime_b,
                        &decoding_b,
                        &dir_b,
                        &table_b,
                        &chunk_b,
                        &mut instances,
                        &tx,
                        true,
                    );
                    (instances, result)
                });
                let loaded = run_sql_pieces(SqlTarget::Mysql(&mut worker), rx, &progress).await;
                let (back, produced) = producer.await.map_err(|e| anyhow!("the file reader stopped: {e}"))?;
                instances = back;
                if let Err(e) = loaded.and(produced) {
                    let _ = sqlx::Executor::execute(&mut worker, "ROLLBACK").await;
                    return Err(e.context(format!("table {} file {}", table.qualified(), chunk.file)));
                }
            }
            let _ = sqlx::Connection::close(worker).await;
            anyhow::Ok(())
        });
    }
    if binlog_kept {
        eprintln!("warning: no privilege to turn the binary log off for the load (SET sql_log_bin); rows are logged");
    }
    while let Some(joined) = set.join_next().await {
        if let Err(e) = joined.map_err(|e| anyhow!("a restore worker stopped: {e}")).and_then(|r| r) {
            set.abort_all();
            return Err(e);
        }
    }
    Ok(())
}

/// Loads every data file by `LOAD DATA LOCAL INFILE`, its INSERTs turned
/// into tab-separated rows on the way: `-j` connections, one transaction
/// per file, rows counted by the server and checked against the file and
/// the manifest, the file's checksum checked before its last piece is sent.
async fn load_mysql_by_load_data(
    job: &RestoreJob,
    tables: &[Arc<TableEntry>],
    convert: std::collections::HashMap<String, Vec<bool>>,
    runtime: &Arc<Runtime>,
    decoding: &Decoding,
    progress: &Progress,
) -> anyhow::Result<()> {
    use crate::db::mysql::load;
    use mysql_async::prelude::Queryable;
    let work = largest_first(tables);
    let workers = job.jobs.min(work.len()).max(1);
    let queue = Arc::new(Mutex::new(VecDeque::from(work)));
    let convert = Arc::new(convert);
    let mut set = JoinSet::new();
    let mut binlog_kept = false;
    for _ in 0..workers {
        let (mut conn, kept) = load::connect_loader(&job.target, job.enable_binlog).await?;
        binlog_kept |= kept;
        let (queue, runtime, decoding, dir, progress, convert) =
            (queue.clone(), runtime.clone(), decoding.clone(), job.dir.clone(), progress.clone(), convert.clone());
        set.spawn(async move {
            let mut instances = Instances::default();
            loop {
                let next = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
                let Some((table, chunk)) = next else { break };
                let flags = convert.get(&table.name).cloned().unwrap_or_default();
                let statement = load::load_statement(&table.name, &table.columns, &flags);
                let (tx, rx) = mpsc::channel::<load::Piece>(4);
                let (runtime_b, decoding_b, dir_b, table_b, chunk_b) =
                    (runtime.clone(), decoding.clone(), dir.clone(), table.clone(), chunk.clone());
                let producer = tokio::task::spawn_blocking(move || {
                    let result =
                        produce_load_rows(&runtime_b, &decoding_b, &dir_b, &table_b, &chunk_b, &mut instances, &tx);
                    if let Err(e) = &result {
                        // Fails the LOAD rather than letting it end short.
                        let _ = tx.blocking_send(Err(std::io::Error::other(format!("{e:#}"))));
                    }
                    (instances, result)
                });
                conn.query_drop("START TRANSACTION").await?;
                let loaded = load::load(&mut conn, &statement, rx).await;
                let (back, produced) = producer.await.map_err(|e| anyhow!("the file reader stopped: {e}"))?;
                instances = back;
                let context = || format!("table {} file {}", table.qualified(), chunk.file);
                // The file's own error says more than the LOAD it cut short.
                let rows = produced.with_context(context)?;
                let loaded = loaded.with_context(context)?;
                if loaded != rows || rows != chunk.rows {
                    bail!("{}: {rows} rows in the file, {loaded} loaded, manifest says {}", context(), chunk.rows);
                }
                conn.query_drop("COMMIT").await?;
                progress.chunk_done("restored", &table.qualified(), chunk_index(&table, &chunk), rows, chunk.bytes);
            }
            let _ = conn.disconnect().await;
            anyhow::Ok(())
        });
    }
    if binlog_kept {
        eprintln!("warning: no privilege to turn the binary log off for the load (SET sql_log_bin); rows are logged");
    }
    while let Some(joined) = set.join_next().await {
        if let Err(e) = joined.map_err(|e| anyhow!("a restore worker stopped: {e}")).and_then(|r| r) {
            set.abort_all();
            return Err(e);
        }
    }
    Ok(())
}

/// Decodes one file and sends its rows as LOAD DATA text; the checksum is
/// checked before the last piece goes. Returns the rows sent. Blocking.
fn produce_load_rows(
    runtime: &Runtime,
    decoding: &Decoding,
    dir: &Path,
    table: &TableEntry,
    chunk: &ChunkRecord,
    instances: &mut Instances,
    tx: &mpsc::Sender<crate::db::mysql::load::Piece>,
) -> anyhow::Result<u64> {
    const PIECE: usize = 1 << 20;
    let send = |piece: Vec<u8>| tx.blocking_send(Ok(piece.into())).map_err(|_| anyhow!("the loader stopped"));
    let parts = instances.for_chunk(runtime, None, decoding.wasm_codec())?;
    let path = dir.join(&chunk.file);
    let (mut input, digest) = decoding.open(&path, runtime, parts.codec)?;
    let mut converter = crate::db::mysql::load::InsertToRows::new(table.columns.len());
    let mut buf = vec![0u8; 1 << 20];
    let mut rows = Vec::with_capacity(2 * PIECE);
    let mut read_all = || -> anyhow::Result<()> {
        loop {
            let n = input.read(&mut buf).with_context(|| format!("cannot decode {}", path.display()))?;
            if n == 0 {
                return Ok(());
            }
            converter.feed(&buf[..n], &mut rows)?;
            if rows.len() >= PIECE {
                send(std::mem::replace(&mut rows, Vec::with_capacity(2 * PIECE)))?;
            }
        }
    };
    read_all().map_err(|e| explain(e, &path, chunk))?;
    check_digest(digest, chunk)?;
    converter.finish().map_err(|e| e.context(chunk.file.clone()))?;
    if !rows.is_empty() {
        send(rows)?;
    }
    Ok(converter.rows)
}

/// A connection that runs SQL text (engines whose dumps are INSERTs).
enum SqlTarget<'a> {
    Sqlite(&'a mut sqlx::sqlite::SqliteConnection),
    Mysql(&'a mut sqlx::mysql::MySqlConnection),
}

impl SqlTarget<'_> {
    async fn run(&mut self, sql: &str) -> anyhow::Result<()> {
        match self {
            SqlTarget::Sqlite(conn) => sqlx::Executor::execute(&mut **conn, sql).await.map(drop)?,
            SqlTarget::Mysql(conn) => sqlx::Executor::execute(&mut **conn, sql).await.map(drop)?,
        }
        Ok(())
    }
}

/// Runs what a file producer sends, on one connection.
async fn run_sql_pieces(
    mut conn: SqlTarget<'_>,
    mut rx: mpsc::Receiver<SqlPiece>,
    progress: &Progress,
) -> anyhow::Result<()> {
    while let Some(piece) = rx.recv().await {
        match piece {
            SqlPiece::Begin => conn.run("BEGIN").await?,
            SqlPiece::Statements(sql) => {
                conn.run(&String::from_utf8(sql).map_err(|_| anyhow!("a data file is not UTF-8 SQL"))?).await?;
            }
            SqlPiece::Commit { table, chunk } => {
                conn.run("COMMIT").await?;
                progress.chunk_done(
                    "restored",
                    &table.qualified(),
                    chunk_index(&table, &chunk),
                    chunk.rows,
                    chunk.bytes,
                );
            }
        }
    }
    Ok(())
}

/// What the SQLite loader runs: a file's statements between `Begin` and
/// `Commit`; a file that fails its checksum never reaches `Commit`.
enum SqlPiece {
    Begin,
    Statements(Vec<u8>),
    Commit { table: Arc<TableEntry>, chunk: ChunkRecord },
}

/// Decodes every file in load order into whole statements. Blocking.
fn produce_sql(
    runtime: &Runtime,
    decoding: &Decoding,
    dir: &Path,
    tables: &[Arc<TableEntry>],
    tx: &mpsc::Sender<SqlPiece>,
) -> anyhow::Result<()> {
    let mut instances = Instances::default();
    for table in tables {
        for chunk in &table.chunks {
            produce_sql_file(runtime, decoding, dir, table, chunk, &mut instances, tx, false)?;
        }
    }
    Ok(())
}

/// Decodes one file into whole statements between `Begin` and `Commit`;
/// the file's checksum is checked before `Commit` is sent. Blocking.
#[allow(clippy::too_many_arguments)]
fn produce_sql_file(
    runtime: &Runtime,
    decoding: &Decoding,
    dir: &Path,
    table: &Arc<TableEntry>,
    chunk: &ChunkRecord,
    instances: &mut Instances,
    tx: &mpsc::Sender<SqlPiece>,
    backslash_escapes: bool,
) -> anyhow::Result<()> {
    const PIECE: usize = 4 << 20;
    let send = |piece: SqlPiece| tx.blocking_send(piece).map_err(|_| anyhow!("the loader stopped"));
    let parts = instances.for_chunk(runtime, None, decoding.wasm_codec())?;
    let path = dir.join(&chunk.file);
    let (mut input, digest) = decoding.open(&path, runtime, parts.codec)?;
    let mut splitter = crate::db::sql_text::StatementSplitter::new(backslash_escapes);
    let mut buf = vec![0u8; 1 << 20];
    let mut ready = Vec::new();
    send(SqlPiece::Begin)?;
    let mut read_all = || -> anyhow::Result<()> {
        loop {
            let n = input.read(&mut buf).with_context(|| format!("cannot decode {}", path.display()))?;
            if n == 0 {
                return Ok(());
            }
            ready.extend(splitter.feed(&buf[..n]));
            if ready.len() >= PIECE {
                send(SqlPiece::Statements(std::mem::take(&mut ready)))?;
            }
        }
    };
    read_all().map_err(|e| explain(e, &path, chunk))?;
    check_digest(digest, chunk)?;
    splitter.finish().map_err(|e| anyhow!("{}: {e}", chunk.file))?;
    if !ready.is_empty() {
        send(SqlPiece::Statements(ready))?;
    }
    send(SqlPiece::Commit { table: table.clone(), chunk: chunk.clone() })
}

fn read_schema(dir: &Path, record: &crate::manifest::FileRecord) -> anyhow::Result<String> {
    let path = dir.join(&record.file);
    let (bytes, sha256) = hash_file(&path).with_context(|| format!("cannot read {}", path.display()))?;
    if bytes != record.bytes || sha256 != record.sha256 {
        bail!("{} does not match its checksum in the manifest", record.file);
    }
    std::fs::read_to_string(&path).with_context(|| format!("{} is not UTF-8", path.display()))
}

async fn load_data(
    job: &RestoreJob,
    runtime: &Arc<Runtime>,
    decoding: &Decoding,
    tables: &[Arc<TableEntry>],
    progress: Progress,
) -> anyhow::Result<()> {
    let work = largest_first(tables);
    let workers = job.jobs.min(work.len()).max(1);
    let queue = Arc::new(Mutex::new(VecDeque::from(work)));
    let mut set = JoinSet::new();
    for _ in 0..workers {
        let mut conn = connect(&job.target).await?;
        // A crash mid-restore leaves a database to drop anyway; commit
        // latency only slows the load.
        sqlx::raw_sql("SET synchronous_commit = off").execute(&mut conn).await?;
        let queue = queue.clone();
        let runtime = runtime.clone();
        let decoding = decoding.clone();
        let dir = job.dir.clone();
        let progress = progress.clone();
        set.spawn(async move {
            let mut instances = Instances::default();
            loop {
                let next = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
                let Some((table, chunk)) = next else { break };
                let (back, result) =
                    load_chunk(&mut conn, &runtime, &decoding, &dir, table.clone(), &chunk, instances).await;
                instances = back;
                let rows = result.with_context(|| format!("table {} file {}", table.qualified(), chunk.file))?;
                if rows != chunk.rows {
                    bail!(
                        "table {} file {}: loaded {rows} rows, manifest says {}",
                        table.qualified(),
                        chunk.file,
                        chunk.rows
                    );
                }
                progress.chunk_done("restored", &table.qualified(), chunk_index(&table, &chunk), rows, chunk.bytes);
            }
            let _ = sqlx::Connection::close(conn).await;
            anyhow::Ok(())
        });
    }
    while let Some(joined) = set.join_next().await {
        if let Err(e) = joined.map_err(|e| anyhow!("a restore worker stopped: {e}")).and_then(|r| r) {
            set.abort_all();
            return Err(e);
        }
    }
    Ok(())
}

/// Loads one chunk file; returns the rows PostgreSQL reports.
async fn load_chunk(
    conn: &mut sqlx::postgres::PgConnection,
    runtime: &Arc<Runtime>,
    decoding: &Decoding,
    dir: &Path,
    table: Arc<TableEntry>,
    chunk: &ChunkRecord,
    mut instances: Instances,
) -> (Instances, anyhow::Result<u64>) {
    let format = if decoding.parse_with_component() { Format::Copy } else { decoding.format };
    let statement = write::copy_in_statement(&table, format);
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(8);
    let path: PathBuf = dir.join(&chunk.file);
    let (runtime_b, decoding_b, chunk_b) = (runtime.clone(), decoding.clone(), chunk.clone());
    let producer = tokio::task::spawn_blocking(move || {
        let result = produce(&runtime_b, &decoding_b, &table, &chunk_b, &path, &mut instances, &tx);
        if result.is_err() {
            instances.reset();
        }
        (instances, result)
    });
    let loaded = async {
        let mut copy = conn.copy_in_raw(&statement).await?;
        while let Some(piece) = rx.recv().await {
            copy.send(piece).await?;
        }
        anyhow::Ok(copy)
    }
    .await;
    // If loading stopped early, the producer may be blocked on a full
    // channel: closing it lets the producer fail instead of waiting forever.
    drop(rx);
    let (instances, produced) = match producer.await {
        Ok(pair) => pair,
        Err(e) => return (Instances::default(), Err(anyhow!("chunk reader panicked: {e}"))),
    };
    let result = match (loaded, produced) {
        (Ok(copy), Ok(())) => copy.finish().await.map_err(Into::into),
        (Ok(copy), Err(e)) => {
            let _ = copy.abort("sluice: reading the dump file failed").await;
            Err(e)
        }
        (Err(e), _) => Err(e.context("loading into PostgreSQL failed")),
    };
    (instances, result)
}

/// Reads, decodes and (with components) re-encodes one file as COPY text,
/// sending pieces to the loader; fails, so the load is aborted before it
/// commits, when the file's bytes do not match the manifest. Blocking.
fn produce(
    runtime: &Runtime,
    decoding: &Decoding,
    table: &TableEntry,
    chunk: &ChunkRecord,
    path: &Path,
    instances: &mut Instances,
    tx: &mpsc::Sender<Vec<u8>>,
) -> anyhow::Result<()> {
    let formatter = decoding.parse_with_component().then_some(&decoding.formatter);
    let parts = instances.for_chunk(runtime, formatter, decoding.wasm_codec())?;
    let (input, digest) = decoding.open(path, runtime, parts.codec)?;
    send_rows(runtime, table, path, input, parts.formatter, tx).map_err(|e| explain(e, path, chunk))?;
    check_digest(digest, chunk)
}

fn mismatch(chunk: &ChunkRecord) -> anyhow::Error {
    anyhow!("{} does not match its size and SHA-256 in the manifest: not loaded", chunk.file)
}

/// Fails unless what was read of a file matches the manifest.
fn check_digest(digest: ReadDigest, chunk: &ChunkRecord) -> anyhow::Result<()> {
    let (bytes, sha256) = digest.finish();
    if bytes != chunk.bytes || sha256 != chunk.sha256 { Err(mismatch(chunk)) } else { Ok(()) }
}

/// A file that fails to decode is most often a damaged one: when its
/// checksum is wrong, say that rather than what the decoder tripped on.
fn explain(error: anyhow::Error, path: &Path, chunk: &ChunkRecord) -> anyhow::Error {
    match hash_file(path) {
        Ok((bytes, sha256)) if bytes != chunk.bytes || sha256 != chunk.sha256 => mismatch(chunk),
        _ => error,
    }
}

/// Streams a decoded file to the loader, through the formatter's parse
/// direction when one is given.
fn send_rows<R: Read>(
    runtime: &Runtime,
    table: &TableEntry,
    path: &Path,
    mut input: R,
    formatter: Option<&mut crate::stage::formatter::FormatterInstance>,
    tx: &mpsc::Sender<Vec<u8>>,
) -> anyhow::Result<()> {
    let send = |bytes: Vec<u8>| tx.blocking_send(bytes).map_err(|_| anyhow!("the loader stopped"));
    let mut buf = vec![0u8; 1 << 20];
    match formatter {
        None => loop {
            let n = input.read(&mut buf).with_context(|| format!("cannot decode {}", path.display()))?;
            if n == 0 {
                return Ok(());
            }
            send(buf[..n].to_vec())?;
        },
        Some(formatter) => {
            let binary: Vec<bool> =
                table.columns.iter().map(|c| c.kind == crate::catalog::ColumnKind::Binary).collect();
            let wit = wit_table(&entry_table(table), Engine::Postgres);
            formatter.parse_start(runtime, &wit, "")?;
            loop {
                let n = input.read(&mut buf).with_context(|| format!("cannot decode {}", path.display()))?;
                let batch = if n == 0 { formatter.parse_end(runtime)? } else { formatter.parse(runtime, &buf[..n])? };
                if batch.rows > 0 {
                    let mut text = Vec::with_capacity(batch.data_bytes() + batch.rows as usize * 8);
                    write::encode_copy_text(&batch, &binary, &mut text);
                    send(text)?;
                }
                if n == 0 {
                    return Ok(());
                }
            }
        }
    }
}

/// The catalog view of a manifest table, for the components' `table`.
pub fn entry_table(entry: &TableEntry) -> crate::catalog::Table {
    crate::catalog::Table {
        schema: entry.schema.clone(),
        name: entry.name.clone(),
        columns: entry.columns.clone(),
        primary_key: Vec::new(),
        estimated_rows: entry.rows as i64,
        bytes: entry.bytes,
        partition_of: None,
        unique: Vec::new(),
        int_key: None,
        key_bounds: Vec::new(),
    }
}
