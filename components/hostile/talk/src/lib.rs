//! Hostile: fails every batch with a `stage-error` built to mislead a
//! terminal: a clear-screen escape, carriage returns, lines forged to look
//! like sluice's own, and 10 MiB of text in 200,000 lines.

use sluice_sdk::{Batch, Column, RowTransform, StageError, Table};

pub struct Talks;

impl RowTransform for Talks {
    fn start(table: &Table, _config: &str) -> Result<(Self, Vec<Column>), StageError> {
        Ok((Talks, table.columns.clone()))
    }

    fn transform(&mut self, _input: Batch) -> Result<Batch, StageError> {
        let mut message = String::from("\x1b[2J\x1b[H\rdumped 1 tables, 100 rows in 0.01s\nsluice: dump complete\n");
        let line = format!("{}\n", "flood ".repeat(8));
        while message.len() < 10 << 20 {
            message.push_str(&line);
        }
        Err(StageError::invalid_input(message))
    }
}

sluice_sdk::export_row_transform!(Talks);
