//! Loading rows and restoring objects: the `COPY … FROM STDIN` statement, the empty-target check, `--clean`,
//! sequence values and row counts.

use anyhow::Context;
use sqlx::postgres::PgConnection;

use super::{qualified, quote_ident, quote_literal};
use crate::catalog::{Sequence, Table};
use crate::format::Format;

/// `COPY "s"."t" (cols) FROM STDIN`, in the file's format.
pub fn copy_in_statement(table: &Table, format: Format) -> String {
    let columns: Vec<String> = table.columns.iter().map(|c| quote_ident(&c.name)).collect();
    let list = if columns.is_empty() { String::new() } else { format!(" ({})", columns.join(", ")) };
    let options = match format {
        // Only `copy` and `csv` files reach the server as they are; the
        // rows of every other format arrive parsed, as COPY text.
        Format::Copy | Format::Sql | Format::Jsonl | Format::Tsv => "",
        Format::Csv => " WITH (FORMAT csv, HEADER true)",
    };
    format!("COPY {}{list} FROM STDIN{options}", qualified(&table.schema, &table.name))
}

const USER_OBJECTS: &str = r#"
SELECT kind || ' ' || name FROM (
  SELECT 'relation' AS kind, n.nspname || '.' || c.relname AS name
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname NOT IN ('information_schema', '_sluice') AND n.nspname !~ '^pg_'
  UNION ALL
  SELECT 'schema', n.nspname FROM pg_namespace n
   WHERE n.nspname NOT IN ('public', 'information_schema', '_sluice') AND n.nspname !~ '^pg_'
  UNION ALL
  SELECT 'function', n.nspname || '.' || p.proname
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
   WHERE n.nspname NOT IN ('information_schema', '_sluice') AND n.nspname !~ '^pg_'
  UNION ALL
  SELECT 'type', n.nspname || '.' || t.typname
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
   WHERE n.nspname NOT IN ('information_schema', '_sluice') AND n.nspname !~ '^pg_' AND t.typtype IN ('d', 'e', 'r', 'm', 'c')
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
