//! What makes an interrupted dump resumable: the frozen plan and the
//! journal, both kept in the dump location next to the data.
//!
//! - [`PLAN`] (`plan.json`) is written before any data: the tables as the
//!   catalog read them, every chunk with a stable id, its range and its
//!   file, the settings that shape the files, the stage chains with their
//!   component digests, the source's identity and the snapshot of every
//!   run. `dump --resume` executes it again and never re-plans.
//! - [`JOURNAL_PREFIX`] (`journal/<chunk id>.json`) holds one record per
//!   finished chunk, written (synced, renamed) right after the chunk's file
//!   is committed: its file, SHA-256, bytes, rows, columns and the run that
//!   wrote it. An object store cannot append, so the journal is one small
//!   object per record rather than one appended file; each is whole or
//!   absent, like every object a store commits.
//!
//! The journal is removed once the manifest is written; the plan stays, as
//! the record of what the dump executed.

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::catalog::{Column, Table};
use crate::db::SourceIdentity;
use crate::manifest::{ChunkRecord, FileRecord, RunSnapshot, StageRecord};
use crate::plan::Chunk;
use crate::sealed::Secrecy;
use crate::stage::encrypt::SUFFIX;
use crate::store::{Store, Written};

/// The frozen plan's key.
pub const PLAN: &str = "plan.json";
/// Where the journal's records are.
pub const JOURNAL_PREFIX: &str = "journal/";
/// The plan format this build writes and reads.
pub const PLAN_VERSION: u32 = 1;

/// One chunk of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedChunk {
    /// Stable id: its position in the plan.
    pub id: u32,
    /// The chunk: table index, number, range.
    #[serde(flatten)]
    pub chunk: Chunk,
    /// Its file in the store.
    pub file: String,
}

/// The plan a dump executes, frozen before any data is read.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FrozenPlan {
    /// Plan format version.
    pub format_version: u32,
    /// sluice version that wrote it.
    pub tool_version: String,
    /// Which database.
    pub identity: SourceIdentity,
    /// The server's version string, for the manifest.
    pub server_version: String,
    /// Every snapshot the dump's runs read in, first run first.
    pub snapshots: Vec<RunSnapshot>,
    /// The flags that shape the files, by flag: a resume must ask for the
    /// same (`--format` → `copy`).
    pub settings: BTreeMap<String, String>,
    /// The tables, as the catalog read them in the first run.
    pub tables: Vec<Table>,
    /// Each table's stage chain (component and config digests), by table.
    pub stages: Vec<Vec<StageRecord>>,
    /// Every chunk, in the order the workers take them.
    pub chunks: Vec<PlannedChunk>,
    /// The dump's random id (encrypted files are bound to it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dump_id: Option<String>,
    /// Set when the dump is encrypted: then the plan and the journal are
    /// too, and a resume needs a key to read them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<PlanEncryption>,
}

/// How an interrupted encrypted dump encrypts, for its resume.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanEncryption {
    /// Every recipient's public key, the passphrase mode's own included.
    pub recipients: Vec<String>,
    /// The passphrase mode's identity file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passphrase_identity: Option<FileRecord>,
}

impl FrozenPlan {
    /// Writes the plan (atomically: whole or absent; encrypted when the
    /// dump is).
    pub fn store(&self, store: &dyn Store, secrecy: &Secrecy) -> anyhow::Result<()> {
        let mut text = serde_json::to_vec_pretty(self)?;
        text.push(b'\n');
        secrecy.put(store, PLAN, &text).with_context(|| format!("cannot write {}/{PLAN}", store.location()))?;
        Ok(())
    }

    /// Whether `store` holds a plan, in the clear or encrypted.
    pub fn exists(store: &dyn Store) -> bool {
        [PLAN.to_owned(), format!("{PLAN}{SUFFIX}")].iter().any(|key| store.exists(key).unwrap_or(false))
    }

    /// The plan of the interrupted dump at `store`, or None when there is
    /// none. An encrypted plan needs `secrecy`'s keys.
    pub fn load(store: &dyn Store, secrecy: &Secrecy) -> anyhow::Result<Option<Self>> {
        let name = format!("{}/{PLAN}", store.location());
        let Some(bytes) = secrecy.get(store, PLAN).with_context(|| format!("cannot read {name}"))? else {
            return Ok(None);
        };
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).with_context(|| format!("{name} is not valid JSON"))?;
        match value.get("format_version").and_then(|v| v.as_u64()) {
            Some(v) if v == u64::from(PLAN_VERSION) => {}
            Some(v) => bail!("{name} has format_version {v}; this sluice reads {PLAN_VERSION}"),
            None => bail!("{name} has no format_version"),
        }
        serde_json::from_value(value).map(Some).with_context(|| format!("{name} is not a sluice plan"))
    }

    /// The run now starting's number.
    pub fn current_run(&self) -> u32 {
        self.snapshots.last().map_or(1, |s| s.run)
    }

    /// The flags of `settings` whose values differ from the plan's, each
    /// as a sentence.
    pub fn contradictions(&self, settings: &BTreeMap<String, String>) -> Vec<String> {
        let mut found = Vec::new();
        for (flag, planned) in &self.settings {
            let asked = settings.get(flag).map(String::as_str).unwrap_or("");
            if asked != planned {
                found.push(format!(
                    "{flag}: the interrupted dump used {}, this run asks for {}",
                    shown(planned),
                    shown(asked)
                ));
            }
        }
        for (flag, asked) in settings {
            if !self.settings.contains_key(flag) && !asked.is_empty() {
                found.push(format!("{flag}: the interrupted dump did not use it, this run asks for {}", shown(asked)));
            }
        }
        found
    }
}

fn shown(value: &str) -> String {
    if value.is_empty() { "nothing".to_owned() } else { format!("'{value}'") }
}

/// One finished chunk, as the journal records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalRecord {
    /// The chunk's id in the plan.
    pub chunk: u32,
    /// Its file.
    pub file: String,
    /// Hex SHA-256 of the file.
    pub sha256: String,
    /// File size.
    pub bytes: u64,
    /// Rows in it.
    pub rows: u64,
    /// Columns of the rows written (after row stages).
    pub columns: Vec<Column>,
    /// The run (and so the snapshot) that wrote it.
    pub run: u32,
}

impl JournalRecord {
    /// The record of a committed chunk.
    pub fn new(chunk: u32, written: &Written, rows: u64, columns: &[Column], run: u32) -> Self {
        JournalRecord {
            chunk,
            file: written.key.clone(),
            sha256: written.sha256.clone(),
            bytes: written.bytes,
            rows,
            columns: columns.to_vec(),
            run,
        }
    }

    /// As the manifest records a chunk.
    pub fn chunk_record(&self, several_runs: bool) -> ChunkRecord {
        ChunkRecord {
            file: self.file.clone(),
            rows: self.rows,
            bytes: self.bytes,
            sha256: self.sha256.clone(),
            run: several_runs.then_some(self.run),
        }
    }
}

/// The journal's key for chunk `id`.
pub fn record_key(id: u32) -> String {
    format!("{JOURNAL_PREFIX}{id:06}.json")
}

/// Appends `record` to the journal (one synced object, encrypted when the
/// dump is).
pub fn append(store: &dyn Store, record: &JournalRecord, secrecy: &Secrecy) -> anyhow::Result<()> {
    let key = record_key(record.chunk);
    let text = serde_json::to_vec(record)?;
    secrecy.put(store, &key, &text).with_context(|| format!("cannot write the journal record {key}"))?;
    Ok(())
}

/// How many records the journal holds (read without a key).
pub fn count(store: &dyn Store) -> anyhow::Result<usize> {
    Ok(store.list(JOURNAL_PREFIX).context("cannot list the journal")?.len())
}

/// Every record in the journal, by chunk id. A record that cannot be read
/// is left out (its chunk is done again).
pub fn records(store: &dyn Store, secrecy: &Secrecy) -> anyhow::Result<BTreeMap<u32, JournalRecord>> {
    let mut found = BTreeMap::new();
    for key in store.list(JOURNAL_PREFIX).context("cannot list the journal")? {
        let base = if secrecy.on() { key.strip_suffix(SUFFIX).unwrap_or(&key) } else { &key };
        let bytes = match secrecy.get(store, base) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!(%key, error = %e, "Unreadable journal record: its chunk is dumped again.");
                continue;
            }
        };
        match serde_json::from_slice::<JournalRecord>(&bytes) {
            Ok(record) if record_key(record.chunk) == base => {
                found.insert(record.chunk, record);
            }
            _ => tracing::warn!(%key, "Unreadable journal record: its chunk is dumped again."),
        }
    }
    Ok(found)
}

/// Removes the journal (after the manifest is written).
pub fn remove(store: &dyn Store) -> anyhow::Result<()> {
    for key in store.list(JOURNAL_PREFIX)? {
        store.delete(&key)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Engine;
    use crate::plan::ChunkRange;
    use crate::store::memory::MemoryStore;

    fn plan() -> FrozenPlan {
        FrozenPlan {
            format_version: PLAN_VERSION,
            tool_version: "test".into(),
            identity: SourceIdentity {
                engine: Engine::Postgres,
                database: "db".into(),
                server: "7321".into(),
                detail: String::new(),
            },
            server_version: "17".into(),
            snapshots: vec![RunSnapshot { run: 1, id: Some("00000003-1".into()), held: true, started_at: "t".into() }],
            settings: BTreeMap::from([("--format".into(), "copy".into()), ("--compress".into(), "zstd:1".into())]),
            tables: vec![Table { schema: "public".into(), name: "t".into(), ..Table::default() }],
            stages: vec![vec![]],
            chunks: vec![PlannedChunk {
                id: 0,
                chunk: Chunk {
                    table: 0,
                    index: 0,
                    range: ChunkRange::Pages { start: 0, end: Some(8) },
                    estimated_bytes: 1,
                },
                file: "data/public.t.00000.copy.zst".into(),
            }],
            dump_id: Some("d1".into()),
            encryption: None,
        }
    }

    #[test]
    fn the_plan_and_the_journal_round_trip_through_a_store() {
        let store = MemoryStore::default();
        let clear = Secrecy::default();
        assert!(FrozenPlan::load(&store, &clear).expect("load").is_none());
        plan().store(&store, &clear).expect("store");
        let loaded = FrozenPlan::load(&store, &clear).expect("load").expect("a plan");
        assert_eq!(loaded.chunks, plan().chunks);
        assert_eq!(loaded.identity, plan().identity);
        let written = Written { key: "data/public.t.00000.copy.zst".into(), bytes: 10, sha256: "ab".into() };
        append(&store, &JournalRecord::new(0, &written, 3, &[], 1), &clear).expect("append");
        let records = records(&store, &clear).expect("records");
        assert_eq!(records.len(), 1);
        assert_eq!((records[&0].rows, records[&0].file.as_str()), (3, "data/public.t.00000.copy.zst"));
        remove(&store).expect("remove");
        assert!(super::records(&store, &clear).expect("records").is_empty());
    }

    #[test]
    fn an_encrypted_plan_and_journal_need_the_key() {
        use crate::stage::encrypt::{Keys, Recipients, Sealer};
        use std::sync::Arc;
        let identity = age::x25519::Identity::generate();
        let sealer = Arc::new(Sealer::new(Recipients::one(identity.to_public()), "d1"));
        let writing = Secrecy { sealer: Some(sealer), keys: None };
        let store = MemoryStore::default();
        plan().store(&store, &writing).expect("store");
        let written = Written { key: "data/public.t.00000.copy.zst.age".into(), bytes: 10, sha256: "ab".into() };
        append(&store, &JournalRecord::new(0, &written, 3, &[], 1), &writing).expect("append");
        assert!(store.exists("plan.json.age").expect("exists") && !store.exists(PLAN).expect("exists"));
        assert!(FrozenPlan::exists(&store));
        assert_eq!(count(&store).expect("count"), 1);
        let raw = store.get("plan.json.age").expect("get").expect("plan");
        assert!(!String::from_utf8_lossy(&raw).contains("public"), "the plan is in the clear");
        let error = FrozenPlan::load(&store, &Secrecy::default()).expect_err("no key");
        assert!(format!("{error:#}").contains("is encrypted"), "{error:#}");
        assert!(records(&store, &Secrecy::default()).expect("records").is_empty());
        let reading = Secrecy { sealer: None, keys: Some(Arc::new(Keys::one(identity, "test").bound_to("d1"))) };
        let loaded = FrozenPlan::load(&store, &reading).expect("load").expect("a plan");
        assert_eq!(loaded.chunks, plan().chunks);
        assert_eq!(records(&store, &reading).expect("records")[&0].rows, 3);
    }

    #[test]
    fn contradicting_flags_are_named_and_another_server_is_told_apart() {
        let plan = plan();
        assert!(plan.contradictions(&plan.settings).is_empty());
        let mut asked = plan.settings.clone();
        asked.insert("--format".into(), "csv".into());
        asked.insert("--include".into(), "public.*".into());
        let found = plan.contradictions(&asked);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].starts_with("--format: the interrupted dump used 'copy', this run asks for 'csv'"));
        assert!(found[1].starts_with("--include: the interrupted dump did not use it"));
        let other = SourceIdentity { server: "9999".into(), ..plan.identity.clone() };
        assert!(plan.identity.differs(&other).expect("differs").contains("another server"));
        assert!(plan.identity.differs(&plan.identity.clone()).is_none());
    }
}
