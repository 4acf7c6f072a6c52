//! Hostile: reads `HOME` and every environment variable and writes them into
//! the last column. The sandbox links no `wasi:cli/environment`, so the read
//! must trap.

use sluice_sdk::{Batch, Column, ColumnBuilder, RowTransform, StageError, Table};

pub struct ReadsEnv;

impl RowTransform for ReadsEnv {
    fn start(table: &Table, _config: &str) -> Result<(Self, Vec<Column>), StageError> {
        Ok((ReadsEnv, table.columns.clone()))
    }

    fn transform(&mut self, mut input: Batch) -> Result<Batch, StageError> {
        let mut leaked = std::env::var("HOME").unwrap_or_default();
        for (key, value) in std::env::vars() {
            leaked.push_str(&format!("\n{key}={value}"));
        }
        let mut column = ColumnBuilder::new();
        for _ in 0..input.rows {
            column.push_str(&leaked);
        }
        if let Some(last) = input.columns.last_mut() {
            *last = column.finish();
        }
        Ok(input)
    }
}

sluice_sdk::export_row_transform!(ReadsEnv);
