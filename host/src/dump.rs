//! Dump orchestration: catalog → plan → snapshot → worker pool → manifest.
//!
//! The coordinator's snapshot stays open until every worker and both
//! pg_dump runs are done. Any failure stops the other workers and leaves no
//! manifest, so a failed dump never looks complete.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, anyhow};
use bytes::BytesMut;
use futures_util::StreamExt;
use sqlx::mysql::MySqlConnection;
use sqlx::postgres::PgConnection;
use sqlx::sqlite::SqliteConnection;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::catalog::{Catalog, Table};
use crate::cli::{DumpJob, Format, StagesMode};
use crate::db::Engine;
use crate::db::postgres::{read, schema, snapshot::Coordinator};
use crate::db::{mysql, sqlite};
use crate::error::{Failure, JobContext, UsageContext};
use crate::manifest::{self, ChunkRecord, ComponentRecord, FileRecord, Manifest, SchemaFiles, TableEntry};
use crate::masking::{self, MaskPlan, TableMasking};
use crate::plan::{self, Chunk};
use crate::progress::Progress;
use crate::sink::{chunk_file_name, file::hash_file};
use crate::stage::row::wit_table;
use crate::stage::{ComponentRef, ComponentSource, Instances, Runtime, StageError, World};
use crate::worker::{self, ChunkJob, ChunkOutcome, Piece, TablePipeline};

/// `sluice dump`.
pub async fn run(job: DumpJob) -> Result<(), Failure> {
    match job.source.engine() {
        Engine::Postgres => run_postgres(job).await,
        Engine::Sqlite => run_sqlite(job).await,
        Engine::Mysql => run_mysql(job).await,
    }
}

async fn run_mysql(job: DumpJob) -> Result<(), Failure> {
    prepare_out_dir(&job.out)?;
    let started = (manifest::now(), Instant::now());
    let mut progress = Progress::new(job.progress);

    let snapshot = mysql::snapshot::Snapshot::take(&job.source, job.jobs, job.lock_mode).await.job_err()?;
    let method = snapshot.describe();
    let id = snapshot.gtid.clone().or(snapshot.binlog.clone());
    let mut readers = snapshot.readers;
    let mut catalog = mysql::catalog::load(&mut readers[0], &job.selection).await.job_err()?;
    mysql::catalog::key_ranges(&mut readers[0], &mut catalog.tables).await.job_err()?;
    mysql::catalog::key_bounds(&mut readers[0], &mut catalog.tables, job.chunk_bytes).await.job_err()?;
    let prepared = prepare(&job, &catalog, Engine::Mysql)?;
    let (pre, post) = schema_paths(&job.out);
    mysql::schema::dump(&mut readers[0], &catalog, &job.selection, &pre, &post).await.job_err()?;

    readers.truncate(job.jobs.min(prepared.chunks.len()).max(1));
    let readers = readers.into_iter().map(Reader::Mysql).collect();
    let tables: Vec<Arc<Table>> = catalog.tables.iter().cloned().map(Arc::new).collect();
    progress.begin(prepared.chunks.len() as u64);
    let outcomes = dump_data(readers, &job, &prepared, &tables, progress.clone()).await.job_err()?;
    progress.finish();
    finish(&job, &catalog, &tables, &prepared, outcomes, started, manifest::Snapshot { id, method: Some(method) })
}

async fn run_postgres(job: DumpJob) -> Result<(), Failure> {
    prepare_out_dir(&job.out)?;
    let started = (manifest::now(), Instant::now());
    let mut progress = Progress::new(job.progress);

    let mut coordinator = Coordinator::begin(&job.source).await.job_err()?;
    let catalog = crate::db::postgres::catalog::load(coordinator.conn(), &job.selection).await.job_err()?;
    coordinator.lock(&catalog.tables).await.job_err()?;
    let prepared = prepare(&job, &catalog, Engine::Postgres)?;
    tracing::info!(tables = catalog.tables.len(), chunks = prepared.chunks.len(), snapshot = %coordinator.snapshot_id, "Plan ready.");

    let snapshot_id = coordinator.snapshot_id.clone();
    let (pre, post) = schema_paths(&job.out);
    let mut readers = Vec::new();
    for _ in 0..job.jobs.min(prepared.chunks.len()).max(1) {
        readers.push(Reader::Postgres(coordinator.worker(&job.source).await.job_err()?));
    }
    let tables: Vec<Arc<Table>> = catalog.tables.iter().cloned().map(Arc::new).collect();
    progress.begin(prepared.chunks.len() as u64);
    let data = dump_data(readers, &job, &prepared, &tables, progress.clone());
    let schema = async {
        schema::dump(&job.source, &snapshot_id, schema::Section::PreData, &catalog, &pre).await?;
        schema::dump(&job.source, &snapshot_id, schema::Section::PostData, &catalog, &post).await
    };
    let (outcomes, ()) = tokio::try_join!(data, schema).job_err()?;
    progress.finish();
    coordinator.finish().await.job_err()?;
    let snapshot = manifest::Snapshot {
        id: Some(snapshot_id),
        method: Some("pg_export_snapshot() shared by every worker and pg_dump".to_owned()),
    };
    finish(&job, &catalog, &tables, &prepared, outcomes, started, snapshot)
}

async fn run_sqlite(job: DumpJob) -> Result<(), Failure> {
    prepare_out_dir(&job.out)?;
    let started = (manifest::now(), Instant::now());
    let mut progress = Progress::new(job.progress);

    let snapshot = sqlite::snapshot::Snapshot::take(&job.source, job.jobs).await.job_err()?;
    let mut readers = snapshot.readers;
    let (catalog, layouts) = sqlite::catalog::load(&mut readers[0], &job.selection).await.job_err()?;
    let prepared = prepare(&job, &catalog, Engine::Sqlite)?;
    let (pre, post) = schema_paths(&job.out);
    sqlite::schema::dump(&mut readers[0], &catalog, &job.selection, &pre, &post).await.job_err()?;

    readers.truncate(job.jobs.min(prepared.chunks.len()).max(1));
    let count = readers.len();
    let layouts = Arc::new(layouts);
    let readers = readers.into_iter().map(|conn| Reader::Sqlite(conn, layouts.clone())).collect();
    let tables: Vec<Arc<Table>> = catalog.tables.iter().cloned().map(Arc::new).collect();
    progress.begin(prepared.chunks.len() as u64);
    let outcomes = dump_data(readers, &job, &prepared, &tables, progress.clone()).await.job_err()?;
    progress.finish();
    let snapshot = manifest::Snapshot {
        id: None,
        method: Some(format!(
            "{count} read transaction(s) begun under one write lock (journal_mode={})",
            snapshot.journal_mode
        )),
    };
    finish(&job, &catalog, &tables, &prepared, outcomes, started, snapshot)
}

/// What every engine's dump needs once the catalog is known.
struct Prepared {
    masking: MaskPlan,
    runtime: Arc<Runtime>,
    pipelines: Vec<Arc<TablePipeline>>,
    chunks: Vec<Chunk>,
}

/// Masking plan, stage runtime, per-table chains (started once to check
/// their config) and chunks.
fn prepare(job: &DumpJob, catalog: &Catalog, engine: Engine) -> Result<Prepared, Failure> {
    let masking = mask_plan(job, catalog)?;
    let runtime = Runtime::with_key(job.limits, job.key.clone()).job_err()?;
    let pipelines = pipelines(&catalog.tables, job, &masking, engine).job_err()?;
    runtime.preload(pipelines.iter().flat_map(|p| p.wasm_components())).job_err()?;
    check_row_stages(&runtime, &catalog.tables, &pipelines)?;
    let chunks = plan::plan(&catalog.tables, job.chunk_bytes, catalog.page_size);
    Ok(Prepared { masking, runtime, pipelines, chunks })
}

fn schema_paths(out: &Path) -> (PathBuf, PathBuf) {
    let dir = out.join("schema");
    (dir.join("pre-data.sql"), dir.join("post-data.sql"))
}

/// Writes the manifest (last, atomically) and prints the summary.
fn finish(
    job: &DumpJob,
    catalog: &Catalog,
    tables: &[Arc<Table>],
    prepared: &Prepared,
    outcomes: Outcomes,
    (started_at, clock): (String, Instant),
    snapshot: manifest::Snapshot,
) -> Result<(), Failure> {
    let manifest = assemble(job, catalog, tables, prepared, outcomes, started_at, snapshot).job_err()?;
    manifest.store(&job.out).job_err()?;
    summary(&manifest, clock.elapsed());
    Ok(())
}

/// `sluice plan`: the catalog and chunks a dump would use, without data.
pub async fn plan_only(job: DumpJob) -> Result<(), Failure> {
    let catalog = match job.source.engine() {
        Engine::Postgres => {
            let mut coordinator = Coordinator::begin(&job.source).await.job_err()?;
            let catalog = crate::db::postgres::catalog::load(coordinator.conn(), &job.selection).await.job_err()?;
            coordinator.finish().await.job_err()?;
            catalog
        }
        Engine::Sqlite => {
            let mut snapshot = sqlite::snapshot::Snapshot::take(&job.source, 1).await.job_err()?;
            sqlite::catalog::load(&mut snapshot.readers[0], &job.selection).await.job_err()?.0
        }
        Engine::Mysql => {
            let mut snapshot = mysql::snapshot::Snapshot::take(&job.source, 1, job.lock_mode).await.job_err()?;
            let mut catalog = mysql::catalog::load(&mut snapshot.readers[0], &job.selection).await.job_err()?;
            mysql::catalog::key_ranges(&mut snapshot.readers[0], &mut catalog.tables).await.job_err()?;
            mysql::catalog::key_bounds(&mut snapshot.readers[0], &mut catalog.tables, job.chunk_bytes)
                .await
                .job_err()?;
            catalog
        }
    };
    let masking = mask_plan(&job, &catalog)?;
    let pipelines = pipelines(&catalog.tables, &job, &masking, job.source.engine()).job_err()?;
    let chunks = plan::plan(&catalog.tables, job.chunk_bytes, catalog.page_size);
    if job.json {
        let tables: Vec<_> = catalog
            .tables
            .iter()
            .zip(&pipelines)
            .enumerate()
            .map(|(i, (t, p))| {
                serde_json::json!({
                    "schema": t.schema, "name": t.name, "bytes": t.bytes, "estimated_rows": t.estimated_rows,
                    "primary_key": t.primary_key, "partition_of": t.partition_of,
                    "chunks": chunks.iter().filter(|c| c.table == i).collect::<Vec<_>>(),
                    "stages": p.records(),
                })
            })
            .collect();
        println!("{}", serde_json::json!({ "server_version": catalog.server_version, "tables": tables }));
        return Ok(());
    }
    println!("{:<40} {:>12} {:>7}  stages", "table", "bytes", "chunks");
    for (i, (table, pipeline)) in catalog.tables.iter().zip(&pipelines).enumerate() {
        let count = chunks.iter().filter(|c| c.table == i).count();
        let stages: Vec<String> =
            pipeline.records().iter().map(|r| format!("{}({:?})", r.name, r.implementation).to_lowercase()).collect();
        println!("{:<40} {:>12} {:>7}  {}", table.qualified(), table.bytes, count, stages.join(" → "));
    }
    println!("{} tables, {} chunks, {} sequences", catalog.tables.len(), chunks.len(), catalog.sequences.len());
    Ok(())
}

/// Creates `DIR/data` and `DIR/schema`; refuses a directory that already
/// holds anything, so an old dump is never mixed with a new one.
fn prepare_out_dir(out: &Path) -> Result<(), Failure> {
    if out.exists() {
        let mut entries = std::fs::read_dir(out)
            .with_context(|| format!("cannot read output directory {}", out.display()))
            .usage_err()?;
        if entries.next().is_some() {
            return Err(Failure::usage(format!(
                "output directory {} is not empty: dump into a new or empty directory",
                out.display()
            )));
        }
    }
    for sub in ["data", "schema"] {
        std::fs::create_dir_all(out.join(sub))
            .with_context(|| format!("cannot create {}", out.join(sub).display()))
            .usage_err()?;
    }
    Ok(())
}

/// The masking plan, checked: a rule that needs the key fails here when the
/// key is missing, before any data is read.
fn mask_plan(job: &DumpJob, catalog: &Catalog) -> Result<MaskPlan, Failure> {
    if !masking::configured(&job.config) {
        return Ok(MaskPlan { tables: vec![TableMasking::default(); catalog.tables.len()], warnings: vec![] });
    }
    let plan = masking::plan(&job.config, catalog).usage_err()?;
    for warning in &plan.warnings {
        eprintln!("warning: {warning}");
    }
    if plan.needs_key() && job.key.is_none() && !job.out.as_os_str().is_empty() {
        return Err(Failure::usage(format!(
            "masking needs a key: set the environment variable {} to a secret of at least 16 bytes",
            job.key_env
        )));
    }
    Ok(plan)
}

/// Starts every table's row stages once, before any data is read, so a
/// component that rejects its config (unknown rule, bad filter) stops the
/// dump with exit 2 instead of failing midway.
fn check_row_stages(runtime: &Runtime, tables: &[Table], pipelines: &[Arc<TablePipeline>]) -> Result<(), Failure> {
    let mut instances = Instances::default();
    for (table, pipeline) in tables.iter().zip(pipelines) {
        let mut wit = wit_table(table, pipeline.engine);
        for (component, config) in &pipeline.rows {
            let started = instances.row(runtime, component).and_then(|stage| stage.start(runtime, &wit, config));
            match started {
                Ok(columns) => wit.columns = columns,
                Err(e @ StageError::Reported { .. }) if e.to_string().contains("invalid config") => {
                    return Err(Failure::Usage(anyhow!("table {}: {e}", table.qualified())));
                }
                Err(e) => return Err(Failure::Job(anyhow!("table {}: {e}", table.qualified()))),
            }
        }
    }
    Ok(())
}

/// The stage chain for every table: filter (on original values), mask,
/// then `--transform` components, then the formatter and the codec.
fn pipelines(
    tables: &[Table],
    job: &DumpJob,
    masking: &MaskPlan,
    engine: Engine,
) -> anyhow::Result<Vec<Arc<TablePipeline>>> {
    let formatter = ComponentRef::builtin(job.format.name(), World::Formatter)?;
    let codec =
        job.compression.component().map(|name| ComponentRef::builtin(name, World::ByteTransform)).transpose()?;
    let builtin_if =
        |used: bool, name: &str| used.then(|| ComponentRef::builtin(name, World::RowTransform)).transpose();
    let filter = builtin_if(masking.tables.iter().any(|t| t.filter.is_some()), "filter")?;
    let mask = builtin_if(masking.tables.iter().any(|t| t.mask.is_some()), "mask")?;
    Ok(tables
        .iter()
        .zip(&masking.tables)
        .map(|(table, masked)| {
            let mut rows: Vec<(ComponentRef, String)> = Vec::new();
            if let (Some(c), Some(config)) = (&filter, &masked.filter) {
                rows.push((c.clone(), config.clone()));
            }
            if let (Some(c), Some(config)) = (&mask, &masked.mask) {
                rows.push((c.clone(), config.clone()));
            }
            rows.extend(
                job.transforms
                    .iter()
                    .filter(|rule| rule.glob.matches(&table.schema, &table.name))
                    .map(|rule| (rule.component.clone(), rule.config.clone())),
            );
            let native = job.stages == StagesMode::Auto;
            Arc::new(TablePipeline {
                engine,
                formatter_native: native
                    && (job.format == Format::Copy || (job.format == Format::Sql && engine == Engine::Mysql)),
                passthrough: native && rows.is_empty() && job.format == Format::Copy,
                rows,
                format: job.format,
                formatter: formatter.clone(),
                compression: job.compression,
                codec: codec.clone(),
                codec_native: native,
            })
        })
        .collect())
}

type Outcomes = Vec<(usize, u32, ChunkOutcome)>;

/// Bytes gathered from the COPY stream before they go to the writer thread.
const SEND_BYTES: usize = 256 << 10;

/// A worker's connection inside the dump's snapshot.
enum Reader {
    Postgres(PgConnection),
    Sqlite(SqliteConnection, Arc<Vec<sqlite::catalog::Layout>>),
    Mysql(MySqlConnection),
}

impl Reader {
    /// Ends the session politely (a dropped connection shows up in the
    /// server's log as an aborted one).
    async fn close(self) {
        use sqlx::Connection;
        let _ = match self {
            Reader::Postgres(conn) => conn.close().await,
            Reader::Sqlite(conn, _) => conn.close().await,
            Reader::Mysql(conn) => conn.close().await,
        };
    }

    /// Streams one chunk to its writer through `tx`, ending with `End`.
    async fn read(&mut self, table: &Table, chunk: &Chunk, tx: &mpsc::Sender<Piece>) -> anyhow::Result<()> {
        match self {
            Reader::Postgres(conn) => copy_out(conn, &read::copy_out_statement(table, chunk.range)?, tx).await,
            Reader::Sqlite(conn, layouts) => {
                sqlite::read::send_chunk(conn, table, &layouts[chunk.table], chunk.range, tx).await
            }
            Reader::Mysql(conn) => mysql::read::send_chunk(conn, table, chunk.range, tx).await,
        }
    }
}

/// Runs every chunk on one worker per reader, each with its own stage
/// instances.
async fn dump_data(
    readers: Vec<Reader>,
    job: &DumpJob,
    prepared: &Prepared,
    tables: &[Arc<Table>],
    progress: Progress,
) -> anyhow::Result<Outcomes> {
    let queue = Arc::new(Mutex::new(VecDeque::from(prepared.chunks.clone())));
    let mut set = JoinSet::new();
    for reader in readers {
        let queue = queue.clone();
        let runtime = prepared.runtime.clone();
        let tables = tables.to_vec();
        let pipelines = prepared.pipelines.clone();
        let data_dir = job.out.join("data");
        let progress = progress.clone();
        set.spawn(async move {
            let mut reader = reader;
            let mut instances = Instances::default();
            let mut done = Vec::new();
            loop {
                let next = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
                let Some(chunk) = next else { break };
                let table = tables[chunk.table].clone();
                let pipeline = pipelines[chunk.table].clone();
                let name = chunk_file_name(&table.schema, &table.name, chunk.index, &pipeline.extension());
                let job = ChunkJob {
                    runtime: runtime.clone(),
                    table: table.clone(),
                    pipeline,
                    chunk: chunk.index,
                    path: data_dir.join(name),
                };
                let (back, result) = dump_chunk(&mut reader, job, instances, &chunk).await;
                instances = back;
                let outcome = result.with_context(|| format!("table {} chunk {}", table.qualified(), chunk.index))?;
                progress.chunk_done("dumped", &table.qualified(), chunk.index, outcome.rows, outcome.written.bytes);
                done.push((chunk.table, chunk.index, outcome));
            }
            reader.close().await;
            anyhow::Ok(done)
        });
    }
    let mut outcomes = Vec::new();
    while let Some(joined) = set.join_next().await {
        match joined.map_err(|e| anyhow!("a dump worker stopped: {e}")).and_then(|r| r) {
            Ok(done) => outcomes.extend(done),
            Err(e) => {
                set.abort_all();
                return Err(e);
            }
        }
    }
    Ok(outcomes)
}

/// Reads one chunk and hands it to its blocking writer.
async fn dump_chunk(
    reader: &mut Reader,
    job: ChunkJob,
    mut instances: Instances,
    chunk: &Chunk,
) -> (Instances, anyhow::Result<ChunkOutcome>) {
    let (tx, rx) = mpsc::channel::<Piece>(16);
    let table = job.table.clone();
    let writer = tokio::task::spawn_blocking(move || {
        let result = worker::write_chunk(&job, &mut instances, rx);
        if result.is_err() {
            instances.reset();
        }
        (instances, result)
    });
    let read = reader.read(&table, chunk, &tx).await;
    drop(tx);
    match writer.await {
        Ok((instances, written)) => match (read, written) {
            (Err(e), _) => (instances, Err(e.context("reading from the source failed"))),
            (Ok(()), written) => (instances, written),
        },
        Err(e) => (Instances::default(), Err(anyhow!("chunk writer panicked: {e}"))),
    }
}

/// Streams a COPY … TO STDOUT to the writer, then `End`.
async fn copy_out(conn: &mut PgConnection, statement: &str, tx: &mpsc::Sender<Piece>) -> anyhow::Result<()> {
    let mut stream = conn.copy_out_raw(statement).await?;
    // PostgreSQL sends one CopyData message per row: gathering them into
    // larger pieces wakes the writer thread once per piece, not per row.
    let mut pending = BytesMut::with_capacity(SEND_BYTES);
    while let Some(bytes) = stream.next().await {
        pending.extend_from_slice(&bytes?);
        if pending.len() >= SEND_BYTES {
            let piece = std::mem::replace(&mut pending, BytesMut::with_capacity(SEND_BYTES)).freeze();
            if tx.send(Piece::Data(piece)).await.is_err() {
                return Ok(()); // the writer failed; its error wins
            }
        }
    }
    if !pending.is_empty() && tx.send(Piece::Data(pending.freeze())).await.is_err() {
        return Ok(());
    }
    let _ = tx.send(Piece::End).await;
    Ok(())
}

fn assemble(
    job: &DumpJob,
    catalog: &Catalog,
    tables: &[Arc<Table>],
    prepared: &Prepared,
    outcomes: Outcomes,
    started_at: String,
    snapshot: manifest::Snapshot,
) -> anyhow::Result<Manifest> {
    let (pipelines, masking) = (&prepared.pipelines, &prepared.masking);
    let mut by_table: BTreeMap<usize, Vec<(u32, ChunkOutcome)>> = BTreeMap::new();
    for (table, chunk, outcome) in outcomes {
        by_table.entry(table).or_default().push((chunk, outcome));
    }
    let mut entries = Vec::new();
    for (i, table) in tables.iter().enumerate() {
        let mut chunks = by_table.remove(&i).unwrap_or_default();
        chunks.sort_by_key(|(index, _)| *index);
        let columns = chunks.first().map(|(_, o)| o.columns.clone()).unwrap_or_else(|| table.columns.clone());
        if let Some((index, _)) = chunks.iter().find(|(_, o)| o.columns != columns) {
            anyhow::bail!(
                "table {} chunk {index}: row stages returned different columns than chunk 0",
                table.qualified()
            );
        }
        let records: Vec<ChunkRecord> = chunks
            .iter()
            .map(|(_, o)| ChunkRecord {
                file: format!("data/{}", o.written.path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()),
                rows: o.rows,
                bytes: o.written.bytes,
                sha256: o.written.sha256.clone(),
            })
            .collect();
        entries.push(TableEntry {
            schema: table.schema.clone(),
            name: table.name.clone(),
            columns,
            rows: records.iter().map(|c| c.rows).sum(),
            bytes: records.iter().map(|c| c.bytes).sum(),
            stages: pipelines[i].records(),
            masked: masking.tables[i].rules.clone(),
            filtered: masking.tables[i].filter.is_some(),
            chunks: records,
        });
    }
    let mut components: Vec<ComponentRecord> = Vec::new();
    for pipeline in pipelines {
        for c in pipeline.wasm_components() {
            if !components.iter().any(|r| r.sha256 == c.sha256) {
                components.push(ComponentRecord {
                    name: c.name.clone(),
                    world: c.world,
                    sha256: c.sha256.clone(),
                    source: match &c.source {
                        ComponentSource::Builtin => "builtin".to_owned(),
                        ComponentSource::File(path) => path.display().to_string(),
                    },
                });
            }
        }
    }
    let schema_file = |name: &str| -> anyhow::Result<FileRecord> {
        let (bytes, sha256) = hash_file(&job.out.join("schema").join(name))?;
        Ok(FileRecord { file: format!("schema/{name}"), bytes, sha256 })
    };
    Ok(Manifest {
        format_version: manifest::FORMAT_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        source: manifest::Source {
            engine: job.source.engine(),
            server_version: catalog.server_version.clone(),
            database: job.source.database(),
        },
        snapshot,
        started_at,
        finished_at: manifest::now(),
        format: job.format.name().to_owned(),
        compression: job.compression.to_string(),
        schema: SchemaFiles { pre_data: schema_file("pre-data.sql")?, post_data: schema_file("post-data.sql")? },
        tables: entries,
        sequences: catalog.sequences.clone(),
        components,
        mask_key_env: job.key.as_ref().map(|_| job.key_env.clone()),
    })
}

fn summary(manifest: &Manifest, elapsed: std::time::Duration) {
    let rows: u64 = manifest.tables.iter().map(|t| t.rows).sum();
    let bytes: u64 = manifest.tables.iter().map(|t| t.bytes).sum();
    let files: usize = manifest.tables.iter().map(|t| t.chunks.len()).sum();
    let secs = elapsed.as_secs_f64().max(1e-3);
    println!(
        "dumped {} tables, {rows} rows, {files} files, {bytes} bytes in {secs:.2}s ({:.0} rows/s)",
        manifest.tables.len(),
        rows as f64 / secs
    );
}
