//! Hostile: reads far past the end of its linear memory, which traps as an
//! out-of-bounds memory access.

// The attack is an unchecked read; the workspace denies unsafe code elsewhere.
#![allow(unsafe_code)]

use sluice_sdk::{Batch, Column, RowTransform, StageError, Table};

pub struct ReadsOutOfBounds;

impl RowTransform for ReadsOutOfBounds {
    fn start(table: &Table, _config: &str) -> Result<(Self, Vec<Column>), StageError> {
        Ok((ReadsOutOfBounds, table.columns.clone()))
    }

    fn transform(&mut self, input: Batch) -> Result<Batch, StageError> {
        // An address near the top of the 32-bit space, far above any memory
        // the component has grown to.
        let address = std::hint::black_box(0xfff0_0000usize) as *const u8;
        // SAFETY: none; this read is the attack, and the sandbox traps it.
        let byte = unsafe { std::ptr::read_volatile(address) };
        std::hint::black_box(byte);
        Ok(input)
    }
}

sluice_sdk::export_row_transform!(ReadsOutOfBounds);
