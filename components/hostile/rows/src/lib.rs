//! Hostile: returns one row more than it was given (every input row, then
//! the first one again, or a row of NULLs for an empty batch), with buffers
//! that are otherwise consistent. The host must reject a transform that
//! invents rows.

use sluice_sdk::{Batch, BatchBuilder, Column, RowTransform, StageError, Table};

pub struct AddsRow;

impl RowTransform for AddsRow {
    fn start(table: &Table, _config: &str) -> Result<(Self, Vec<Column>), StageError> {
        Ok((AddsRow, table.columns.clone()))
    }

    fn transform(&mut self, input: Batch) -> Result<Batch, StageError> {
        let view = input.view()?;
        let mut out = BatchBuilder::new(view.columns().len());
        let row = |i: usize| view.columns().iter().map(|c| c.value(i)).collect::<Vec<_>>();
        for i in 0..view.rows() {
            out.push_row(&row(i))?;
        }
        let extra = if view.rows() > 0 { row(0) } else { vec![None; view.columns().len()] };
        out.push_row(&extra)?;
        out.finish()
    }
}

sluice_sdk::export_row_transform!(AddsRow);
