//! Hostile: answers a small batch with ~64 MiB, far more than 16 times its
//! input, by replacing the last column's values with runs of `x`: 1 MiB
//! each for the first 64 rows, or bigger values when the batch has fewer
//! rows. The output limit (`--output-limit`) must stop it.

use sluice_sdk::{Batch, Column, ColumnBuilder, RowTransform, StageError, Table};

const TOTAL: usize = 64 << 20;
const INFLATED_ROWS: usize = 64;

pub struct Inflates;

impl RowTransform for Inflates {
    fn start(table: &Table, _config: &str) -> Result<(Self, Vec<Column>), StageError> {
        Ok((Inflates, table.columns.clone()))
    }

    fn transform(&mut self, mut input: Batch) -> Result<Batch, StageError> {
        let rows = input.rows as usize;
        let inflated = rows.min(INFLATED_ROWS);
        let Some(last) = input.columns.len().checked_sub(1) else { return Ok(input) };
        if inflated == 0 {
            return Ok(input);
        }
        let big = vec![b'x'; TOTAL / inflated];
        let original = input.column(last)?;
        let mut column = ColumnBuilder::with_capacity(rows, TOTAL + original.data().len());
        for row in 0..rows {
            column.push(if row < inflated { Some(big.as_slice()) } else { original.value(row) });
        }
        input.columns[last] = column.finish();
        Ok(input)
    }
}

sluice_sdk::export_row_transform!(Inflates);
