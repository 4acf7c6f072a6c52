//! `sluice verify`: recomputes every file's checksum and decodes every chunk
//! to count its rows, without a database. Reports every problem, not just
//! the first.

use std::io::Read;
use std::path::Path;

use anyhow::anyhow;

use crate::cli::{Format, StagesMode, VerifyJob};
use crate::db::Engine;
use crate::error::{Failure, JobContext, UsageContext};
use crate::manifest::{ChunkRecord, Manifest, TableEntry};
use crate::restore::{Decoding, entry_table};
use crate::sink::file::hash_file;
use crate::stage::row::wit_table;
use crate::stage::{Instances, Runtime};

/// `sluice verify`.
pub async fn run(job: VerifyJob) -> Result<(), Failure> {
    let manifest = Manifest::load(&job.dir).usage_err()?;
    let decoding = Decoding::for_manifest(&manifest, job.stages).usage_err()?;
    let runtime = Runtime::new(job.limits).job_err()?;
    let dir = job.dir.clone();
    let (problems, files, rows) = tokio::task::spawn_blocking(move || check(&dir, &manifest, &decoding, &runtime))
        .await
        .map_err(|e| Failure::Job(anyhow!("verify stopped: {e}")))?;
    if problems.is_empty() {
        println!("verified {files} files, {rows} rows: ok");
        return Ok(());
    }
    Err(Failure::Job(anyhow!(
        "dump {} failed verification ({} problem{}):\n  {}",
        job.dir.display(),
        problems.len(),
        if problems.len() == 1 { "" } else { "s" },
        problems.join("\n  ")
    )))
}

fn check(dir: &Path, manifest: &Manifest, decoding: &Decoding, runtime: &Runtime) -> (Vec<String>, usize, u64) {
    let mut problems = Vec::new();
    let mut files = 0;
    let mut rows = 0;
    for record in [&manifest.schema.pre_data, &manifest.schema.post_data] {
        files += 1;
        if let Err(problem) = check_file(dir, &record.file, record.bytes, &record.sha256) {
            problems.push(problem);
        }
    }
    let mut instances = Instances::default();
    for table in &manifest.tables {
        for chunk in &table.chunks {
            files += 1;
            if !dir.join(&chunk.file).exists() {
                problems.push(format!("{}: missing", chunk.file));
                continue;
            }
            // One pass per file: the bytes are hashed as they are decoded.
            match count_rows(dir, table, chunk, decoding, runtime, &mut instances, manifest.source.engine) {
                Ok((n, read)) => match compare(&chunk.file, read, chunk.bytes, &chunk.sha256) {
                    Err(problem) => problems.push(problem),
                    Ok(()) if n == chunk.rows => rows += n,
                    Ok(()) => problems.push(format!("{}: holds {n} rows, manifest says {}", chunk.file, chunk.rows)),
                },
                Err(e) => {
                    instances.reset();
                    // A file that does not decode is usually a corrupt one:
                    // say so when its checksum is wrong, else why it failed.
                    let problem = check_file(dir, &chunk.file, chunk.bytes, &chunk.sha256).err();
                    problems.push(problem.unwrap_or_else(|| format!("{}: cannot be decoded: {e:#}", chunk.file)));
                }
            }
        }
    }
    (problems, files, rows)
}

fn check_file(dir: &Path, file: &str, bytes: u64, sha256: &str) -> Result<(), String> {
    let path = dir.join(file);
    if !path.exists() {
        return Err(format!("{file}: missing"));
    }
    match hash_file(&path) {
        Err(e) => Err(format!("{file}: cannot be read: {e}")),
        Ok(read) => compare(file, read, bytes, sha256),
    }
}

/// Compares what was read of `file` (bytes, hex SHA-256) with the manifest.
fn compare(file: &str, (n, digest): (u64, String), bytes: u64, sha256: &str) -> Result<(), String> {
    if n != bytes {
        Err(format!("{file}: {n} bytes, manifest says {bytes}"))
    } else if digest != sha256 {
        Err(format!("{file}: SHA-256 {digest} does not match the manifest"))
    } else {
        Ok(())
    }
}

/// Decodes a chunk and counts its rows: natively for COPY text (a raw
/// newline ends each row), through the formatter component otherwise.
/// Also returns what was read of the file: (bytes, hex SHA-256).
fn count_rows(
    dir: &Path,
    table: &TableEntry,
    chunk: &ChunkRecord,
    decoding: &Decoding,
    runtime: &Runtime,
    instances: &mut Instances,
    engine: Engine,
) -> anyhow::Result<(u64, (u64, String))> {
    let native_count = decoding.stages == StagesMode::Auto && decoding.format == Format::Copy;
    let formatter = (!native_count).then_some(&decoding.formatter);
    let parts = instances.for_chunk(runtime, formatter, decoding.wasm_codec())?;
    let (mut input, digest) = decoding.open(&dir.join(&chunk.file), runtime, parts.codec)?;
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
            formatter.parse_start(runtime, &wit_table(&entry_table(table), engine), "")?;
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
