//! Builders for output batches: append values row by row, then `finish`.

use crate::{Batch, ColumnData, StageError};

/// Builds one [`ColumnData`]: data, offsets and the null bitmap (left empty
/// when no value is NULL).
#[derive(Clone, Debug)]
pub struct ColumnBuilder {
    data: Vec<u8>,
    offsets: Vec<u32>,
    /// Kept empty until the first NULL; then one bit per row pushed so far.
    nulls: Vec<u8>,
    /// None until the first typed value; then one class byte per row.
    types: Option<Vec<u8>>,
}

impl Default for ColumnBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ColumnBuilder {
    /// An empty column.
    pub fn new() -> Self {
        Self::with_capacity(0, 0)
    }

    /// An empty column with room for `rows` values totalling `bytes`.
    pub fn with_capacity(rows: usize, bytes: usize) -> Self {
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0);
        ColumnBuilder { data: Vec::with_capacity(bytes), offsets, nulls: Vec::new(), types: None }
    }

    /// Number of values pushed.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Whether nothing was pushed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of value data pushed so far.
    pub fn data_len(&self) -> usize {
        self.data.len()
    }

    /// Appends a value, `None` for NULL.
    pub fn push(&mut self, value: Option<&[u8]>) {
        match value {
            Some(v) => self.push_value(v),
            None => self.push_null(),
        }
    }

    /// Appends a non-NULL value.
    pub fn push_value(&mut self, value: &[u8]) {
        self.data.extend_from_slice(value);
        self.end_value(false);
    }

    /// Appends a non-NULL text value.
    pub fn push_str(&mut self, value: &str) {
        self.push_value(value.as_bytes());
    }

    /// Appends a NULL.
    pub fn push_null(&mut self) {
        self.end_value(true);
    }

    /// Appends a non-NULL value written by `write` straight into the data
    /// buffer (no intermediate copy). If `write` fails, whatever it wrote is
    /// discarded and no value is added.
    pub fn push_with<E>(&mut self, write: impl FnOnce(&mut Vec<u8>) -> Result<(), E>) -> Result<(), E> {
        let start = self.data.len();
        match write(&mut self.data) {
            Ok(()) => {
                self.end_value(false);
                Ok(())
            }
            Err(e) => {
                self.data.truncate(start);
                Err(e)
            }
        }
    }

    /// Appends a value with its storage class (`i`, `r`, `t`, `b`; see
    /// `types.wit`); `None` appends a NULL. Rows pushed untyped before the
    /// first typed one are recorded as `t`, or `n` when NULL.
    pub fn push_typed(&mut self, value: Option<&[u8]>, class: u8) {
        if self.types.is_none() {
            let rows = self.len();
            self.types = Some((0..rows).map(|i| if self.is_null_at(i) { b'n' } else { b't' }).collect());
        }
        self.push(value);
        if let (Some(types), Some(_)) = (self.types.as_mut(), value) {
            *types.last_mut().expect("pushed above") = class;
        }
    }

    /// Appends a value with the class its source gave it, if any.
    pub fn push_like(&mut self, value: Option<&[u8]>, class: Option<u8>) {
        match class {
            Some(class) => self.push_typed(value, class),
            None => self.push(value),
        }
    }

    fn is_null_at(&self, row: usize) -> bool {
        !self.nulls.is_empty() && self.nulls[row / 8] & (1 << (row % 8)) != 0
    }

    fn end_value(&mut self, null: bool) {
        let row = self.len();
        if let Some(types) = self.types.as_mut() {
            // One class per row once any value was typed.
            types.push(if null { b'n' } else { b't' });
        }
        // Batches are bounded far below 4 GiB (and wasm32 memory cannot
        // exceed it), so the offset always fits the WIT `u32`.
        self.offsets.push(self.data.len() as u32);
        if null && self.nulls.is_empty() {
            self.nulls = vec![0; row / 8 + 1];
        }
        if !self.nulls.is_empty() {
            if self.nulls.len() < row / 8 + 1 {
                self.nulls.push(0);
            }
            if null {
                self.nulls[row / 8] |= 1 << (row % 8);
            }
        }
    }

    /// The finished column.
    pub fn finish(self) -> ColumnData {
        ColumnData { data: self.data, offsets: self.offsets, nulls: self.nulls, types: self.types.unwrap_or_default() }
    }
}

/// Builds a [`Batch`] from one [`ColumnBuilder`] per column.
#[derive(Clone, Debug)]
pub struct BatchBuilder {
    columns: Vec<ColumnBuilder>,
    /// Rows pushed with [`BatchBuilder::push_row`]; only needed to count rows
    /// of a batch without columns.
    rows: usize,
}

impl BatchBuilder {
    /// An empty batch of `columns` columns.
    pub fn new(columns: usize) -> Self {
        BatchBuilder { columns: (0..columns).map(|_| ColumnBuilder::new()).collect(), rows: 0 }
    }

    /// Number of columns.
    pub fn width(&self) -> usize {
        self.columns.len()
    }

    /// Number of complete rows so far.
    pub fn rows(&self) -> usize {
        self.columns.first().map_or(self.rows, ColumnBuilder::len)
    }

    /// Column `i`, to push values column by column; every column must end up
    /// with the same number of values.
    pub fn column_mut(&mut self, i: usize) -> &mut ColumnBuilder {
        &mut self.columns[i]
    }

    /// Appends one row, one value per column (`None` for NULL).
    pub fn push_row(&mut self, values: &[Option<&[u8]>]) -> Result<(), StageError> {
        if values.len() != self.columns.len() {
            return Err(StageError::invalid_input(format!(
                "row has {} values, expected {}",
                values.len(),
                self.columns.len()
            )));
        }
        for (column, value) in self.columns.iter_mut().zip(values) {
            column.push(*value);
        }
        self.rows += 1;
        Ok(())
    }

    /// The finished batch; `failed` if the columns differ in length.
    pub fn finish(self) -> Result<Batch, StageError> {
        let rows = self.rows();
        if let Some(c) = self.columns.iter().find(|c| c.len() != rows) {
            return Err(StageError::failed(format!("batch columns differ in length: {} and {rows}", c.len())));
        }
        let rows = u32::try_from(rows).map_err(|_| StageError::failed("batch has more than 2^32 rows"))?;
        Ok(Batch { rows, columns: self.columns.into_iter().map(ColumnBuilder::finish).collect() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ColumnView;

    #[test]
    fn column_without_nulls_has_empty_bitmap() {
        let mut b = ColumnBuilder::new();
        b.push_str("ab");
        b.push_value(b"");
        let c = b.finish();
        assert_eq!(c.data, b"ab");
        assert_eq!(c.offsets, vec![0, 2, 2]);
        assert!(c.nulls.is_empty());
    }

    #[test]
    fn bitmap_covers_every_row_once_a_null_appears() {
        for rows in 1..40usize {
            for null_at in 0..rows {
                let mut b = ColumnBuilder::new();
                for i in 0..rows {
                    if i == null_at || i % 7 == 3 {
                        b.push_null();
                    } else {
                        b.push(Some(&[i as u8]));
                    }
                }
                let c = b.finish();
                assert_eq!(c.nulls.len(), rows.div_ceil(8), "rows={rows}");
                let v = ColumnView::new(&c, rows as u32).expect("builder output is valid");
                for i in 0..rows {
                    let null = i == null_at || i % 7 == 3;
                    let byte = [i as u8];
                    assert_eq!(v.value(i), if null { None } else { Some(&byte[..]) });
                }
            }
        }
    }

    #[test]
    fn push_with_discards_a_failed_value() {
        let mut b = ColumnBuilder::new();
        b.push_value(b"a");
        let r: Result<(), ()> = b.push_with(|buf| {
            buf.extend_from_slice(b"junk");
            Err(())
        });
        assert!(r.is_err());
        b.push_with::<()>(|buf| {
            buf.extend_from_slice(b"ok");
            Ok(())
        })
        .expect("ok");
        let c = b.finish();
        assert_eq!((c.data.as_slice(), c.offsets.as_slice()), (&b"aok"[..], &[0, 1, 3][..]));
    }

    #[test]
    fn batch_builder_builds_rows_and_checks_widths() {
        let mut b = BatchBuilder::new(2);
        b.push_row(&[Some(b"x"), None]).expect("row");
        assert!(b.push_row(&[None]).is_err());
        let batch = b.finish().expect("batch");
        assert_eq!(batch.rows, 1);
        let view = batch.view().expect("valid");
        assert_eq!(view.column(0).value(0), Some(&b"x"[..]));
        assert!(view.column(1).is_null(0));

        let mut uneven = BatchBuilder::new(2);
        uneven.column_mut(0).push_null();
        assert!(matches!(uneven.finish(), Err(StageError::Failed(_))));
    }

    #[test]
    fn batch_without_columns_counts_rows() {
        let mut b = BatchBuilder::new(0);
        b.push_row(&[]).expect("row");
        b.push_row(&[]).expect("row");
        assert_eq!(b.finish().expect("batch").rows, 2);
    }
}
