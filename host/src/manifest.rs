//! The dump's record: what was dumped from where, in which files with which
//! checksums, and which components with which configs made them. Written
//! last and atomically: a directory without `manifest.json` is incomplete.
//! It never holds a password or a secret.

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::catalog::{Column, ExtensionConfig, LargeObjectCount, Sequence, TableKind};
use crate::db::Engine;
use crate::stage::World;
use crate::store::Store;
use crate::store::naming::{DATA_PREFIX, MANIFEST};

/// The manifest format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// The whole manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// Manifest format version.
    pub format_version: u32,
    /// sluice version that wrote it.
    pub tool_version: String,
    /// Where the data came from.
    pub source: Source,
    /// The point in time every worker read.
    pub snapshot: Snapshot,
    /// When the dump started (RFC 3339, UTC).
    pub started_at: String,
    /// When it finished.
    pub finished_at: String,
    /// Data file format (`copy`, `csv`).
    pub format: String,
    /// Data file compression (`zstd:3`, `gzip:6`, `none`).
    pub compression: String,
    /// Schema script files.
    pub schema: SchemaFiles,
    /// Dumped tables.
    pub tables: Vec<TableEntry>,
    /// Sequence values read in the snapshot.
    pub sequences: Vec<Sequence>,
    /// Every wasm component any stage used, once each.
    pub components: Vec<ComponentRecord>,
    /// The environment variable the masking key came from (never the key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mask_key_env: Option<String>,
    /// Data left out on purpose besides tables (`3 large object(s)
    /// (--large-objects exclude)`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub left_out: Vec<String>,
    /// PostgreSQL large objects carried (their pieces are the table entry
    /// of kind `large-objects`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub large_objects: Option<LargeObjectCount>,
    /// Every snapshot a resumed dump read in, when there were several (each
    /// chunk's `run` says which): its data is not from one point in time.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub snapshots: Vec<RunSnapshot>,
    /// The dump's random id, which every encrypted file is bound to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dump_id: Option<String>,
    /// Set when the files are encrypted: then this manifest holds only what
    /// `verify` without a key needs, and [`Sealed`] the rest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<Encryption>,
}

/// How an encrypted dump is encrypted: public facts only, never a key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Encryption {
    /// `age-v1-x25519`.
    pub scheme: String,
    /// Every recipient's public key (`age1…`), sorted.
    pub recipients: Vec<String>,
    /// Passphrase mode: the dump's own identity, encrypted to the
    /// passphrase (its public key is one of `recipients`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passphrase_identity: Option<FileRecord>,
    /// The encrypted file holding what this manifest leaves out.
    pub sealed: FileRecord,
}

/// What an encrypted dump's manifest leaves out, because it holds data
/// values or describes them: per table its columns, row counts, masked
/// columns and the like, the sequence values, the large-object count.
/// Kept in an encrypted file of its own and merged back by a reader with a
/// key.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Sealed {
    /// The dump it belongs to.
    pub dump_id: String,
    /// Per table, in the manifest's order.
    pub tables: Vec<SealedTable>,
    /// Sequence values.
    pub sequences: Vec<Sequence>,
    /// Data left out on purpose.
    pub left_out: Vec<String>,
    /// Large objects carried.
    pub large_objects: Option<LargeObjectCount>,
}

/// The sealed part of one table entry.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SealedTable {
    /// `schema.table`, to match the entry.
    pub table: String,
    /// Its chunk files, to match the entry's.
    pub files: Vec<String>,
    /// Rows per chunk, in chunk order.
    pub chunk_rows: Vec<u64>,
    /// Columns.
    pub columns: Vec<Column>,
    /// Masked columns and rules.
    pub masked: std::collections::BTreeMap<String, String>,
    /// Whether a filter dropped rows.
    pub filtered: bool,
    /// Extension configuration (its condition may quote values).
    pub extension_config: Option<ExtensionConfig>,
    /// System versioning (column names).
    pub system_versioning: Option<crate::catalog::SystemVersioning>,
}

/// Source database.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Source {
    /// Engine.
    pub engine: Engine,
    /// Server version string.
    pub server_version: String,
    /// Database name.
    pub database: String,
}

/// Snapshot identity.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Snapshot {
    /// PostgreSQL exported snapshot id.
    pub id: Option<String>,
    /// How every reader was put at the same point in time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
}

/// Schema files.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SchemaFiles {
    /// Objects created before data is loaded.
    pub pre_data: FileRecord,
    /// Indexes, constraints, triggers: created after data is loaded.
    pub post_data: FileRecord,
}

/// A file and its checksum.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileRecord {
    /// Path relative to the dump directory.
    pub file: String,
    /// Size.
    pub bytes: u64,
    /// Hex SHA-256.
    pub sha256: String,
}

/// One dumped table.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TableEntry {
    /// What the rows are (absent: a table's own rows).
    #[serde(default, skip_serializing_if = "TableKind::is_rows")]
    pub kind: TableKind,
    /// Schema.
    pub schema: String,
    /// Name.
    pub name: String,
    /// Set when the table is a PostgreSQL extension's configuration table:
    /// the pre-data script's `CREATE EXTENSION` makes it, the files hold
    /// the rows its condition picks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension_config: Option<ExtensionConfig>,
    /// The module of a SQLite virtual table whose content the files hold
    /// (`fts5`, `rtree`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_module: Option<String>,
    /// Set when the table is MariaDB system-versioned: its period columns,
    /// and whether the files hold its history rows (then restore inserts
    /// them with `system_versioning_insert_history`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_versioning: Option<crate::catalog::SystemVersioning>,
    /// Columns as written in the data files (after row stages).
    pub columns: Vec<Column>,
    /// Rows in all chunks.
    pub rows: u64,
    /// Bytes in all chunk files.
    pub bytes: u64,
    /// The stage chain that produced the files, in pipeline order.
    pub stages: Vec<StageRecord>,
    /// Masked columns and the rule each got (after foreign-key propagation).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub masked: std::collections::BTreeMap<String, String>,
    /// Whether a filter or sample dropped rows on the way.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub filtered: bool,
    /// Chunk files in chunk order.
    pub chunks: Vec<ChunkRecord>,
}

impl TableEntry {
    /// The catalog view of the table as the dump recorded it (columns after
    /// row stages), for loaders and the components' `table`.
    pub fn table(&self) -> crate::catalog::Table {
        crate::catalog::Table {
            kind: self.kind,
            schema: self.schema.clone(),
            name: self.name.clone(),
            extension_config: self.extension_config.clone(),
            virtual_module: self.virtual_module.clone(),
            system_versioning: self.system_versioning.clone(),
            columns: self.columns.clone(),
            estimated_rows: self.rows as i64,
            bytes: self.bytes,
            ..crate::catalog::Table::default()
        }
    }

    /// `schema.table`.
    pub fn qualified(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }
}

/// One chunk file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChunkRecord {
    /// Path relative to the dump directory.
    pub file: String,
    /// Rows in the file.
    pub rows: u64,
    /// File size.
    pub bytes: u64,
    /// Hex SHA-256 of the file.
    pub sha256: String,
    /// The run whose snapshot the chunk was read in (see
    /// [`Manifest::snapshots`]); only when a resumed dump used several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<u32>,
}

/// The snapshot one run of a dump read in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSnapshot {
    /// 1 for the first run, then one more per resume that took a snapshot
    /// of its own.
    pub run: u32,
    /// The engine's id of it (exported snapshot, GTID or binlog position).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Whether it is held by a process of its own (`sluice snapshot hold`,
    /// `--snapshot NAME`), so a resume can import it again.
    #[serde(default)]
    pub held: bool,
    /// When the run started (RFC 3339, UTC).
    pub started_at: String,
}

/// Where a stage ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Implementation {
    /// As a wasm component.
    Wasm,
    /// Native code in the host producing the same bytes as the component.
    Native,
}

/// One stage of a table's chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageRecord {
    /// Role in the pipeline.
    pub role: World,
    /// Component name.
    pub name: String,
    /// Where it ran.
    pub implementation: Implementation,
    /// SHA-256 of the component's wasm (for native stages: of the built-in
    /// component whose output the native code reproduces).
    pub sha256: String,
    /// SHA-256 of the config text handed to the stage (never the config itself).
    pub config_sha256: String,
}

/// A component used by the dump.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentRecord {
    /// Name.
    pub name: String,
    /// World it implements.
    pub world: World,
    /// Hex SHA-256 of the wasm.
    pub sha256: String,
    /// `builtin` or the file path as given.
    pub source: String,
}

impl Manifest {
    /// Reads the manifest of the dump at `store`; a missing or unreadable
    /// manifest means the location holds no complete dump.
    pub fn load(store: &dyn Store) -> anyhow::Result<Self> {
        let location = store.location();
        let name = format!("{location}/{MANIFEST}");
        // The store's errors name the object already.
        let Some(bytes) = store.get(MANIFEST)? else {
            let keys = store.list("").with_context(|| format!("cannot read {location}"))?;
            if keys.iter().any(|k| k.starts_with(DATA_PREFIX) || k.starts_with("schema/")) {
                bail!("{location} is an incomplete dump: it has no {MANIFEST}");
            }
            bail!("{location} is not a dump directory: it has no {MANIFEST}");
        };
        let version: serde_json::Value =
            serde_json::from_slice(&bytes).with_context(|| format!("{name} is not valid JSON"))?;
        match version.get("format_version").and_then(|v| v.as_u64()) {
            Some(v) if v == u64::from(FORMAT_VERSION) => {}
            Some(v) => bail!("{name} has format_version {v}; this sluice reads {FORMAT_VERSION}"),
            None => bail!("{name} has no format_version"),
        }
        serde_json::from_value(version).with_context(|| format!("{name} is not a sluice manifest"))
    }

    /// The manifest's bytes as stored (and signed).
    pub fn to_bytes(&self) -> anyhow::Result<Vec<u8>> {
        let mut text = serde_json::to_vec_pretty(self)?;
        text.push(b'\n');
        Ok(text)
    }

    /// Writes the manifest atomically, and only where none is: the last
    /// object of a dump, which never replaces another dump's.
    pub fn store(&self, store: &dyn Store) -> anyhow::Result<()> {
        let text = self.to_bytes()?;
        store.put_new(MANIFEST, &text).with_context(|| format!("cannot write {}/{MANIFEST}", store.location()))?;
        Ok(())
    }
}

impl Manifest {
    /// Moves out what an encrypted dump keeps secret, leaving empty values
    /// (zero rows, no columns) in their place.
    pub fn seal(&mut self, dump_id: &str) -> Sealed {
        let tables = self
            .tables
            .iter_mut()
            .map(|t| {
                t.rows = 0;
                SealedTable {
                    table: t.qualified(),
                    files: t.chunks.iter().map(|c| c.file.clone()).collect(),
                    chunk_rows: t.chunks.iter_mut().map(|c| std::mem::take(&mut c.rows)).collect(),
                    columns: std::mem::take(&mut t.columns),
                    masked: std::mem::take(&mut t.masked),
                    filtered: std::mem::take(&mut t.filtered),
                    extension_config: t.extension_config.take(),
                    system_versioning: t.system_versioning.take(),
                }
            })
            .collect();
        Sealed {
            dump_id: dump_id.to_owned(),
            tables,
            sequences: std::mem::take(&mut self.sequences),
            left_out: std::mem::take(&mut self.left_out),
            large_objects: self.large_objects.take(),
        }
    }

    /// Puts the sealed part back; fails unless it describes exactly this
    /// manifest's dump, tables and files.
    pub fn unseal(&mut self, sealed: Sealed) -> anyhow::Result<()> {
        if self.dump_id.as_deref() != Some(sealed.dump_id.as_str()) {
            bail!("the sealed manifest belongs to dump {}, not to this one", sealed.dump_id);
        }
        if sealed.tables.len() != self.tables.len() {
            bail!("the sealed manifest lists {} tables, manifest.json {}", sealed.tables.len(), self.tables.len());
        }
        for (entry, part) in self.tables.iter_mut().zip(sealed.tables) {
            let files: Vec<&str> = entry.chunks.iter().map(|c| c.file.as_str()).collect();
            if part.table != entry.qualified() || part.files != files || part.chunk_rows.len() != files.len() {
                bail!("manifest.json and the sealed manifest disagree on the files of {}", entry.qualified());
            }
            for (chunk, rows) in entry.chunks.iter_mut().zip(&part.chunk_rows) {
                chunk.rows = *rows;
            }
            entry.rows = part.chunk_rows.iter().sum();
            entry.columns = part.columns;
            entry.masked = part.masked;
            entry.filtered = part.filtered;
            entry.extension_config = part.extension_config;
            entry.system_versioning = part.system_versioning;
        }
        self.sequences = sealed.sequences;
        self.left_out = sealed.left_out;
        self.large_objects = sealed.large_objects;
        Ok(())
    }
}

/// Hex SHA-256 of a stage's config text.
pub fn config_digest(config: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(config.as_bytes()))
}

/// Now, RFC 3339 in UTC.
pub fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "unknown".to_owned())
}
