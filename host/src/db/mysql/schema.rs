//! Schema files for a MySQL/MariaDB dump, from SHOW CREATE: sequences and
//! tables (primary and unique keys kept) in pre-data; secondary indexes,
//! foreign keys, sequence values, views, triggers, routines and events in
//! post-data, so restore loads rows first and builds indexes after. Every
//! view, trigger, routine and event is created under the sql_mode and
//! character set it was created with, as mysqldump does.

use std::fmt::Write as _;

use anyhow::Context;
use sqlx::Row;
use sqlx::mysql::{MySqlConnection, MySqlRow};

use super::{quote_ident, quote_literal};
use crate::catalog::Catalog;
use crate::db::source::SchemaScripts;
use crate::select::Selection;

/// What restore sets again after the objects' own settings.
pub const RESET_SESSION: &str = "SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO,STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION', \
    character_set_client = utf8mb4, collation_connection = utf8mb4_general_ci, time_zone = '+00:00';\n";

/// The pre-data and post-data scripts for the catalog's tables (and, when the whole
/// database is dumped, its views, routines and events).
pub async fn dump(
    conn: &mut MySqlConnection,
    catalog: &Catalog,
    selection: &Selection,
) -> anyhow::Result<SchemaScripts> {
    let mut pre_sql =
        String::from("-- sluice: MySQL schema, pre-data (sequences, tables)\nSET foreign_key_checks = 0;\n");
    let mut indexes = String::new();
    let mut foreign_keys = String::new();
    let mut post_sql = String::from("-- sluice: MySQL schema, post-data\nSET foreign_key_checks = 0;\n");
    let everything = selection.is_everything();

    let listed: Vec<(String, String)> = sqlx::query_as(
        "SELECT CAST(TABLE_NAME AS CHAR), CAST(TABLE_TYPE AS CHAR) FROM information_schema.TABLES \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'SEQUENCE' ORDER BY TABLE_NAME",
    )
    .fetch_all(&mut *conn)
    .await?;
    for (name, _) in listed.iter().filter(|(name, _)| everything || selection.selects(&catalog_schema(catalog), name)) {
        let create = show(conn, &format!("SHOW CREATE SEQUENCE {}", quote_ident(name)), 1).await?;
        writeln!(pre_sql, "{create};")?;
        let statement = format!("SELECT CAST(next_not_cached_value AS CHAR) FROM {}", quote_ident(name));
        let next: Option<String> =
            super::first_row(conn, &statement).await?.and_then(|row| row.try_get_unchecked(0).ok());
        if let Some(next) = next {
            writeln!(post_sql, "DO SETVAL({}, {next}, 0);", quote_ident(name))?;
        }
    }

    for table in &catalog.tables {
        let create = show(conn, &format!("SHOW CREATE TABLE {}", quote_ident(&table.name)), 1).await?;
        let split = split_create_table(&create);
        writeln!(pre_sql, "{};", split.create)?;
        if !split.indexes.is_empty() {
            writeln!(indexes, "ALTER TABLE {} {};", quote_ident(&table.name), split.indexes.join(", "))?;
        }
        if !split.foreign_keys.is_empty() {
            writeln!(foreign_keys, "ALTER TABLE {} {};", quote_ident(&table.name), split.foreign_keys.join(", "))?;
        }
    }
    post_sql.push_str(&indexes);
    post_sql.push_str(&foreign_keys);

    if everything {
        views(conn, &mut post_sql).await?;
    }
    let dumped = |table: &str| catalog.tables.iter().any(|t| t.name == table);
    let triggers: Vec<(String, String)> = sqlx::query_as(
        "SELECT CAST(TRIGGER_NAME AS CHAR), CAST(EVENT_OBJECT_TABLE AS CHAR) FROM information_schema.TRIGGERS \
         WHERE TRIGGER_SCHEMA = DATABASE() ORDER BY EVENT_OBJECT_TABLE, ACTION_ORDER",
    )
    .fetch_all(&mut *conn)
    .await?;
    for (name, _) in triggers.iter().filter(|(_, table)| dumped(table)) {
        // Trigger, sql_mode, SQL Original Statement, character_set_client, collation_connection
        let row = show_row(conn, &format!("SHOW CREATE TRIGGER {}", quote_ident(name))).await?;
        object(&mut post_sql, &row, 1, 2, 3, None)?;
    }
    if everything {
        let routines: Vec<(String, String)> = sqlx::query_as(
            "SELECT CAST(ROUTINE_NAME AS CHAR), CAST(ROUTINE_TYPE AS CHAR) FROM information_schema.ROUTINES \
             WHERE ROUTINE_SCHEMA = DATABASE() AND ROUTINE_TYPE IN ('FUNCTION', 'PROCEDURE') ORDER BY ROUTINE_TYPE, ROUTINE_NAME",
        )
        .fetch_all(&mut *conn)
        .await?;
        for (name, kind) in routines {
            // Name, sql_mode, Create …, character_set_client, collation_connection
            let row = show_row(conn, &format!("SHOW CREATE {kind} {}", quote_ident(&name))).await?;
            object(&mut post_sql, &row, 1, 2, 3, None)?;
        }
        let events: Vec<String> = sqlx::query_scalar(
            "SELECT CAST(EVENT_NAME AS CHAR) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = DATABASE() ORDER BY EVENT_NAME",
        )
        .fetch_all(&mut *conn)
        .await?;
        for name in events {
            // Event, sql_mode, time_zone, Create Event, character_set_client, collation_connection
            let row = show_row(conn, &format!("SHOW CREATE EVENT {}", quote_ident(&name))).await?;
            object(&mut post_sql, &row, 1, 3, 4, Some(2))?;
        }
    }
    post_sql.push_str(RESET_SESSION);
    Ok(SchemaScripts { pre: pre_sql, post: post_sql })
}

fn catalog_schema(catalog: &Catalog) -> String {
    catalog.tables.first().map(|t| t.schema.clone()).unwrap_or_default()
}

/// Views in an order where each comes after the views it reads.
async fn views(conn: &mut MySqlConnection, out: &mut String) -> anyhow::Result<()> {
    let listed: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT CAST(TABLE_NAME AS CHAR), CAST(CHARACTER_SET_CLIENT AS CHAR), CAST(COLLATION_CONNECTION AS CHAR) \
         FROM information_schema.VIEWS WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut pending = Vec::new();
    for (name, charset, collation) in listed {
        let create = show(conn, &format!("SHOW CREATE VIEW {}", quote_ident(&name)), 1).await?;
        pending.push((name, charset, collation, create));
    }
    // Dependencies by name: a view mentioning another view's quoted name
    // waits for it (a false match only reorders, never drops).
    while !pending.is_empty() {
        let ready = (0..pending.len())
            .find(|&i| {
                !pending.iter().enumerate().any(|(j, other)| j != i && pending[i].3.contains(&quote_ident(&other.0)))
            })
            .unwrap_or(0);
        let (_, charset, collation, create) = pending.remove(ready);
        writeln!(out, "SET SESSION character_set_client = {charset}, collation_connection = {collation};\n{create};")?;
    }
    Ok(())
}

/// One SHOW CREATE row (text protocol, so columns read as text by index).
async fn show_row(conn: &mut MySqlConnection, statement: &str) -> anyhow::Result<MySqlRow> {
    super::first_row(conn, statement)
        .await
        .with_context(|| format!("{statement} failed"))?
        .with_context(|| format!("{statement} returned nothing"))
}

async fn show(conn: &mut MySqlConnection, statement: &str, column: usize) -> anyhow::Result<String> {
    let row = show_row(conn, statement).await?;
    text(&row, column)?.with_context(|| format!("{statement} shows no definition (missing privileges?)"))
}

fn text(row: &MySqlRow, column: usize) -> anyhow::Result<Option<String>> {
    Ok(row.try_get_unchecked::<Option<String>, _>(column)?)
}

/// Writes a trigger, routine or event under its own sql_mode, character
/// set and (events) time zone.
fn object(
    out: &mut String,
    row: &MySqlRow,
    sql_mode: usize,
    create: usize,
    charset: usize,
    time_zone: Option<usize>,
) -> anyhow::Result<()> {
    let Some(statement) = text(row, create)? else {
        anyhow::bail!("SHOW CREATE shows no definition for {:?} (missing privileges?)", text(row, 0)?);
    };
    let mode = text(row, sql_mode)?.unwrap_or_default();
    let client = text(row, charset)?.unwrap_or_else(|| "utf8mb4".into());
    let collation = text(row, charset + 1)?.unwrap_or_else(|| "utf8mb4_general_ci".into());
    write!(
        out,
        "SET SESSION sql_mode = {}, character_set_client = {client}, collation_connection = {collation}",
        quote_literal(&mode)
    )?;
    if let Some(tz) = time_zone.map(|i| text(row, i)).transpose()?.flatten() {
        write!(out, ", time_zone = {}", quote_literal(&tz))?;
    }
    writeln!(out, ";\n{statement};")?;
    Ok(())
}

/// A CREATE TABLE cut in two: what to create before the data, and the
/// secondary indexes and foreign keys to add after it.
#[derive(Debug, PartialEq, Eq)]
struct SplitTable {
    create: String,
    indexes: Vec<String>,
    foreign_keys: Vec<String>,
}

/// Moves `KEY`, `FULLTEXT KEY`, `SPATIAL KEY` and `CONSTRAINT … FOREIGN KEY`
/// lines out of a SHOW CREATE TABLE (one definition per line, as the
/// server prints it); primary and unique keys and checks stay.
fn split_create_table(create: &str) -> SplitTable {
    let lines: Vec<&str> = create.lines().collect();
    let end = lines.iter().rposition(|l| l.starts_with(')')).unwrap_or(lines.len());
    let (mut kept, mut indexes, mut foreign_keys) = (Vec::new(), Vec::new(), Vec::new());
    for (i, line) in lines.iter().enumerate() {
        let body = i > 0 && i < end;
        let definition = line.trim().trim_end_matches(',');
        if body && ["KEY ", "FULLTEXT KEY ", "SPATIAL KEY "].iter().any(|p| definition.starts_with(p)) {
            indexes.push(format!("ADD {definition}"));
        } else if body && definition.starts_with("CONSTRAINT ") && definition.contains(" FOREIGN KEY ") {
            foreign_keys.push(format!("ADD {definition}"));
        } else {
            kept.push(line.to_string());
        }
    }
    // The last definition before `)` must not end with a comma.
    if let Some(close) = kept.iter().rposition(|l| l.starts_with(')'))
        && close > 0
        && let Some(last) = kept.get_mut(close - 1)
    {
        *last = last.trim_end_matches(',').to_owned();
    }
    SplitTable { create: kept.join("\n"), indexes, foreign_keys }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secondary_keys_and_foreign_keys_move_to_post_data() {
        let create = "CREATE TABLE `c` (\n  `id` int(11) NOT NULL,\n  `p` int(11) DEFAULT NULL,\n  `t` text,\n  \
            PRIMARY KEY (`id`),\n  UNIQUE KEY `u` (`t`(10)),\n  KEY `p` (`p`),\n  FULLTEXT KEY `ft` (`t`),\n  \
            CONSTRAINT `fk` FOREIGN KEY (`p`) REFERENCES `par` (`id`) ON DELETE CASCADE,\n  \
            CONSTRAINT `chk` CHECK (`p` > 0)\n) ENGINE=InnoDB AUTO_INCREMENT=7 DEFAULT CHARSET=utf8mb4";
        let split = split_create_table(create);
        assert_eq!(
            split.create,
            "CREATE TABLE `c` (\n  `id` int(11) NOT NULL,\n  `p` int(11) DEFAULT NULL,\n  `t` text,\n  \
             PRIMARY KEY (`id`),\n  UNIQUE KEY `u` (`t`(10)),\n  CONSTRAINT `chk` CHECK (`p` > 0)\n) ENGINE=InnoDB AUTO_INCREMENT=7 DEFAULT CHARSET=utf8mb4"
        );
        assert_eq!(split.indexes, vec!["ADD KEY `p` (`p`)", "ADD FULLTEXT KEY `ft` (`t`)"]);
        assert_eq!(
            split.foreign_keys,
            vec!["ADD CONSTRAINT `fk` FOREIGN KEY (`p`) REFERENCES `par` (`id`) ON DELETE CASCADE"]
        );
    }

    #[test]
    fn a_table_whose_last_line_moves_loses_the_dangling_comma() {
        let split = split_create_table("CREATE TABLE `t` (\n  `a` int,\n  KEY `a` (`a`)\n) ENGINE=InnoDB");
        assert_eq!(split.create, "CREATE TABLE `t` (\n  `a` int\n) ENGINE=InnoDB");
    }
}
