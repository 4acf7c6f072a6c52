//! Hostile: grows one buffer by 1 MiB at a time, writing every byte, until
//! the memory limit (`--memory-limit`) stops it.

use std::hint::black_box;

use sluice_sdk::{Batch, Column, RowTransform, StageError, Table};

const BLOCK: usize = 1 << 20;

pub struct Hoards;

impl RowTransform for Hoards {
    fn start(table: &Table, _config: &str) -> Result<(Self, Vec<Column>), StageError> {
        Ok((Hoards, table.columns.clone()))
    }

    fn transform(&mut self, _input: Batch) -> Result<Batch, StageError> {
        let mut hoard: Vec<u8> = Vec::new();
        loop {
            // Writing (not just reserving) makes every page real memory.
            hoard.extend(std::iter::repeat_n(0xa5, BLOCK));
            black_box(&mut hoard);
        }
    }
}

sluice_sdk::export_row_transform!(Hoards);
