//! Conveniences on the generated [`Batch`] and [`Table`] types.

use crate::{Batch, BatchView, ColumnBuilder, ColumnData, ColumnView, StageError, Table};

impl Batch {
    /// A batch with no rows and `columns` empty columns.
    pub fn empty(columns: usize) -> Batch {
        Batch { rows: 0, columns: (0..columns).map(|_| ColumnBuilder::new().finish()).collect() }
    }

    /// A validated view over every column.
    pub fn view(&self) -> Result<BatchView<'_>, StageError> {
        BatchView::new(self)
    }

    /// A validated view over column `i`; `invalid-input` if there is none.
    pub fn column(&self, i: usize) -> Result<ColumnView<'_>, StageError> {
        let data = self.columns.get(i).ok_or_else(|| {
            StageError::invalid_input(format!("batch has {} columns, no column {i}", self.columns.len()))
        })?;
        ColumnView::new(data, self.rows)
    }

    /// Keeps the rows whose entry in `keep` is true (filtering).
    /// `keep` must have one entry per row.
    pub fn select_rows(&self, keep: &[bool]) -> Result<Batch, StageError> {
        if keep.len() != self.rows as usize {
            return Err(StageError::failed(format!("select_rows got {} flags for {} rows", keep.len(), self.rows)));
        }
        let view = self.view()?;
        let kept = keep.iter().filter(|&&k| k).count();
        let columns = view
            .columns()
            .iter()
            .map(|column| {
                let mut out = ColumnBuilder::with_capacity(kept, column.data().len());
                for (i, _) in keep.iter().enumerate().filter(|(_, k)| **k) {
                    out.push_like(column.value(i), column.value_type(i));
                }
                out.finish()
            })
            .collect();
        // `kept <= rows`, which is a u32.
        Ok(Batch { rows: kept as u32, columns })
    }

    /// Keeps the columns at `indices`, in that order (dropping or reordering
    /// columns). Indices may repeat.
    pub fn select_columns(self, indices: &[usize]) -> Result<Batch, StageError> {
        let width = self.columns.len();
        if let Some(&bad) = indices.iter().find(|&&i| i >= width) {
            return Err(StageError::failed(format!("no column {bad} in a batch of {width}")));
        }
        let mut columns: Vec<Option<ColumnData>> = self.columns.into_iter().map(Some).collect();
        let mut out = Vec::with_capacity(indices.len());
        for (n, &i) in indices.iter().enumerate() {
            let again = indices[n + 1..].contains(&i);
            let column = if again { columns[i].clone() } else { columns[i].take() };
            out.push(column.ok_or_else(|| StageError::failed("column selected twice"))?);
        }
        Ok(Batch { rows: self.rows, columns: out })
    }
}

impl Table {
    /// Position of the column called `name` (exact match).
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// `schema.name`, for messages.
    pub fn qualified_name(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BatchBuilder;

    fn sample() -> Batch {
        let mut b = BatchBuilder::new(2);
        b.push_row(&[Some(b"a"), Some(b"1")]).expect("row");
        b.push_row(&[None, Some(b"2")]).expect("row");
        b.push_row(&[Some(b"c"), None]).expect("row");
        b.finish().expect("batch")
    }

    #[test]
    fn select_rows_keeps_flagged_rows_with_their_nulls() {
        let out = sample().select_rows(&[false, true, true]).expect("select");
        assert_eq!(out.rows, 2);
        let v = out.view().expect("valid");
        assert_eq!(v.column(0).iter().collect::<Vec<_>>(), vec![None, Some(&b"c"[..])]);
        assert_eq!(v.column(1).iter().collect::<Vec<_>>(), vec![Some(&b"2"[..]), None]);
    }

    #[test]
    fn select_rows_rejects_wrong_flag_count() {
        assert!(sample().select_rows(&[true]).is_err());
    }

    #[test]
    fn select_rows_can_drop_everything() {
        let out = sample().select_rows(&[false; 3]).expect("select");
        assert_eq!(out, Batch::empty(2));
    }

    #[test]
    fn select_columns_reorders_and_repeats() {
        let b = sample();
        let second = b.columns[1].clone();
        let out = b.select_columns(&[1, 1]).expect("select");
        assert_eq!(out.columns, vec![second.clone(), second]);
        assert!(sample().select_columns(&[2]).is_err());
    }

    #[test]
    fn column_rejects_missing_index() {
        assert!(matches!(sample().column(5), Err(StageError::InvalidInput(_))));
    }
}
