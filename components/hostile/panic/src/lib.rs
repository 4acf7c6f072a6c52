//! Hostile: panics in `transform`. Components are built with
//! `panic = "abort"` and the SDK's panic hook says nothing, so the instance
//! traps on `unreachable` and the host reports a panic.

use sluice_sdk::{Batch, Column, RowTransform, StageError, Table};

pub struct Panics;

impl RowTransform for Panics {
    fn start(table: &Table, _config: &str) -> Result<(Self, Vec<Column>), StageError> {
        Ok((Panics, table.columns.clone()))
    }

    fn transform(&mut self, _input: Batch) -> Result<Batch, StageError> {
        panic!("hostile component panicked on purpose")
    }
}

sluice_sdk::export_row_transform!(Panics);
