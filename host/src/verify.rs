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
use crate::pipeline::{Decoding, read_checked};
use crate::progress::Progress;
use crate::sealed;
use crate::signing;
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
    let mut manifest = Manifest::load(&*store).location_err()?;
    if let Some(signer) = &job.signer {
        let key = signing::public_key(signer).usage_err()?;
        let comment = signing::verify(&*store, &key).map_err(Failure::Job)?;
        out!("signature: good ({comment})");
    }
    let keys = sealed::open_manifest(&*store, &mut manifest, &job.unlock, job.decrypt)?;
    if manifest.encryption.is_some() && keys.is_none() {
        return stored_bytes_only(&*store, &manifest);
    }
    // The sealed manifest (and the passphrase mode's identity) were checked
    // and opened above: they count among the files verified.
    let opened = manifest.encryption.as_ref().map_or(0, |e| 1 + usize::from(e.passphrase_identity.is_some()));
    let decoding = Decoding::for_manifest(&manifest, job.stages, keys).usage_err()?;
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
        out!("verified {} files, {rows} rows: ok", files + opened);
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

/// An encrypted dump checked without a key: every stored file's size and
/// SHA-256 (storage corruption shows; the plaintext is not read).
fn stored_bytes_only(store: &dyn Store, manifest: &Manifest) -> Result<(), Failure> {
    let mut records = vec![&manifest.schema.pre_data, &manifest.schema.post_data];
    if let Some(encryption) = &manifest.encryption {
        records.push(&encryption.sealed);
        records.extend(&encryption.passphrase_identity);
    }
    let mut problems: Vec<String> =
        records.iter().filter_map(|r| check_object(store, &r.file, r.bytes, &r.sha256).err()).collect();
    let chunks: Vec<&ChunkRecord> = manifest.tables.iter().flat_map(|t| &t.chunks).collect();
    problems.extend(chunks.iter().filter_map(|c| check_object(store, &c.file, c.bytes, &c.sha256).err()));
    let files = records.len() + chunks.len();
    if problems.is_empty() {
        out!("verified {files} files (stored bytes only: the dump is encrypted; --decrypt checks rows too): ok");
        return Ok(());
    }
    Err(Failure::Job(anyhow!(
        "dump {} failed verification ({} problem{}):\n  {}",
        store.location(),
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
        // Encrypted scripts are decrypted too: their binding and plaintext.
        let checked = match decoding.keys.as_deref() {
            Some(keys) => read_checked(store, record, Some(keys)).map(|_| ()).map_err(|e| format!("{e:#}")),
            None => check_object(store, &record.file, record.bytes, &record.sha256),
        };
        if let Err(problem) = checked {
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
