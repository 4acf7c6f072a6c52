//! Large objects' contents, carried as the pseudo-table
//! [`LARGE_OBJECTS`]: `(loid, offset, data)` pieces of at most
//! [`LARGE_OBJECT_PIECE`] bytes, read with `lo_get` inside the dump's
//! snapshot (the privileges pg_dump needs, not superuser's), chunked by OID
//! ranges of about `--chunk-size` bytes, and written back on restore with
//! `lo_put` into the objects the pre-data script creates (with their OID,
//! owner, ACL and comment, as pg_dump writes them).

use anyhow::Context;
use sqlx::Row;
use sqlx::postgres::PgConnection;

use crate::catalog::{Column, ColumnKind, LARGE_OBJECT_PIECE, LARGE_OBJECTS, LargeObjectCount, Table, TableKind};
use crate::plan::ChunkRange;

/// `lo_open` mode for reading (`INV_READ`).
const INV_READ: u32 = 0x40000;

/// Bytes a chunk is charged per object besides its contents, so a million
/// empty objects still split.
const PER_OBJECT: u64 = 1 << 10;

/// Every large object's OID and size, in OID order, between `filter`'s
/// bounds; each descriptor is closed once its size is read (they would
/// otherwise pile up until the snapshot's transaction ends).
fn sizes_query(filter: &str) -> String {
    format!(
        "SELECT t.oid, t.size FROM (SELECT m.oid::int8 AS oid, lo_lseek64(fd, 0, 2) AS size, fd \
           FROM pg_largeobject_metadata m CROSS JOIN LATERAL lo_open(m.oid, {INV_READ}) AS fd{filter} \
          ORDER BY m.oid OFFSET 0) t WHERE lo_close(t.fd) = 0"
    )
}

/// The pseudo-table of every large object in the snapshot `conn` is in,
/// split into OID ranges of about `chunk_bytes`; None when there is none.
pub async fn pseudo_table(
    conn: &mut PgConnection,
    chunk_bytes: u64,
) -> anyhow::Result<Option<(Table, LargeObjectCount)>> {
    let rows = sqlx::query(&sizes_query(""))
        .fetch_all(&mut *conn)
        .await
        .context("cannot read the sizes of the large objects")?;
    if rows.is_empty() {
        return Ok(None);
    }
    let sizes: Vec<(i64, u64)> = rows.iter().map(|r| (r.get("oid"), r.get::<i64, _>("size").max(0) as u64)).collect();
    let count = LargeObjectCount { objects: sizes.len() as u64, bytes: sizes.iter().map(|(_, s)| s).sum() };
    let pieces: u64 = sizes.iter().map(|(_, size)| size.div_ceil(LARGE_OBJECT_PIECE).max(1)).sum();
    let table = Table {
        kind: TableKind::LargeObjects,
        schema: LARGE_OBJECTS.0.to_owned(),
        name: LARGE_OBJECTS.1.to_owned(),
        columns: vec![
            column("loid", "oid", ColumnKind::Integer),
            column("offset", "bigint", ColumnKind::Integer),
            column("data", "bytea", ColumnKind::Binary),
        ],
        primary_key: vec!["loid".to_owned(), "offset".to_owned()],
        estimated_rows: pieces as i64,
        bytes: count.bytes,
        key_bounds: bounds(&sizes, chunk_bytes).into_iter().map(|oid| vec![oid.to_string()]).collect(),
        ..Table::default()
    };
    Ok(Some((table, count)))
}

fn column(name: &str, sql_type: &str, kind: ColumnKind) -> Column {
    Column { name: name.to_owned(), sql_type: sql_type.to_owned(), kind, nullable: false }
}

/// The OIDs that start a new chunk: each chunk holds about `chunk_bytes`
/// of contents (and per-object overhead), a single bigger object alone.
fn bounds(sizes: &[(i64, u64)], chunk_bytes: u64) -> Vec<i64> {
    let mut bounds = Vec::new();
    let mut filled = 0u64;
    for (oid, size) in sizes {
        let cost = size + PER_OBJECT;
        if filled > 0 && filled + cost > chunk_bytes {
            bounds.push(*oid);
            filled = 0;
        }
        filled += cost;
    }
    bounds
}

/// The `COPY … TO STDOUT` that reads one chunk's pieces, in OID and offset
/// order: the pieces are listed from the sizes alone, then each one read
/// with `lo_get`, so no more than one piece is in memory at a time.
pub fn copy_out_statement(table: &Table, range: ChunkRange) -> anyhow::Result<String> {
    let bound = |index: Option<usize>| -> anyhow::Result<Option<u32>> {
        index
            .map(|i| {
                let text = table.key_bounds.get(i).and_then(|b| b.first()).map(String::as_str).unwrap_or("");
                text.parse::<u32>().with_context(|| format!("large object chunk bound '{text}' is not an OID"))
            })
            .transpose()
    };
    let (start, end) = match range {
        ChunkRange::Whole => (None, None),
        ChunkRange::Bounds { start, end } => (bound(start)?, bound(end)?),
        ChunkRange::Pages { .. } | ChunkRange::Keys { .. } => {
            anyhow::bail!("large object chunks are OID ranges")
        }
    };
    let conditions: Vec<String> = start
        .map(|oid| format!("m.oid >= '{oid}'::oid"))
        .into_iter()
        .chain(end.map(|oid| format!("m.oid < '{oid}'::oid")))
        .collect();
    let filter = if conditions.is_empty() { String::new() } else { format!(" WHERE {}", conditions.join(" AND ")) };
    Ok(format!(
        "COPY (SELECT p.oid, p.off, lo_get(p.oid::oid, p.off, {LARGE_OBJECT_PIECE}) FROM (\
           SELECT s.oid, g.off FROM ({sizes}) s \
            CROSS JOIN LATERAL generate_series(0::int8, greatest(s.size - 1, 0), {LARGE_OBJECT_PIECE}) AS g(off) \
            ORDER BY s.oid, g.off OFFSET 0) p) TO STDOUT",
        sizes = sizes_query(&filter)
    ))
}

/// The session's staging table a chunk of pieces is copied into before
/// `lo_put` writes them: COPY cannot write into large objects.
pub const STAGING: (&str, &str) = ("pg_temp", "sluice_large_objects");

/// Creates the staging table for this transaction (emptied on commit).
pub const CREATE_STAGING: &str = "CREATE TEMP TABLE IF NOT EXISTS sluice_large_objects \
    (loid oid NOT NULL, \"offset\" bigint NOT NULL, data bytea NOT NULL) ON COMMIT DELETE ROWS";

/// Writes the staged pieces into their objects (each at its own offset,
/// so in any order: no sort).
pub const WRITE_STAGED: &str = "SELECT pg_catalog.lo_put(loid, \"offset\", data) FROM pg_temp.sluice_large_objects";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_hold_about_chunk_bytes_and_a_big_object_stands_alone() {
        let sizes = [(10, 100), (11, 100), (12, 5000), (13, 0), (14, 100)];
        assert_eq!(bounds(&sizes, 2 * PER_OBJECT + 250), vec![12, 13]);
        assert!(bounds(&sizes, 1 << 30).is_empty());
        let empty: Vec<(i64, u64)> = (1..=3000).map(|oid| (oid, 0)).collect();
        assert_eq!(bounds(&empty, 1000 * PER_OBJECT).len(), 2, "empty objects still split");
    }

    #[test]
    fn a_chunk_reads_its_oid_range_in_pieces() {
        let table = Table { key_bounds: vec![vec!["12".into()], vec!["13".into()]], ..Table::default() };
        let middle = copy_out_statement(&table, ChunkRange::Bounds { start: Some(0), end: Some(1) }).expect("sql");
        assert!(middle.contains("WHERE m.oid >= '12'::oid AND m.oid < '13'::oid"), "{middle}");
        assert!(middle.contains(&format!("lo_get(p.oid::oid, p.off, {LARGE_OBJECT_PIECE})")), "{middle}");
        let first = copy_out_statement(&table, ChunkRange::Bounds { start: None, end: Some(0) }).expect("sql");
        assert!(first.contains("WHERE m.oid < '12'::oid") && !first.contains(">="), "{first}");
        let whole = copy_out_statement(&table, ChunkRange::Whole).expect("sql");
        assert!(!whole.contains("WHERE m.oid"), "{whole}");
        assert!(copy_out_statement(&table, ChunkRange::Pages { start: 0, end: None }).is_err());
    }
}
