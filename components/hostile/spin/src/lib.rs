//! Hostile: never returns from `transform`. Only the per-call CPU limit
//! (`--cpu-limit`) stops it.

use std::hint::black_box;

use sluice_sdk::{Batch, Column, RowTransform, StageError, Table};

pub struct Spins;

impl RowTransform for Spins {
    fn start(table: &Table, _config: &str) -> Result<(Self, Vec<Column>), StageError> {
        Ok((Spins, table.columns.clone()))
    }

    fn transform(&mut self, _input: Batch) -> Result<Batch, StageError> {
        // black_box keeps the optimizer from proving the loop does nothing.
        let mut n = 0u64;
        loop {
            n = black_box(n.wrapping_add(1));
        }
    }
}

sluice_sdk::export_row_transform!(Spins);
