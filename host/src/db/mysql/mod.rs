//! MySQL and MariaDB: catalog, a consistent snapshot across workers (BACKUP
//! STAGE, FLUSH TABLES WITH READ LOCK, or validated without locks), reads
//! over the text protocol, schema from SHOW CREATE, and loads.

pub mod catalog;
pub mod load;
pub mod read;
pub mod schema;
pub mod snapshot;
pub mod source;
pub mod target;
pub mod types;
pub mod write;

use std::str::FromStr;

use anyhow::Context;
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection};
use sqlx::{ConnectOptions, Executor};

use crate::db::url::DbUrl;

/// Session settings every sluice connection uses: UTF-8 on the wire (each
/// column's own charset is converted by the server both ways), UTC for
/// TIMESTAMP text, no timeouts, and the sql_mode mysqldump loads with plus
/// strictness, so nothing is silently truncated.
pub(crate) const SESSION_SETTINGS: &str = "SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO,STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION', \
    time_zone = '+00:00', wait_timeout = 86400, net_read_timeout = 3600, net_write_timeout = 3600";

/// The session's sql_mode without strictness, for loading a table with an
/// ENUM column: an ENUM's error value (`''`, index 0, stored while a strict
/// mode was off) is refused by a strict session however it is written, and
/// must come back as it was.
pub(crate) const LENIENT_MODE: &str = "SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION'";
/// The session's own sql_mode, back after [`LENIENT_MODE`].
pub(crate) const STRICT_MODE: &str =
    "SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO,STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'";

/// Lets a loading session write the period columns of system-versioned
/// tables, so their history rows keep their exact `ROW_START`/`ROW_END`
/// (MariaDB 10.11 or later).
pub(crate) const INSERT_HISTORY: &str = "SET SESSION system_versioning_insert_history = 1";

/// The first table among `tables` whose files hold history rows.
pub(crate) fn with_history(tables: &[crate::catalog::Table]) -> Option<&crate::catalog::Table> {
    tables.iter().find(|t| t.system_versioning.as_ref().is_some_and(|v| v.history))
}

/// Why [`INSERT_HISTORY`] failed, for the table that needs it.
pub(crate) fn insert_history_failed(table: &crate::catalog::Table) -> String {
    format!(
        "cannot restore the history rows of system-versioned table {} (the server must be MariaDB 10.11 or later, \
         for system_versioning_insert_history, with secure_timestamp = NO); dump it with --history exclude to carry \
         its current rows only",
        table.qualified()
    )
}

/// For each column of `table`, whether it is an ENUM.
pub(crate) fn enum_columns(table: &crate::catalog::Table) -> Vec<bool> {
    table.columns.iter().map(|c| c.sql_type.get(..5).is_some_and(|t| t.eq_ignore_ascii_case("enum("))).collect()
}

/// Opens a connection. The password comes from the URL, else `MYSQL_PWD`;
/// errors show the URL without it.
pub async fn connect(url: &DbUrl) -> anyhow::Result<MySqlConnection> {
    // sqlx knows the `mysql://` scheme only.
    let text = url.as_str();
    let text = text.strip_prefix("mariadb://").map(|rest| format!("mysql://{rest}")).unwrap_or_else(|| text.to_owned());
    let mut options = MySqlConnectOptions::from_str(&text).with_context(|| format!("invalid MySQL URL {url}"))?;
    if url.url().password().is_none()
        && let Ok(password) = std::env::var("MYSQL_PWD")
    {
        options = options.password(&password);
    }
    let options = options
        .charset("utf8mb4")
        // The collation the mysql/mariadb clients use: objects created on
        // restore then record the same `collation_connection` as the source's.
        .collation("utf8mb4_general_ci")
        .pipes_as_concat(false)
        .disable_statement_logging();
    let mut conn = options.connect().await.with_context(|| format!("cannot connect to {url}"))?;
    conn.execute(SESSION_SETTINGS).await.context("cannot apply session settings")?;
    Ok(conn)
}

/// The first row of a plain (text protocol) query, if any.
pub async fn first_row(conn: &mut MySqlConnection, statement: &str) -> anyhow::Result<Option<sqlx::mysql::MySqlRow>> {
    Ok(sqlx::raw_sql(statement).fetch_all(&mut *conn).await?.into_iter().next())
}

/// Quotes an identifier: `` `name` `` with inner backticks doubled.
pub fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// Quotes a string literal for any sql_mode: `'…'` with `'` doubled and
/// backslashes escaped.
pub fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "''"))
}
