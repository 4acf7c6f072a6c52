//! Reads the PostgreSQL catalog inside the dump's snapshot: base tables and
//! leaf partitions with their data columns, primary keys, sizes; partitioned
//! parents (schema only); sequences with their values; extensions'
//! configuration tables and sequences (`pg_extension_config_dump`), whose
//! rows and values pg_dump carries too, while other extension members are
//! the extension's own business.

use std::collections::HashMap;

use anyhow::Context;
use sqlx::Row;
use sqlx::postgres::PgConnection;

use super::types::column_kind;
use crate::catalog::{Catalog, Column, ExtensionConfig, ForeignKey, Sequence, Table};
use crate::select::Selection;

const TABLES: &str = r#"
SELECT c.oid::int8 AS oid, n.nspname::text AS schema, c.relname::text AS name, c.relkind::text AS kind,
       c.reltuples::float8 AS estimate, pg_relation_size(c.oid)::int8 AS bytes,
       (SELECT pn.nspname::text || '.' || pc.relname::text
          FROM pg_inherits i JOIN pg_class pc ON pc.oid = i.inhparent
          JOIN pg_namespace pn ON pn.oid = pc.relnamespace
         WHERE i.inhrelid = c.oid AND c.relispartition LIMIT 1) AS parent,
       x.extname AS extension, x.condition
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN LATERAL (SELECT e.extname::text AS extname,
                            coalesce(e.extcondition[array_position(e.extconfig, c.oid)], '') AS condition
                       FROM pg_extension e WHERE c.oid = ANY(e.extconfig) LIMIT 1) x ON true
 WHERE c.relkind IN ('r', 'p') AND c.relpersistence <> 't'
   AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
   AND (x.extname IS NOT NULL
        OR NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                          AND d.objid = c.oid AND d.deptype = 'e'))
 ORDER BY n.nspname, c.relname"#;

const COLUMNS: &str = r#"
SELECT a.attrelid::int8 AS oid, a.attname::text AS name, format_type(a.atttypid, a.atttypmod) AS sql_type,
       a.attnotnull AS not_null, bt.typname::text AS base_type, bt.typcategory::text AS category,
       a.attgenerated::text AS generated
  FROM pg_attribute a
  JOIN pg_type t ON t.oid = a.atttypid
  JOIN pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
 WHERE a.attrelid::int8 = ANY($1) AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY a.attrelid, a.attnum"#;

const PRIMARY_KEYS: &str = r#"
SELECT con.conrelid::int8 AS oid, array_agg(a.attname::text ORDER BY k.ord) AS columns
  FROM pg_constraint con
  CROSS JOIN LATERAL unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
  JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
 WHERE con.contype = 'p' AND con.conrelid::int8 = ANY($1)
 GROUP BY con.conrelid"#;

const UNIQUE_KEYS: &str = r#"
SELECT i.indrelid::int8 AS oid,
       array(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum ORDER BY k.ord) AS columns
  FROM pg_index i
 WHERE i.indisunique AND i.indrelid::int8 = ANY($1)"#;

const FOREIGN_KEYS: &str = r#"
SELECT con.conrelid::int8 AS oid, con.confrelid::int8 AS ref_oid,
       array(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.ord) AS columns,
       array(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.ord) AS ref_columns
  FROM pg_constraint con
 WHERE con.contype = 'f' AND con.conrelid::int8 = ANY($1) AND con.confrelid::int8 = ANY($1)"#;

const SEQUENCES: &str = r#"
SELECT n.nspname::text AS schema, c.relname::text AS name,
       (SELECT tn.nspname::text FROM pg_depend d JOIN pg_class tc ON tc.oid = d.refobjid
          JOIN pg_namespace tn ON tn.oid = tc.relnamespace
         WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
           AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') LIMIT 1) AS owner_schema,
       (SELECT tc.relname::text FROM pg_depend d JOIN pg_class tc ON tc.oid = d.refobjid
         WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
           AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') LIMIT 1) AS owner_table,
       (SELECT e.extname::text FROM pg_extension e WHERE c.oid = ANY(e.extconfig) LIMIT 1) AS extension
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind = 'S' AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
   AND (EXISTS (SELECT 1 FROM pg_extension e WHERE c.oid = ANY(e.extconfig))
        OR NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                          AND d.objid = c.oid AND d.deptype = 'e'))
 ORDER BY 1, 2"#;

/// The predicate of an extension configuration table's condition, which
/// pg_dump appends to its `SELECT` as given: `WHERE …` or nothing. Anything
/// else cannot be combined with a chunk's page range, so it is refused
/// rather than guessed at.
fn predicate(condition: &str) -> anyhow::Result<String> {
    let condition = condition.trim();
    if condition.is_empty() {
        return Ok(String::new());
    }
    match condition.get(..5) {
        Some(word) if word.eq_ignore_ascii_case("where") && condition[5..].starts_with(char::is_whitespace) => {
            Ok(condition[5..].trim().to_owned())
        }
        _ => anyhow::bail!("its pg_extension_config_dump condition {condition:?} is not a WHERE clause"),
    }
}

/// The `left_out` line for an extension's configuration table or sequence
/// (`what`) that `--include` leaves out.
fn extension_left_out(what: &str, schema: &str, name: &str, extension: &str) -> String {
    format!(
        "{what} {schema}.{name} of extension {extension} (--include picks tables, and extensions stay out, as with pg_dump -t)"
    )
}

/// Reads the catalog on `conn`, which must already be inside the snapshot.
pub async fn load(conn: &mut PgConnection, selection: &Selection) -> anyhow::Result<Catalog> {
    let server_version: String = sqlx::query_scalar("SHOW server_version").fetch_one(&mut *conn).await?;
    let page_size: String = sqlx::query_scalar("SHOW block_size").fetch_one(&mut *conn).await?;

    let mut tables = Vec::new();
    let mut oids = Vec::new();
    let mut schema_only = Vec::new();
    let mut excluded = Vec::new();
    let mut left_out = Vec::new();
    for row in sqlx::query(TABLES).fetch_all(&mut *conn).await.context("cannot list tables")? {
        let schema: String = row.get("schema");
        let name: String = row.get("name");
        if !selection.selects(&schema, &name) {
            excluded.push((schema, name));
            continue;
        }
        let extension_config = match row.get::<Option<String>, _>("extension") {
            Some(extension) => {
                let condition: String = row.get("condition");
                if selection.has_include() {
                    // pg_dump -t leaves extensions out, and with them the
                    // tables their rows would load into.
                    left_out.push(extension_left_out("rows of configuration table", &schema, &name, &extension));
                    continue;
                }
                let predicate = predicate(&condition)
                    .with_context(|| format!("extension {extension}'s configuration table {schema}.{name}"))?;
                Some(ExtensionConfig { extension, predicate })
            }
            None => None,
        };
        if row.get::<String, _>("kind") == "p" {
            schema_only.push((schema, name));
            continue;
        }
        oids.push(row.get::<i64, _>("oid"));
        tables.push(Table {
            schema,
            name,
            extension_config,
            estimated_rows: row.get::<f64, _>("estimate") as i64,
            bytes: row.get::<i64, _>("bytes").max(0) as u64,
            partition_of: row.get("parent"),
            ..Table::default()
        });
    }
    let index: HashMap<i64, usize> = oids.iter().enumerate().map(|(i, oid)| (*oid, i)).collect();

    for row in sqlx::query(COLUMNS).bind(&oids).fetch_all(&mut *conn).await.context("cannot list columns")? {
        if !row.get::<String, _>("generated").is_empty() {
            continue; // generated columns are computed on restore, not data
        }
        let table = &mut tables[index[&row.get::<i64, _>("oid")]];
        table.columns.push(Column {
            name: row.get("name"),
            sql_type: row.get("sql_type"),
            kind: column_kind(&row.get::<String, _>("base_type"), &row.get::<String, _>("category")),
            nullable: !row.get::<bool, _>("not_null"),
        });
    }
    for row in sqlx::query(PRIMARY_KEYS).bind(&oids).fetch_all(&mut *conn).await.context("cannot list keys")? {
        tables[index[&row.get::<i64, _>("oid")]].primary_key = row.get("columns");
    }

    for row in sqlx::query(UNIQUE_KEYS).bind(&oids).fetch_all(&mut *conn).await.context("cannot list unique keys")? {
        let columns: Vec<String> = row.get("columns");
        if !columns.is_empty() {
            tables[index[&row.get::<i64, _>("oid")]].unique.push(columns);
        }
    }
    let mut foreign_keys = Vec::new();
    for row in sqlx::query(FOREIGN_KEYS).bind(&oids).fetch_all(&mut *conn).await.context("cannot list foreign keys")? {
        let (child, parent) =
            (&tables[index[&row.get::<i64, _>("oid")]], &tables[index[&row.get::<i64, _>("ref_oid")]]);
        foreign_keys.push(ForeignKey {
            table: (child.schema.clone(), child.name.clone()),
            columns: row.get("columns"),
            ref_table: (parent.schema.clone(), parent.name.clone()),
            ref_columns: row.get("ref_columns"),
        });
    }

    let mut sequences = Vec::new();
    for row in sqlx::query(SEQUENCES).fetch_all(&mut *conn).await.context("cannot list sequences")? {
        let schema: String = row.get("schema");
        let name: String = row.get("name");
        let owner: Option<(String, String)> = match (row.get("owner_schema"), row.get("owner_table")) {
            (Some(s), Some(t)) => Some((s, t)),
            _ => None,
        };
        let selected = match &owner {
            Some((s, t)) => selection.selects(s, t),
            None => selection.selects(&schema, &name),
        };
        if !selected {
            continue;
        }
        if let Some(extension) = row.get::<Option<String>, _>("extension")
            && selection.has_include()
        {
            left_out.push(extension_left_out("the value of configuration sequence", &schema, &name, &extension));
            continue;
        }
        let query = format!("SELECT last_value, is_called FROM {}", super::qualified(&schema, &name));
        let (last_value, is_called): (i64, bool) = sqlx::query_as(&query)
            .fetch_one(&mut *conn)
            .await
            .with_context(|| format!("cannot read sequence {schema}.{name}"))?;
        sequences.push(Sequence { schema, name, last_value, is_called });
    }

    Ok(Catalog {
        server_version,
        page_size: page_size.parse().unwrap_or(8192),
        tables,
        schema_only,
        sequences,
        foreign_keys,
        include_given: selection.has_include(),
        excluded,
        left_out,
        large_objects: None,
        warnings: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::predicate;

    #[test]
    fn a_configuration_condition_becomes_a_predicate_or_is_refused() {
        assert_eq!(predicate("").expect("a WHERE clause"), "");
        assert_eq!(predicate("  WHERE NOT standard ").expect("a WHERE clause"), "NOT standard");
        assert_eq!(predicate("where\tid > 3").expect("a WHERE clause"), "id > 3");
        assert!(predicate("ORDER BY id").is_err());
        assert!(predicate("WHEREVER").is_err());
    }
}
