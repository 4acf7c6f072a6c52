//! PostgreSQL: catalog, snapshot, schema (pg_dump), COPY reads and loads.

pub mod catalog;
pub mod large_objects;
pub mod read;
pub mod schema;
pub mod snapshot;
pub mod source;
pub mod target;
pub mod types;
pub mod write;

use std::str::FromStr;

use anyhow::Context;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Executor};

use crate::db::url::DbUrl;

/// Session settings every sluice connection uses, so text forms are stable
/// between dump and restore (the same ones pg_dump sets).
const SESSION_SETTINGS: &str = "SET DateStyle = ISO; SET IntervalStyle = postgres; \
    SET extra_float_digits = 3; SET bytea_output = hex; SET statement_timeout = 0; \
    SET lock_timeout = 0; SET idle_in_transaction_session_timeout = 0; \
    SET client_min_messages = warning";

/// Opens a connection with sluice's session settings. Errors show the URL
/// without its password.
pub async fn connect(url: &DbUrl) -> anyhow::Result<PgConnection> {
    let options = PgConnectOptions::from_str(url.as_str())
        .with_context(|| format!("invalid PostgreSQL URL {url}"))?
        .application_name("sluice")
        .disable_statement_logging();
    let mut conn = options.connect().await.with_context(|| format!("cannot connect to {url}"))?;
    conn.execute(SESSION_SETTINGS).await.context("cannot apply session settings")?;
    Ok(conn)
}

/// Quotes an identifier for SQL: `"name"` with inner quotes doubled.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `"schema"."table"`.
pub fn qualified(schema: &str, name: &str) -> String {
    format!("{}.{}", quote_ident(schema), quote_ident(name))
}

/// Quotes a string literal: `'text'` with inner quotes doubled.
pub fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}
