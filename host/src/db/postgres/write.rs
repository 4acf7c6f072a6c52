//! Loading rows and restoring objects: COPY text from batches, the
//! `COPY … FROM STDIN` statement, the empty-target check, `--clean`,
//! sequence values and row counts.

use anyhow::Context;
use sqlx::postgres::PgConnection;

use super::{qualified, quote_ident, quote_literal};
use crate::catalog::Sequence;
use crate::cli::Format;
use crate::manifest::TableEntry;

/// Appends `batch` as PostgreSQL COPY text; `binary` marks bytea columns,
/// whose raw bytes are written in bytea hex form.
pub fn encode_copy_text(batch: &crate::batch::Batch, binary: &[bool], out: &mut Vec<u8>) {
    out.reserve(batch.data_bytes() + batch.rows as usize * (batch.columns.len() + 1));
    for row in 0..batch.rows as usize {
        for (i, column) in batch.columns.iter().enumerate() {
            if i > 0 {
                out.push(b'\t');
            }
            match column.value(row) {
                None => out.extend_from_slice(b"\\N"),
                Some(bytes) if binary[i] => {
                    out.extend_from_slice(b"\\\\x");
                    let start = out.len();
                    out.resize(start + bytes.len() * 2, 0);
                    hex::encode_to_slice(bytes, &mut out[start..]).expect("room for two digits per byte");
                }
                Some(bytes) => escape_into(bytes, out),
            }
        }
        out.push(b'\n');
    }
}

/// Bytes COPY text escapes: the backslash and the controls `\b` to `\r`.
fn needs_escape(b: u8) -> bool {
    (b == b'\\') | (0x08..=0x0d).contains(&b)
}

fn escape_into(bytes: &[u8], out: &mut Vec<u8>) {
    // Most values need no escape: one vectorised scan, then one copy.
    if crate::db::sql_text::plain_run(bytes, needs_escape) == bytes.len() {
        out.extend_from_slice(bytes);
        return;
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escaped: &[u8] = match b {
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x0b => b"\\v",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(escaped);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// `COPY "s"."t" (cols) FROM STDIN`, in the file's format.
pub fn copy_in_statement(table: &TableEntry, format: Format) -> String {
    let columns: Vec<String> = table.columns.iter().map(|c| quote_ident(&c.name)).collect();
    let list = if columns.is_empty() { String::new() } else { format!(" ({})", columns.join(", ")) };
    let options = match format {
        // A `sql` dump comes from another engine and restore refuses it
        // before any COPY; `copy` is the right fallback anyway.
        Format::Copy | Format::Sql => "",
        Format::Csv => " WITH (FORMAT csv, HEADER true)",
    };
    format!("COPY {}{list} FROM STDIN{options}", qualified(&table.schema, &table.name))
}

const USER_OBJECTS: &str = r#"
SELECT kind || ' ' || name FROM (
  SELECT 'relation' AS kind, n.nspname || '.' || c.relname AS name
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
  UNION ALL
  SELECT 'schema', n.nspname FROM pg_namespace n
   WHERE n.nspname NOT IN ('public', 'information_schema') AND n.nspname !~ '^pg_'
  UNION ALL
  SELECT 'function', n.nspname || '.' || p.proname
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
   WHERE n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
  UNION ALL
  SELECT 'type', n.nspname || '.' || t.typname
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
   WHERE n.nspname <> 'information_schema' AND n.nspname !~ '^pg_' AND t.typtype IN ('d', 'e', 'r', 'm', 'c')
     AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.reltype = t.oid)
  UNION ALL
  SELECT 'extension', e.extname FROM pg_extension e WHERE e.extname <> 'plpgsql'
) objects LIMIT 1"#;

/// The first user object found in the target, if any.
pub async fn first_user_object(conn: &mut PgConnection) -> anyhow::Result<Option<String>> {
    sqlx::query_scalar(USER_OBJECTS).fetch_optional(conn).await.context("cannot inspect the target database")
}

/// `--clean`: drops extensions (but plpgsql), every user schema but
/// `public`, and every object in `public`, keeping `public` itself with its
/// owner and privileges.
pub async fn clean(conn: &mut PgConnection) -> anyhow::Result<()> {
    let statements: Vec<String> = sqlx::query_scalar(
        r#"
SELECT format('DROP EXTENSION IF EXISTS %I CASCADE', extname) FROM pg_extension WHERE extname <> 'plpgsql'
UNION ALL
SELECT format('DROP SCHEMA IF EXISTS %I CASCADE', nspname) FROM pg_namespace
 WHERE nspname NOT IN ('public', 'information_schema') AND nspname !~ '^pg_'"#,
    )
    .fetch_all(&mut *conn)
    .await?;
    for sql in statements {
        sqlx::raw_sql(&sql).execute(&mut *conn).await.with_context(|| format!("--clean: {sql}"))?;
    }
    let in_public: Vec<String> = sqlx::query_scalar(
        r#"
SELECT format('DROP %s IF EXISTS public.%I CASCADE',
              CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE'
                             WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END, c.relname)
  FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
UNION ALL
SELECT format('DROP ROUTINE IF EXISTS %s CASCADE', p.oid::regprocedure)
  FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace
UNION ALL
SELECT format('DROP TYPE IF EXISTS public.%I CASCADE', t.typname)
  FROM pg_type t WHERE t.typnamespace = 'public'::regnamespace AND t.typtype IN ('d', 'e', 'r', 'm', 'c')
   AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.reltype = t.oid)"#,
    )
    .fetch_all(&mut *conn)
    .await?;
    for sql in in_public {
        // An earlier CASCADE may already have dropped this one: IF EXISTS.
        sqlx::raw_sql(&sql).execute(&mut *conn).await.with_context(|| format!("--clean: {sql}"))?;
    }
    Ok(())
}

/// Sets every sequence to the value read in the dump's snapshot.
pub async fn set_sequences(conn: &mut PgConnection, sequences: &[Sequence]) -> anyhow::Result<()> {
    for s in sequences {
        let name = qualified(&s.schema, &s.name);
        let sql = format!(
            "SELECT pg_catalog.setval({}, {}, {})",
            quote_literal(&name),
            s.last_value,
            if s.is_called { "true" } else { "false" }
        );
        sqlx::raw_sql(&sql)
            .execute(&mut *conn)
            .await
            .with_context(|| format!("cannot set sequence {}.{}", s.schema, s.name))?;
    }
    Ok(())
}
