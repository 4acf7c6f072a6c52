//! Reads a MySQL/MariaDB catalog from `information_schema`: the base and
//! system-versioned tables of the URL's database with their data columns
//! (generated columns are not data; invisible ones are, and so are the
//! period columns of a table whose history travels), keys, sizes and
//! integer-key ranges.

use std::collections::HashMap;

use anyhow::{Context, bail};
use sqlx::Row;
use sqlx::mysql::MySqlConnection;

use super::{quote_ident, types};
use crate::catalog::{Catalog, Column, ColumnKind, ForeignKey, SystemVersioning, Table};
use crate::db::ranges::tuple_compare;
use crate::db::source::{History, NotCarried};
use crate::select::Selection;

const TABLES: &str = "SELECT CAST(TABLE_NAME AS CHAR) AS name, CAST(TABLE_TYPE AS CHAR) AS type, \
    CAST(COALESCE(TABLE_ROWS, 0) AS SIGNED) AS estimate, CAST(COALESCE(DATA_LENGTH, 0) AS SIGNED) AS bytes, \
    CAST(COALESCE(ENGINE, '') AS CHAR) AS engine \
    FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME";

const COLUMNS: &str = "SELECT CAST(TABLE_NAME AS CHAR) AS tbl, CAST(COLUMN_NAME AS CHAR) AS name, \
    CAST(DATA_TYPE AS CHAR) AS data_type, CAST(COLUMN_TYPE AS CHAR) AS column_type, \
    IS_NULLABLE = 'YES' AS nullable, CHARACTER_SET_NAME IS NULL AS no_charset, \
    CAST(EXTRA AS CHAR) AS extra, CAST(COLUMN_KEY AS CHAR) AS col_key, \
    CAST(COALESCE(GENERATION_EXPRESSION, '') AS CHAR) AS generation \
    FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, ORDINAL_POSITION";

const KEYS: &str = "SELECT CAST(TABLE_NAME AS CHAR) AS tbl, CAST(INDEX_NAME AS CHAR) AS idx, \
    CAST(COLUMN_NAME AS CHAR) AS col, NON_UNIQUE = 0 AS is_unique \
    FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND COLUMN_NAME IS NOT NULL \
    ORDER BY TABLE_NAME, INDEX_NAME = 'PRIMARY' DESC, INDEX_NAME, SEQ_IN_INDEX";

const FOREIGN_KEYS: &str = "SELECT CAST(TABLE_NAME AS CHAR) AS tbl, CAST(CONSTRAINT_NAME AS CHAR) AS name, \
    CAST(COLUMN_NAME AS CHAR) AS col, CAST(REFERENCED_TABLE_NAME AS CHAR) AS ref_tbl, \
    CAST(REFERENCED_COLUMN_NAME AS CHAR) AS ref_col \
    FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = DATABASE() \
    AND REFERENCED_TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION";

/// Loads the catalog of the connection's database.
pub async fn load(conn: &mut MySqlConnection, selection: &Selection, history: History) -> anyhow::Result<Catalog> {
    let server_version: String = sqlx::query_scalar("SELECT VERSION()").fetch_one(&mut *conn).await?;
    let database: Option<String> = sqlx::query_scalar("SELECT DATABASE()").fetch_one(&mut *conn).await?;
    let Some(database) = database else { bail!("the URL names no database: use mysql://user@host:port/DATABASE") };
    let mut tables = Vec::new();
    let mut excluded = Vec::new();
    let mut unsnapshotted = Vec::new();
    for row in sqlx::query(TABLES).fetch_all(&mut *conn).await.context("cannot list tables")? {
        let name: String = row.get("name");
        let kind: String = row.get("type");
        if kind != "BASE TABLE" && kind != "SYSTEM VERSIONED" {
            continue; // views and sequences are schema only
        }
        if !selection.selects(&database, &name) {
            excluded.push((database.clone(), name));
            continue;
        }
        // Hidden period columns until the columns say otherwise.
        let system_versioning = (kind == "SYSTEM VERSIONED").then(|| SystemVersioning {
            start: "ROW_START".into(),
            end: "ROW_END".into(),
            history: history == History::Include,
        });
        let engine: String = row.get("engine");
        if !is_transactional(&engine) {
            unsnapshotted.push(format!("{database}.{name} ({engine})"));
        }
        tables.push(Table {
            schema: database.clone(),
            name,
            estimated_rows: row.get("estimate"),
            bytes: row.get::<i64, _>("bytes").max(0) as u64,
            system_versioning,
            ..Table::default()
        });
    }
    let index: HashMap<String, usize> = tables.iter().enumerate().map(|(i, t)| (t.name.clone(), i)).collect();

    for row in sqlx::query(COLUMNS).fetch_all(&mut *conn).await.context("cannot list columns")? {
        let Some(&i) = index.get(&row.get::<String, _>("tbl")) else { continue };
        let extra: String = row.get("extra");
        let data_type: String = row.get("data_type");
        let column = Column {
            name: row.get("name"),
            kind: types::kind(&data_type, row.get::<i64, _>("no_charset") != 0),
            sql_type: row.get("column_type"),
            nullable: row.get::<i64, _>("nullable") != 0,
        };
        let table = &mut tables[i];
        let generation: String = row.get("generation");
        if let Some(versioning) = table.system_versioning.as_mut()
            && (generation == "ROW START" || generation == "ROW END")
        {
            // An explicit period column: data when the history travels.
            if data_type != "timestamp" && versioning.history {
                return Err(NotCarried(format!(
                    "table {} is versioned by transaction id ({} is {}), and those ids mean nothing on another \
                     server: dump its current rows only with --history exclude, or leave it out with --exclude '{}'",
                    table.qualified(),
                    column.name,
                    column.sql_type,
                    table.qualified()
                ))
                .into());
            }
            if generation == "ROW START" {
                versioning.start = column.name.clone();
            } else {
                versioning.end = column.name.clone();
            }
            if versioning.history {
                table.columns.push(column);
            }
            continue;
        }
        if extra.contains("GENERATED") {
            continue; // computed again on restore
        }
        table.columns.push(column);
    }
    let mut left_out = Vec::new();
    for table in &mut tables {
        let Some(versioning) = &table.system_versioning else { continue };
        if !versioning.history {
            left_out.push(format!(
                "history rows of system-versioned table {} (--history exclude: current rows only)",
                table.qualified()
            ));
        } else if versioning.start == "ROW_START" && !table.columns.iter().any(|c| c.name == "ROW_START") {
            // Hidden period columns are not in information_schema: they
            // are TIMESTAMP(6) and named by the server.
            for name in ["ROW_START", "ROW_END"] {
                let kind = types::kind("timestamp", true);
                table.columns.push(Column {
                    name: name.into(),
                    kind,
                    sql_type: "timestamp(6)".into(),
                    nullable: false,
                });
            }
        }
    }

    let mut keys: Vec<(usize, String, bool, Vec<String>)> = Vec::new();
    for row in sqlx::query(KEYS).fetch_all(&mut *conn).await.context("cannot list keys")? {
        let Some(&i) = index.get(&row.get::<String, _>("tbl")) else { continue };
        let name: String = row.get("idx");
        let column: String = row.get("col");
        match keys.last_mut() {
            Some((t, n, _, cols)) if *t == i && *n == name => cols.push(column),
            _ => keys.push((i, name, row.get::<i64, _>("is_unique") != 0, vec![column])),
        }
    }
    for (i, name, unique, columns) in keys {
        if name == "PRIMARY" {
            tables[i].primary_key = columns.clone();
        }
        if unique {
            tables[i].unique.push(columns);
        }
    }

    let mut foreign_keys: Vec<(String, ForeignKey)> = Vec::new();
    for row in sqlx::query(FOREIGN_KEYS).fetch_all(&mut *conn).await.context("cannot list foreign keys")? {
        let (table, name, column): (String, String, String) = (row.get("tbl"), row.get("name"), row.get("col"));
        let (ref_table, ref_column): (String, String) = (row.get("ref_tbl"), row.get("ref_col"));
        if !index.contains_key(&table) || !index.contains_key(&ref_table) {
            continue;
        }
        match foreign_keys.last_mut() {
            Some((n, fk)) if *n == name && fk.table.1 == table => {
                fk.columns.push(column);
                fk.ref_columns.push(ref_column);
            }
            _ => foreign_keys.push((
                name,
                ForeignKey {
                    table: (database.clone(), table),
                    columns: vec![column],
                    ref_table: (database.clone(), ref_table),
                    ref_columns: vec![ref_column],
                },
            )),
        }
    }

    Ok(Catalog {
        server_version,
        page_size: 0,
        tables,
        schema_only: Vec::new(),
        sequences: Vec::new(),
        foreign_keys: foreign_keys.into_iter().map(|(_, fk)| fk).collect(),
        include_given: selection.has_include(),
        excluded,
        left_out,
        large_objects: None,
        warnings: unsnapshotted_warning(&unsnapshotted).into_iter().collect(),
    })
}

/// Whether the engine reads from a transaction's consistent snapshot
/// (`START TRANSACTION WITH CONSISTENT SNAPSHOT` holds only for these).
fn is_transactional(engine: &str) -> bool {
    ["InnoDB", "RocksDB", "TokuDB"].iter().any(|e| e.eq_ignore_ascii_case(engine))
}

/// The warning for tables whose engine has no transactions (MyISAM, MEMORY,
/// Aria, CSV, ARCHIVE, ...): every lock mode releases its lock once the
/// readers' snapshots are open, so their rows are read as they are when each
/// chunk runs, not as of the snapshot.
fn unsnapshotted_warning(tables: &[String]) -> Option<String> {
    if tables.is_empty() {
        return None;
    }
    let (subject, them) = match tables {
        [one] => (format!("table {one} is"), "it"),
        many => (format!("tables {} are", many.join(", ")), "them"),
    };
    Some(format!(
        "{subject} not transactional, so the snapshot cannot hold {them} still: rows written during the dump may or \
         may not be in it (no --lock-mode keeps the read lock for the whole dump); stop writes to {them} while it \
         runs, or convert {them} to InnoDB"
    ))
}

/// The table as the dump reads it: every row version of a
/// system-versioned table whose history travels (`FOR SYSTEM_TIME ALL`),
/// else its current rows.
pub fn rows_of(table: &Table) -> String {
    match &table.system_versioning {
        Some(versioning) if versioning.history => format!("{} FOR SYSTEM_TIME ALL", quote_ident(&table.name)),
        _ => quote_ident(&table.name),
    }
}

/// The column a table splits on: the first primary-key column when it is an
/// integer. With a composite key, ranges of its first column still hold
/// whole groups of rows, so they cover every row exactly once.
pub fn integer_key(table: &Table) -> Option<&str> {
    let key = table.primary_key.first()?;
    let column = table.columns.iter().find(|c| &c.name == key)?;
    let data_type = column.sql_type.split(['(', ' ']).next().unwrap_or("");
    matches!(data_type, "tinyint" | "smallint" | "mediumint" | "int" | "bigint").then_some(key.as_str())
}

/// Reads each splittable table's key range in the snapshot (`conn` must be
/// inside it), so the plan's ranges cover exactly what the readers see.
pub async fn key_ranges(conn: &mut MySqlConnection, tables: &mut [Table]) -> anyhow::Result<()> {
    for table in tables.iter_mut() {
        let Some(key) = integer_key(table) else { continue };
        let key = quote_ident(key);
        // As text: an unsigned BIGINT may not fit an i64, and then the
        // table is read whole rather than split wrongly.
        let statement = format!("SELECT CAST(MIN({key}) AS CHAR), CAST(MAX({key}) AS CHAR) FROM {}", rows_of(table));
        let (low, high): (Option<String>, Option<String>) = sqlx::query_as(&statement)
            .fetch_one(&mut *conn)
            .await
            .with_context(|| format!("cannot read the key range of {}", table.qualified()))?;
        if let (Some(Ok(low)), Some(Ok(high))) = (low.map(|s| s.parse::<i64>()), high.map(|s| s.parse::<i64>())) {
            table.int_key = Some((low, high));
        }
    }
    Ok(())
}

/// Splits big tables that have a primary key but no integer one (a UUID
/// or text key, a composite key led by text) at key values about
/// `chunk_bytes` of rows apart, read in the snapshot by walking the key:
/// `SELECT key … WHERE key > last ORDER BY key LIMIT 1 OFFSET step`. The
/// walk reads the key once, which is the price of splitting such a table;
/// tables smaller than a chunk are not walked.
pub async fn key_bounds(conn: &mut MySqlConnection, tables: &mut [Table], chunk_bytes: u64) -> anyhow::Result<()> {
    for table in tables.iter_mut() {
        if table.primary_key.is_empty() || integer_key(table).is_some() || table.bytes <= chunk_bytes {
            continue;
        }
        let chunks = table.bytes.div_ceil(chunk_bytes.max(1));
        let step = (table.estimated_rows.max(1) as u64 / chunks).max(1);
        let key: Vec<String> = table.primary_key.iter().map(|c| quote_ident(c)).collect();
        // Each key value as a SQL literal the server reads back exactly:
        // hex for binary columns, QUOTE() for the rest.
        let literals: Vec<String> = table
            .primary_key
            .iter()
            .map(|name| {
                let quoted = quote_ident(name);
                let binary = table.columns.iter().any(|c| &c.name == name && c.kind == ColumnKind::Binary);
                if binary { format!("CONCAT('X''', HEX({quoted}), '''')") } else { format!("QUOTE({quoted})") }
            })
            .map(|literal| format!("CAST({literal} AS CHAR)"))
            .collect();
        let mut bounds: Vec<Vec<String>> = Vec::new();
        loop {
            let after =
                bounds.last().map(|last| format!(" WHERE {}", tuple_compare(&key, last, ">"))).unwrap_or_default();
            // The first bound is `step` rows in; each next one `step` rows
            // after the previous (which the `>` excludes).
            let offset = if bounds.is_empty() { step } else { step - 1 };
            let statement = format!(
                "SELECT {} FROM {}{after} ORDER BY {} LIMIT 1 OFFSET {offset}",
                literals.join(", "),
                rows_of(table),
                key.join(", "),
            );
            let Some(row) = super::first_row(conn, &statement).await? else { break };
            let tuple: Vec<String> =
                (0..key.len()).map(|i| row.try_get_unchecked::<String, _>(i)).collect::<Result<_, _>>()?;
            bounds.push(tuple);
        }
        table.key_bounds = bounds;
    }
    Ok(())
}
