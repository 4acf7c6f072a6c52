//! Hostile: returns a batch whose first column's offsets point past the end
//! of its data buffer (the last one by 1 MiB). The host must validate every
//! batch a component returns instead of trusting it.

use sluice_sdk::{Batch, Column, RowTransform, StageError, Table};

const OVERSHOOT: u32 = 1 << 20;

pub struct BadOffsets;

impl RowTransform for BadOffsets {
    fn start(table: &Table, _config: &str) -> Result<(Self, Vec<Column>), StageError> {
        Ok((BadOffsets, table.columns.clone()))
    }

    fn transform(&mut self, mut input: Batch) -> Result<Batch, StageError> {
        if let Some(first) = input.columns.first_mut() {
            let end = first.data.len() as u32 + OVERSHOOT;
            match first.offsets.last_mut() {
                Some(last) => *last = end,
                None => first.offsets = vec![0, end],
            }
        }
        Ok(input)
    }
}

sluice_sdk::export_row_transform!(BadOffsets);
