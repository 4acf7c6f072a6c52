//! Schema by `pg_dump --section=pre-data|post-data` on the dump's snapshot,
//! and the scripts' application on restore.
//!
//! pg_dump is a runtime dependency for PostgreSQL sources: its schema output
//! is the reference every tool agrees with, and reimplementing it would be a
//! second, worse pg_dump.

use std::process::Stdio;

use anyhow::{Context, bail};
use sqlx::postgres::PgConnection;

use super::quote_ident;
use crate::catalog::Catalog;
use crate::db::source::LargeObjects;
use crate::db::url::DbUrl;

/// A pg_dump section.
#[derive(Debug, Clone, Copy)]
pub enum Section {
    /// Types, tables, functions: before data.
    PreData,
    /// Indexes, constraints, triggers: after data.
    PostData,
}

impl Section {
    fn flag(self) -> &'static str {
        match self {
            Section::PreData => "--section=pre-data",
            Section::PostData => "--section=post-data",
        }
    }
}

/// Runs pg_dump for `section` on `snapshot`; returns the script it printed.
pub async fn dump(
    url: &DbUrl,
    snapshot: &str,
    section: Section,
    catalog: &Catalog,
    large_objects: LargeObjects,
) -> anyhow::Result<String> {
    let program = std::env::var("SLUICE_PG_DUMP").unwrap_or_else(|_| "pg_dump".to_owned());
    let mut command = tokio::process::Command::new(&program);
    command
        .arg(format!("--snapshot={snapshot}"))
        .arg(section.flag())
        .arg("--no-password")
        .args(table_filters(catalog))
        .args(large_object_flag(catalog, large_objects))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    connection_env(&mut command, url);
    let output = match command.output().await {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "{program} not found: PostgreSQL dumps need pg_dump (Debian: apt-get install postgresql-client) on PATH or in SLUICE_PG_DUMP"
        ),
        Err(e) => return Err(e).with_context(|| format!("cannot run {program}")),
    };
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let first = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("no message");
        bail!("{program} {} failed ({}): {first}", section.flag(), output.status);
    }
    String::from_utf8(output.stdout)
        .map_err(|_| anyhow::anyhow!("{program} {} printed a script that is not UTF-8", section.flag()))
}

/// `-B` (`--no-blobs`; `--no-large-objects` since 16): no large object is
/// created on restore when they were left out. `-b`: pg_dump leaves them
/// out when `--table` is given, unless told.
fn large_object_flag(catalog: &Catalog, large_objects: LargeObjects) -> Option<&'static str> {
    match large_objects {
        LargeObjects::Exclude => Some("-B"),
        LargeObjects::Include | LargeObjects::Empty if catalog.include_given => Some("-b"),
        LargeObjects::Include | LargeObjects::Empty => None,
    }
}

/// `--table` for each selected table when include globs were given, else
/// `--exclude-table` for each table the selection left out; pattern text is
/// quoted so it matches exactly one table.
fn table_filters(catalog: &Catalog) -> Vec<String> {
    let exact = |schema: &str, name: &str| format!("{}.{}", quote_ident(schema), quote_ident(name));
    if catalog.include_given {
        let data = catalog.tables.iter().filter(|t| t.kind.is_rows()).map(|t| exact(&t.schema, &t.name));
        let parents = catalog.schema_only.iter().map(|(s, t)| exact(s, t));
        data.chain(parents).map(|p| format!("--table={p}")).collect()
    } else {
        catalog.excluded.iter().map(|(s, t)| format!("--exclude-table={}", exact(s, t))).collect()
    }
}

/// Connection settings for libpq tools, through the environment so a
/// password never appears in a process listing.
pub fn connection_env(command: &mut tokio::process::Command, url: &DbUrl) {
    let u = url.url();
    if let Some(host) = u.host_str() {
        command.env("PGHOST", host.trim_start_matches('[').trim_end_matches(']'));
    }
    if let Some(port) = u.port() {
        command.env("PGPORT", port.to_string());
    }
    if !u.username().is_empty() {
        command.env("PGUSER", percent_decode(u.username()));
    }
    if let Some(password) = u.password() {
        command.env("PGPASSWORD", percent_decode(password));
    }
    command.env("PGDATABASE", percent_decode(&url.database()));
    for (key, value) in u.query_pairs() {
        let var = match key.as_ref() {
            "sslmode" => "PGSSLMODE",
            "sslrootcert" => "PGSSLROOTCERT",
            "sslcert" => "PGSSLCERT",
            "sslkey" => "PGSSLKEY",
            "host" => "PGHOST",
            "port" => "PGPORT",
            "user" => "PGUSER",
            "password" => "PGPASSWORD",
            "dbname" => "PGDATABASE",
            "application_name" => "PGAPPNAME",
            _ => continue,
        };
        command.env(var, value.as_ref());
    }
}

fn percent_decode(text: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", text.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Runs a schema script written by pg_dump. psql meta-commands are not SQL:
/// `\restrict`/`\unrestrict` (added by pg_dump ≥ 15.14 to fence psql) are
/// dropped; any other meta-command is refused.
pub async fn apply(conn: &mut PgConnection, script: &str, name: &str) -> anyhow::Result<()> {
    let mut sql = String::with_capacity(script.len());
    for line in script.lines() {
        if line.starts_with("\\restrict ") || line.starts_with("\\unrestrict ") {
            continue;
        }
        if line.starts_with('\\') {
            bail!(
                "{name} contains a psql meta-command sluice will not run: {}",
                line.split_whitespace().next().unwrap_or(line)
            );
        }
        sql.push_str(line);
        sql.push('\n');
    }
    sqlx::raw_sql(&sql).execute(&mut *conn).await.with_context(|| format!("cannot apply {name}"))?;
    // pg_dump scripts empty search_path; later statements on this
    // connection qualify every name, so this only keeps the session tidy.
    sqlx::raw_sql("RESET search_path").execute(conn).await?;
    Ok(())
}
