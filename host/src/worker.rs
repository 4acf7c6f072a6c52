//! One chunk of a dump: COPY bytes in → (decode → row stages → formatter)
//! or the native pass-through → byte stage → `*.partial` file → rename.
//!
//! Runs on a blocking thread: wasmtime calls are synchronous, and the
//! bounded channel from the async reader keeps memory flat whatever the
//! table's size.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use bytes::Bytes;
use tokio::sync::mpsc::Receiver;

use crate::batch::Batch;
use crate::catalog::{Column, ColumnKind, Table};
use crate::cli::{Compression, Format};
use crate::db::Engine;
use crate::db::mysql::insert::InsertWriter;
use crate::db::postgres::read::CopyTextDecoder;
use crate::db::postgres::write::encode_copy_text;
use crate::manifest::{Implementation, StageRecord, config_digest};
use crate::sink::file::{FileSink, Written};
use crate::stage::bytes::Encoder;
use crate::stage::row::{host_column, wit_table};
use crate::stage::{ComponentRef, Instances, Runtime};

/// Rows per batch handed to a component.
pub const BATCH_ROWS: u32 = 4096;
/// Approximate bytes per batch handed to a component.
pub const BATCH_BYTES: usize = 4 << 20;

/// A piece of a chunk's input; only `End` lets the file be committed, so a
/// reader that fails midway can never produce a file that looks whole.
pub enum Piece {
    /// Raw COPY text.
    Data(Bytes),
    /// Rows already in batches (engines without COPY).
    Batch(Batch),
    /// The reader finished cleanly.
    End,
}

/// Gathers rows read from an engine into batches of bounded size and sends
/// them to the chunk's writer (engines without COPY text).
pub struct BatchSender<'a> {
    tx: &'a tokio::sync::mpsc::Sender<Piece>,
    batch: Batch,
    bytes: usize,
}

impl<'a> BatchSender<'a> {
    /// A sender for rows of `width` columns.
    pub fn new(tx: &'a tokio::sync::mpsc::Sender<Piece>, width: usize) -> Self {
        BatchSender { tx, batch: Batch::with_columns(width), bytes: 0 }
    }

    /// The columns the current row's values are pushed to.
    pub fn columns(&mut self) -> &mut [crate::batch::ColumnData] {
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

/// The stage chain of one table.
#[derive(Debug, Clone)]
pub struct TablePipeline {
    /// The source engine (the components' dialect).
    pub engine: Engine,
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
}

impl TablePipeline {
    /// `copy.zst`, `csv.gz`, `copy`.
    pub fn extension(&self) -> String {
        match self.compression.extension() {
            Some(ext) => format!("{}.{ext}", self.format.name()),
            None => self.format.name().to_owned(),
        }
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

/// What a chunk needs to know, shared with its blocking thread.
pub struct ChunkJob {
    /// Run-wide stage runtime.
    pub runtime: Arc<Runtime>,
    /// The table.
    pub table: Arc<Table>,
    /// Its chain.
    pub pipeline: Arc<TablePipeline>,
    /// Chunk index, for messages.
    pub chunk: u32,
    /// Final file path.
    pub path: PathBuf,
}

/// What a written chunk holds.
#[derive(Debug)]
pub struct ChunkOutcome {
    /// Rows written.
    pub rows: u64,
    /// The committed file.
    pub written: Written,
    /// Columns of the rows written (after row stages).
    pub columns: Vec<Column>,
}

/// Writes one chunk from `input` through the table's chain.
pub fn write_chunk(
    job: &ChunkJob,
    instances: &mut Instances,
    mut input: Receiver<Piece>,
) -> anyhow::Result<ChunkOutcome> {
    let runtime = &*job.runtime;
    let pipeline = &*job.pipeline;
    let sink = FileSink::create(&job.path).with_context(|| format!("cannot create {}", job.path.display()))?;
    let formatter = (!pipeline.formatter_native).then_some(&pipeline.formatter);
    let codec = pipeline.codec.as_ref().filter(|_| !pipeline.codec_native);
    let parts = instances.for_chunk(runtime, formatter, codec)?;
    let mut encoder = match parts.codec {
        Some(instance) => Encoder::wasm(instance, runtime, &pipeline.compression.config_text(), sink)?,
        None => Encoder::native(pipeline.compression, sink)?,
    };

    let mut rows = 0u64;
    let mut columns = job.table.columns.clone();
    if !pipeline.passthrough {
        let mut formatter = parts.formatter;
        // Row stages first: each sees the columns the previous one returned.
        let mut wit = wit_table(&job.table, pipeline.engine);
        let mut chain = Vec::new();
        for (component, config) in &pipeline.rows {
            let stage = Instances::row_in(&mut *parts.rows, runtime, component)?;
            let out = stage.start(runtime, &wit, config)?;
            chain.push(component.sha256.clone());
            wit.columns = out;
        }
        columns = wit.columns.iter().cloned().map(host_column).collect();
        let binary: Vec<bool> = columns.iter().map(|c| c.kind == ColumnKind::Binary).collect();
        if let Some(formatter) = formatter.as_deref_mut() {
            encoder.write_all(&formatter.header(runtime, &wit, "")?)?;
        }
        let mut text = Vec::new();
        // The host's own writers: the same bytes as the `copy` component and
        // the `sql` component's MySQL dialect, without a trip into wasm.
        let inserts = (pipeline.format == Format::Sql).then(|| InsertWriter::new(&job.table.name, &columns));
        let kinds: Vec<_> = job.table.columns.iter().map(|c| c.kind).collect();
        let mut decoder = CopyTextDecoder::new(&kinds, BATCH_ROWS, BATCH_BYTES);
        let mut emit = |mut batch: Batch| -> anyhow::Result<()> {
            for sha in &chain {
                let stage = parts.rows.get_mut(sha).expect("started above");
                batch = stage.transform(runtime, batch)?;
            }
            rows += u64::from(batch.rows);
            match formatter.as_deref_mut() {
                Some(formatter) => encoder.write_all(&formatter.format(runtime, batch)?),
                None => {
                    text.clear();
                    match &inserts {
                        Some(writer) => writer.format(&batch, &mut text),
                        None => encode_copy_text(&batch, &binary, &mut text),
                    }
                    encoder.write_all(&text)
                }
            }
        };
        loop {
            match input.blocking_recv() {
                Some(Piece::Data(bytes)) => decoder.feed(&bytes, &mut emit)?,
                Some(Piece::Batch(batch)) => emit(batch)?,
                Some(Piece::End) => break,
                None => bail!("the reader stopped before the end of the data"),
            }
        }
        decoder.finish(&mut emit)?;
        if let Some(formatter) = formatter {
            encoder.write_all(&formatter.trailer(runtime)?)?;
        }
    } else {
        // Native pass-through: COPY text is already the `copy` format, and a
        // raw newline only ever ends a row (newlines in values are escaped).
        loop {
            match input.blocking_recv() {
                Some(Piece::Data(bytes)) => {
                    rows += bytes.iter().filter(|&&b| b == b'\n').count() as u64;
                    encoder.write_all(&bytes)?;
                }
                Some(Piece::Batch(_)) => bail!("the native COPY pass-through got rows in batches"),
                Some(Piece::End) => break,
                None => bail!("the reader stopped before the end of the data"),
            }
        }
    }
    let sink = encoder.finish()?;
    let written = sink.commit().with_context(|| format!("cannot commit {}", job.path.display()))?;
    tracing::debug!(table = %job.table.qualified(), chunk = job.chunk, rows, bytes = written.bytes, "Chunk written.");
    Ok(ChunkOutcome { rows, written, columns })
}
