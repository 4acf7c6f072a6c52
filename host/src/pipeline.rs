//! A table's stage chain in both directions: [`TablePipeline`] (dump: row
//! stages, formatter, codec, and where each runs) and [`Decoding`]
//! (restore and verify: the codec and the formatter's parse direction).
//! The engine is named here once, as the components' dialect.

use std::io::Read;
use std::sync::Arc;

use anyhow::{Context, anyhow};

use crate::catalog::Table;
use crate::db::Engine;
use crate::error::Failure;
use crate::format::{Compression, Format, StagesMode};
use crate::manifest::{ChunkRecord, Implementation, Manifest, StageRecord, config_digest};
use crate::masking::MaskPlan;
use crate::select::Glob;
use crate::stage::bytes::{ByteInstance, Decoder};
use crate::stage::encrypt::Keys;
use crate::stage::row::wit_table;
use crate::stage::{ComponentRef, Dialect, Instances, Runtime, StageError, World};
use crate::store::Store;
use crate::store::hash::{HashingReader, ReadDigest, compare, hash_reader};

/// The dialect components see for an engine's tables.
pub fn dialect(engine: Engine) -> Dialect {
    match engine {
        Engine::Postgres => Dialect::Postgres,
        Engine::Mysql => Dialect::Mysql,
        Engine::Sqlite => Dialect::Sqlite,
    }
}

/// A per-table row-transform rule: tables matching `glob` get `component`.
#[derive(Debug, Clone)]
pub struct TransformRule {
    /// Which tables (`schema.table`).
    pub glob: Glob,
    /// The row-transform component.
    pub component: ComponentRef,
    /// Config text handed to the component's `start`.
    pub config: String,
}

/// How a dump's data files are made, for every table.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// Data file format.
    pub format: Format,
    /// Data file compression.
    pub compression: Compression,
    /// Native fast paths or components only.
    pub stages: StagesMode,
    /// Whether the files are encrypted (the native `encrypt` stage, last).
    pub encrypted: bool,
}

/// The stage chain of one table.
#[derive(Debug, Clone)]
pub struct TablePipeline {
    /// The components' dialect.
    pub dialect: Dialect,
    /// Row transforms in order, with their config text.
    pub rows: Vec<(ComponentRef, String)>,
    /// Data file format.
    pub format: Format,
    /// The formatter component.
    pub formatter: ComponentRef,
    /// Whether the host writes the format itself (`copy`, or `sql` from
    /// MySQL: byte-identical to the component) instead of calling the
    /// formatter component.
    pub formatter_native: bool,
    /// Whether the native COPY pass-through replaces decode + formatter
    /// (native formatter and no row stage).
    pub passthrough: bool,
    /// Compression.
    pub compression: Compression,
    /// The codec component, if compressing.
    pub codec: Option<ComponentRef>,
    /// Whether the codec runs natively.
    pub codec_native: bool,
    /// Whether the host encrypts the file after the codec.
    pub encrypted: bool,
}

impl TablePipeline {
    /// `copy.zst`, `csv.gz`, `copy`.
    pub fn extension(&self) -> String {
        let plain = match self.compression.extension() {
            Some(ext) => format!("{}.{ext}", self.format.name()),
            None => self.format.name().to_owned(),
        };
        if self.encrypted { format!("{plain}{}", crate::stage::encrypt::SUFFIX) } else { plain }
    }

    /// What the manifest records about the chain.
    pub fn records(&self) -> Vec<StageRecord> {
        let mut records: Vec<StageRecord> =
            self.rows.iter().map(|(c, config)| record(c, Implementation::Wasm, config)).collect();
        let fmt_impl = if self.formatter_native { Implementation::Native } else { Implementation::Wasm };
        records.push(record(&self.formatter, fmt_impl, ""));
        if let Some(codec) = &self.codec {
            let codec_impl = if self.codec_native { Implementation::Native } else { Implementation::Wasm };
            records.push(record(codec, codec_impl, &self.compression.config_text()));
        }
        records
    }

    /// Every component the chain runs as wasm.
    pub fn wasm_components(&self) -> Vec<&ComponentRef> {
        let mut out: Vec<&ComponentRef> = self.rows.iter().map(|(c, _)| c).collect();
        if !self.formatter_native {
            out.push(&self.formatter);
        }
        if let Some(codec) = self.codec.as_ref().filter(|_| !self.codec_native) {
            out.push(codec);
        }
        out
    }
}

fn record(component: &ComponentRef, implementation: Implementation, config: &str) -> StageRecord {
    StageRecord {
        role: component.world,
        name: component.name.clone(),
        implementation,
        sha256: component.sha256.clone(),
        config_sha256: config_digest(config),
    }
}

/// The stage chain for every table: filter (on original values), mask,
/// then `--transform` components, then the formatter and the codec.
pub fn pipelines(
    tables: &[Table],
    engine: Engine,
    output: Output,
    transforms: &[TransformRule],
    masking: &MaskPlan,
) -> anyhow::Result<Vec<Arc<TablePipeline>>> {
    let formatter = ComponentRef::builtin(output.format.name(), World::Formatter)?;
    let codec =
        output.compression.component().map(|name| ComponentRef::builtin(name, World::ByteTransform)).transpose()?;
    let builtin_if =
        |used: bool, name: &str| used.then(|| ComponentRef::builtin(name, World::RowTransform)).transpose();
    let filter = builtin_if(masking.tables.iter().any(|t| t.filter.is_some()), "filter")?;
    let mask = builtin_if(masking.tables.iter().any(|t| t.mask.is_some()), "mask")?;
    // The host writes COPY text, and MySQL's INSERT statements and LOAD
    // DATA text, itself.
    let native_format = output.format == Format::Copy
        || (matches!(output.format, Format::Sql | Format::Tsv) && engine == Engine::Mysql);
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
                transforms
                    .iter()
                    // Large objects' pieces are bytes, not rows: no row transform.
                    .filter(|rule| table.kind.is_rows() && rule.glob.matches(&table.schema, &table.name))
                    .map(|rule| (rule.component.clone(), rule.config.clone())),
            );
            let native = output.stages == StagesMode::Auto;
            Arc::new(TablePipeline {
                dialect: dialect(engine),
                formatter_native: native && native_format,
                passthrough: native && rows.is_empty() && output.format == Format::Copy,
                rows,
                format: output.format,
                formatter: formatter.clone(),
                compression: output.compression,
                codec: codec.clone(),
                codec_native: native,
                encrypted: output.encrypted,
            })
        })
        .collect())
}

/// Starts every table's row stages once, before any data is read, so a
/// component that rejects its config (unknown rule, bad filter) stops the
/// dump with exit 2 instead of failing midway.
pub fn check_row_stages(runtime: &Runtime, tables: &[Table], pipelines: &[Arc<TablePipeline>]) -> Result<(), Failure> {
    let mut instances = Instances::default();
    for (table, pipeline) in tables.iter().zip(pipelines) {
        let mut wit = wit_table(table, pipeline.dialect);
        for (component, config) in &pipeline.rows {
            let started = instances.row(runtime, component).and_then(|stage| stage.start(runtime, &wit, config));
            match started {
                Ok(columns) => wit.columns = columns,
                Err(e @ StageError::Reported { .. }) if e.reason().starts_with("invalid config") => {
                    return Err(Failure::Usage(anyhow::Error::new(e).context(format!("table {}", table.qualified()))));
                }
                Err(e) => {
                    return Err(Failure::Job(anyhow::Error::new(e).context(format!("table {}", table.qualified()))));
                }
            }
        }
    }
    Ok(())
}

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
    /// The components' dialect.
    pub dialect: Dialect,
    /// The keys of an encrypted dump.
    pub keys: Option<Arc<Keys>>,
}

/// A data file opened for decoding, and the digest of its bytes so far.
pub type Opened<'a> = (Decoder<'a, Box<dyn Read + 'a>>, ReadDigest);

impl Decoding {
    /// Reads the format and compression a manifest declares.
    pub fn for_manifest(manifest: &Manifest, stages: StagesMode, keys: Option<Arc<Keys>>) -> anyhow::Result<Self> {
        let format = Format::parse(&manifest.format)
            .map_err(|_| anyhow!("the manifest names an unknown format '{}'", manifest.format))?;
        let compression = Compression::parse(&manifest.compression)?;
        Ok(Decoding {
            format,
            compression,
            formatter: ComponentRef::builtin(format.name(), World::Formatter)?,
            codec: compression.component().map(|n| ComponentRef::builtin(n, World::ByteTransform)).transpose()?,
            stages,
            dialect: dialect(manifest.source.engine),
            keys,
        })
    }

    /// Opens a data file and undoes its byte stages (decryption, checking
    /// the file's binding, then the codec); the digest handle hashes the
    /// file's stored bytes as the decoder reads them.
    pub fn open<'a>(
        &self,
        store: &dyn Store,
        key: &str,
        runtime: &'a Runtime,
        codec: Option<&'a mut ByteInstance>,
    ) -> anyhow::Result<Opened<'a>> {
        let (stored, digest) = HashingReader::new(store.open(key)?);
        let file: Box<dyn Read + 'a> = match &self.keys {
            Some(keys) => Box::new(keys.reader(key, stored)?.0),
            None => Box::new(stored),
        };
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

    /// The formatter that writes parsed rows as INSERT statements for a
    /// loader that runs statements (SQLite; MySQL by INSERT).
    pub fn statements_encoder(&self) -> anyhow::Result<ComponentRef> {
        ComponentRef::builtin(Format::Sql.name(), World::Formatter)
    }

    /// Whether rows must go through the formatter component (else the
    /// decoded file is handed to the loader as is).
    pub fn parse_with_component(&self) -> bool {
        self.stages == StagesMode::Wasm
    }
}

/// The error for a file whose bytes are not the ones the manifest records.
fn mismatch(chunk: &ChunkRecord) -> anyhow::Error {
    anyhow!("{} does not match its size and SHA-256 in the manifest: not loaded", chunk.file)
}

/// Fails unless what was read of a file matches the manifest.
pub fn check_digest(digest: &ReadDigest, chunk: &ChunkRecord) -> anyhow::Result<()> {
    compare(&chunk.file, digest.finish(), chunk.bytes, &chunk.sha256).map_err(|_| mismatch(chunk))
}

/// A file that fails to decode is most often a damaged one: when its
/// checksum is wrong, say that rather than what the decoder tripped on.
pub fn explain(error: anyhow::Error, store: &dyn Store, chunk: &ChunkRecord) -> anyhow::Error {
    let damaged = store
        .open(&chunk.file)
        .and_then(hash_reader)
        .is_ok_and(|seen| compare(&chunk.file, seen, chunk.bytes, &chunk.sha256).is_err());
    if damaged { mismatch(chunk) } else { error }
}

/// Reads a schema script, checks it against the manifest and decrypts it
/// when the dump is encrypted.
pub fn read_checked(
    store: &dyn Store,
    record: &crate::manifest::FileRecord,
    keys: Option<&Keys>,
) -> anyhow::Result<String> {
    let bytes = store.get(&record.file)?.ok_or_else(|| anyhow!("{} is missing", record.file))?;
    if compare(&record.file, hash_reader(&bytes[..])?, record.bytes, &record.sha256).is_err() {
        anyhow::bail!("{} does not match its checksum in the manifest", record.file);
    }
    let bytes = match keys {
        Some(keys) => keys.open(&record.file, &bytes)?.0,
        None => bytes,
    };
    String::from_utf8(bytes).with_context(|| format!("{} is not UTF-8", record.file))
}
