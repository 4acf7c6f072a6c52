//! Pure planning: tables and size estimates in, chunks out, no I/O.
//!
//! Big tables split so one huge table uses every worker: PostgreSQL tables
//! into page (`ctid`) ranges, tables with an integer key (SQLite's rowid) into
//! key ranges. The first and last ranges are open-ended so rows outside the
//! sizes read at planning time are never lost. Chunks are scheduled largest
//! first.

use serde::{Deserialize, Serialize};

use crate::catalog::Table;

/// Which rows of a table a chunk reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ChunkRange {
    /// Every row.
    Whole,
    /// Rows stored in pages `start..end` (`end` None: to the end of the table).
    Pages {
        /// First page, inclusive.
        start: u64,
        /// Last page, exclusive; None for the open-ended last chunk.
        end: Option<u64>,
    },
    /// Rows whose primary key is from `table.key_bounds[start]` up to
    /// `table.key_bounds[end]` (None: unbounded).
    Bounds {
        /// Index of the lowest key tuple, inclusive; None for the first chunk.
        start: Option<usize>,
        /// Index of the key tuple that ends the chunk, exclusive; None for the last.
        end: Option<usize>,
    },
    /// Rows whose integer key is in `start..end` (None: unbounded).
    Keys {
        /// Lowest key, inclusive; None for the first chunk.
        start: Option<i64>,
        /// Highest key, exclusive; None for the last chunk.
        end: Option<i64>,
    },
}

/// One unit of work: a range of one table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk {
    /// Index into the catalog's tables.
    pub table: usize,
    /// Chunk number within the table, from 0.
    pub index: u32,
    /// Which rows.
    pub range: ChunkRange,
    /// Expected bytes, for scheduling.
    pub estimated_bytes: u64,
}

/// Splits tables into chunks of about `chunk_bytes` and orders them largest
/// first (ties: catalog order, then chunk order). Tables with an integer key
/// split by key, others by page when `page_size` is not 0, else not at all.
pub fn plan(tables: &[Table], chunk_bytes: u64, page_size: u64) -> Vec<Chunk> {
    let pages_per_chunk = (chunk_bytes / page_size.max(1)).max(1);
    let mut chunks = Vec::new();
    for (table_index, table) in tables.iter().enumerate() {
        if let Some((low, high)) = table.int_key {
            chunks.extend(key_chunks(table_index, table.bytes, low, high, chunk_bytes));
            continue;
        }
        if !table.key_bounds.is_empty() {
            let count = table.key_bounds.len() + 1;
            chunks.extend((0..count).map(|i| Chunk {
                table: table_index,
                index: u32::try_from(i).unwrap_or(u32::MAX),
                range: ChunkRange::Bounds { start: i.checked_sub(1), end: (i + 1 < count).then_some(i) },
                estimated_bytes: table.bytes / count as u64,
            }));
            continue;
        }
        if page_size == 0 {
            chunks.push(Chunk { table: table_index, index: 0, range: ChunkRange::Whole, estimated_bytes: table.bytes });
            continue;
        }
        let pages = table.bytes.div_ceil(page_size);
        if pages <= pages_per_chunk {
            chunks.push(Chunk { table: table_index, index: 0, range: ChunkRange::Whole, estimated_bytes: table.bytes });
            continue;
        }
        let count = pages.div_ceil(pages_per_chunk);
        for i in 0..count {
            let start = i * pages_per_chunk;
            let end = (i + 1 < count).then_some(start + pages_per_chunk);
            let span = end.unwrap_or(pages) - start;
            chunks.push(Chunk {
                table: table_index,
                index: u32::try_from(i).unwrap_or(u32::MAX),
                range: ChunkRange::Pages { start, end },
                estimated_bytes: span * page_size,
            });
        }
    }
    chunks.sort_by(|a, b| {
        b.estimated_bytes.cmp(&a.estimated_bytes).then(a.table.cmp(&b.table)).then(a.index.cmp(&b.index))
    });
    chunks
}

/// Key ranges of about `chunk_bytes` each over `low..=high`, assuming keys
/// spread evenly; the first starts and the last ends unbounded.
fn key_chunks(table: usize, bytes: u64, low: i64, high: i64, chunk_bytes: u64) -> Vec<Chunk> {
    let span = (i128::from(high) - i128::from(low) + 1).max(1);
    let count = i128::from(bytes.div_ceil(chunk_bytes.max(1)).max(1)).min(span);
    let step = (span + count - 1) / count; // i128::div_ceil is unstable
    (0..count)
        .map(|i| {
            // Clamped to `high`, so a bound always fits an i64 (a range may
            // then be empty, never missing).
            let bound =
                |k: i128| Some(i64::try_from((i128::from(low) + k * step).min(i128::from(high))).unwrap_or(high));
            let start = if i == 0 { None } else { bound(i) };
            let end = if i + 1 == count { None } else { bound(i + 1) };
            Chunk {
                table,
                index: u32::try_from(i).unwrap_or(u32::MAX),
                range: ChunkRange::Keys { start, end },
                estimated_bytes: bytes / count as u64,
            }
        })
        .collect()
}

/// How `table` is split into `chunks` (its own), in words for `sluice plan`:
/// `ctid pages (4 ranges)`, `key ranges on id (3)`, `whole: small`.
pub fn split_words(table: &Table, chunks: &[&Chunk], chunk_bytes: u64) -> String {
    let n = chunks.len();
    // One chunk reads the whole table, whatever its range says.
    let first = chunks.first().map(|c| c.range).filter(|_| n > 1);
    if table.kind == crate::catalog::TableKind::LargeObjects {
        return if n > 1 { format!("object ranges ({n})") } else { "whole: every object".to_owned() };
    }
    match first {
        Some(ChunkRange::Pages { .. }) => format!("ctid pages ({n} ranges)"),
        Some(ChunkRange::Keys { .. }) => {
            let integer_key = table
                .primary_key
                .first()
                .and_then(|k| table.columns.iter().find(|c| &c.name == k))
                .filter(|c| c.kind == crate::catalog::ColumnKind::Integer);
            match integer_key {
                Some(column) if table.primary_key.len() == 1 || n > 1 => {
                    format!("key ranges on {} ({n})", column.name)
                }
                _ => format!("rowid ranges ({n})"),
            }
        }
        Some(ChunkRange::Bounds { .. }) => format!("key ranges on ({}) ({n})", table.primary_key.join(", ")),
        Some(ChunkRange::Whole) | None if table.bytes <= chunk_bytes => "whole: small".to_owned(),
        Some(ChunkRange::Whole) | None if table.primary_key.is_empty() => "whole: no key to split on".to_owned(),
        Some(ChunkRange::Whole) | None => "whole".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str, bytes: u64) -> Table {
        Table { schema: "public".into(), name: name.into(), estimated_rows: -1, bytes, ..Table::default() }
    }

    #[test]
    fn integer_keys_split_into_ranges_that_cover_every_key_once() {
        for (low, high) in [(1, 1), (1, 10), (-5, 1000), (i64::MIN, i64::MAX), (7, 8)] {
            for parts in [1u64, 2, 3, 7] {
                let t = Table { int_key: Some((low, high)), ..table("t", parts * 100) };
                let chunks = plan(&[t], 100, 0);
                let mut ranges: Vec<_> = chunks.iter().map(|c| (c.index, c.range)).collect();
                ranges.sort_by_key(|r| r.0);
                let bounds: Vec<(Option<i64>, Option<i64>)> = ranges
                    .iter()
                    .map(|(_, r)| match r {
                        ChunkRange::Keys { start, end } => (*start, *end),
                        other => panic!("{other:?}"),
                    })
                    .collect();
                assert_eq!(bounds.first().map(|b| b.0), Some(None), "first range is open");
                assert_eq!(bounds.last().map(|b| b.1), Some(None), "last range is open");
                for pair in bounds.windows(2) {
                    assert_eq!(pair[0].1, pair[1].0, "ranges meet: {bounds:?}");
                    assert!(pair[0].1.is_some());
                }
                let span = i128::from(high) - i128::from(low) + 1;
                assert_eq!(bounds.len() as i128, i128::from(parts).min(span), "{low}..{high} in {parts}");
            }
        }
    }

    #[test]
    fn key_bounds_make_adjacent_open_ended_chunks() {
        let t = Table { key_bounds: vec![vec!["'m'".into()], vec!["'t'".into()]], ..table("t", 300) };
        let mut ranges: Vec<_> = plan(&[t], 100, 0).into_iter().map(|c| (c.index, c.range)).collect();
        ranges.sort_by_key(|r| r.0);
        let ranges: Vec<ChunkRange> = ranges.into_iter().map(|r| r.1).collect();
        assert_eq!(
            ranges,
            vec![
                ChunkRange::Bounds { start: None, end: Some(0) },
                ChunkRange::Bounds { start: Some(0), end: Some(1) },
                ChunkRange::Bounds { start: Some(1), end: None },
            ]
        );
    }

    #[test]
    fn tables_without_pages_or_keys_are_one_chunk() {
        let chunks = plan(&[table("t", 1 << 30)], 100, 0);
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].range, ChunkRange::Whole);
    }

    #[test]
    fn small_tables_are_one_whole_chunk() {
        let chunks = plan(&[table("a", 0), table("b", 8192 * 3)], 8192 * 4, 8192);
        assert_eq!(chunks.len(), 2);
        assert!(chunks.iter().all(|c| c.range == ChunkRange::Whole && c.index == 0));
    }

    #[test]
    fn big_tables_split_into_page_ranges_with_an_open_last_chunk() {
        let chunks = plan(&[table("big", 8192 * 10)], 8192 * 4, 8192);
        let mut ranges: Vec<_> = chunks.iter().map(|c| (c.index, c.range)).collect();
        ranges.sort_by_key(|r| r.0);
        assert_eq!(
            ranges,
            vec![
                (0, ChunkRange::Pages { start: 0, end: Some(4) }),
                (1, ChunkRange::Pages { start: 4, end: Some(8) }),
                (2, ChunkRange::Pages { start: 8, end: None }),
            ]
        );
    }

    #[test]
    fn ranges_cover_every_page_exactly_once() {
        for pages in 1..60u64 {
            for per in 1..9u64 {
                let chunks = plan(&[table("t", pages * 100)], per * 100, 100);
                let mut covered = vec![0u32; pages as usize + 5];
                for c in &chunks {
                    let (s, e) = match c.range {
                        ChunkRange::Pages { start, end } => (start, end.unwrap_or(pages + 5)),
                        _ => (0, pages + 5),
                    };
                    for p in s..e {
                        covered[p as usize] += 1;
                    }
                }
                assert!(covered.iter().all(|&n| n == 1), "pages={pages} per={per}");
            }
        }
    }

    #[test]
    fn largest_chunks_come_first() {
        let chunks = plan(&[table("small", 8192), table("big", 8192 * 100), table("mid", 8192 * 3)], 8192 * 40, 8192);
        let sizes: Vec<u64> = chunks.iter().map(|c| c.estimated_bytes).collect();
        let mut sorted = sizes.clone();
        sorted.sort_by(|a, b| b.cmp(a));
        assert_eq!(sizes, sorted);
        assert_eq!(chunks[0].table, 1);
    }

    #[test]
    fn splits_are_said_in_words() {
        let words = |t: &Table, page_size: u64| {
            let chunks = plan(std::slice::from_ref(t), 1 << 20, page_size);
            split_words(t, &chunks.iter().collect::<Vec<_>>(), 1 << 20)
        };
        assert_eq!(words(&table("big", 10 << 20), 8192), "ctid pages (10 ranges)");
        assert_eq!(words(&table("small", 1000), 8192), "whole: small");
        assert_eq!(words(&table("heap", 10 << 20), 0), "whole: no key to split on");
        let id = crate::catalog::Column {
            name: "id".into(),
            sql_type: "int".into(),
            kind: crate::catalog::ColumnKind::Integer,
            nullable: false,
        };
        let keyed = Table {
            primary_key: vec!["id".into()],
            columns: vec![id],
            int_key: Some((1, 1 << 20)),
            ..table("k", 4 << 20)
        };
        assert_eq!(words(&keyed, 0), "key ranges on id (4)");
        let rowid = Table { int_key: Some((1, 1 << 20)), ..table("r", 4 << 20) };
        assert_eq!(words(&rowid, 0), "rowid ranges (4)");
        let tuples = Table {
            primary_key: vec!["a".into(), "b".into()],
            key_bounds: vec![vec!["1".into(), "2".into()]],
            ..table("t", 4 << 20)
        };
        assert_eq!(words(&tuples, 0), "key ranges on (a, b) (2)");
    }
}
