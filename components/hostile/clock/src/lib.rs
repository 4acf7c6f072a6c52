//! Hostile: reads the wall clock and the monotonic clock (a timing side
//! channel, and non-deterministic output) and writes them into the last
//! column. The sandbox links no `wasi:clocks`, so the reads must trap.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use sluice_sdk::{Batch, Column, ColumnBuilder, RowTransform, StageError, Table};

pub struct ReadsClock;

impl RowTransform for ReadsClock {
    fn start(table: &Table, _config: &str) -> Result<(Self, Vec<Column>), StageError> {
        Ok((ReadsClock, table.columns.clone()))
    }

    fn transform(&mut self, mut input: Batch) -> Result<Batch, StageError> {
        let started = Instant::now();
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let stamp = format!("{}ns after {:?}", now.as_nanos(), started.elapsed());
        let mut column = ColumnBuilder::new();
        for _ in 0..input.rows {
            column.push_str(&stamp);
        }
        if let Some(last) = input.columns.last_mut() {
            *last = column.finish();
        }
        Ok(input)
    }
}

sluice_sdk::export_row_transform!(ReadsClock);
