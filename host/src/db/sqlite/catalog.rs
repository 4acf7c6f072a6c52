//! Reads a SQLite catalog inside the dump's snapshot: tables (rowid and
//! WITHOUT ROWID) with their columns, keys, rowid range and size, foreign
//! keys, and `sqlite_sequence` counters as sequences.

use anyhow::Context;
use sqlx::Row;
use sqlx::sqlite::SqliteConnection;

use super::{quote_ident, types::kind};
use crate::catalog::{Catalog, Column, ColumnKind, ForeignKey, Sequence, Table};
use crate::db::source::NotCarried;
use crate::select::Selection;

/// SQLite has one schema per attached file; sluice dumps `main`.
pub const SCHEMA: &str = "main";

/// A table's facts the reader needs beyond the dialect-neutral ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The name that reaches the rowid (`rowid`, `oid` or `_rowid_`, whichever
    /// no column shadows); None for WITHOUT ROWID tables (read whole, in key
    /// order) and tables whose columns shadow all three.
    pub rowid: Option<&'static str>,
}

/// Loads the catalog; `layouts[i]` belongs to `catalog.tables[i]`.
pub async fn load(conn: &mut SqliteConnection, selection: &Selection) -> anyhow::Result<(Catalog, Vec<Layout>)> {
    let server_version: String =
        sqlx::query_scalar("SELECT 'SQLite ' || sqlite_version()").fetch_one(&mut *conn).await?;
    let listed = sqlx::query(
        "SELECT l.name, l.type, l.wr FROM pragma_table_list AS l \
         JOIN sqlite_schema AS s ON s.name = l.name AND s.type = 'table' \
         WHERE l.schema = 'main' AND l.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY s.rowid",
    )
    .fetch_all(&mut *conn)
    .await
    .context("cannot list tables")?;
    let mut tables = Vec::new();
    let mut layouts = Vec::new();
    let mut excluded = Vec::new();
    for row in listed {
        let name: String = row.get("name");
        let kind: String = row.get("type");
        if kind == "shadow" {
            continue; // a virtual table's storage: it comes with the virtual table
        }
        if !selection.selects(SCHEMA, &name) {
            excluded.push((SCHEMA.to_owned(), name));
            continue;
        }
        let module = if kind == "virtual" { Some(carried_module(conn, &name).await?) } else { None };
        let without_rowid = row.get::<i64, _>("wr") != 0;
        let (mut table, layout) = table(conn, name, without_rowid).await?;
        if let Some(module) = module {
            if module.starts_with("fts") {
                // Full-text tables hide their rowid: it is data (other
                // tables refer to documents by it), so it travels as a column.
                let rowid = Column {
                    name: "rowid".into(),
                    sql_type: "INTEGER".into(),
                    kind: ColumnKind::Integer,
                    nullable: false,
                };
                table.columns.insert(0, rowid);
            }
            table.bytes = shadow_bytes(conn, &table.name).await?;
            table.virtual_module = Some(module);
        }
        tables.push(table);
        layouts.push(layout);
    }
    let foreign_keys = foreign_keys(conn, &tables).await?;
    let sequences = sequences(conn, selection).await?;
    let catalog = Catalog {
        server_version,
        page_size: 0,
        tables,
        schema_only: Vec::new(),
        sequences,
        foreign_keys,
        include_given: selection.has_include(),
        excluded,
        left_out: Vec::new(),
        large_objects: None,
        warnings: Vec::new(),
    };
    Ok((catalog, layouts))
}

/// The module of virtual table `name` when sluice can carry its content:
/// FTS3/4/5 tables that keep their own content (a `<name>_content` shadow
/// table; FTS5 settings at their defaults, FTS4 without `languageid`) and
/// R-trees, whose rows are what they hold. Anything else is refused, naming
/// the table and the flag that leaves it out.
async fn carried_module(conn: &mut SqliteConnection, name: &str) -> anyhow::Result<String> {
    let sql: String = sqlx::query_scalar("SELECT sql FROM sqlite_schema WHERE name = ?")
        .bind(name)
        .fetch_one(&mut *conn)
        .await
        .with_context(|| format!("cannot read the definition of main.{name}"))?;
    let module = module_of(&sql).unwrap_or_default();
    let refuse = |why: &str| -> anyhow::Result<String> {
        Err(NotCarried(format!(
            "table main.{name} is a virtual table ({why}), which sluice cannot dump: leave it out with --exclude 'main.{name}'"
        ))
        .into())
    };
    match module.as_str() {
        "rtree" | "rtree_i32" => Ok(module),
        "fts3" | "fts4" | "fts5" => {
            let shadow = |suffix: &str| format!("{name}_{suffix}");
            let own: i64 = sqlx::query_scalar("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?")
                .bind(shadow("content"))
                .fetch_one(&mut *conn)
                .await?;
            if own == 0 {
                return refuse(&format!("{module} without content of its own: contentless or external content"));
            }
            if module == "fts4" && sql.to_lowercase().contains("languageid") {
                return refuse("fts4 with a languageid column");
            }
            if module == "fts5" {
                let settings: i64 = sqlx::query_scalar(&format!(
                    "SELECT count(*) FROM {} WHERE k <> 'version'",
                    quote_ident(&shadow("config"))
                ))
                .fetch_one(&mut *conn)
                .await?;
                if settings > 0 {
                    return refuse("fts5 with settings changed from their defaults");
                }
            }
            Ok(module)
        }
        "" => refuse("module unknown"),
        other => refuse(&format!("module {other}")),
    }
}

/// The module name of a `CREATE VIRTUAL TABLE … USING module(…)` statement,
/// lowercase: the word after the first `USING` outside quotes.
fn module_of(sql: &str) -> Option<String> {
    let mut quote: Option<char> = None;
    let mut word = String::new();
    let mut after_using = false;
    for c in sql.chars() {
        if let Some(q) = quote {
            if c == q || (q == '[' && c == ']') {
                quote = None;
            }
            continue;
        }
        if c.is_alphanumeric() || c == '_' {
            word.push(c);
            continue;
        }
        if !word.is_empty() {
            if after_using {
                return Some(word.to_lowercase());
            }
            after_using = word.eq_ignore_ascii_case("using");
            word.clear();
        }
        if matches!(c, '"' | '\'' | '`' | '[') {
            quote = Some(c);
        }
    }
    (after_using && !word.is_empty()).then(|| word.to_lowercase())
}

/// The bytes of a virtual table's shadow tables (its storage).
async fn shadow_bytes(conn: &mut SqliteConnection, name: &str) -> anyhow::Result<u64> {
    let bytes: Option<i64> = sqlx::query_scalar(
        "SELECT sum(pgsize) FROM dbstat WHERE name IN \
         (SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'shadow' AND substr(name, 1, length(?1) + 1) = ?1 || '_')",
    )
    .bind(name)
    .fetch_one(&mut *conn)
    .await
    .with_context(|| format!("cannot size main.{name}"))?;
    Ok(bytes.unwrap_or(0).max(0) as u64)
}

async fn table(conn: &mut SqliteConnection, name: String, without_rowid: bool) -> anyhow::Result<(Table, Layout)> {
    let quoted = quote_ident(&name);
    let columns = sqlx::query("SELECT name, type, \"notnull\", pk, hidden FROM pragma_table_xinfo(?) ORDER BY cid")
        .bind(&name)
        .fetch_all(&mut *conn)
        .await
        .with_context(|| format!("cannot list columns of main.{name}"))?;
    let mut table = Table { schema: SCHEMA.to_owned(), name: name.clone(), ..Table::default() };
    let mut key: Vec<(i64, String)> = Vec::new();
    for column in columns {
        let column_name: String = column.get("name");
        let pk: i64 = column.get("pk");
        if pk > 0 {
            key.push((pk, column_name.clone()));
        }
        // 2 and 3: generated columns, computed again on restore.
        if column.get::<i64, _>("hidden") != 0 {
            continue;
        }
        let declared: String = column.get("type");
        table.columns.push(Column {
            name: column_name,
            kind: kind(&declared),
            sql_type: declared,
            nullable: column.get::<i64, _>("notnull") == 0,
        });
    }
    key.sort();
    table.primary_key = key.into_iter().map(|(_, c)| c).collect();
    if !table.primary_key.is_empty() {
        table.unique.push(table.primary_key.clone());
    }
    for index in sqlx::query("SELECT name FROM pragma_index_list(?) WHERE \"unique\" = 1 AND origin <> 'pk'")
        .bind(&name)
        .fetch_all(&mut *conn)
        .await?
    {
        let index: String = index.get("name");
        let columns: Vec<Option<String>> = sqlx::query_scalar("SELECT name FROM pragma_index_info(?) ORDER BY seqno")
            .bind(&index)
            .fetch_all(&mut *conn)
            .await?;
        // An index on an expression has no column name: it constrains no column set.
        if let Some(columns) = columns.into_iter().collect::<Option<Vec<String>>>() {
            table.unique.push(columns);
        }
    }
    table.bytes = sqlx::query_scalar::<_, Option<i64>>("SELECT sum(pgsize) FROM dbstat WHERE name = ?")
        .bind(&name)
        .fetch_one(&mut *conn)
        .await
        .with_context(|| format!("cannot size main.{name}"))?
        .unwrap_or(0)
        .max(0) as u64;
    table.estimated_rows = -1;
    let all_columns: Vec<String> =
        sqlx::query_scalar("SELECT lower(name) FROM pragma_table_xinfo(?)").bind(&name).fetch_all(&mut *conn).await?;
    let rowid = (!without_rowid)
        .then(|| ["rowid", "oid", "_rowid_"].into_iter().find(|alias| !all_columns.iter().any(|c| c == alias)))
        .flatten();
    if let Some(rowid) = rowid {
        let (low, high): (Option<i64>, Option<i64>) =
            sqlx::query_as(&format!("SELECT min({rowid}), max({rowid}) FROM {quoted}")).fetch_one(&mut *conn).await?;
        if let (Some(low), Some(high)) = (low, high) {
            table.int_key = Some((low, high));
            table.estimated_rows = i64::try_from(i128::from(high) - i128::from(low) + 1).unwrap_or(i64::MAX);
        }
    }
    Ok((table, Layout { rowid }))
}

async fn foreign_keys(conn: &mut SqliteConnection, tables: &[Table]) -> anyhow::Result<Vec<ForeignKey>> {
    let mut out = Vec::new();
    for table in tables {
        let rows =
            sqlx::query("SELECT id, \"table\", \"from\", \"to\" FROM pragma_foreign_key_list(?) ORDER BY id, seq")
                .bind(&table.name)
                .fetch_all(&mut *conn)
                .await?;
        let mut current: Option<(i64, ForeignKey)> = None;
        for row in rows {
            let id: i64 = row.get("id");
            let parent: String = row.get("table");
            if current.as_ref().is_none_or(|(c, _)| *c != id) {
                out.extend(current.take().map(|(_, fk)| fk));
                let fk = ForeignKey {
                    table: (SCHEMA.to_owned(), table.name.clone()),
                    columns: Vec::new(),
                    ref_table: (SCHEMA.to_owned(), parent.clone()),
                    ref_columns: Vec::new(),
                };
                current = Some((id, fk));
            }
            if let Some((_, fk)) = current.as_mut() {
                fk.columns.push(row.get("from"));
                // No `to`: the parent's primary key, in order.
                let to: Option<String> = row.get("to");
                let position = fk.columns.len() - 1;
                let to = to.or_else(|| {
                    tables.iter().find(|t| t.name == parent).and_then(|t| t.primary_key.get(position).cloned())
                });
                fk.ref_columns.push(to.unwrap_or_default());
            }
        }
        out.extend(current.map(|(_, fk)| fk));
    }
    // Keys to tables left out of the dump matter to nobody here.
    out.retain(|fk| tables.iter().any(|t| t.name == fk.ref_table.1) && fk.ref_columns.iter().all(|c| !c.is_empty()));
    Ok(out)
}

/// AUTOINCREMENT counters (`sqlite_sequence`), as sequences named after
/// their tables.
async fn sequences(conn: &mut SqliteConnection, selection: &Selection) -> anyhow::Result<Vec<Sequence>> {
    let exists: i64 =
        sqlx::query_scalar("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'sqlite_sequence'")
            .fetch_one(&mut *conn)
            .await?;
    if exists == 0 {
        return Ok(Vec::new());
    }
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT name, seq FROM sqlite_sequence ORDER BY rowid").fetch_all(&mut *conn).await?;
    Ok(rows
        .into_iter()
        .filter(|(name, _)| selection.selects(SCHEMA, name))
        .map(|(name, seq)| Sequence { schema: SCHEMA.to_owned(), name, last_value: seq, is_called: true })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::module_of;

    #[test]
    fn the_module_is_the_word_after_using_outside_quotes() {
        assert_eq!(
            module_of("CREATE VIRTUAL TABLE search USING fts5(body, tokenize = 'porter')").as_deref(),
            Some("fts5")
        );
        assert_eq!(module_of("create virtual table \"using x\" using RTREE(id, a, b)").as_deref(), Some("rtree"));
        assert_eq!(module_of("CREATE VIRTUAL TABLE [t using] USING\n  fts4 (a)").as_deref(), Some("fts4"));
        assert_eq!(module_of("CREATE VIRTUAL TABLE t USING dbstat").as_deref(), Some("dbstat"));
        assert_eq!(module_of("CREATE TABLE t (a)"), None);
    }
}
