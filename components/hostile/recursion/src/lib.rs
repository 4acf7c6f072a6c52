//! Hostile: recurses without bound until the wasm stack limit
//! (`--stack-limit`) stops it.

use sluice_sdk::{Batch, Column, RowTransform, StageError, Table};

pub struct Recurses;

/// Never returns in practice (it would take 2^64 frames). Work is left
/// pending after each call (`>> 1` then `^`, not a lone associative
/// operation), so LLVM cannot turn the recursion into a loop. No local has
/// its address taken (so no `black_box` either, which spills its argument to
/// memory): the frames then live on wasm's own stack, which `--stack-limit`
/// bounds, and not on the shadow stack Rust keeps in linear memory, whose
/// overflow would end in an out-of-bounds memory fault instead.
fn dive(depth: u64) -> u64 {
    if depth == u64::MAX {
        return depth;
    }
    (dive(depth + 1) >> 1) ^ depth
}

impl RowTransform for Recurses {
    fn start(table: &Table, _config: &str) -> Result<(Self, Vec<Column>), StageError> {
        Ok((Recurses, table.columns.clone()))
    }

    fn transform(&mut self, input: Batch) -> Result<Batch, StageError> {
        let depth = dive(u64::from(input.rows));
        Err(StageError::failed(format!("recursion ended at {depth}")))
    }
}

sluice_sdk::export_row_transform!(Recurses);
