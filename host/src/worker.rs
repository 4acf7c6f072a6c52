//! One chunk of a dump: a [`ChunkReader`] sends COPY text or batches →
//! (decode → row stages → formatter) or the native pass-through → byte
//! stage → a store part, committed only once the reader sent `End`.
//!
//! The writing runs on a blocking thread: wasmtime calls are synchronous,
//! and the bounded channel from the async reader keeps memory flat
//! whatever the table's size.

use std::sync::Arc;

use anyhow::{Context, anyhow, bail};
use futures_util::future::BoxFuture;
use tokio::sync::Semaphore;
use tokio::sync::mpsc::{self, Receiver};

use crate::batch::Batch;
use crate::catalog::{Column, ColumnKind, Table};
use crate::db::retry::{self, Transient};
use crate::db::source::{BATCH_BYTES, BATCH_ROWS, CannotRejoin, ChunkReader, Piece, SnapshotGone};
use crate::format::Format;
use crate::format::copy_text::{CopyTextDecoder, encode_copy_text};
use crate::format::load_rows::encode_load_rows;
use crate::format::mysql_insert::InsertWriter;
use crate::journal::{self, JournalRecord, PlannedChunk};
use crate::pipeline::TablePipeline;
use crate::pool;
use crate::progress::Progress;
use crate::sealed::{SealWriter, Secrecy};
use crate::stage::bytes::Encoder;
use crate::stage::encrypt::Sealer;
use crate::stage::row::{host_column, wit_table};
use crate::stage::{Instances, Runtime};
use crate::store::naming::chunk_key;
use crate::store::{Hashed, Store, Written};

/// What every dump worker shares.
pub struct DumpContext {
    /// Run-wide stage runtime.
    pub runtime: Arc<Runtime>,
    /// The catalog's tables, by index.
    pub tables: Vec<Arc<Table>>,
    /// Their stage chains, by the same index.
    pub pipelines: Vec<Arc<TablePipeline>>,
    /// Where the chunks go.
    pub store: Arc<dyn Store>,
    /// Progress reporting.
    pub progress: Progress,
    /// One permit per chunk writer on its blocking thread, so the dump can
    /// wait, after a failure stopped the workers, until every writer has
    /// let go of its part (an abandoned part removes its `*.partial`).
    pub writers: Arc<Semaphore>,
    /// The run whose snapshot the chunks are read in, for the journal.
    pub run: u32,
    /// Where the source is, for messages (`PostgreSQL at host:port`).
    pub source: String,
    /// Each table's chunk count, by table index, for messages.
    pub chunks: Vec<u32>,
    /// Encrypts chunks and journal records when the dump is encrypted.
    pub secrecy: Secrecy,
}

/// A dump worker: one reader connection and its stage instances.
pub struct DumpWorker {
    reader: Box<dyn ChunkReader>,
    instances: Instances,
    context: Arc<DumpContext>,
}

impl DumpWorker {
    /// A worker reading with `reader`.
    pub fn new(reader: Box<dyn ChunkReader>, context: Arc<DumpContext>) -> Self {
        DumpWorker { reader, instances: Instances::default(), context }
    }
}

impl pool::Worker for DumpWorker {
    type Item = PlannedChunk;
    type Output = JournalRecord;

    fn run(&mut self, planned: PlannedChunk) -> BoxFuture<'_, anyhow::Result<JournalRecord>> {
        Box::pin(async move {
            let chunk = &planned.chunk;
            let table = self.context.tables[chunk.table].clone();
            self.context.progress.chunk_started(&table.qualified());
            let mut retries = 0;
            let record = loop {
                let error = match dump_chunk(self, &planned).await {
                    Ok(record) => break record,
                    Err(error) => error,
                };
                if full(&error) {
                    let store = &self.context.store;
                    let free = store.free_bytes().map_or_else(|| "unknown".to_owned(), |n| n.to_string());
                    return Err(error.context(format!(
                        "disk full writing {}/{} (table {} chunk {}): {free} bytes free; free space and run the same \
                         dump with --resume",
                        store.location(),
                        planned.file,
                        table.qualified(),
                        chunk.index
                    )));
                }
                let Some(why) = retry::transient(&error) else {
                    return Err(error.context(format!("table {} chunk {}", table.qualified(), chunk.index)));
                };
                let place = format!(
                    "{} while dumping {} chunk {} of {}",
                    lost(why, &self.context.source),
                    table.qualified(),
                    chunk.index,
                    self.context.chunks[chunk.table]
                );
                if retries == retry::MAX_RETRIES {
                    return Err(error.context(format!("{place}; retried {retries} times")));
                }
                retries += 1;
                let cause = format!("{:#}", error.root_cause());
                self.context.progress.retry(
                    &table.qualified(),
                    chunk.index,
                    retries + 1,
                    retry::MAX_RETRIES + 1,
                    why.words(),
                    &cause,
                );
                tokio::time::sleep(retry::backoff(retries)).await;
                if let Err(rejoin) = self.reader.reconnect().await {
                    let how = if rejoin.downcast_ref::<CannotRejoin>().is_some() {
                        "a new connection cannot join this dump's snapshot, so the dump stops here"
                    } else if rejoin.downcast_ref::<SnapshotGone>().is_some() {
                        "the snapshot is gone with the session that held it, so the dump stops here \
                         (`sluice snapshot hold` keeps one alive for --snapshot NAME)"
                    } else {
                        "reconnecting failed too"
                    };
                    return Err(error.context(format!("{place}; {how}")));
                }
            };
            self.context.progress.chunk_done("dumped", &table.qualified(), chunk.index, record.rows, record.bytes);
            Ok(record)
        })
    }

    fn close(self) -> BoxFuture<'static, ()> {
        self.reader.close()
    }
}

/// Whether `error` is a full disk or an exhausted quota (ENOSPC, EDQUOT).
fn full(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| matches!(e.kind(), std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded))
    })
}

/// The first words of a transient failure's message.
fn lost(why: Transient, source: &str) -> String {
    match why {
        Transient::ConnectionLost => format!("lost the connection to {source}"),
        Transient::ServerRestarting => format!("{source} is restarting"),
        Transient::ServerFull => format!("{source} has too many connections"),
        Transient::Conflict => format!("a lock conflict on {source}"),
    }
}

/// Reads one chunk and hands it to its blocking writer, which commits the
/// file and then journals it.
async fn dump_chunk(worker: &mut DumpWorker, planned: &PlannedChunk) -> anyhow::Result<JournalRecord> {
    let chunk = &planned.chunk;
    let (id, run) = (planned.id, worker.context.run);
    let context = &worker.context;
    let table = context.tables[chunk.table].clone();
    let pipeline = context.pipelines[chunk.table].clone();
    let job = ChunkJob {
        runtime: context.runtime.clone(),
        table: table.clone(),
        key: chunk_key(&table.schema, &table.name, chunk.index, &pipeline.extension()),
        pipeline,
        chunk: chunk.index,
        store: context.store.clone(),
        sealer: context.secrecy.sealer.clone(),
    };
    let (tx, rx) = mpsc::channel::<Piece>(16);
    let mut instances = std::mem::take(&mut worker.instances);
    let permit = context.writers.clone().acquire_owned().await?;
    let secrecy = context.secrecy.clone();
    let writer = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let result = write_chunk(&job, &mut instances, rx).and_then(|outcome| {
            let record = JournalRecord::new(id, &outcome.written, outcome.rows, &outcome.columns, run);
            journal::append(&*job.store, &record, &secrecy)?;
            Ok(record)
        });
        if result.is_err() {
            instances.reset();
        }
        (instances, result)
    });
    let read = worker.reader.read(&table, chunk.range, &tx).await;
    drop(tx);
    let (instances, written) = writer.await.map_err(|e| anyhow!("chunk writer panicked: {e}"))?;
    worker.instances = instances;
    match (read, written) {
        (Err(e), _) => Err(e.context("reading from the source failed")),
        (Ok(()), written) => written,
    }
}

/// What a chunk's writer needs, moved to its blocking thread.
pub struct ChunkJob {
    /// Run-wide stage runtime.
    pub runtime: Arc<Runtime>,
    /// The table.
    pub table: Arc<Table>,
    /// Its chain.
    pub pipeline: Arc<TablePipeline>,
    /// Chunk index, for messages.
    pub chunk: u32,
    /// The chunk's key in the store.
    pub key: String,
    /// Where it goes.
    pub store: Arc<dyn Store>,
    /// Encrypts the file (after the codec) when the dump is encrypted.
    pub sealer: Option<Arc<Sealer>>,
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

/// The host's own writer of a format, when the formatter runs natively:
/// the same bytes as its component.
enum NativeWriter {
    /// MySQL's INSERT statements (the `sql` component's MySQL dialect).
    Inserts(InsertWriter),
    /// LOAD DATA text (`tsv`).
    LoadRows,
    /// COPY text (`copy`).
    CopyText,
}

/// Writes one chunk from `input` through the table's chain.
pub fn write_chunk(
    job: &ChunkJob,
    instances: &mut Instances,
    mut input: Receiver<Piece>,
) -> anyhow::Result<ChunkOutcome> {
    let runtime = &*job.runtime;
    let pipeline = &*job.pipeline;
    let stored =
        Hashed::new(&job.key, job.store.create(&job.key).with_context(|| format!("cannot create {}", job.key))?);
    // Encryption is the last byte stage, so the checksum covers ciphertext.
    let sink = SealWriter::new(job.sealer.as_deref(), &job.key, stored)?;
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
        let mut wit = wit_table(&job.table, pipeline.dialect);
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
        // The host's own writers: the same bytes as the `copy` and `tsv`
        // components and the `sql` component's MySQL dialect, without a trip
        // into wasm.
        let native = match pipeline.format {
            Format::Sql => NativeWriter::Inserts(InsertWriter::new(&job.table.name, &columns)),
            Format::Tsv => NativeWriter::LoadRows,
            Format::Copy | Format::Csv | Format::Jsonl => NativeWriter::CopyText,
        };
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
                    match &native {
                        NativeWriter::Inserts(writer) => writer.format(&batch, &mut text),
                        NativeWriter::LoadRows => encode_load_rows(&batch, &mut text),
                        NativeWriter::CopyText => encode_copy_text(&batch, &binary, &mut text),
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
    let sink = encoder.finish()?.finish()?;
    let written = sink.commit().with_context(|| format!("cannot commit {}", job.key))?;
    tracing::debug!(table = %job.table.qualified(), chunk = job.chunk, rows, bytes = written.bytes, "Chunk written.");
    Ok(ChunkOutcome { rows, written, columns })
}
