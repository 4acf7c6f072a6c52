//! Schema files for a SQLite dump, read from `sqlite_schema` in the
//! snapshot: tables in pre-data; indexes, triggers and views in post-data so
//! rows load before indexes are built and before triggers could fire.

use anyhow::Context;
use sqlx::Row;
use sqlx::sqlite::SqliteConnection;

use super::catalog::SCHEMA;
use crate::catalog::Catalog;
use crate::db::source::SchemaScripts;
use crate::select::Selection;

/// The pre-data and post-data scripts, creation order kept (`sqlite_schema` rowid).
pub async fn dump(
    conn: &mut SqliteConnection,
    catalog: &Catalog,
    selection: &Selection,
) -> anyhow::Result<SchemaScripts> {
    let objects = sqlx::query(
        "SELECT type, name, tbl_name, sql FROM sqlite_schema \
         WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid",
    )
    .fetch_all(&mut *conn)
    .await
    .context("cannot read sqlite_schema")?;
    let dumped = |name: &str| catalog.tables.iter().any(|t| t.name == name);
    let user_version: i64 = sqlx::query_scalar("PRAGMA user_version").fetch_one(&mut *conn).await?;
    let application_id: i64 = sqlx::query_scalar("PRAGMA application_id").fetch_one(&mut *conn).await?;

    let mut pre_sql = format!("-- sluice: SQLite {SCHEMA} schema, pre-data (tables)\n");
    let mut post_sql = format!("-- sluice: SQLite {SCHEMA} schema, post-data (indexes, triggers, views)\n");
    if user_version != 0 {
        pre_sql.push_str(&format!("PRAGMA user_version = {user_version};\n"));
    }
    if application_id != 0 {
        pre_sql.push_str(&format!("PRAGMA application_id = {application_id};\n"));
    }
    for object in objects {
        let kind: String = object.get("type");
        let table: String = object.get("tbl_name");
        let sql: String = object.get("sql");
        let statement = format!("{sql};\n");
        match kind.as_str() {
            "table" if dumped(&table) => pre_sql.push_str(&statement),
            "index" | "trigger" if dumped(&table) => post_sql.push_str(&statement),
            // Like pg_dump -t, a partial dump leaves views out: they may
            // read tables that are not in it.
            "view" if selection.is_everything() => post_sql.push_str(&statement),
            _ => {}
        }
    }
    Ok(SchemaScripts { pre: pre_sql, post: post_sql })
}
