//! `sluice dump --resume`: finishes an interrupted dump as its frozen plan
//! says, engine-free.
//!
//! In order: the location must hold a plan and no manifest; this run's
//! flags must be the plan's; the source must be the same database; the
//! snapshot is the plan's when it still lives (PostgreSQL, held by
//! `sluice snapshot hold`), else a new one only with
//! `--accept-new-snapshot`; every journalled file is checked against its
//! checksum, and leftovers are removed; only the chunks not done are
//! dumped. Under a new snapshot, a table chunked by physical position
//! (PostgreSQL pages, SQLite's implicit rowid) with any chunk pending is
//! dumped again whole: an UPDATE between the two snapshots can move a row
//! from a pending range to a finished one, or back.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::sync::Arc;

use anyhow::Context;
use sha2::{Digest, Sha256};

use crate::catalog::{Catalog, Table};
use crate::cli::DumpJob;
use crate::db::{self, Engine, SnapshotElsewhere, SnapshotGone, Source};
use crate::dump::{Run, carry_out, catalog_failure, prepare, resume_hint, settings, source_options};
use crate::error::{Failure, JobContext, UsageContext};
use crate::journal::{self, FrozenPlan, JournalRecord};
use crate::manifest::{self, RunSnapshot};
use crate::output::out;
use crate::plan::ChunkRange;
use crate::progress::Progress;
use crate::sealed::{self, Secrecy};
use crate::stage::encrypt::{Keys, Recipients, Sealer};
use crate::stop::Stop;
use crate::store::Store;
use crate::store::naming::{DATA_PREFIX, MANIFEST, POST_DATA, PRE_DATA};

/// `sluice dump SOURCE --out LOCATION --resume`.
pub async fn run(job: DumpJob) -> Result<(), Failure> {
    let mut progress = Progress::new(job.progress, "dump");
    let stop = Stop::on_signals().job_err()?;
    let result = match crate::store::open(&job.out, &job.storage) {
        Ok(store) => resume(&job, store, &mut progress, &stop).await,
        Err(e) => Err(Failure::Usage(e)),
    };
    progress.run_end(&result);
    result
}

async fn resume(job: &DumpJob, store: Arc<dyn Store>, progress: &mut Progress, stop: &Stop) -> Result<(), Failure> {
    let location = store.location();
    if store.exists(MANIFEST).usage_err()? {
        out!("the dump in {location} is already complete: nothing to resume");
        return Ok(());
    }
    // An encrypted plan is read with the keys the run was given.
    let keys = if job.unlock.given() { Some(sealed::keys(&*store, &job.unlock, None)?) } else { None };
    let reading = Secrecy { sealer: None, keys: keys.clone().map(Arc::new) };
    let Some(mut plan) = FrozenPlan::load(&*store, &reading).usage_err()? else {
        return Err(Failure::usage(format!(
            "{location} is not an interrupted dump: it has no {} (dump into it without --resume)",
            journal::PLAN
        )));
    };
    let secrecy = secrecy(&plan, keys)?;
    let contradictions = plan.contradictions(&settings(job));
    if !contradictions.is_empty() {
        return Err(Failure::usage(format!(
            "--resume: this run's flags contradict the interrupted dump's plan: {}; run the same command as \
             the interrupted dump, with --resume",
            contradictions.join("; ")
        )));
    }
    if job.source.engine() != plan.identity.engine {
        return Err(Failure::usage(format!(
            "--resume: the interrupted dump read {}, not {}",
            plan.identity.engine.label(),
            job.source.engine().label()
        )));
    }
    let (mut source, same_snapshot) = open(job, &plan).await?;
    let identity = source.identity().await.job_err()?;
    if let Some(why) = plan.identity.differs(&identity) {
        return Err(Failure::usage(format!(
            "--resume: {} is not the database of the interrupted dump: {why}",
            job.source
        )));
    }
    let started_at = manifest::now();
    let catalog = source.catalog(&job.selection, job.chunk_bytes).await.map_err(catalog_failure)?;
    let catalog = frozen_catalog(&plan, catalog, progress)?;
    let prepared = prepare(job, &catalog, plan.identity.engine, progress)?;
    for (table, (pipeline, planned)) in catalog.tables.iter().zip(prepared.pipelines.iter().zip(&plan.stages)) {
        if &pipeline.records() != planned {
            return Err(Failure::usage(format!(
                "--resume: the stages of table {} differ from the interrupted dump's (--transform or the \
                 config's rules changed, or a component file did)",
                table.qualified()
            )));
        }
    }

    let mut done = checked_journal(&*store, &plan, &secrecy).job_err()?;
    if !same_snapshot {
        let run = plan.current_run() + 1;
        let snapshot = source.snapshot_id();
        plan.snapshots.push(RunSnapshot {
            run,
            id: snapshot,
            held: job.snapshot.is_some(),
            started_at: started_at.clone(),
        });
        redo_physical(&*store, &plan, &mut done, progress, &secrecy).job_err()?;
        plan.store(&*store, &secrecy).job_err()?;
    }
    let pending: Vec<_> = plan.chunks.iter().filter(|c| !done.contains_key(&c.id)).cloned().collect();
    progress.warn(&format!(
        "resuming the dump in {location}: {} of {} chunks are done, {} to go ({})",
        done.len(),
        plan.chunks.len(),
        pending.len(),
        if same_snapshot { "in the same snapshot" } else { "in a new snapshot, as --accept-new-snapshot allows" }
    ));
    let run = Run { plan, catalog, prepared, done, pending, started_at, secrecy };
    carry_out(job, source, store.clone(), progress, stop, run).await.map_err(|f| resume_hint(f, job, &*store))
}

/// How the resumed run encrypts: to the plan's recipients, bound to its
/// dump id, reading with the keys it was given (which must be among them).
fn secrecy(plan: &FrozenPlan, keys: Option<Keys>) -> Result<Secrecy, Failure> {
    let (Some(encryption), Some(keys)) = (&plan.encryption, keys) else {
        return Ok(Secrecy::default());
    };
    let dump_id = plan.dump_id.as_deref().ok_or_else(|| Failure::usage("the encrypted plan has no dump id"))?;
    if !keys.opens(&encryption.recipients) {
        return Err(Failure::Job(anyhow::anyhow!(
            "{} is not one of the interrupted dump's recipients ({})",
            keys.source(),
            encryption.recipients.join(", ")
        )));
    }
    let recipients = Recipients::from_keys(&encryption.recipients).usage_err()?;
    Ok(Secrecy {
        sealer: Some(Arc::new(Sealer::new(recipients, dump_id))),
        keys: Some(Arc::new(keys.bound_to(dump_id))),
    })
}

/// Opens the source in the plan's snapshot when it still lives; else, with
/// `--accept-new-snapshot`, in a new one. Says whether it is the same.
async fn open(job: &DumpJob, plan: &FrozenPlan) -> Result<(Box<dyn Source>, bool), Failure> {
    let last = plan.snapshots.last();
    let engine = plan.identity.engine;
    // PostgreSQL can read in a snapshot again while a session holds it;
    // asking for another one (`--snapshot`) is a new snapshot.
    let again = match (&job.snapshot, last.and_then(|s| s.id.clone())) {
        (Some(asked), Some(planned)) if *asked != planned => None,
        (_, planned) if engine == Engine::Postgres => planned,
        _ => None,
    };
    if let Some(id) = again {
        let options = db::SourceOptions { snapshot: Some(id.clone()), ..source_options(job) };
        match db::open_source(&job.source, &options).await {
            Ok(source) => return Ok((source, true)),
            Err(e) if e.downcast_ref::<SnapshotGone>().is_some() => {
                if !job.accept_new_snapshot {
                    return Err(Failure::usage(format!(
                        "--resume: the interrupted dump's snapshot {id} is gone (the session that held it has \
                         ended). Either run with --accept-new-snapshot to finish under a new snapshot (recorded in \
                         the manifest; tables chunked by position are dumped again whole), or start a new dump \
                         (with `sluice snapshot hold` and --snapshot NAME, a resume reads in the same snapshot)"
                    )));
                }
            }
            Err(e) if e.downcast_ref::<SnapshotElsewhere>().is_some() => {
                return Err(Failure::usage(format!(
                    "--resume: {} is not the database of the interrupted dump: {e}",
                    job.source
                )));
            }
            Err(e) => return Err(Failure::Job(e)),
        }
    } else if !job.accept_new_snapshot {
        let why = match engine {
            Engine::Postgres => "its snapshot is not known".to_owned(),
            other => format!("{} cannot read in an earlier snapshot again", other.label()),
        };
        return Err(Failure::usage(format!(
            "--resume: the interrupted dump cannot be finished in its own snapshot: {why}. Either run with \
             --accept-new-snapshot to finish under a new snapshot (recorded in the manifest; tables chunked by \
             position are dumped again whole), or start a new dump"
        )));
    }
    let options = db::SourceOptions { snapshot: job.snapshot.clone(), ..source_options(job) };
    Ok((db::open_source(&job.source, &options).await.job_err()?, false))
}

/// The plan's tables over this run's catalog (sequences, what is left out):
/// a resume never re-plans, and refuses a table whose columns changed.
fn frozen_catalog(plan: &FrozenPlan, mut catalog: Catalog, progress: &Progress) -> Result<Catalog, Failure> {
    let now: BTreeMap<String, &Table> = catalog.tables.iter().map(|t| (t.qualified(), t)).collect();
    for table in &plan.tables {
        match now.get(&table.qualified()) {
            None => {
                return Err(Failure::usage(format!(
                    "--resume: table {} of the interrupted dump is gone from the source",
                    table.qualified()
                )));
            }
            Some(current) if current.columns != table.columns => {
                return Err(Failure::usage(format!(
                    "--resume: the columns of table {} changed since the interrupted dump's snapshot",
                    table.qualified()
                )));
            }
            Some(_) => {}
        }
    }
    let planned: BTreeSet<String> = plan.tables.iter().map(Table::qualified).collect();
    for name in now.keys().filter(|n| !planned.contains(*n)) {
        progress.warn(&format!("table {name} appeared after the interrupted dump's plan: it is not in this dump"));
    }
    catalog.tables = plan.tables.clone();
    catalog.server_version = plan.server_version.clone();
    Ok(catalog)
}

/// The journal's records whose files are whole (present, same size and
/// SHA-256); everything else a crashed run left is removed: `*.partial`
/// files, data files no record names, records whose file is damaged, and
/// the schema scripts (taken again at the end).
fn checked_journal(
    store: &dyn Store,
    plan: &FrozenPlan,
    secrecy: &Secrecy,
) -> anyhow::Result<BTreeMap<u32, JournalRecord>> {
    for partial in store.remove_partials()? {
        tracing::info!(%partial, "Removed a leftover partial file.");
    }
    let mut done = BTreeMap::new();
    for (id, record) in journal::records(store, secrecy)? {
        // A chunk's id is its position in the plan.
        let planned = plan.chunks.get(id as usize).filter(|c| c.id == id);
        let whole = planned.is_some_and(|c| c.file == record.file) && file_matches(store, &record)?;
        if whole {
            done.insert(id, record);
        } else {
            tracing::warn!(file = %record.file, "A journalled file is missing or damaged: its chunk is dumped again.");
            store.delete(&secrecy.key(&journal::record_key(id)))?;
            store.delete(&record.file)?;
        }
    }
    let named: BTreeSet<&str> = done.values().map(|r| r.file.as_str()).collect();
    for key in store.list(DATA_PREFIX)? {
        if !named.contains(key.as_str()) {
            store.delete(&key)?;
        }
    }
    for key in [PRE_DATA, POST_DATA] {
        store.delete(&secrecy.key(key))?;
    }
    Ok(done)
}

fn file_matches(store: &dyn Store, record: &JournalRecord) -> anyhow::Result<bool> {
    let mut reader = match store.open(&record.file) {
        Ok(reader) => reader,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", record.file)),
    };
    let (mut hasher, mut bytes, mut buffer) = (Sha256::new(), 0u64, vec![0u8; 1 << 20]);
    loop {
        let n = reader.read(&mut buffer).with_context(|| format!("cannot read {}", record.file))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        bytes += n as u64;
    }
    Ok(bytes == record.bytes && hex::encode(hasher.finalize()) == record.sha256)
}

/// Whether a chunk's rows are picked by where they are stored rather than
/// by a key: PostgreSQL page ranges, and SQLite rowid ranges of a table
/// without a declared key (VACUUM renumbers such rowids).
fn physical(table: &Table, range: &ChunkRange) -> bool {
    match range {
        ChunkRange::Pages { .. } => true,
        ChunkRange::Keys { .. } => table.primary_key.is_empty(),
        ChunkRange::Whole | ChunkRange::Bounds { .. } => false,
    }
}

/// Under a new snapshot, every chunk of a table chunked by position that
/// has any chunk pending is dumped again: its finished chunks' files and
/// records are removed.
fn redo_physical(
    store: &dyn Store,
    plan: &FrozenPlan,
    done: &mut BTreeMap<u32, JournalRecord>,
    progress: &Progress,
    secrecy: &Secrecy,
) -> anyhow::Result<()> {
    let mut tables: BTreeSet<usize> = BTreeSet::new();
    for chunk in &plan.chunks {
        if !done.contains_key(&chunk.id) && physical(&plan.tables[chunk.chunk.table], &chunk.chunk.range) {
            tables.insert(chunk.chunk.table);
        }
    }
    for &table in &tables {
        let own: Vec<u32> = plan.chunks.iter().filter(|c| c.chunk.table == table).map(|c| c.id).collect();
        let kept = own.iter().filter(|id| done.contains_key(id)).count();
        for id in &own {
            if let Some(record) = done.remove(id) {
                store.delete(&secrecy.key(&journal::record_key(*id)))?;
                store.delete(&record.file)?;
            }
        }
        if kept > 0 {
            progress.warn(&format!(
                "table {} is chunked by position: under the new snapshot all {} of its chunks are dumped again \
                 ({kept} were done)",
                plan.tables[table].qualified(),
                own.len()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_ranges_and_keyless_rowids_are_physical_keys_are_not() {
        let keyless = Table { name: "t".into(), ..Table::default() };
        let keyed = Table { primary_key: vec!["id".into()], ..keyless.clone() };
        assert!(physical(&keyed, &ChunkRange::Pages { start: 0, end: None }));
        assert!(physical(&keyless, &ChunkRange::Keys { start: None, end: Some(10) }));
        assert!(!physical(&keyed, &ChunkRange::Keys { start: None, end: Some(10) }));
        assert!(!physical(&keyed, &ChunkRange::Bounds { start: Some(0), end: None }));
        assert!(!physical(&keyless, &ChunkRange::Whole));
    }
}
