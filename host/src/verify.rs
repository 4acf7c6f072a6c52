//! `sluice verify`: recomputes every file's checksum and decodes every chunk
//! to count its rows, without a database, reading through the dump's
//! store. Reports every problem, not just the first.

use std::io::Read;

use anyhow::anyhow;

use crate::cli::VerifyJob;
use crate::error::{Failure, JobContext, LocationContext, UsageContext};
use crate::format::{Format, StagesMode};
use crate::manifest::{ChunkRecord, Manifest, TableEntry};
use crate::output::out;
use crate::pipeline::Decoding;
use crate::progress::Progress;
use crate::stage::row::wit_table;
use crate::stage::{Instances, Runtime};
use crate::store::hash::{check_object, compare};
use crate::store::{self, Store};

/// `sluice verify`.
pub async fn run(job: VerifyJob) -> Result<(), Failure> {
    let mut progress = Progress::new(job.progress, "verify");
    let result = verify(&job, &mut progress).await;
    progress.run_end(&result);
    result
}

async fn verify(job: &VerifyJob, progress: &mut Progress) -> Result<(), Failure> {
    let store = store::open(&job.dir, &job.storage).usage_err()?;
    let manifest = Manifest::load(&*store).location_err()?;
    let decoding = Decoding::for_manifest(&manifest, job.stages).usage_err()?;
    let runtime = Runtime::new(job.limits).job_err()?;
    let location = store.location();
    let per_table: Vec<(String, u64)> =
        manifest.tables.iter().map(|t| (t.qualified(), t.chunks.len() as u64)).collect();
    let bytes = manifest.tables.iter().map(|t| t.bytes).sum();
    progress.run_start(&per_table, manifest.tables.iter().map(|t| t.rows).sum(), bytes);
    let shown = progress.clone();
    let (problems, files, rows, retried) = tokio::task::spawn_blocking(move || {
        let (problems, files, rows) = check(&*store, &manifest, &decoding, &runtime, &shown);
        (problems, files, rows, store::retried_line(&*store))
    })
    .await
    .map_err(|e| Failure::Job(anyhow!("verify stopped: {e}")))?;
    if problems.is_empty() {
        out!("verified {files} files, {rows} rows: ok");
        if let Some(retried) = retried {
            out!("{retried}");
        }
        return Ok(());
    }
    Err(Failure::Job(anyhow!(
        "dump {location} failed verification ({} problem{}):\n  {}",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" },
        problems.join("\n  ")
    )))
}

fn check(
    store: &dyn Store,
    manifest: &Manifest,
    decoding: &Decoding,
    runtime: &Runtime,
    progress: &Progress,
) -> (Vec<String>, usize, u64) {
    let mut problems = Vec::new();
    let mut files = 0;
    let mut rows = 0;
    for record in [&manifest.schema.pre_data, &manifest.schema.post_data] {
        files += 1;
        if let Err(problem) = check_object(store, &record.file, record.bytes, &record.sha256) {
            problems.push(problem);
        }
    }
    let mut instances = Instances::default();
    for table in &manifest.tables {
        for (number, chunk) in table.chunks.iter().enumerate() {
            files += 1;
            progress.chunk_started(&table.qualified());
            if !store.exists(&chunk.file).unwrap_or(false) {
                problems.push(format!("{}: missing", chunk.file));
                continue;
            }
            // One pass per file: the bytes are hashed as they are decoded.
            match count_rows(store, table, chunk, decoding, runtime, &mut instances) {
                Ok((n, read)) => match compare(&chunk.file, read, chunk.bytes, &chunk.sha256) {
                    Err(problem) => problems.push(problem),
                    Ok(()) if n == chunk.rows => {
                        rows += n;
                        progress.chunk_done("verified", &table.qualified(), number as u32, n, chunk.bytes);
                    }
                    Ok(()) => problems.push(format!("{}: holds {n} rows, manifest says {}", chunk.file, chunk.rows)),
                },
                Err(e) => {
                    instances.reset();
                    // A file that does not decode is usually a corrupt one:
                    // say so when its checksum is wrong, else why it failed.
                    let problem = check_object(store, &chunk.file, chunk.bytes, &chunk.sha256).err();
                    problems.push(problem.unwrap_or_else(|| format!("{}: cannot be decoded: {e:#}", chunk.file)));
                }
            }
        }
    }
    (problems, files, rows)
}

/// Decodes a chunk and counts its rows: natively for COPY text (a raw
/// newline ends each row), through the formatter component otherwise.
/// Also returns what was read of the file: (bytes, hex SHA-256).
fn count_rows(
    store: &dyn Store,
    table: &TableEntry,
    chunk: &ChunkRecord,
    decoding: &Decoding,
    runtime: &Runtime,
    instances: &mut Instances,
) -> anyhow::Result<(u64, (u64, String))> {
    let native_count = decoding.stages == StagesMode::Auto && decoding.format == Format::Copy;
    let formatter = (!native_count).then_some(&decoding.formatter);
    let parts = instances.for_chunk(runtime, formatter, decoding.wasm_codec())?;
    let (mut input, digest) = decoding.open(store, &chunk.file, runtime, parts.codec)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut rows = 0u64;
    match parts.formatter {
        None => loop {
            let n = input.read(&mut buf)?;
            if n == 0 {
                return Ok((rows, digest.finish()));
            }
            rows += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        },
        Some(formatter) => {
            formatter.parse_start(runtime, &wit_table(&table.table(), decoding.dialect), "")?;
            loop {
                let n = input.read(&mut buf)?;
                let batch = if n == 0 { formatter.parse_end(runtime)? } else { formatter.parse(runtime, &buf[..n])? };
                rows += u64::from(batch.rows);
                if n == 0 {
                    return Ok((rows, digest.finish()));
                }
            }
        }
    }
}
