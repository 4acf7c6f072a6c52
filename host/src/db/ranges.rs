//! SQL for a planned chunk: the `WHERE` clauses that select a key range's
//! rows (integer keys and key tuples), kept here so planning stays pure.

use crate::plan::ChunkRange;

/// The `WHERE` clause (with a leading space) selecting a key range's rows
/// by `key`, an already quoted column; empty for a whole table.
pub fn key_filter(range: ChunkRange, key: &str) -> anyhow::Result<String> {
    Ok(match range {
        ChunkRange::Whole => String::new(),
        ChunkRange::Keys { start: None, end: None } => String::new(),
        ChunkRange::Keys { start: Some(s), end: None } => format!(" WHERE {key} >= {s}"),
        ChunkRange::Keys { start: None, end: Some(e) } => format!(" WHERE {key} < {e}"),
        ChunkRange::Keys { start: Some(s), end: Some(e) } => format!(" WHERE {key} >= {s} AND {key} < {e}"),
        ChunkRange::Pages { .. } => anyhow::bail!("page ranges are PostgreSQL's; this table splits by key"),
        ChunkRange::Bounds { .. } => anyhow::bail!("this table splits by key tuples, not an integer key"),
    })
}

/// The `WHERE` clause (with a leading space) selecting the rows whose key
/// `columns` (quoted) lie from the tuple `start` (inclusive) to `end`
/// (exclusive), each a list of SQL literals.
pub fn tuple_filter(columns: &[String], start: Option<&[String]>, end: Option<&[String]>) -> String {
    let conditions: Vec<String> =
        [start.map(|v| tuple_compare(columns, v, ">=")), end.map(|v| tuple_compare(columns, v, "<"))]
            .into_iter()
            .flatten()
            .collect();
    if conditions.is_empty() { String::new() } else { format!(" WHERE {}", conditions.join(" AND ")) }
}

/// `(columns) OP (values)` for `>`, `>=` or `<`, spelled out column by
/// column (`(a > 1) OR (a = 1 AND b >= 'x')`) so an index range scan
/// serves it.
pub fn tuple_compare(columns: &[String], values: &[String], op: &str) -> String {
    let strict = if op.starts_with('>') { ">" } else { "<" };
    let terms: Vec<String> = (0..columns.len())
        .map(|i| {
            let mut parts: Vec<String> = (0..i).map(|j| format!("{} = {}", columns[j], values[j])).collect();
            parts.push(format!("{} {} {}", columns[i], if i + 1 == columns.len() { op } else { strict }, values[i]));
            format!("({})", parts.join(" AND "))
        })
        .collect();
    format!("({})", terms.join(" OR "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tuple_filters_compare_lexicographically() {
        let cols = vec!["`a`".to_owned(), "`b`".to_owned()];
        let (lo, hi) = (vec!["1".to_owned(), "'x'".to_owned()], vec!["2".to_owned(), "'y'".to_owned()]);
        assert_eq!(
            tuple_filter(&cols, Some(&lo), Some(&hi)),
            " WHERE ((`a` > 1) OR (`a` = 1 AND `b` >= 'x')) AND ((`a` < 2) OR (`a` = 2 AND `b` < 'y'))"
        );
        assert_eq!(tuple_filter(&cols[..1], None, Some(&hi[..1])), " WHERE ((`a` < 2))");
        assert_eq!(tuple_compare(&cols, &lo, ">"), "((`a` > 1) OR (`a` = 1 AND `b` > 'x'))");
        assert_eq!(tuple_filter(&cols, None, None), "");
    }
}
