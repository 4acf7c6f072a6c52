//! Restore orchestration, engine-free: Store → manifest → Target →
//! pre-data schema → parallel data load → post-data schema → row-count
//! check against the manifest → sequences.
//!
//! Each data file is read, checked and decoded on a blocking thread (codec
//! natively or as a component, rows through the formatter's parse direction
//! with `--stages wasm`) and framed the way its loader asks; the loader
//! commits the file only once its checksum matched.

use std::collections::{BTreeSet, HashMap};
use std::io::Read;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, anyhow};
use bytes::Bytes;
use futures_util::future::BoxFuture;
use tokio::sync::mpsc;

use crate::catalog::{ColumnKind, LargeObjectCount, Table};
use crate::cli::RestoreJob;
use crate::db::progress::{self, ProgressRow};
use crate::db::{self, LoadFile, Loader, Loaders, Piece, Target};
use crate::error::{Failure, JobContext, LocationContext, UsageContext};
use crate::format::copy_text::encode_copy_text;
use crate::format::load_rows::{InsertToRows, encode_load_rows};
use crate::format::sql_text::StatementSplitter;
use crate::format::{Format, Framing};
use crate::manifest::{ChunkRecord, Manifest, TableEntry};
use crate::output::out;
use crate::pipeline::{Decoding, check_digest, explain, read_checked};
use crate::pool;
use crate::progress::Progress;
use crate::sealed;
use crate::stage::encrypt::Keys;
use crate::stage::formatter::FormatterInstance;
use crate::stage::row::wit_table;
use crate::stage::{Instances, Runtime};
use crate::stop::Stop;
use crate::store::naming::{MANIFEST, POST_DATA, PRE_DATA};
use crate::store::{self, Store};

/// `sluice restore`.
pub async fn run(job: RestoreJob) -> Result<(), Failure> {
    let mut progress = Progress::new(job.progress, "restore");
    let stop = Stop::on_signals().job_err()?;
    let result = open_and_execute(&job, &mut progress, &stop).await;
    progress.run_end(&result);
    result
}

async fn open_and_execute(job: &RestoreJob, progress: &mut Progress, stop: &Stop) -> Result<(), Failure> {
    let store = store::open(&job.dir, &job.storage).usage_err()?;
    let mut manifest = Manifest::load(&*store).location_err()?;
    // Before connecting: an encrypted dump opens with the right key or not at all.
    let keys = sealed::open_manifest(&*store, &mut manifest, &job.unlock, true)?;
    let (from, to) = (manifest.source.engine, job.target.engine());
    if from != to {
        return Err(Failure::usage(format!(
            "a {} dump restores into a {} target only, not {}",
            from.label(),
            from.label(),
            to.label()
        )));
    }
    let target = db::open_target(&job.target, &job.target_options).await.job_err()?;
    execute(job, &manifest, keys, store.clone(), target, progress, stop).await?;
    if let Some(retried) = store::retried_line(&*store) {
        out!("{retried}");
    }
    Ok(())
}

/// A restore that failed once its bookkeeping existed says how to go on;
/// a signal's gets its exit code (130, 143).
fn resume_hint(failure: Failure, job: &RestoreJob) -> Failure {
    let hint = format!(
        "the files loaded so far are recorded in {}: run the same command with --resume to finish the restore",
        job.target
    );
    failure.with_hint(hint)
}

/// The dump's id for the bookkeeping: the SHA-256 of its manifest.
fn dump_id(store: &dyn Store) -> Result<String, Failure> {
    use sha2::{Digest, Sha256};
    let bytes = store.get(MANIFEST).usage_err()?.ok_or_else(|| Failure::usage("the dump has no manifest.json"))?;
    Ok(hex::encode(Sha256::digest(&bytes)))
}

/// A schema script that ends by recording `row` (in its transaction where
/// the engine runs scripts in one).
fn recorded(target: &dyn Target, script: &str, row: &ProgressRow) -> String {
    let script = script.trim_end();
    let end = if script.is_empty() || script.ends_with(';') { "" } else { ";" };
    format!("{script}{end}\n{};\n", target.record_statement(row))
}

/// The bookkeeping rows a restore goes on from: empty for a new restore
/// (the target checked empty, or cleaned), the recorded ones for a resume
/// of the same dump.
async fn bookkeeping(
    job: &RestoreJob,
    target: &mut dyn Target,
    owner: &ProgressRow,
    progress: &Progress,
) -> Result<HashMap<String, ProgressRow>, Failure> {
    let object = target.first_user_object().await.job_err()?;
    if job.resume {
        let rows = target.progress().await.job_err()?;
        match rows.iter().find(|r| r.item == progress::OWNER) {
            Some(found) if found.dump_id != owner.dump_id => {
                return Err(Failure::usage(format!(
                    "the restore in progress in {} is of another dump (manifest SHA-256 {}…, this one is {}…): \
                     --resume only finishes a restore of the same dump",
                    job.target,
                    &found.dump_id[..found.dump_id.len().min(12)],
                    &owner.dump_id[..12]
                )));
            }
            Some(_) => return Ok(rows.into_iter().map(|r| (r.item.clone(), r)).collect()),
            None if object.is_some() => {
                return Err(Failure::usage(format!(
                    "target database {} holds no restore in progress (no sluice bookkeeping) and is not empty: \
                     --resume only finishes an interrupted restore",
                    job.target
                )));
            }
            None => {}
        }
    } else if let Some(object) = object {
        if !job.clean {
            return Err(Failure::usage(format!(
                "target database {} is not empty (it has {object}): restore into an empty database, pass --clean, \
                 or --resume to finish an interrupted restore of this dump",
                job.target
            )));
        }
        progress.phase("cleaning target");
        target.clean().await.job_err()?;
    }
    // A new restore: fresh bookkeeping, owned by this dump.
    target.drop_progress().await.job_err()?;
    target.progress().await.job_err()?;
    let statement = target.record_statement(owner);
    target.apply_schema(&statement, "the restore bookkeeping").await.job_err()?;
    Ok(HashMap::new())
}

/// Restores the dump `manifest` describes, read from `store`, into `target`.
///
/// Exactly once, whatever stops it: every file loads in one transaction
/// together with its bookkeeping row, and each schema script ends by
/// recording itself; a resume skips what is recorded.
pub async fn execute(
    job: &RestoreJob,
    manifest: &Manifest,
    keys: Option<Arc<Keys>>,
    store: Arc<dyn Store>,
    mut target: Box<dyn Target>,
    progress: &mut Progress,
    stop: &Stop,
) -> Result<(), Failure> {
    let clock = Instant::now();
    let decoding = Decoding::for_manifest(manifest, job.stages, keys.clone()).usage_err()?;
    let pre = read_checked(&*store, &manifest.schema.pre_data, keys.as_deref()).job_err()?;
    let post = read_checked(&*store, &manifest.schema.post_data, keys.as_deref()).job_err()?;
    // The pre-data script creates every large object the dump carries, so
    // their contents are restored whatever the tables selected.
    let entries: Vec<Arc<TableEntry>> = manifest
        .tables
        .iter()
        .filter(|t| !t.kind.is_rows() || job.selection.selects(&t.schema, &t.name))
        .cloned()
        .map(Arc::new)
        .collect();
    let tables: Vec<Table> = entries.iter().map(|e| e.table()).collect();
    let runtime = Runtime::new(job.limits).job_err()?;
    let row = |item: &str, sha256: &str, rows: u64| ProgressRow {
        dump_id: String::new(),
        item: item.to_owned(),
        sha256: sha256.to_owned(),
        row_count: rows as i64,
    };
    let id = dump_id(&*store)?;
    let owner = ProgressRow { dump_id: id.clone(), ..row(progress::OWNER, "", 0) };
    let mut done = bookkeeping(job, &mut *target, &owner, progress).await?;
    let resumed = !done.is_empty();
    let pending = |t: &TableEntry| t.chunks.iter().filter(|c| !recorded_file(&done, c)).count() as u64;
    let per_table: Vec<(String, u64)> = entries.iter().map(|t| (t.qualified(), pending(t))).collect();
    let bytes = entries.iter().flat_map(|t| &t.chunks).filter(|c| !recorded_file(&done, c)).map(|c| c.bytes).sum();
    progress.run_start(&per_table, entries.iter().map(|t| t.rows).sum(), bytes);
    let result = async {
        if !done.contains_key(progress::PRE_DATA_DONE) {
            if resumed {
                // The pre-data script had not finished: nothing was loaded
                // yet, so the target starts over.
                progress.phase("cleaning target (its pre-data schema had not finished)");
                target.clean().await.job_err()?;
                target.progress().await.job_err()?;
                let statement = target.record_statement(&owner);
                target.apply_schema(&statement, "the restore bookkeeping").await.job_err()?;
                done.retain(|item, _| item == progress::OWNER);
            }
            progress.phase("pre-data schema");
            let mark = ProgressRow { dump_id: id.clone(), ..row(progress::PRE_DATA_DONE, "", 0) };
            target.apply_schema(&recorded(&*target, &pre, &mark), PRE_DATA).await.job_err()?;
        }
        let uncounted = load_data(
            job,
            &entries,
            tables,
            runtime,
            decoding,
            store.clone(),
            &mut *target,
            &mut done,
            &id,
            progress,
            stop,
        )
        .await?;
        if !done.contains_key(progress::POST_DATA_DONE) {
            progress.phase("post-data schema");
            let mark = ProgressRow { dump_id: id.clone(), ..row(progress::POST_DATA_DONE, "", 0) };
            target.apply_schema(&recorded(&*target, &post, &mark), POST_DATA).await.job_err()?;
        }
        Ok::<BTreeSet<usize>, Failure>(uncounted)
    }
    .await;
    let uncounted = result.map_err(|f| resume_hint(f, job))?;
    // The counts of every table with a file no loader counted, then the
    // bookkeeping goes and the sequences are set.
    let mismatches = count_rows(&entries, &uncounted, &mut *target, progress).await?;
    if mismatches.is_empty() {
        target.drop_progress().await.job_err()?;
    }
    target.finish(&manifest.sequences).await.job_err()?;
    if resumed {
        out!("resumed the restore of this dump into {}", job.target);
    }
    report(&entries, manifest.large_objects, mismatches, clock)
}

/// Whether the bookkeeping records `chunk` as loaded (same file, digest
/// and rows).
fn recorded_file(done: &HashMap<String, ProgressRow>, chunk: &ChunkRecord) -> bool {
    done.get(&chunk.file).is_some_and(|r| r.sha256 == chunk.sha256 && r.row_count == chunk.rows as i64)
}

/// Loads every file the bookkeeping does not record; returns the tables
/// with a file no loader counted. A table that loads without transactions
/// (MyISAM) and has any file pending is emptied and loaded again whole.
#[allow(clippy::too_many_arguments)]
async fn load_data(
    job: &RestoreJob,
    entries: &[Arc<TableEntry>],
    tables: Vec<Table>,
    runtime: Arc<Runtime>,
    decoding: Decoding,
    store: Arc<dyn Store>,
    target: &mut dyn Target,
    done: &mut HashMap<String, ProgressRow>,
    id: &str,
    progress: &mut Progress,
    stop: &Stop,
) -> Result<BTreeSet<usize>, Failure> {
    let is_done = recorded_file;
    let loose = target.non_transactional(&tables).await.job_err()?;
    for (i, entry) in entries.iter().enumerate() {
        if loose[i]
            && entry.chunks.iter().any(|c| !is_done(done, c))
            && entry.chunks.iter().any(|c| done.contains_key(&c.file))
        {
            progress.warn(&format!(
                "table {} loads without transactions: it is emptied and loaded again whole",
                entry.qualified()
            ));
            target.truncate(&tables[i]).await.job_err()?;
            for chunk in &entry.chunks {
                if done.remove(&chunk.file).is_some() {
                    let forget = target.forget_statement(&chunk.file);
                    target.apply_schema(&forget, "the restore bookkeeping").await.job_err()?;
                }
            }
        }
    }
    let pending: Vec<Arc<TableEntry>> = entries
        .iter()
        .map(|e| {
            let chunks = e.chunks.iter().filter(|c| !is_done(done, c)).cloned().collect();
            Arc::new(TableEntry { chunks, ..(**e).clone() })
        })
        .collect();
    progress.phase("data");
    let files: usize = pending.iter().map(|t| t.chunks.len()).sum();
    let mut uncounted = BTreeSet::new();
    if files > 0 {
        let Loaders { loaders, in_dump_order } = target.loaders(job.jobs.min(files).max(1), &tables).await.job_err()?;
        let work = if in_dump_order { dump_order(&pending) } else { largest_first(&pending) };
        let records = work
            .iter()
            .map(|(_, _, chunk, _)| {
                let row = ProgressRow {
                    dump_id: id.to_owned(),
                    item: chunk.file.clone(),
                    sha256: chunk.sha256.clone(),
                    row_count: chunk.rows as i64,
                };
                (chunk.file.clone(), target.record_statement(&row))
            })
            .collect();
        let context = Arc::new(LoadContext { runtime, decoding, store, progress: progress.clone(), tables, records });
        let workers: Vec<LoadWorker> =
            loaders.into_iter().map(|loader| LoadWorker::new(loader, context.clone())).collect();
        let loaded = pool::run(workers, work, stop)
            .await
            .map_err(|e| Failure::Job(e.context(format!("loading into {} failed", target.engine().label()))))?;
        uncounted = loaded.iter().filter(|(_, rows)| rows.is_none()).map(|(i, _)| *i).collect();
    }
    progress.finish();
    Ok(uncounted)
}

/// Counts the rows of the `uncounted` tables and compares them with the
/// manifest. A loader that counts checked each file before committing it.
async fn count_rows(
    entries: &[Arc<TableEntry>],
    uncounted: &BTreeSet<usize>,
    target: &mut dyn Target,
    progress: &Progress,
) -> Result<Vec<String>, Failure> {
    if !uncounted.is_empty() {
        progress.phase("checking row counts");
    }
    let mut mismatches = Vec::new();
    for entry in uncounted.iter().map(|&i| &entries[i]) {
        let count = target.count_rows(&entry.table()).await.job_err()?;
        if count != entry.rows {
            mismatches.push(format!("{}: {count} rows restored, manifest says {}", entry.qualified(), entry.rows));
        }
    }
    Ok(mismatches)
}

/// One file to load: its table's index among the restored tables, the
/// table, the file, and the file's number within its table.
type Work = (usize, Arc<TableEntry>, ChunkRecord, u32);

/// Every file of the tables, largest first.
fn largest_first(tables: &[Arc<TableEntry>]) -> Vec<Work> {
    let mut work = dump_order(tables);
    work.sort_by_key(|w| std::cmp::Reverse(w.2.bytes));
    work
}

/// Every file in the dump's order: tables in order, chunks in order.
fn dump_order(tables: &[Arc<TableEntry>]) -> Vec<Work> {
    tables
        .iter()
        .enumerate()
        .flat_map(|(i, t)| t.chunks.iter().enumerate().map(move |(n, c)| (i, t.clone(), c.clone(), n as u32)))
        .collect()
}

/// Fails on row-count mismatches, else prints the summary.
fn report(
    tables: &[Arc<TableEntry>],
    large_objects: Option<LargeObjectCount>,
    mismatches: Vec<String>,
    clock: Instant,
) -> Result<(), Failure> {
    if !mismatches.is_empty() {
        return Err(Failure::Job(anyhow!("row counts differ from the manifest: {}", mismatches.join("; "))));
    }
    let rows: u64 = tables.iter().filter(|t| t.kind.is_rows()).map(|t| t.rows).sum();
    let count = tables.iter().filter(|t| t.kind.is_rows()).count();
    let large_objects = match large_objects {
        Some(lo) if tables.iter().any(|t| !t.kind.is_rows()) => format!(", {} large objects", lo.objects),
        _ => String::new(),
    };
    let secs = clock.elapsed().as_secs_f64().max(1e-3);
    out!("restored {count} tables, {rows} rows{large_objects} in {secs:.2}s ({:.0} rows/s)", rows as f64 / secs);
    Ok(())
}

/// What every load worker shares.
struct LoadContext {
    runtime: Arc<Runtime>,
    decoding: Decoding,
    store: Arc<dyn Store>,
    progress: Progress,
    /// The restored tables, by the index in [`Work`].
    tables: Vec<Table>,
    /// Each file's bookkeeping statement, by its key.
    records: HashMap<String, String>,
}

/// One loader connection and its stage instances.
struct LoadWorker {
    loader: Box<dyn Loader>,
    instances: Instances,
    context: Arc<LoadContext>,
}

impl LoadWorker {
    fn new(loader: Box<dyn Loader>, context: Arc<LoadContext>) -> Self {
        LoadWorker { loader, instances: Instances::default(), context }
    }
}

impl pool::Worker for LoadWorker {
    type Item = Work;
    /// The table's index, and the rows the server counted (if it did).
    type Output = (usize, Option<u64>);

    fn run(&mut self, (index, entry, chunk, number): Work) -> BoxFuture<'_, anyhow::Result<(usize, Option<u64>)>> {
        Box::pin(async move {
            self.context.progress.chunk_started(&entry.qualified());
            let rows = load_file(self, index, &chunk)
                .await
                .with_context(|| format!("table {} file {}", entry.qualified(), chunk.file))?;
            if let Some(rows) = rows
                && rows != chunk.rows
            {
                anyhow::bail!(
                    "table {} file {}: loaded {rows} rows, manifest says {}",
                    entry.qualified(),
                    chunk.file,
                    chunk.rows
                );
            }
            self.context.progress.chunk_done("restored", &entry.qualified(), number, chunk.rows, chunk.bytes);
            Ok((index, rows))
        })
    }

    fn close(self) -> BoxFuture<'static, ()> {
        self.loader.close()
    }
}

/// Loads one file: a blocking producer reads, checks and frames it while
/// the loader sends it to the server.
async fn load_file(worker: &mut LoadWorker, index: usize, chunk: &ChunkRecord) -> anyhow::Result<Option<u64>> {
    let context = worker.context.clone();
    let table = &context.tables[index];
    let framing = worker.loader.framing(table);
    // With `--stages wasm`, files the loader could take as they are go
    // through their formatter component too.
    let parse = !framing.reads(context.decoding.format)
        || (matches!(framing, Framing::Copy) || context.decoding.format == Format::Tsv)
            && context.decoding.parse_with_component();
    // Parsed rows reach the loader as COPY text, LOAD DATA rows or INSERTs.
    let format = match (parse, framing) {
        (false, _) => context.decoding.format,
        (true, Framing::Copy) => Format::Copy,
        (true, Framing::Statements { .. } | Framing::LoadDataRows { .. }) => Format::Sql,
    };
    let (tx, rx) = mpsc::channel::<Piece>(8);
    let mut instances = std::mem::take(&mut worker.instances);
    let (producer_context, producer_chunk) = (context.clone(), chunk.clone());
    let producer = tokio::task::spawn_blocking(move || {
        let result = produce(&producer_context, index, &producer_chunk, framing, parse, &mut instances, &tx);
        if result.is_err() {
            instances.reset();
        }
        (instances, result)
    });
    let record = context.records.get(&chunk.file).map(String::as_str);
    let loaded = worker.loader.load(LoadFile { table, format, rows: chunk.rows, record }, rx).await;
    let (instances, produced) = producer.await.map_err(|e| anyhow!("the file reader panicked: {e}"))?;
    worker.instances = instances;
    match (produced, loaded) {
        // The file's own error says more than the load it cut short, unless
        // the file only stopped because the loader did.
        (Err(e), _) if e.downcast_ref::<LoaderStopped>().is_none() => Err(e),
        (_, loaded) => loaded,
    }
}

/// The loader stopped taking pieces (its own error is the one to report).
#[derive(Debug, thiserror::Error)]
#[error("the loader stopped")]
struct LoaderStopped;

/// Bytes gathered before a piece goes to the loader: statements run in
/// larger pieces (each piece is a round trip), rows stream in smaller ones.
fn piece_bytes(framing: Framing) -> usize {
    match framing {
        Framing::Statements { .. } => 4 << 20,
        Framing::Copy | Framing::LoadDataRows { .. } => 1 << 20,
    }
}

/// Reads, checks, decodes and frames one file, sending pieces to the
/// loader and `End` only once the file's bytes matched the manifest.
/// Blocking.
fn produce(
    context: &LoadContext,
    index: usize,
    chunk: &ChunkRecord,
    framing: Framing,
    parse: bool,
    instances: &mut Instances,
    tx: &mpsc::Sender<Piece>,
) -> anyhow::Result<()> {
    let (runtime, decoding, store) = (&*context.runtime, &context.decoding, &*context.store);
    let formatter = parse.then_some(&decoding.formatter);
    let parts = instances.for_chunk(runtime, formatter, decoding.wasm_codec())?;
    let (mut input, digest) = decoding.open(store, &chunk.file, runtime, parts.codec)?;
    let table = &context.tables[index];
    let mut ready = Vec::with_capacity(2 * piece_bytes(framing));
    let mut framer = match parts.formatter {
        Some(formatter) => {
            let encoder = match framing {
                Framing::Statements { .. } => {
                    Some(Instances::encoder_in(parts.encoders, runtime, &decoding.statements_encoder()?)?)
                }
                Framing::Copy | Framing::LoadDataRows { .. } => None,
            };
            Framer::parsed(framing, table, formatter, encoder, runtime, decoding, &mut ready)?
        }
        None => Framer::new(framing, decoding.format),
    };
    let send = |bytes: Vec<u8>| tx.blocking_send(Piece::Data(Bytes::from(bytes))).map_err(|_| LoaderStopped);
    let mut buf = vec![0u8; 1 << 20];
    let piece = piece_bytes(framing);
    let mut read_all = || -> anyhow::Result<()> {
        loop {
            let n = input.read(&mut buf).with_context(|| format!("cannot decode {}", chunk.file))?;
            if n == 0 {
                return Ok(());
            }
            framer.feed(&buf[..n], &mut ready)?;
            if ready.len() >= piece {
                send(std::mem::replace(&mut ready, Vec::with_capacity(2 * piece)))?;
            }
        }
    };
    read_all().map_err(|e| if e.is::<LoaderStopped>() { e } else { explain(e, store, chunk) })?;
    check_digest(&digest, chunk)?;
    framer.finish(&mut ready).with_context(|| chunk.file.clone())?;
    if !ready.is_empty() {
        send(ready)?;
    }
    tx.blocking_send(Piece::End).map_err(|_| LoaderStopped)?;
    Ok(())
}

/// Turns a decoded file into what its loader reads ([`Framing`]).
enum Framer<'a> {
    /// The bytes as they are.
    Plain,
    /// Batches from the formatter's parse direction, re-encoded for the
    /// loader.
    Parsed { formatter: &'a mut FormatterInstance, runtime: &'a Runtime, into: Encode<'a> },
    /// Whole statements.
    Statements(StatementSplitter),
    /// LOAD DATA rows.
    Rows(InsertToRows),
}

/// What parsed batches become.
enum Encode<'a> {
    /// COPY text; which columns are bytea.
    Copy(Vec<bool>),
    /// LOAD DATA rows.
    LoadRows,
    /// INSERT statements written by the `sql` formatter in the dump's
    /// dialect, cut into whole statements for the loader.
    Statements(&'a mut FormatterInstance, StatementSplitter),
}

impl<'a> Framer<'a> {
    /// A framer for a file in `format` that the loader reads without
    /// parsing it into batches.
    fn new(framing: Framing, format: Format) -> Self {
        match framing {
            Framing::Copy => Framer::Plain,
            Framing::LoadDataRows { .. } if format == Format::Tsv => Framer::Plain,
            Framing::Statements { backslash_escapes } => Framer::Statements(StatementSplitter::new(backslash_escapes)),
            Framing::LoadDataRows { columns } => Framer::Rows(InsertToRows::new(columns)),
        }
    }

    /// A framer that parses the file with `formatter` and re-encodes its
    /// rows; an encoder's opening bytes go to `out`.
    fn parsed(
        framing: Framing,
        table: &Table,
        formatter: &'a mut FormatterInstance,
        encoder: Option<&'a mut FormatterInstance>,
        runtime: &'a Runtime,
        decoding: &Decoding,
        out: &mut Vec<u8>,
    ) -> anyhow::Result<Self> {
        let wit = wit_table(table, decoding.dialect);
        formatter.parse_start(runtime, &wit, "")?;
        let into = match (framing, encoder) {
            (Framing::Statements { backslash_escapes }, Some(encoder)) => {
                let mut splitter = StatementSplitter::new(backslash_escapes);
                out.extend(splitter.feed(&encoder.header(runtime, &wit, "")?));
                Encode::Statements(encoder, splitter)
            }
            (Framing::Statements { .. }, None) => anyhow::bail!("statements need an encoder"),
            (Framing::LoadDataRows { .. }, _) => Encode::LoadRows,
            (Framing::Copy, _) => Encode::Copy(table.columns.iter().map(|c| c.kind == ColumnKind::Binary).collect()),
        };
        Ok(Framer::Parsed { formatter, runtime, into })
    }

    fn feed(&mut self, data: &[u8], out: &mut Vec<u8>) -> anyhow::Result<()> {
        match self {
            Framer::Plain => out.extend_from_slice(data),
            Framer::Parsed { formatter, runtime, into } => {
                let batch = formatter.parse(runtime, data)?;
                into.batch(runtime, batch, out)?;
            }
            Framer::Statements(splitter) => out.extend(splitter.feed(data)),
            Framer::Rows(converter) => converter.feed(data, out)?,
        }
        Ok(())
    }

    fn finish(self, out: &mut Vec<u8>) -> anyhow::Result<()> {
        match self {
            Framer::Plain => {}
            Framer::Parsed { formatter, runtime, mut into } => {
                let batch = formatter.parse_end(runtime)?;
                into.batch(runtime, batch, out)?;
                if let Encode::Statements(encoder, mut splitter) = into {
                    out.extend(splitter.feed(&encoder.trailer(runtime)?));
                    splitter.finish().map_err(|e| anyhow!("{e}"))?;
                }
            }
            Framer::Statements(splitter) => splitter.finish().map_err(|e| anyhow!("{e}"))?,
            Framer::Rows(converter) => drop(converter.finish()?),
        }
        Ok(())
    }
}

impl Encode<'_> {
    fn batch(&mut self, runtime: &Runtime, batch: crate::batch::Batch, out: &mut Vec<u8>) -> anyhow::Result<()> {
        match self {
            Encode::Copy(binary) => encode_copy_text(&batch, binary, out),
            Encode::LoadRows => encode_load_rows(&batch, out),
            Encode::Statements(encoder, splitter) => {
                if batch.rows > 0 {
                    out.extend(splitter.feed(&encoder.format(runtime, batch)?));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::memory::{MemorySource, MemoryTarget, table};
    use crate::db::{DbUrl, TargetOptions};
    use crate::dump::tests::quiet;
    use crate::format::StagesMode;
    use crate::progress::ProgressMode;
    use crate::select::Selection;
    use crate::stage::Limits;
    use crate::store::memory::MemoryStore;

    fn job(clean: bool) -> RestoreJob {
        RestoreJob {
            dir: "memory".into(),
            storage: crate::store::S3Options::default(),
            target: DbUrl::parse("postgres://memory/target").expect("url"),
            jobs: 2,
            selection: Selection::default(),
            clean,
            resume: false,
            target_options: TargetOptions::default(),
            progress: ProgressMode::None,
            stages: StagesMode::Auto,
            limits: Limits::default(),
            unlock: crate::sealed::Unlock::default(),
        }
    }

    /// A dump of two fake tables in a memory store, and its rows.
    async fn dumped() -> (MemoryStore, Manifest, Vec<u8>) {
        let (film, rows) = table("film", 0..3000);
        let source = MemorySource::new(vec![(film, rows.clone()), table("actor", 0..3)]);
        let store = MemoryStore::default();
        let mut dump = crate::dump::tests::job(16 << 10);
        dump.jobs = 3;
        crate::dump::execute(&dump, Box::new(source), Arc::new(store.clone()), &mut quiet(), &crate::stop::Stop::new())
            .await
            .expect("dump");
        let manifest = Manifest::load(&store).expect("manifest");
        (store, manifest, rows)
    }

    fn sorted_rows(text: &[u8]) -> Vec<&[u8]> {
        let mut rows: Vec<&[u8]> = text.split_inclusive(|&b| b == b'\n').collect();
        rows.sort();
        rows
    }

    #[tokio::test]
    async fn a_restore_loads_every_file_between_the_schema_scripts() {
        let (store, manifest, rows) = dumped().await;
        let target = MemoryTarget::default();
        let (committed, log) = (target.committed.clone(), target.log.clone());
        execute(&job(false), &manifest, None, Arc::new(store), Box::new(target), &mut quiet(), &Stop::new())
            .await
            .expect("restore");
        let committed = committed.lock().expect("lock");
        assert_eq!(sorted_rows(&committed["film"]), sorted_rows(&rows));
        assert_eq!(committed["actor"].iter().filter(|&&b| b == b'\n').count(), 3);
        let log = log.lock().expect("log").clone();
        // Fresh bookkeeping first, dropped once the data is checked, before
        // the sequences.
        assert_eq!(
            log,
            vec![
                "drop progress",
                "schema the restore bookkeeping",
                "schema schema/pre-data.sql",
                "schema schema/post-data.sql",
                "drop progress",
                "finish with 1 sequences"
            ]
        );
    }

    #[tokio::test]
    async fn a_damaged_file_is_never_committed() {
        let (store, manifest, _) = dumped().await;
        let film = manifest.tables.iter().find(|t| t.name == "film").expect("film");
        let damaged = &film.chunks[1];
        let mut bytes = store.get(&damaged.file).expect("get").expect("file");
        bytes[3] ^= 1;
        store.corrupt(&damaged.file, &bytes);
        let target = MemoryTarget::default();
        let committed = target.committed.clone();
        let failure =
            execute(&job(false), &manifest, None, Arc::new(store), Box::new(target), &mut quiet(), &Stop::new())
                .await
                .expect_err("fails");
        let message = format!("{:#}", failure.error());
        assert!(message.contains(&format!("{} does not match its size and SHA-256", damaged.file)), "{message}");
        let committed = committed.lock().expect("lock");
        let loaded = committed.get("film").map(|t| t.iter().filter(|&&b| b == b'\n').count()).unwrap_or(0) as u64;
        assert!(loaded <= film.rows - damaged.rows, "rows of the damaged file were committed");
    }

    #[tokio::test]
    async fn a_target_that_is_not_empty_is_refused_unless_told_to_clean() {
        let (store, manifest, _) = dumped().await;
        let target = MemoryTarget { object: Some("table t".into()), ..MemoryTarget::default() };
        let failure = execute(
            &job(false),
            &manifest,
            None,
            Arc::new(store.clone()),
            Box::new(target),
            &mut quiet(),
            &Stop::new(),
        )
        .await
        .expect_err("refused");
        assert_eq!(failure.exit_code(), 2);
        assert!(failure.error().to_string().contains("is not empty (it has table t)"));

        let target = MemoryTarget { object: Some("table t".into()), ..MemoryTarget::default() };
        let log = target.log.clone();
        execute(&job(true), &manifest, None, Arc::new(store), Box::new(target), &mut quiet(), &Stop::new())
            .await
            .expect("cleaned");
        assert_eq!(log.lock().expect("log")[0], "clean");
    }
}
