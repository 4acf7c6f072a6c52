//! Pure planning: tables and size estimates in, chunks out, no I/O.
//!
//! Big PostgreSQL tables split into page (`ctid`) ranges so one huge table
//! uses every worker; the last range is open-ended so rows in pages added
//! after the size was read are never lost. Chunks are scheduled largest first.

use serde::Serialize;

use crate::catalog::Table;

/// Which rows of a table a chunk reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
}

/// One unit of work: a range of one table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
/// first (ties: catalog order, then chunk order).
pub fn plan(tables: &[Table], chunk_bytes: u64, page_size: u64) -> Vec<Chunk> {
    let page_size = page_size.max(1);
    let pages_per_chunk = (chunk_bytes / page_size).max(1);
    let mut chunks = Vec::new();
    for (table_index, table) in tables.iter().enumerate() {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str, bytes: u64) -> Table {
        Table {
            schema: "public".into(),
            name: name.into(),
            columns: vec![],
            primary_key: vec![],
            estimated_rows: -1,
            bytes,
            partition_of: None,
            unique: Vec::new(),
        }
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
                        ChunkRange::Whole => (0, pages + 5),
                        ChunkRange::Pages { start, end } => (start, end.unwrap_or(pages + 5)),
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
}
