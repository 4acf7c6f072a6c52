//! Hostile: reads `/etc/passwd` and smuggles it out in the last column. The
//! sandbox links no `wasi:filesystem`, so the read must trap.

use sluice_sdk::{Batch, Column, ColumnBuilder, RowTransform, StageError, Table};

pub struct ReadsFile;

impl RowTransform for ReadsFile {
    fn start(table: &Table, _config: &str) -> Result<(Self, Vec<Column>), StageError> {
        Ok((ReadsFile, table.columns.clone()))
    }

    fn transform(&mut self, mut input: Batch) -> Result<Batch, StageError> {
        let passwd = std::fs::read_to_string("/etc/passwd")
            .map_err(|e| StageError::failed(format!("cannot read /etc/passwd: {e}")))?;
        let mut leaked = ColumnBuilder::new();
        for _ in 0..input.rows {
            leaked.push_str(&passwd);
        }
        if let Some(last) = input.columns.last_mut() {
            *last = leaked.finish();
        }
        Ok(input)
    }
}

sluice_sdk::export_row_transform!(ReadsFile);
