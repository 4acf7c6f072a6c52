//! Dump orchestration, engine-free: Source → catalog → plan → readers →
//! worker pool → Store → manifest.
//!
//! The source's snapshot stays open until every reader and the schema are
//! done. Any failure stops the other workers and leaves no manifest, so a
//! failed dump never looks complete.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Semaphore;

use crate::catalog::Catalog;
use crate::cli::DumpJob;
use crate::db::{self, Engine, NotCarried, SnapshotInfo, Source, SourceOptions};
use crate::error::{Failure, JobContext, LocationContext, UsageContext};
use crate::journal::{self, FrozenPlan, JournalRecord, PLAN, PlanEncryption, PlannedChunk};
use crate::manifest::{self, ChunkRecord, ComponentRecord, FileRecord, Manifest, RunSnapshot, SchemaFiles, TableEntry};
use crate::masking::{self, MaskPlan, TableMasking};
use crate::output::out;
use crate::pipeline::{Output, TablePipeline, check_row_stages, pipelines};
use crate::plan::{self, Chunk};
use crate::pool;
use crate::progress::Progress;
use crate::sealed::{self, Secrecy};
use crate::signing;
use crate::stage::encrypt;
use crate::stage::{ComponentSource, Runtime};
use crate::stop::Stop;
use crate::store::naming::{MANIFEST, POST_DATA, PRE_DATA, chunk_key};
use crate::store::{self, Store, Written};
use crate::worker::{DumpContext, DumpWorker};

/// The encrypted plan's key.
const PLAN_SEALED: &str = "plan.json.age";

/// `sluice dump` (without `--resume`, which [`crate::resume`] runs).
pub async fn run(job: DumpJob) -> Result<(), Failure> {
    let mut progress = Progress::new(job.progress, "dump");
    let stop = Stop::on_signals().job_err()?;
    let result = open_and_execute(&job, &mut progress, &stop).await;
    progress.run_end(&result);
    result
}

async fn open_and_execute(job: &DumpJob, progress: &mut Progress, stop: &Stop) -> Result<(), Failure> {
    let store = store::open(&job.out, &job.storage).usage_err()?;
    refuse_used(&*store)?;
    let source = db::open_source(&job.source, &source_options(job)).await.job_err()?;
    let result = execute(job, source, store.clone(), progress, stop).await;
    if result.is_err() {
        abandon(&*store);
    }
    result.map_err(|failure| resume_hint(failure, job, &*store))
}

/// Refuses a location that holds anything; one that holds an interrupted
/// dump says how to finish it.
fn refuse_used(store: &dyn Store) -> Result<(), Failure> {
    if let Err(e) = store.check_empty() {
        if FrozenPlan::exists(store) && !store.exists(MANIFEST).unwrap_or(true) {
            let done = journal::count(store).unwrap_or(0);
            return Err(Failure::usage(format!(
                "{} holds an interrupted dump ({done} of {} chunks done): finish it by running the same command \
                 with --resume, or remove the directory to start over",
                store.location(),
                planned_chunks(store)
            )));
        }
        return Err(e).location_err();
    }
    store.check_access().location_err()
}

/// After a failed dump: one that finished no chunk leaves the location as
/// it found it (so the rerun is not refused as "not empty"); one that did
/// keeps its plan, journal and finished chunks for `--resume`.
fn abandon(store: &dyn Store) {
    if journal::count(store).map(|n| n == 0).unwrap_or(false) {
        for key in [PLAN, PLAN_SEALED, sealed::IDENTITY] {
            let _ = store.delete(key);
        }
        let _ = store.abandon_dump();
    }
}

/// The interrupted dump's chunk count for messages: "?" when its plan is
/// encrypted (read without a key).
fn planned_chunks(store: &dyn Store) -> String {
    match FrozenPlan::load(store, &Secrecy::default()) {
        Ok(Some(plan)) => plan.chunks.len().to_string(),
        _ => "?".to_owned(),
    }
}

/// A failure after some chunks were journalled says how to finish the
/// dump; a signal's gets its exit code (130, 143).
pub(crate) fn resume_hint(failure: Failure, job: &DumpJob, store: &dyn Store) -> Failure {
    if !FrozenPlan::exists(store) {
        return failure;
    }
    let done = journal::count(store).unwrap_or(0);
    let held = job.resume || job.snapshot.is_some();
    let hint = format!(
        "{done} of {} chunks are done in {}: run the same command with --resume{} to finish the dump{}",
        planned_chunks(store),
        store.location(),
        if job.encrypt.enabled() {
            " (and --identity FILE or --passphrase-file FILE: the plan is encrypted)"
        } else {
            ""
        },
        if held { "" } else { " (add --accept-new-snapshot: the snapshot ends with this run)" }
    );
    failure.with_hint(hint)
}

pub(crate) fn source_options(job: &DumpJob) -> SourceOptions {
    SourceOptions {
        jobs: job.jobs,
        lock_mode: job.lock_mode,
        large_objects: job.large_objects,
        large_objects_reason: job.large_objects_reason.clone(),
        history: job.history,
        snapshot: job.snapshot.clone(),
    }
}

/// Data the source holds and sluice cannot carry is bad input (exit 2):
/// the dump stops before writing anything, rather than leave it out
/// silently.
pub(crate) fn catalog_failure(error: anyhow::Error) -> Failure {
    if error.downcast_ref::<NotCarried>().is_some() { Failure::Usage(error) } else { Failure::Job(error) }
}

fn output(job: &DumpJob) -> Output {
    Output { format: job.format, compression: job.compression, stages: job.stages, encrypted: job.encrypt.enabled() }
}

/// The flags that shape a dump's files, by flag, as the frozen plan records
/// them: a resume must ask for the same. `-j`, `--progress` and the limits
/// may change between runs.
pub(crate) fn settings(job: &DumpJob) -> BTreeMap<String, String> {
    let mut settings = BTreeMap::new();
    let mut set = |flag: &str, value: String| {
        settings.insert(flag.to_owned(), value);
    };
    set("--format", job.format.name().to_owned());
    set("--compress", job.compression.to_string());
    set("--stages", format!("{:?}", job.stages).to_lowercase());
    set("--chunk-size", job.chunk_bytes.to_string());
    set("--include/--exclude", job.selection.describe());
    set("--large-objects", job.large_objects.name());
    set("--history", format!("{:?}", job.history).to_lowercase());
    set("--lock-mode", format!("{:?}", job.lock_mode).to_lowercase());
    if let Some(key) = &job.key {
        // A keyed digest of the key, never the key: chunks masked under two
        // keys would not join.
        set(&format!("the masking key (${})", job.key_env), key.fingerprint());
    }
    if job.encrypt.enabled() {
        set("--encrypt-to/--encrypt-to-file/--passphrase-file", job.encrypt.setting());
    }
    settings
}

/// Dumps `source` into `store`. The location is prepared only once the
/// catalog is read and every stage has accepted its config, so bad input
/// creates nothing; the frozen plan is written before any data.
pub async fn execute(
    job: &DumpJob,
    mut source: Box<dyn Source>,
    store: Arc<dyn Store>,
    progress: &mut Progress,
    stop: &Stop,
) -> Result<(), Failure> {
    let started_at = manifest::now();
    let engine = source.engine();
    let catalog = source.catalog(&job.selection, job.chunk_bytes).await.map_err(catalog_failure)?;
    source.check_format(&catalog.tables, job.format).await.map_err(catalog_failure)?;
    for item in &catalog.left_out {
        progress.warn(&format!("left out on purpose: {item}"));
    }
    for warning in &catalog.warnings {
        progress.warn(warning);
    }
    if catalog.tables.is_empty() && !job.selection.is_everything() {
        return Err(Failure::usage(
            "no table matches the selection (--include/--exclude or the config's include/exclude)",
        ));
    }
    let prepared = prepare(job, &catalog, engine, progress)?;
    let chunks = plan::plan(&catalog.tables, job.chunk_bytes, catalog.page_size);
    store.begin_dump().usage_err()?;
    let dump_id = encrypt::new_dump_id().job_err()?;
    let (secrecy, passphrase_identity) = sealed::begin(&*store, &job.encrypt, &dump_id).job_err()?;
    let identity = source.identity().await.job_err()?;
    let planned: Vec<PlannedChunk> = chunks
        .into_iter()
        .enumerate()
        .map(|(id, chunk)| {
            let table = &catalog.tables[chunk.table];
            let file = chunk_key(&table.schema, &table.name, chunk.index, &prepared.pipelines[chunk.table].extension());
            PlannedChunk { id: id as u32, chunk, file }
        })
        .collect();
    let plan = FrozenPlan {
        format_version: journal::PLAN_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        identity,
        server_version: catalog.server_version.clone(),
        snapshots: vec![RunSnapshot {
            run: 1,
            id: source.snapshot_id(),
            held: job.snapshot.is_some(),
            started_at: started_at.clone(),
        }],
        settings: settings(job),
        tables: catalog.tables.clone(),
        stages: prepared.pipelines.iter().map(|p| p.records()).collect(),
        chunks: planned,
        dump_id: Some(dump_id),
        encryption: secrecy.sealer.as_ref().map(|sealer| PlanEncryption {
            recipients: sealer.recipients(),
            passphrase_identity: passphrase_identity.clone(),
        }),
    };
    plan.store(&*store, &secrecy).job_err()?;
    tracing::info!(tables = catalog.tables.len(), chunks = plan.chunks.len(), "Plan ready.");
    let pending = plan.chunks.clone();
    carry_out(
        job,
        source,
        store,
        progress,
        stop,
        Run { plan, catalog, prepared, done: BTreeMap::new(), pending, started_at, secrecy },
    )
    .await
}

/// What one run of a dump executes: the frozen plan, the catalog it reads
/// (the plan's tables), the prepared stages, the chunks already done and
/// those still to do.
pub(crate) struct Run {
    pub(crate) plan: FrozenPlan,
    pub(crate) catalog: Catalog,
    pub(crate) prepared: Prepared,
    pub(crate) done: BTreeMap<u32, JournalRecord>,
    pub(crate) pending: Vec<PlannedChunk>,
    pub(crate) started_at: String,
    pub(crate) secrecy: Secrecy,
}

/// Dumps the pending chunks, then the schema, ends the snapshot and writes
/// the manifest from every journalled chunk; the journal goes last.
pub(crate) async fn carry_out(
    job: &DumpJob,
    mut source: Box<dyn Source>,
    store: Arc<dyn Store>,
    progress: &mut Progress,
    stop: &Stop,
    run: Run,
) -> Result<(), Failure> {
    let clock = Instant::now();
    let Run { plan, catalog, prepared, mut done, pending, started_at, secrecy } = run;
    let readers = source.readers(job.jobs.min(pending.len()).max(1)).await.job_err()?;
    let writers = readers.len();
    let context = Arc::new(DumpContext {
        writers: Arc::new(Semaphore::new(writers)),
        runtime: prepared.runtime.clone(),
        tables: catalog.tables.iter().cloned().map(Arc::new).collect(),
        pipelines: prepared.pipelines.clone(),
        store: store.clone(),
        progress: progress.clone(),
        run: plan.current_run(),
        source: job.source.server_label(),
        chunks: plan.chunks.iter().fold(vec![0u32; catalog.tables.len()], |mut counts, c| {
            counts[c.chunk.table] += 1;
            counts
        }),
        secrecy: secrecy.clone(),
    });
    let workers: Vec<DumpWorker> = readers.into_iter().map(|r| DumpWorker::new(r, context.clone())).collect();
    let mut counts = vec![0u64; catalog.tables.len()];
    pending.iter().for_each(|c| counts[c.chunk.table] += 1);
    let per_table: Vec<(String, u64)> = catalog.tables.iter().map(|t| t.qualified()).zip(counts).collect();
    let estimated_rows = catalog.tables.iter().map(|t| t.estimated_rows.max(0) as u64).sum();
    progress.run_start(&per_table, estimated_rows, catalog.tables.iter().map(|t| t.bytes).sum());
    let data = pool::run(workers, pending, stop);
    let joined = tokio::try_join!(data, source.schema(&catalog));
    // Stopped workers' writers finish on their threads: wait for them, so
    // nothing is still being written once the dump has failed.
    let _ = context.writers.acquire_many(writers as u32).await;
    let (records, scripts) = joined.job_err()?;
    if let Some(interrupted) = stop.error() {
        return Err(Failure::Job(interrupted.into()));
    }
    progress.finish();
    done.extend(records.into_iter().map(|r| (r.chunk, r)));

    let put = |key: &str, script: &str| secrecy.put(&*store, key, script.as_bytes()).map(file_record).job_err();
    let schema = SchemaFiles { pre_data: put(PRE_DATA, &scripts.pre)?, post_data: put(POST_DATA, &scripts.post)? };
    let snapshot = source.finish().await.job_err()?;
    progress.snapshot(&match &snapshot.id {
        Some(id) => format!("{id} ({})", snapshot.method),
        None => snapshot.method.clone(),
    });
    let mut manifest = assemble(job, &plan, &catalog, &prepared, &done, schema, started_at, snapshot).job_err()?;
    // The summary tells the operator the row counts the sealed manifest keeps.
    let shown = manifest.clone();
    if let Some(sealer) = &secrecy.sealer {
        let identity = plan.encryption.as_ref().and_then(|e| e.passphrase_identity.clone());
        sealed::seal_manifest(&*store, sealer, &mut manifest, identity).job_err()?;
    }
    if let Some(path) = &job.sign_key {
        let key = signing::load_secret_key(path).usage_err()?;
        let id = manifest.dump_id.clone().unwrap_or_default();
        signing::sign(&*store, &key, &manifest.to_bytes().job_err()?, &id).job_err()?;
    }
    // Last: only a dump whose every file is whole gets a manifest.
    manifest.store(&*store).job_err()?;
    journal::remove(&*store).job_err()?;
    summary(&shown, clock.elapsed());
    for retried in progress.retries().into_iter().chain(store::retried_line(&*store)) {
        out!("{retried}");
    }
    Ok(())
}

fn file_record(written: Written) -> FileRecord {
    FileRecord { file: written.key, bytes: written.bytes, sha256: written.sha256 }
}

/// What a dump needs once the catalog is known.
pub(crate) struct Prepared {
    masking: MaskPlan,
    runtime: Arc<Runtime>,
    pub(crate) pipelines: Vec<Arc<TablePipeline>>,
}

/// Masking plan, stage runtime and per-table chains (started once to check
/// their config).
pub(crate) fn prepare(
    job: &DumpJob,
    catalog: &Catalog,
    engine: Engine,
    progress: &Progress,
) -> Result<Prepared, Failure> {
    let masking = mask_plan(job, catalog, &|w| progress.warn(w))?;
    let runtime = Runtime::with_key(job.limits, job.key.clone()).job_err()?;
    let pipelines = pipelines(&catalog.tables, engine, output(job), &job.transforms, &masking).job_err()?;
    runtime.preload(pipelines.iter().flat_map(|p| p.wasm_components())).job_err()?;
    check_row_stages(&runtime, &catalog.tables, &pipelines)?;
    Ok(Prepared { masking, runtime, pipelines })
}

/// `sluice plan`: the catalog and chunks a dump would use, without data.
pub async fn plan_only(job: DumpJob) -> Result<(), Failure> {
    let mut source =
        db::open_source(&job.source, &SourceOptions { jobs: 1, ..source_options(&job) }).await.job_err()?;
    let engine = source.engine();
    let catalog = source.catalog(&job.selection, job.chunk_bytes).await.map_err(catalog_failure)?;
    source.check_format(&catalog.tables, job.format).await.map_err(catalog_failure)?;
    source.finish().await.job_err()?;
    for warning in &catalog.warnings {
        eprintln!("warning: {warning}");
    }
    let masking = mask_plan(&job, &catalog, &|w| eprintln!("warning: {w}"))?;
    let pipelines = pipelines(&catalog.tables, engine, output(&job), &job.transforms, &masking).job_err()?;
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
                    "extension_config": t.extension_config, "system_versioning": t.system_versioning,
                    "chunks": chunks.iter().filter(|c| c.table == i).collect::<Vec<_>>(),
                    "stages": p.records(),
                })
            })
            .collect();
        out!(
            "{}",
            serde_json::json!({
                "server_version": catalog.server_version, "tables": tables,
                "inventory": catalog.inventory(), "left_out": catalog.left_out,
            })
        );
        return Ok(());
    }
    out!("{:<36} {:>12} {:>12} {:>6}  {:<28} stages", "table", "est. rows", "bytes", "chunks", "split");
    for (i, (table, pipeline)) in catalog.tables.iter().zip(&pipelines).enumerate() {
        let own: Vec<&Chunk> = chunks.iter().filter(|c| c.table == i).collect();
        let stages: Vec<String> =
            pipeline.records().iter().map(|r| format!("{}({:?})", r.name, r.implementation).to_lowercase()).collect();
        let rows = if table.estimated_rows < 0 { "?".to_owned() } else { table.estimated_rows.to_string() };
        let split = plan::split_words(table, &own, job.chunk_bytes);
        out!(
            "{:<36} {rows:>12} {:>12} {:>6}  {split:<28} {}",
            table.qualified(),
            table.bytes,
            own.len(),
            stages.join(" → ")
        );
    }
    let rows: i64 = catalog.tables.iter().map(|t| t.estimated_rows.max(0)).sum();
    let bytes: u64 = catalog.tables.iter().map(|t| t.bytes).sum();
    out!(
        "total: {} tables, {rows} estimated rows, {bytes} bytes, {} chunks, {} sequences",
        catalog.tables.len(),
        chunks.len(),
        catalog.sequences.len()
    );
    for line in catalog.inventory() {
        out!("carried: {line}");
    }
    for item in &catalog.left_out {
        out!("left out on purpose: {item}");
    }
    Ok(())
}

/// The masking plan, checked: a rule that needs the key fails here when the
/// key is missing, before any data is read.
fn mask_plan(job: &DumpJob, catalog: &Catalog, warn: &dyn Fn(&str)) -> Result<MaskPlan, Failure> {
    if !masking::configured(&job.config) {
        return Ok(MaskPlan { tables: vec![TableMasking::default(); catalog.tables.len()], warnings: vec![] });
    }
    let plan = masking::plan(&job.config, catalog).usage_err()?;
    for warning in &plan.warnings {
        warn(warning);
    }
    if plan.needs_key() && job.key.is_none() && !job.out.is_empty() {
        return Err(Failure::usage(format!(
            "masking needs a key: set the environment variable {} to a secret of at least 16 bytes",
            job.key_env
        )));
    }
    Ok(plan)
}

/// The manifest of a finished dump, from the plan and every journalled
/// chunk.
#[allow(clippy::too_many_arguments)]
fn assemble(
    job: &DumpJob,
    plan: &FrozenPlan,
    catalog: &Catalog,
    prepared: &Prepared,
    done: &BTreeMap<u32, JournalRecord>,
    schema: SchemaFiles,
    started_at: String,
    snapshot: SnapshotInfo,
) -> anyhow::Result<Manifest> {
    let tables = &catalog.tables;
    let (pipelines, masking) = (&prepared.pipelines, &prepared.masking);
    let runs: std::collections::BTreeSet<u32> = done.values().map(|r| r.run).collect();
    let several_runs = runs.len() > 1;
    let mut by_table: BTreeMap<usize, Vec<(u32, &JournalRecord)>> = BTreeMap::new();
    for planned in &plan.chunks {
        let Some(record) = done.get(&planned.id) else {
            anyhow::bail!(
                "chunk {} of table {} was not dumped",
                planned.chunk.index,
                tables[planned.chunk.table].qualified()
            );
        };
        by_table.entry(planned.chunk.table).or_default().push((planned.chunk.index, record));
    }
    let mut entries = Vec::new();
    for (i, table) in tables.iter().enumerate() {
        let mut chunks = by_table.remove(&i).unwrap_or_default();
        chunks.sort_by_key(|(index, _)| *index);
        let columns = chunks.first().map(|(_, r)| r.columns.clone()).unwrap_or_else(|| table.columns.clone());
        if let Some((index, _)) = chunks.iter().find(|(_, r)| r.columns != columns) {
            anyhow::bail!(
                "table {} chunk {index}: row stages returned different columns than chunk 0",
                table.qualified()
            );
        }
        let records: Vec<ChunkRecord> = chunks.iter().map(|(_, r)| r.chunk_record(several_runs)).collect();
        entries.push(TableEntry {
            kind: table.kind,
            schema: table.schema.clone(),
            name: table.name.clone(),
            extension_config: table.extension_config.clone(),
            virtual_module: table.virtual_module.clone(),
            system_versioning: table.system_versioning.clone(),
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
    Ok(Manifest {
        format_version: manifest::FORMAT_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        source: manifest::Source {
            engine: plan.identity.engine,
            server_version: catalog.server_version.clone(),
            database: job.source.database(),
        },
        snapshot: manifest::Snapshot { id: snapshot.id, method: Some(snapshot.method) },
        started_at: plan.snapshots.first().map_or(started_at, |s| s.started_at.clone()),
        finished_at: manifest::now(),
        format: job.format.name().to_owned(),
        compression: job.compression.to_string(),
        schema,
        tables: entries,
        sequences: catalog.sequences.clone(),
        components,
        mask_key_env: job.key.as_ref().map(|_| job.key_env.clone()),
        left_out: catalog.left_out.clone(),
        large_objects: catalog.large_objects,
        snapshots: if several_runs {
            plan.snapshots.iter().filter(|s| runs.contains(&s.run)).cloned().collect()
        } else {
            Vec::new()
        },
        dump_id: plan.dump_id.clone(),
        encryption: None,
    })
}

fn summary(manifest: &Manifest, elapsed: std::time::Duration) {
    let rows: u64 = manifest.tables.iter().filter(|t| t.kind.is_rows()).map(|t| t.rows).sum();
    let bytes: u64 = manifest.tables.iter().map(|t| t.bytes).sum();
    let files: usize = manifest.tables.iter().map(|t| t.chunks.len()).sum();
    let tables = manifest.tables.iter().filter(|t| t.kind.is_rows()).count();
    let large_objects = match manifest.large_objects {
        Some(count) => format!(", {} large objects ({} bytes)", count.objects, count.bytes),
        None => String::new(),
    };
    let secs = elapsed.as_secs_f64().max(1e-3);
    out!(
        "dumped {tables} tables, {rows} rows{large_objects}, {files} files, {bytes} bytes in {secs:.2}s ({:.0} rows/s)",
        rows as f64 / secs
    );
    for item in &manifest.left_out {
        out!("left out on purpose: {item}");
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::Config;
    use crate::db::memory::{MemorySource, table};
    use crate::db::{DbUrl, LockMode};
    use crate::format::{Compression, Format, StagesMode};
    use crate::progress::ProgressMode;
    use crate::select::Selection;
    use crate::stage::Limits;
    use crate::store::memory::MemoryStore;
    use crate::store::naming::MANIFEST;

    /// Progress that shows nothing.
    pub(crate) fn quiet() -> Progress {
        Progress::new(ProgressMode::None, "test")
    }

    /// A dump of the fake source into a memory store, COPY text uncompressed.
    pub(crate) fn job(chunk_bytes: u64) -> DumpJob {
        DumpJob {
            source: DbUrl::parse("postgres://memory/db").expect("url"),
            out: "memory".into(),
            storage: crate::store::S3Options::default(),
            jobs: 2,
            format: Format::Copy,
            compression: Compression::None,
            selection: Selection::default(),
            transforms: vec![],
            progress: ProgressMode::None,
            chunk_bytes,
            stages: StagesMode::Auto,
            limits: Limits::default(),
            config: Config::default(),
            key: None,
            key_env: "SLUICE_MASK_KEY".into(),
            json: false,
            lock_mode: LockMode::Auto,
            large_objects: crate::db::LargeObjects::Include,
            large_objects_reason: String::new(),
            history: crate::db::History::Include,
            resume: false,
            accept_new_snapshot: false,
            snapshot: None,
            encrypt: crate::sealed::EncryptTo::default(),
            unlock: crate::sealed::Unlock::default(),
            sign_key: None,
        }
    }

    #[tokio::test]
    async fn a_dump_commits_every_chunk_and_writes_the_manifest_after_the_snapshot_ends() {
        let (film, film_rows) = table("film", 0..5000);
        let source = MemorySource::new(vec![(film, film_rows.clone()), table("actor", 0..3)]);
        let log = source.log.clone();
        let store = MemoryStore::default();
        execute(&job(16 << 10), Box::new(source), Arc::new(store.clone()), &mut quiet(), &Stop::new())
            .await
            .expect("dump");

        let manifest = Manifest::load(&store).expect("manifest");
        let film = manifest.tables.iter().find(|t| t.name == "film").expect("film");
        assert!(film.chunks.len() > 1, "16 KiB chunks split the film table");
        assert_eq!((film.rows, manifest.tables.iter().map(|t| t.rows).sum::<u64>()), (5000, 5003));
        let mut joined = Vec::new();
        for chunk in &film.chunks {
            let bytes = store.get(&chunk.file).expect("get").expect("chunk file");
            assert_eq!(bytes.len() as u64, chunk.bytes);
            joined.extend(bytes);
        }
        assert_eq!(joined, film_rows, "the chunks hold the table's rows, in order, once");
        assert_eq!(manifest.snapshot.id.as_deref(), Some("memory-1"));
        assert_eq!(manifest.sequences.len(), 1);
        let log = log.lock().expect("log").clone();
        let finish = log.iter().position(|e| e == "finish").expect("finish");
        assert_eq!(log.iter().filter(|e| *e == "reader closed").count(), 2);
        assert!(
            log[..finish].iter().filter(|e| *e == "reader closed").count() == 2
                && log[..finish].contains(&"schema".to_owned())
        );
    }

    #[tokio::test]
    async fn a_reader_that_fails_mid_chunk_leaves_no_committed_part_and_no_manifest() {
        let mut source = MemorySource::new(vec![table("film", 0..5000), table("actor", 0..3)]);
        source.fail = Some("film".into());
        let store = MemoryStore::default();
        let failure = execute(&job(1 << 20), Box::new(source), Arc::new(store.clone()), &mut quiet(), &Stop::new())
            .await
            .expect_err("fails");
        assert_eq!(failure.exit_code(), 1);
        let message = format!("{:#}", failure.error());
        assert!(message.contains("table public.film chunk 0") && message.contains("connection reset"), "{message}");
        assert!(!store.exists(MANIFEST).expect("exists"), "a failed dump wrote a manifest");
        let film: Vec<String> = store.list("data/public.film").expect("list");
        assert!(film.is_empty(), "the failed chunk was committed: {film:?}");
        assert_eq!(store.open_parts(), 0, "a part was left open");
    }

    #[tokio::test]
    async fn a_location_that_holds_a_dump_is_refused_before_any_data_is_read() {
        let store = MemoryStore::default();
        let source = Box::new(MemorySource::new(vec![table("t", 0..2)]));
        execute(&job(1 << 20), source, Arc::new(store.clone()), &mut quiet(), &Stop::new()).await.expect("first dump");
        let refused = store.begin_dump().expect_err("not empty").to_string();
        assert!(refused.contains("not empty"), "{refused}");
    }
}
