//! `sluice component check FILE.wasm`: which world a component implements,
//! what it imports and what sluice does with each import, and whether it
//! survives one run on a small synthetic batch of its kind. Exit 0 when
//! usable, 1 when not (with the reason), 2 when the file cannot be read.

use anyhow::{anyhow, bail};

use crate::batch::{Batch, ColumnData};
use crate::catalog::{Column, ColumnKind, Table};
use crate::cli::CheckJob;
use crate::db::Engine;
use crate::error::{Failure, JobContext, UsageContext};
use crate::output::out;
use crate::stage::bytes::ByteInstance;
use crate::stage::formatter::FormatterInstance;
use crate::stage::row::{RowInstance, wit_table};
use crate::stage::{ComponentRef, LinkPolicy, Runtime, World, import_policy};

const PACKAGE: &str = "sluice:pipeline";
const VERSION: &str = "0.1.0";

/// `sluice component check`.
pub fn run(job: CheckJob) -> Result<(), Failure> {
    if !job.file.is_file() {
        return Err(Failure::usage(format!("{} does not exist or is not a file", job.file.display())));
    }
    let mut component = ComponentRef::from_file(&job.file, World::RowTransform).usage_err()?;
    let runtime = Runtime::new(job.limits).job_err()?;
    let not_usable = |reason: String| Failure::Job(anyhow!("component {} is not usable: {reason}", job.file.display()));

    out!("component {} (sha256 {})", job.file.display(), component.sha256);
    let compiled = runtime.compile(&component).map_err(|e| not_usable(e.to_string()))?;
    let (imports, exports) = runtime.interfaces(&compiled);
    let world = world_of(&exports).map_err(|e| not_usable(e.to_string()))?;
    component.world = world;
    out!("world {} (package {PACKAGE}@{VERSION})", world.wit_name());
    out!("imports:");
    for name in &imports {
        out!("  {name:<45} {}", import_policy(name, world).describe());
    }
    let refused: Vec<&String> = imports.iter().filter(|n| import_policy(n, world) == LinkPolicy::Refused).collect();
    if !refused.is_empty() {
        let list: Vec<&str> = refused.iter().map(|s| s.as_str()).collect();
        return Err(not_usable(format!("it imports interfaces sluice never links: {}", list.join(", "))));
    }
    // The stage's error stays in the chain, so the report puts what the
    // component said (escaped) on a line of its own, as a dump does.
    let summary = synthetic_run(&runtime, &component).map_err(|e| {
        Failure::Job(e.context(format!("component {} is not usable: synthetic run failed", job.file.display())))
    })?;
    out!("synthetic run: {summary}");
    out!("usable: yes");
    Ok(())
}

/// The world a component's exports implement.
fn world_of(exports: &[String]) -> anyhow::Result<World> {
    let mut found = Vec::new();
    for name in exports {
        let Some(rest) = name.strip_prefix(&format!("{PACKAGE}/")) else { continue };
        let (interface, version) = rest.split_once('@').unwrap_or((rest, ""));
        if version != VERSION {
            bail!("it exports {name}, but this sluice runs {PACKAGE}@{VERSION}");
        }
        found.push(match interface {
            "row-transformer" => World::RowTransform,
            "batch-formatter" => World::Formatter,
            "byte-transformer" => World::ByteTransform,
            other => bail!("it exports an unknown interface {PACKAGE}/{other}"),
        });
    }
    match found.as_slice() {
        [world] => Ok(*world),
        [] => bail!("it exports no {PACKAGE} interface (exports: {})", exports.join(", ")),
        _ => bail!("it exports more than one {PACKAGE} interface"),
    }
}

/// A table with one column of each common kind, and three rows of values
/// (NULLs, empty strings, odd bytes, Unicode).
fn synthetic() -> (Table, Batch) {
    let columns = [
        ("id", "integer", ColumnKind::Integer),
        ("name", "text", ColumnKind::Text),
        ("email", "text", ColumnKind::Text),
        ("payload", "bytea", ColumnKind::Binary),
        ("amount", "numeric(12,2)", ColumnKind::Decimal),
        ("created", "timestamp with time zone", ColumnKind::TimestampTz),
        ("doc", "jsonb", ColumnKind::Json),
    ];
    let rows: [[Option<&[u8]>; 7]; 3] = [
        [
            Some(b"1"),
            Some(b"Ada"),
            Some(b"ada@example.com"),
            Some(b"\x00\xff\t\n"),
            Some(b"12.50"),
            Some(b"2024-01-31 10:00:00+00"),
            Some(br#"{"a": 1}"#),
        ],
        [Some(b"2"), Some("Zo\u{eb} \u{1f980}".as_bytes()), None, Some(b""), None, None, None],
        [Some(b"3"), Some(b""), Some(b"tab\there"), None, Some(b"-0.01"), Some(b"1999-12-31 23:59:59+01"), Some(b"[]")],
    ];
    let table = Table {
        schema: "check".into(),
        name: "synthetic".into(),
        columns: columns
            .iter()
            .map(|(name, sql_type, kind)| Column {
                name: (*name).into(),
                sql_type: (*sql_type).into(),
                kind: *kind,
                nullable: *name != "id",
            })
            .collect(),
        primary_key: vec!["id".into()],
        estimated_rows: 3,
        bytes: 0,
        ..Table::default()
    };
    let mut batch = Batch { rows: rows.len() as u32, columns: (0..columns.len()).map(|_| ColumnData::new()).collect() };
    for row in &rows {
        for (column, value) in batch.columns.iter_mut().zip(row) {
            column.push(*value);
        }
    }
    batch.columns.iter_mut().for_each(ColumnData::seal);
    (table, batch)
}

fn synthetic_run(runtime: &Runtime, component: &ComponentRef) -> anyhow::Result<String> {
    let (table, batch) = synthetic();
    match component.world {
        World::RowTransform => {
            let wit = wit_table(&table, crate::pipeline::dialect(Engine::Postgres));
            let mut instance = RowInstance::new(runtime, component)?;
            let columns = instance.start(runtime, &wit, "")?;
            let out = instance.transform(runtime, batch)?;
            Ok(format!("row transform returned {} of 3 rows, {} columns", out.rows, columns.len()))
        }
        World::Formatter => {
            // A formatter may serve some dialects only (yours may): the
            // check passes with the first dialect it accepts.
            let mut first_error = None;
            for engine in [Engine::Postgres, Engine::Mysql, Engine::Sqlite] {
                let wit = wit_table(&table, crate::pipeline::dialect(engine));
                match format_round_trip(runtime, component, &wit, &batch) {
                    Ok(bytes) => {
                        return Ok(format!(
                            "formatted 3 {} rows into {bytes} bytes and parsed them back",
                            engine.label()
                        ));
                    }
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                }
            }
            Err(first_error.unwrap_or_else(|| anyhow::anyhow!("no dialect to try")))
        }
        World::ByteTransform => {
            let sample: Vec<u8> = (0..64 * 1024u32).map(|i| (i % 251) as u8).collect();
            let mut instance = ByteInstance::new(runtime, component)?;
            instance.begin(runtime, true, "")?;
            let mut encoded = instance.push(runtime, &sample)?;
            encoded.extend(instance.finish(runtime)?);
            instance.begin(runtime, false, "")?;
            let mut decoded = instance.push(runtime, &encoded)?;
            decoded.extend(instance.finish(runtime)?);
            if decoded != sample {
                bail!("decoding its own output did not give back the input");
            }
            Ok(format!("encoded 65536 bytes into {} and decoded them back", encoded.len()))
        }
    }
}

/// Formats the batch, parses the bytes back, and compares; returns the
/// formatted size.
fn format_round_trip(
    runtime: &Runtime,
    component: &ComponentRef,
    wit: &crate::stage::bindings::types::Table,
    batch: &Batch,
) -> anyhow::Result<usize> {
    let mut instance = FormatterInstance::new(runtime, component)?;
    let mut bytes = instance.header(runtime, wit, "")?;
    bytes.extend(instance.format(runtime, batch.clone())?);
    bytes.extend(instance.trailer(runtime)?);
    instance.parse_start(runtime, wit, "")?;
    let mut parsed = instance.parse(runtime, &bytes)?;
    let rest = instance.parse_end(runtime)?;
    parsed.rows += rest.rows;
    if parsed.rows != batch.rows || (rest.rows == 0 && parsed != *batch) {
        bail!("parsing its own output gave {} rows, not the 3 rows formatted", parsed.rows);
    }
    Ok(bytes.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worlds_are_read_from_versioned_exports() {
        let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(world_of(&names(&["sluice:pipeline/row-transformer@0.1.0"])).ok(), Some(World::RowTransform));
        assert_eq!(world_of(&names(&["sluice:pipeline/batch-formatter@0.1.0"])).ok(), Some(World::Formatter));
        assert!(world_of(&names(&["sluice:pipeline/row-transformer@0.2.0"])).is_err());
        assert!(world_of(&names(&["wasi:cli/run@0.2.0"])).is_err());
    }

    #[test]
    fn the_synthetic_batch_is_valid() {
        let (table, batch) = synthetic();
        batch.validate(table.columns.len()).expect("valid");
    }
}
