//! Read-only, validated views over the flat buffers of a [`Batch`].
//!
//! Constructing a view checks every invariant `types.wit` states (offsets
//! count, order and bounds, bitmap length, empty NULL slices), so the
//! accessors afterwards are plain slicing and cannot fail on malformed input.

use crate::{Batch, ColumnData, StageError};

/// One column of a batch: value `i` is `Some(bytes)` or `None` for NULL.
///
/// Accessors taking a row index panic when it is `>= len()`, like slice
/// indexing: that is a bug in the caller, not bad input.
#[derive(Clone, Copy, Debug)]
pub struct ColumnView<'a> {
    data: &'a [u8],
    /// `rows + 1` entries, or empty when `rows == 0`.
    offsets: &'a [u32],
    /// Empty, or `ceil(rows / 8)` bytes.
    nulls: &'a [u8],
    /// Empty, or one storage-class byte per row (see `types.wit`).
    types: &'a [u8],
    rows: usize,
}

impl<'a> ColumnView<'a> {
    /// Validates `column` as holding `rows` values.
    pub fn new(column: &'a ColumnData, rows: u32) -> Result<Self, StageError> {
        let rows = rows as usize;
        let ColumnData { data, offsets, nulls, types } = column;
        // A column with no rows may come with no offsets at all.
        let offsets_ok = offsets.len() == rows + 1 || (rows == 0 && offsets.is_empty());
        if !offsets_ok {
            return Err(StageError::invalid_input(format!(
                "column has {} offsets for {rows} rows, expected {}",
                offsets.len(),
                rows + 1
            )));
        }
        if let Some(&first) = offsets.first()
            && first != 0
        {
            return Err(StageError::invalid_input(format!("column offsets start at {first}, not 0")));
        }
        if offsets.windows(2).any(|w| w[0] > w[1]) {
            return Err(StageError::invalid_input("column offsets are not ascending"));
        }
        let end = offsets.last().map_or(0, |&o| o as usize);
        if end != data.len() {
            return Err(StageError::invalid_input(format!(
                "column offsets end at {end} but data holds {} bytes",
                data.len()
            )));
        }
        if !nulls.is_empty() && nulls.len() != rows.div_ceil(8) {
            return Err(StageError::invalid_input(format!(
                "null bitmap has {} bytes for {rows} rows, expected {} or none",
                nulls.len(),
                rows.div_ceil(8)
            )));
        }
        if !types.is_empty() && types.len() != rows {
            return Err(StageError::invalid_input(format!(
                "column has {} value types for {rows} rows, expected {rows} or none",
                types.len()
            )));
        }
        let view = ColumnView { data, offsets, nulls, types, rows };
        if !nulls.is_empty() {
            for i in 0..rows {
                if view.is_null(i) && offsets[i] != offsets[i + 1] {
                    return Err(StageError::invalid_input(format!("row {i} is NULL but has a value")));
                }
            }
        }
        Ok(view)
    }

    /// Number of values (the batch's row count).
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether the column has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Whether row `i` is NULL.
    pub fn is_null(&self, i: usize) -> bool {
        assert!(i < self.rows, "row {i} out of range for {} rows", self.rows);
        !self.nulls.is_empty() && self.nulls[i / 8] & (1 << (i % 8)) != 0
    }

    /// Whether any row is NULL.
    pub fn has_nulls(&self) -> bool {
        (0..self.rows).any(|i| self.is_null(i))
    }

    /// Row `i`'s bytes, or `None` when it is NULL.
    pub fn value(&self, i: usize) -> Option<&'a [u8]> {
        if self.is_null(i) { None } else { Some(&self.data[self.offsets[i] as usize..self.offsets[i + 1] as usize]) }
    }

    /// Row `i` as UTF-8 text, `Ok(None)` when NULL; non-UTF-8 bytes are
    /// `invalid-input` (text values are UTF-8 in every supported engine).
    pub fn str(&self, i: usize) -> Result<Option<&'a str>, StageError> {
        self.value(i)
            .map(|v| {
                std::str::from_utf8(v).map_err(|e| StageError::invalid_input(format!("row {i} is not UTF-8: {e}")))
            })
            .transpose()
    }

    /// Row `i`'s storage class (`i`, `r`, `t`, `b`, `n`), or `None` when
    /// values carry no class of their own (see `types.wit`).
    pub fn value_type(&self, i: usize) -> Option<u8> {
        self.types.get(i).copied()
    }

    /// The per-row storage classes (empty when values have none).
    pub fn types(&self) -> &'a [u8] {
        self.types
    }

    /// Every value in row order.
    pub fn iter(&self) -> ColumnIter<'a> {
        ColumnIter { view: *self, next: 0 }
    }

    /// The whole data buffer, for fast paths that work on all values at once.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// The offsets (`len() + 1` entries, or none when the column is empty).
    pub fn offsets(&self) -> &'a [u32] {
        self.offsets
    }
}

impl<'a> IntoIterator for &ColumnView<'a> {
    type Item = Option<&'a [u8]>;
    type IntoIter = ColumnIter<'a>;
    fn into_iter(self) -> ColumnIter<'a> {
        self.iter()
    }
}

/// Iterator over a column's values, see [`ColumnView::iter`].
#[derive(Clone, Debug)]
pub struct ColumnIter<'a> {
    view: ColumnView<'a>,
    next: usize,
}

impl<'a> Iterator for ColumnIter<'a> {
    type Item = Option<&'a [u8]>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next == self.view.rows {
            return None;
        }
        let value = self.view.value(self.next);
        self.next += 1;
        Some(value)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.view.rows - self.next;
        (left, Some(left))
    }
}

impl ExactSizeIterator for ColumnIter<'_> {}

/// Every column of a batch, validated together.
#[derive(Clone, Debug)]
pub struct BatchView<'a> {
    rows: usize,
    columns: Vec<ColumnView<'a>>,
}

impl<'a> BatchView<'a> {
    /// Validates every column of `batch`.
    pub fn new(batch: &'a Batch) -> Result<Self, StageError> {
        let columns = batch
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                ColumnView::new(c, batch.rows)
                    .map_err(|e| StageError::invalid_input(format!("batch column {i}: {}", e.message())))
            })
            .collect::<Result<_, _>>()?;
        Ok(BatchView { rows: batch.rows as usize, columns })
    }

    /// Fails with `invalid-input` unless the batch has exactly `count` columns,
    /// e.g. the table's column count.
    pub fn expect_columns(self, count: usize) -> Result<Self, StageError> {
        if self.columns.len() != count {
            return Err(StageError::invalid_input(format!(
                "batch has {} columns, expected {count}",
                self.columns.len()
            )));
        }
        Ok(self)
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The columns in table order.
    pub fn columns(&self) -> &[ColumnView<'a>] {
        &self.columns
    }

    /// Column `i`; panics when out of range.
    pub fn column(&self, i: usize) -> &ColumnView<'a> {
        &self.columns[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(data: &[u8], offsets: &[u32], nulls: &[u8]) -> ColumnData {
        ColumnData { data: data.to_vec(), offsets: offsets.to_vec(), nulls: nulls.to_vec(), types: Vec::new() }
    }

    #[test]
    fn view_reads_values_and_nulls() {
        let c = column(b"abcd", &[0, 2, 2, 4], &[0b010]);
        let v = ColumnView::new(&c, 3).expect("valid");
        assert_eq!(v.len(), 3);
        assert_eq!(v.value(0), Some(&b"ab"[..]));
        assert!(v.is_null(1));
        assert_eq!(v.value(1), None);
        assert_eq!(v.str(2).expect("utf8"), Some("cd"));
        assert!(v.has_nulls());
        let all: Vec<_> = v.iter().collect();
        assert_eq!(all, vec![Some(&b"ab"[..]), None, Some(&b"cd"[..])]);
        assert_eq!(v.iter().len(), 3);
    }

    #[test]
    fn empty_bitmap_means_no_nulls_and_empty_value_is_not_null() {
        let c = column(b"x", &[0, 0, 1], &[]);
        let v = ColumnView::new(&c, 2).expect("valid");
        assert_eq!(v.value(0), Some(&b""[..]));
        assert!(!v.has_nulls());
    }

    #[test]
    fn view_accepts_zero_rows_with_or_without_offsets() {
        assert!(ColumnView::new(&column(b"", &[0], &[]), 0).is_ok());
        assert!(ColumnView::new(&column(b"", &[], &[]), 0).is_ok());
    }

    #[test]
    fn view_rejects_malformed_buffers_without_panicking() {
        let bad = [
            (column(b"ab", &[0, 2], &[]), 2),        // too few offsets
            (column(b"ab", &[1, 2], &[]), 1),        // does not start at 0
            (column(b"abc", &[0, 2, 1, 3], &[]), 3), // not ascending
            (column(b"ab", &[0, 3], &[]), 1),        // past the data
            (column(b"abc", &[0, 2], &[]), 1),       // data longer than offsets say
            (column(b"ab", &[0, 1, 2], &[0, 0]), 2), // bitmap too long
            (column(b"ab", &[0, 1, 2], &[0b01]), 2), // NULL with a value
            (column(b"", &[], &[]), 1),              // no offsets for one row
            (ColumnData { types: vec![b'i'; 2], ..column(b"1", &[0, 1], &[]) }, 1), // types for 2 rows
        ];
        for (c, rows) in bad {
            let result = ColumnView::new(&c, rows).map(|_| ());
            assert!(matches!(result, Err(StageError::InvalidInput(_))), "{c:?} rows={rows}: {result:?}");
        }
    }

    #[test]
    fn str_rejects_invalid_utf8() {
        let c = column(&[0xff], &[0, 1], &[]);
        let v = ColumnView::new(&c, 1).expect("valid");
        assert!(matches!(v.str(0), Err(StageError::InvalidInput(_))));
    }

    #[test]
    fn batch_view_checks_column_count_and_each_column() {
        let good = Batch { rows: 1, columns: vec![column(b"a", &[0, 1], &[]), column(b"", &[0, 0], &[1])] };
        let view = BatchView::new(&good).expect("valid");
        assert_eq!(view.rows(), 1);
        assert_eq!(view.column(1).value(0), None);
        assert!(view.clone().expect_columns(2).is_ok());
        assert!(matches!(view.expect_columns(3), Err(StageError::InvalidInput(_))));
        let bad = Batch { rows: 2, columns: vec![column(b"a", &[0, 1], &[])] };
        assert!(matches!(BatchView::new(&bad), Err(StageError::InvalidInput(_))));
    }
}
