//! `sluice inspect`: what a dump holds and which components made it.

use crate::cli::InspectJob;
use crate::error::{Failure, LocationContext, UsageContext};
use crate::manifest::Manifest;
use crate::output::out;
use crate::sealed;

/// `sluice inspect`.
pub fn run(job: InspectJob) -> Result<(), Failure> {
    let store = crate::store::open(&job.dir, &job.storage).usage_err()?;
    let mut manifest = Manifest::load(&*store).location_err()?;
    // With a key, what the manifest seals is shown too.
    let opened = sealed::open_manifest(&*store, &mut manifest, &job.unlock, false)?.is_some();
    if job.json {
        out!("{}", serde_json::to_string_pretty(&manifest).unwrap_or_default());
        return Ok(());
    }
    out!(
        "dump of {} database {} (server {}), snapshot {}",
        manifest.source.engine.label(),
        manifest.source.database,
        manifest.source.server_version,
        manifest.snapshot.id.as_deref().or(manifest.snapshot.method.as_deref()).unwrap_or("-")
    );
    out!("taken {} → {} by sluice {}", manifest.started_at, manifest.finished_at, manifest.tool_version);
    if !manifest.snapshots.is_empty() {
        // A resume under --accept-new-snapshot: not one point in time.
        out!("resumed: the chunks come from {} snapshots", manifest.snapshots.len());
        for snapshot in &manifest.snapshots {
            let chunks: usize =
                manifest.tables.iter().flat_map(|t| &t.chunks).filter(|c| c.run == Some(snapshot.run)).count();
            out!(
                "  run {}: snapshot {} (started {}{}), {chunks} chunks",
                snapshot.run,
                snapshot.id.as_deref().unwrap_or("-"),
                snapshot.started_at,
                if snapshot.held { ", held" } else { "" }
            );
        }
    }
    for item in &manifest.left_out {
        out!("left out on purpose: {item}");
    }
    if let Some(count) = manifest.large_objects {
        out!(
            "large objects: {} ({} bytes), in the files of {}",
            count.objects,
            count.bytes,
            crate::catalog::large_objects_qualified()
        );
    }
    out!("format {}, compression {}", manifest.format, manifest.compression);
    if let Some(encryption) = &manifest.encryption {
        out!("encrypted ({}) to {}", encryption.scheme, encryption.recipients.join(", "));
        if encryption.passphrase_identity.is_some() {
            out!("  one of them is the dump's own identity, unlocked by its passphrase");
        }
        if !opened {
            out!("  rows, columns and sequences are sealed: give --identity or --passphrase-file to see them");
        }
    }
    out!("{:<40} {:>10} {:>12} {:>6}  stages", "table", "rows", "bytes", "files");
    for t in &manifest.tables {
        let stages: Vec<String> = t
            .stages
            .iter()
            .map(|s| {
                format!(
                    "{}[{}]",
                    s.name,
                    serde_json::to_value(s.implementation)
                        .ok()
                        .and_then(|v| v.as_str().map(String::from))
                        .unwrap_or_default()
                )
            })
            .collect();
        out!("{:<40} {:>10} {:>12} {:>6}  {}", t.qualified(), t.rows, t.bytes, t.chunks.len(), stages.join(" → "));
    }
    let masked: Vec<&crate::manifest::TableEntry> = manifest.tables.iter().filter(|t| !t.masked.is_empty()).collect();
    if !masked.is_empty() {
        out!("masked columns:");
        for t in masked {
            let rules: Vec<String> = t.masked.iter().map(|(column, rule)| format!("{column}={rule}")).collect();
            out!("  {:<38} {}", t.qualified(), rules.join(", "));
        }
    }
    out!("components:");
    for c in &manifest.components {
        out!("  {:<10} {:<15} sha256 {}  ({})", c.name, format!("{:?}", c.world), c.sha256, c.source);
    }
    out!("{} sequences", manifest.sequences.len());
    Ok(())
}
